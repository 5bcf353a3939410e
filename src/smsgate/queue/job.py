"""One job: send one chunk of a queued send, idempotent by our message ids.

The job takes the chunk's rows still ``queued`` (they become ``submitting``, committed before
any request), composes the send's message again from what was accepted, and drives the
requests through the gateway, which records each outcome. Run twice (redelivery, recovery of
a dead worker's job), it sends only what is still ``queued``; what a dead attempt had in
flight becomes ``unknown``, never re-sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from smsgate.core.errors import InvalidInput
from smsgate.core.message import Message
from smsgate.core.report import SendReport
from smsgate.core.text import Encoding
from smsgate.gateway import Gateway, SendOptions
from smsgate.gateway.compose import batches_again, plan_message
from smsgate.gateway.plan import SendRun
from smsgate.gateway.routed import RoutedSend
from smsgate.queue.engine import defer_chunks
from smsgate.store.recorder import error_line
from smsgate.store.sends import QueuedSend, Sends, Taken
from smsgate.store.store import Store

log = logging.getLogger("smsgate.queue")


@dataclass(frozen=True)
class ChunkDone:
    sent: int
    """Messages whose request went out (whatever the provider answered)."""
    postponed: int = 0
    """Messages a busy provider turned away: queued again, with a job after its wait."""


class Runner:
    """What a worker runs its jobs with: the store and a gateway to one provider account."""

    def __init__(self, store: Store, gateway: Gateway) -> None:
        self.store = store
        self.sends = Sends(store)
        self.gateway = gateway
        self._messages: dict[str, Message] = {}

    def run(self, send_id: str, chunk: int) -> ChunkDone:
        send = self.sends.get(send_id)
        if send is None:
            log.warning("job for send %s, which is not on record: nothing to do", send_id)
            return ChunkDone(0)
        if send.stop_reason:
            self.sends.fail_queued(send_id, chunk, send.stop_reason)
            return ChunkDone(0)
        endpoint = self.gateway.endpoint
        if send.account not in self._accounts():
            reason = (
                f"this worker sends through another {endpoint.provider.name} account than "
                f"the send's ({send.provider}): start workers with the DSN the service uses"
            )
            self.sends.fail_queued(send_id, chunk, reason)
            return ChunkDone(0)
        try:
            routed = self._routed(send)
            message = self._message(send) if routed is None else None
        except InvalidInput as error:  # e.g. its provider-held time passed while queued
            self.sends.fail_queued(send_id, chunk, str(error))
            self.sends.stop(send_id, str(error))
            return ChunkDone(0)
        skip = bool(send.spec.get("opt_out"))
        taken = self.sends.take(send_id, chunk, self.store.owner, skip_opted_out=skip)
        if not taken:
            return ChunkDone(0)
        if routed is None:
            assert message is not None
            rows = ((t.reference, t.id, t.recipient, t.params, t.text) for t in taken)
            run = SendRun.resume(endpoint, batches_again(message, rows), _head(send), self.store)
        else:
            run = self._resume_routed(send, routed, taken)
        self.gateway.execute(run)
        if run.postponed:
            ids = [i for batch in run.postponed for i in batch.message_ids]
            at = datetime.now(UTC) + timedelta(seconds=run.postpone_for)
            self.sends.give_back(ids, lambda c: defer_chunks(c, send_id, [chunk], at))
            return ChunkDone(len(taken) - len(ids), len(ids))
        if run.stop_reason:
            self.sends.stop(send_id, run.stop_reason)
        return ChunkDone(len(taken))

    def _accounts(self) -> set[str | None]:
        """The accounts this worker's gateway sends through (over routes, every member's)."""
        if self.gateway.routing is None:
            return {self.gateway.endpoint.account}
        return {m.endpoint.account for m in self.gateway.routing.members()}

    def _routed(self, send: QueuedSend) -> RoutedSend | None:
        """Over routes: the send's message as each member takes it (None: one provider)."""
        if self.gateway.routing is None:
            return None
        text, options, personalised = _spec(send)
        return RoutedSend(self.gateway.routing, text, options, personalised)

    def _resume_routed(self, send: QueuedSend, routed: RoutedSend, taken: list[Taken]) -> SendRun:
        """The taken rows back in batches, each with the member it was planned for; rows
        whose account the routes no longer have fail, saying so (never another provider:
        their plan was that account's)."""
        rows = ((t.account, t.reference, t.id, t.recipient, t.params, t.text) for t in taken)
        batches, lost = routed.batches_again(rows)
        if lost:
            self.sends.fail_taken(send.id, lost, LOST_ROUTE)
        return SendRun.resume(self.gateway.endpoint, batches, _head(send), self.store, routed)

    def give_up(self, send_id: str, chunk: int, error: BaseException, attempts: int) -> None:
        """The job failed its last attempt: settle its rows (Sends.abandon) with the error's
        first line, so that every one of them says what became of it."""
        first = error_line(error)[:200]
        reason = f"the job failed {attempts} times, the last with {type(error).__name__}: {first}"
        failed, unknown = self.sends.abandon(send_id, chunk, reason)
        log.error(
            "send %s chunk %d given up: %d failed, %d unknown (%s)",
            *(send_id, chunk, failed, unknown, reason),
        )

    def _message(self, send: QueuedSend) -> Message:
        """The send's message, composed again from what was accepted (once per send)."""
        found = self._messages.get(send.id)
        if found is None:
            text, options, personalised = _spec(send)
            found, _ = plan_message(self.gateway.endpoint, text, options, personalised=personalised)
            if len(self._messages) > 1000:
                self._messages.clear()
            self._messages[send.id] = found
        return found


LOST_ROUTE = (
    "the routes no longer have the account this message was planned for: "
    "start workers with the routes the service uses, then send it again"
)


def _spec(send: QueuedSend) -> tuple[str, SendOptions, bool]:
    """The text and options a queued send was accepted with (what its message is composed
    from again)."""
    spec: Mapping[str, Any] = send.spec
    raw = dict(spec["options"])  # the SendOptions accept_send kept, as JSON
    if raw["scheduled_at"]:
        raw["scheduled_at"] = datetime.fromisoformat(raw["scheduled_at"])
    return spec["text"], cast(SendOptions, raw), spec["personalised"]


def _head(send: QueuedSend) -> SendReport:
    head = send.head
    return SendReport(
        provider=send.provider,
        sandbox=head["sandbox"],
        trial=head["trial"],
        text=head["text"],
        truncated=head["truncated"],
        encoding=Encoding(head["encoding"]),
        parts=head["parts"],
    )
