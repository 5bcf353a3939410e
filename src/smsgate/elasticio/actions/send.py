"""The component's one action, Send: ``nums``, ``sender``, ``message`` → a send report.

What the platform gets, by what became of the SMS (the issue's contract):
- accepted by AllMySMS (all or some): data, the report says which recipient is what;
- bad input, refused credentials, no credit: error, never rebound;
- provably never reached AllMySMS (429/503, no connection): rebound, the platform retries later;
- may have reached AllMySMS (read timeout, 5xx): error that says so, never rebound, because a
  rebound would send the SMS a second time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from smsgate import settings
from smsgate.core.errors import InvalidInput, ProviderError, SmsgateError
from smsgate.core.report import RecipientStatus, SendReport
from smsgate.core.schedule import parse_send_time
from smsgate.elasticio.credentials import allmysms_dsn
from smsgate.gateway import AsyncGateway, RetryPolicy, SendOptions, resolve_endpoint
from smsgate.sailor.context import ExecutionContext

if TYPE_CHECKING:
    from smsgate.store import Store

# The fields of the action's in-metadata (component.json); a test keeps the two in step.
NUMBERS_FIELD: Final = "nums"
SENDER_FIELD: Final = "sender"
TEXT_FIELD: Final = "message"
SCHEDULED_AT_FIELD: Final = "scheduledAt"
CAMPAIGN_FIELD: Final = "campaignName"
STRICT_FIELD: Final = "strictNumbers"
IGNORE_OPT_OUT_FIELD: Final = "ignoreOptOut"
FIELDS: Final = (
    NUMBERS_FIELD,
    SENDER_FIELD,
    TEXT_FIELD,
    SCHEDULED_AT_FIELD,
    CAMPAIGN_FIELD,
    STRICT_FIELD,
    IGNORE_OPT_OUT_FIELD,
)

# Few quick tries in the process: the platform's rebound is the long wait, and it frees the
# step's queue meanwhile.
COMPONENT_RETRY: Final = RetryPolicy(
    attempts=2, backoff=0.2, max_wait=2.0, timeout=httpx.Timeout(30.0, connect=5.0)
)


class MaybeSentError(SmsgateError):
    """Some SMS may have reached AllMySMS: the message must not be sent again automatically."""


def _text(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}: map a string to it")
    return str(value)


def _numbers(body: Mapping[str, Any]) -> str | list[str]:
    value = body.get(NUMBERS_FIELD)
    if isinstance(value, list) and all(isinstance(item, str | int) for item in value):
        return [str(item) for item in value]
    text = _text(body, NUMBERS_FIELD)
    if text is None:
        raise InvalidInput(
            f"{NUMBERS_FIELD} is empty: map one mobile number or a comma-separated list to it"
        )
    return text


def _flag(body: Mapping[str, Any], field: str) -> bool:
    value = body.get(field)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def send_options(body: Mapping[str, Any]) -> SendOptions:
    """The gateway's options from the incoming body; raises InvalidInput on a bad field."""
    when = _text(body, SCHEDULED_AT_FIELD)
    return SendOptions(
        sender=_text(body, SENDER_FIELD),
        strict=_flag(body, STRICT_FIELD),
        scheduled_at=parse_send_time(when, SCHEDULED_AT_FIELD) if when else None,
        campaign_name=_text(body, CAMPAIGN_FIELD),
    )


def _first_error(report: SendReport, status: RecipientStatus) -> str:
    for result in report.recipients:
        if result.status is status and result.error:
            return result.error
    return status.value


def judge(report: SendReport) -> str | None:
    """None: emit the report as data. Otherwise the reason to rebound.

    Raises the error to emit when nothing was accepted or when some SMS may have been sent.
    """
    counts = {status: 0 for status in RecipientStatus}
    for result in report.recipients:
        counts[result.status] += 1
    unknown = counts[RecipientStatus.UNKNOWN]
    if unknown:
        raise MaybeSentError(
            f"{unknown} of {len(report.recipients)} SMS may have reached AllMySMS "
            f"({_first_error(report, RecipientStatus.UNKNOWN)}); {report.accepted} accepted. "
            "Not retried, so that none is sent twice: check the AllMySMS account before "
            "sending this message again"
        )
    if report.accepted:
        return None
    if counts[RecipientStatus.FAILED] == len(report.recipients):
        return _first_error(report, RecipientStatus.FAILED)
    raise ProviderError(
        f"AllMySMS refused the SMS: {_first_error(report, RecipientStatus.REJECTED)}"
    )


def _gateway(dsn: str, store: Store | None) -> AsyncGateway:
    """With a message store (SMSGATE_DATABASE_URL), every SMS is on record before it leaves,
    as from the CLI and the API, and the account's call budget is shared with them."""
    endpoint = resolve_endpoint(dsn, os.environ)
    return AsyncGateway(endpoint, retry=COMPONENT_RETRY, recorder=store, budgets=store)


def _store() -> Store | None:
    """The message store named by SMSGATE_DATABASE_URL; none without it (the component then
    keeps no record but the report it emits)."""
    url = settings.DATABASE_URL.read(os.environ)
    if not url:
        return None
    from smsgate.store import Store  # SQLAlchemy only for a component that keeps a store

    return Store(url)


async def process(
    ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
) -> dict[str, Any] | None:
    body = msg.get("body") or {}
    if not isinstance(body, Mapping):
        raise InvalidInput("the message body is not an object: map nums, sender and message")
    numbers = _numbers(body)
    text = _text(body, TEXT_FIELD) or ""
    options = send_options(body)
    dsn = allmysms_dsn(cfg)
    store = ctx.shared.get("store", _store)
    if store is not None and not _flag(body, IGNORE_OPT_OUT_FIELD):
        # The numbers that opted out (a STOP reply, by hand): skipped with reason 'opted
        # out', as from the CLI and the API.
        options["opted_out"] = await asyncio.to_thread(store.opted_out)
    gateway = ctx.shared.get(f"allmysms {dsn}", lambda: _gateway(dsn, store))
    report = await gateway.send(numbers, text, **options)
    reason = judge(report)
    if reason is not None:
        await ctx.emit("rebound", reason)
        return None
    return {"body": report.to_dict()}
