"""``/v1/messages``: send, list, read, history, cancel."""

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query

from smsgate.core.errors import InvalidInput
from smsgate.core.personalise import Template
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway, SendOptions
from smsgate.service.common import ERRORS, MAX_OFFSET, aware
from smsgate.service.schemas import (
    ErrorOut,
    EventOut,
    MessageOut,
    MessagePageOut,
    SendReportOut,
    SendRequest,
    report_out,
)
from smsgate.store import Store
from smsgate.store.store import ClaimState
from smsgate.usecases.messages import NotScheduled, OtherAccount, UnknownMessage, cancel_message


def router(gateway: Gateway, store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))

    @app.post(
        "/v1/messages",
        operation_id="SendMessages",
        summary="Send an SMS to one or many recipients",
        description="With an Idempotency-Key, a retried request (the same key and body "
        "within 24 h) gets the first answer and sends nothing; the same key with another "
        "body, or while the first request has not finished, is 409.",
        response_model=SendReportOut,
        status_code=201,
        responses={**ERRORS, 409: {"model": ErrorOut}},
    )
    def send_messages(
        body: SendRequest,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=200,
                description="Makes a retry safe: the same key and body get the first answer",
            ),
        ] = None,
    ) -> SendReportOut:
        if idempotency_key is None:
            return _send(body)
        fingerprint = hashlib.sha256(
            json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        claim = store.claim_key(idempotency_key, fingerprint)
        if claim.state is ClaimState.DONE:
            return SendReportOut.model_validate(claim.response)
        if claim.state is ClaimState.CONFLICT:
            raise HTTPException(
                409,
                f"the Idempotency-Key {idempotency_key!r} was used for another request in the "
                "last 24 h: use a new key for a new send",
            )
        if claim.state is ClaimState.PENDING:
            raise HTTPException(
                409,
                f"the request with Idempotency-Key {idempotency_key!r} has not finished, or "
                "was cut off: its messages are on record (GET /v1/messages); do not send it "
                "again without checking",
            )
        try:
            report = _send(body)
        except InvalidInput:
            store.release_key(idempotency_key)  # refused before anything left: retry freely
            raise
        store.finish_key(idempotency_key, report.model_dump(mode="json"))
        return report

    def _send(body: SendRequest) -> SendReportOut:
        options = SendOptions(
            sender=body.sender,
            region=body.region,
            strict=body.strict,
            max_parts=body.max_parts,
            truncate=body.truncate,
            scheduled_at=body.scheduled_at,
            campaign_name=body.tag,
            flash=body.flash,
        )
        if body.rows is not None:
            Template.parse(body.text).check_columns(sorted({k for row in body.rows for k in row}))
            report = gateway.send_personalised(body.rows, body.text, **options)
        else:
            report = gateway.send(body.to or [], body.text, **options)
        return report_out(report.to_dict())

    @app.get(
        "/v1/messages",
        operation_id="ListMessages",
        summary="List messages, newest first",
        response_model=MessagePageOut,
        responses=ERRORS,
    )
    def list_messages(
        status: Annotated[MessageStatus | None, Query(description="Only this status")] = None,
        recipient: Annotated[str | None, Query(description="International number")] = None,
        tag: Annotated[str | None, Query(description="Campaign name given at send")] = None,
        campaign: Annotated[str | None, Query(description="Provider campaign id")] = None,
        since: Annotated[datetime | None, Query(description="Created at or after")] = None,
        until: Annotated[datetime | None, Query(description="Created before")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> MessagePageOut:
        page = store.messages(
            status=status.value if status else None,
            recipient=recipient,
            tag=tag,
            campaign_id=campaign,
            since=aware(since),
            until=aware(until),
            limit=limit,
            offset=offset,
        )
        return MessagePageOut(
            items=[MessageOut.model_validate(m) for m in page.messages],
            total=page.total,
            limit=limit,
            offset=offset,
        )

    def _message(message_id: str) -> MessageOut:
        row = store.message(message_id)
        if row is None:
            raise HTTPException(404, f"no message {message_id!r}")
        return MessageOut.model_validate(row)

    MessageId = Annotated[str, Path(description="smsgate's message id", max_length=40)]

    @app.get(
        "/v1/messages/{message_id}",
        operation_id="GetMessage",
        summary="One message and its current status",
        response_model=MessageOut,
        responses=ERRORS,
    )
    def get_message(message_id: MessageId) -> MessageOut:
        return _message(message_id)

    @app.get(
        "/v1/messages/{message_id}/events",
        operation_id="ListMessageEvents",
        summary="A message's status history",
        response_model=list[EventOut],
        responses=ERRORS,
    )
    def list_events(message_id: MessageId) -> list[EventOut]:
        _message(message_id)
        return [EventOut.model_validate(e) for e in store.events(message_id)]

    @app.post(
        "/v1/messages/{message_id}/cancel",
        operation_id="CancelMessage",
        summary="Cancel a scheduled message (and the rest of its provider campaign)",
        response_model=MessageOut,
        responses={**ERRORS, 409: {"model": ErrorOut}, 502: {"model": ErrorOut}},
    )
    def cancel(message_id: MessageId) -> MessageOut:
        try:
            cancel_message(gateway, store, message_id)
        except UnknownMessage as error:
            raise HTTPException(404, str(error)) from None
        except (NotScheduled, OtherAccount) as error:
            raise HTTPException(409, str(error)) from None
        return _message(message_id)

    return app
