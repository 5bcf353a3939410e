"""``/v1/sends``: a queued send's progress, its messages, and cancelling what is still held."""

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from smsgate.core.status import MessageStatus
from smsgate.queue.engine import queue_of
from smsgate.service.common import ERRORS, MAX_OFFSET
from smsgate.service.schemas import (
    CancelledOut,
    MessageOut,
    MessagePageOut,
    SendProgressOut,
    SkippedOut,
)
from smsgate.store import Store
from smsgate.store.sends import QueuedSend, Sends

SendId = Annotated[str, Path(description="The send_id a queued send was answered with")]

_WAITING = {MessageStatus.QUEUED.value, MessageStatus.SUBMITTING.value}


def router(store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))
    sends = queue_of(store)

    def _found(send_id: str) -> tuple[Sends, QueuedSend]:
        send = sends.get(send_id) if sends is not None else None
        if sends is None or send is None:
            raise HTTPException(404, f"no send {send_id!r}: a queued send's answer names it")
        return sends, send

    @app.get(
        "/v1/sends/{send_id}",
        operation_id="GetSend",
        summary="A queued send's progress: its messages per status",
        response_model=SendProgressOut,
        responses=ERRORS,
    )
    def get_send(send_id: SendId) -> SendProgressOut:
        found, send = _found(send_id)
        counts = found.counts(send_id)
        waiting = sum(n for status, n in counts.items() if status in _WAITING)
        if counts.get(MessageStatus.CANCELLED.value) == send.total:
            status = "cancelled"
        elif waiting == send.total:
            status = "queued"
        elif waiting:
            status = "sending"
        else:
            status = "done"
        head = send.head
        return SendProgressOut(
            send_id=send.id,
            status=status,
            total=send.total,
            counts=counts,
            created_at=send.created_at,
            scheduled_at=head.get("scheduled_at"),
            held=head.get("held", False),
            stop_reason=send.stop_reason,
            provider=send.provider,
            sandbox=head["sandbox"],
            trial=head["trial"],
            text=head["text"],
            encoding=head["encoding"],
            parts=head["parts"],
            skipped=[SkippedOut(**s) for s in head["skipped"]],
            warnings=head["warnings"],
        )

    @app.get(
        "/v1/sends/{send_id}/messages",
        operation_id="ListSendMessages",
        summary="A queued send's messages, a page at a time",
        response_model=MessagePageOut,
        responses=ERRORS,
    )
    def list_send_messages(
        send_id: SendId,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> MessagePageOut:
        found, send = _found(send_id)
        return MessagePageOut(
            items=[MessageOut.model_validate(m) for m in found.messages(send_id, limit, offset)],
            total=send.total,
            limit=limit,
            offset=offset,
        )

    @app.post(
        "/v1/sends/{send_id}/cancel",
        operation_id="CancelSend",
        summary="Cancel what of a queued send is not sent yet (held or waiting for a worker)",
        response_model=CancelledOut,
        responses=ERRORS,
    )
    def cancel_send(send_id: SendId) -> CancelledOut:
        found, _ = _found(send_id)
        return CancelledOut(cancelled=found.cancel(send_id))

    return app
