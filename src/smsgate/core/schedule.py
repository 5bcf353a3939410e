"""When a scheduled send goes out, as a user writes it (CLI --at, elastic.io scheduledAt)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from smsgate.core.errors import InvalidInput

FURTHEST: Final = timedelta(days=366)
"""How far ahead a send may be scheduled: a year (and a day, for a leap year). Further is far
more likely a typo in the year than a plan, and would sit at the provider for ever."""


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
    """A scheduled time must be ahead, and within a year: one in the past is a mistake, never
    'send now'; one further than a year is most likely a typo in the year."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if aware <= now:
        raise InvalidInput(
            f"the send time {aware.isoformat(timespec='minutes')} is in the past: give a future "
            "time, or none to send now"
        )
    if aware > now + FURTHEST:
        raise InvalidInput(
            f"the send time {aware.isoformat(timespec='minutes')} is more than a year ahead: "
            "check the year, or schedule it later"
        )
