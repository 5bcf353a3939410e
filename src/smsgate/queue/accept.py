"""Accept a send for the queue: refuse what can be refused, then commit its rows (``queued``)
and its jobs in one transaction and answer at once, before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Unpack

from smsgate.core.ids import new_id
from smsgate.core.schedule import check_send_time
from smsgate.core.sent import Outgoing
from smsgate.core.status import MessageStatus
from smsgate.gateway import SendOptions
from smsgate.gateway.base import GatewayBase
from smsgate.gateway.plan import start_send, window_end
from smsgate.queue.engine import defer_chunks
from smsgate.store.sends import NewSend, Sends
from smsgate.store.store import ClaimState

MESSAGES_IN_ANSWER: Final = 1000
"""A send's answer lists its first messages; the rest are at /v1/sends/{id}/messages."""


class KeyTaken(Exception):
    """The Idempotency-Key was used for another body, or its first request has not finished."""

    def __init__(self, state: ClaimState) -> None:
        super().__init__(state.value)
        self.state = state


def accept_send(
    gateway: GatewayBase,
    sends: Sends,
    to: str | Iterable[str],
    text: str,
    *,
    rows: Sequence[Mapping[str, str]] | None = None,
    key: tuple[str, str] | None = None,
    **options: Unpack[SendOptions],
) -> dict[str, Any]:
    """Queue a send through the gateway's account and give its answer (or, for an
    Idempotency-Key used before with the same body, the first request's answer, queuing
    nothing). Raises InvalidInput (nothing queued) for what the provider would refuse as a
    whole; ``key`` is (Idempotency-Key, body fingerprint).

    Where the provider cannot schedule (Messangi), the gateway holds the send: its jobs wait
    until the time asked, and cancel removes what is still held."""
    endpoint = gateway.endpoint
    scheduled = options.get("scheduled_at")
    hold_until = None
    routing = gateway.routing  # over routes, members that cannot schedule are skipped
    if scheduled is not None and routing is None and not endpoint.provider.capabilities.schedule:
        check_send_time(scheduled, datetime.now(UTC))
        hold_until = scheduled
        options = {**options, "scheduled_at": None}
    run = start_send(
        endpoint, to, text, gateway_region=gateway.region, rows=rows, routing=routing, **options
    )
    send_id = new_id("snd")
    outgoing: list[Outgoing] = []
    chunk = index = 0
    while index < len(run.batches):
        end = window_end(run.batches, index)
        outgoing += run.outgoing(index, end, send_id=send_id, chunk=chunk, hold_until=hold_until)
        chunk, index = chunk + 1, end
    report = run.report
    head = {
        "provider": report.provider,
        "sandbox": report.sandbox,
        "trial": report.trial,
        "text": report.text,
        "truncated": report.truncated,
        "encoding": report.encoding.value,
        "parts": report.parts,
        "skipped": [s.to_dict() for s in report.skipped],
        "warnings": report.warnings,
        "scheduled_at": _iso(scheduled),
        "held": hold_until is not None,
    }
    listed = [
        {"id": message_id, "to": number, "status": MessageStatus.QUEUED.value}
        for batch in outgoing[: MESSAGES_IN_ANSWER + 1]  # a batch holds one recipient or more
        for message_id, number in zip(batch.ids, batch.recipients, strict=True)
    ]
    answer = {
        "send_id": send_id,
        "status": MessageStatus.QUEUED.value,
        "accepted": run.total,
        **head,
        "messages": listed[:MESSAGES_IN_ANSWER],
        "messages_total": run.total,
    }
    spec = {
        "text": text,
        "personalised": rows is not None,
        # Whether its jobs skip numbers that opt out while it waits (not with ignore_opt_out).
        "opt_out": options.get("opted_out") is not None,
        "options": {
            "sender": options.get("sender"),
            "max_parts": options.get("max_parts", 1),
            "truncate": options.get("truncate", True),
            "scheduled_at": _iso(options.get("scheduled_at")),  # None when the gateway holds it
            "campaign_name": options.get("campaign_name"),
            "flash": options.get("flash", False),
        },
    }
    new = NewSend(
        id=send_id,
        provider=endpoint.provider.name,
        account=endpoint.account,
        sandbox=endpoint.sandbox,
        spec=spec,
        head=head,
        total=run.total,
        chunks=chunk,
        hold_until=hold_until,
        outgoing=outgoing,
    )

    def enqueue(connection: Any) -> None:
        defer_chunks(connection, send_id, range(chunk), hold_until)

    claim = sends.accept(new, enqueue, answer, key)
    if claim.state is ClaimState.NEW:
        return answer
    if claim.state is ClaimState.DONE:
        response: dict[str, Any] = claim.response
        return response
    raise KeyTaken(claim.state)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
