"""When a scheduled send goes out, as a user writes it (CLI --at, elastic.io scheduledAt)."""

from __future__ import annotations

from datetime import UTC, datetime

from smsgate.core.errors import InvalidInput


def parse_send_time(value: str, field: str) -> datetime:
    """ISO 8601 (2026-12-01T09:00+01:00) or 'YYYY-MM-DD HH:MM'; without a zone, local time."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{field} {value!r} is not a date and time: write e.g. 2026-12-01 09:00 or "
            "2026-12-01T09:00+01:00"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def check_send_time(moment: datetime, now: datetime) -> None:
    """A scheduled time must be ahead: one in the past is a mistake, never 'send now'."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if aware <= now:
        raise InvalidInput(
            f"the send time {aware.isoformat(timespec='minutes')} is in the past: give a future "
            "time, or none to send now"
        )
