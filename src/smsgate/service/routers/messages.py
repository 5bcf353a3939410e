"""``/v1/messages``: send, list, read, history, cancel."""

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, HTTPException, Path, Query
from fastapi.responses import JSONResponse

from smsgate.core.errors import InvalidInput
from smsgate.core.personalise import Template
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway, SendOptions
from smsgate.queue.accept import KeyTaken, accept_send
from smsgate.queue.engine import queue_of
from smsgate.service.common import ERRORS, MAX_OFFSET, aware
from smsgate.service.schemas import (
    ErrorOut,
    EventOut,
    MessageOut,
    MessagePageOut,
    QueuedOut,
    SendReportOut,
    SendRequest,
    report_out,
)
from smsgate.store import Store
from smsgate.store.sends import Sends
from smsgate.store.store import ClaimState
from smsgate.usecases.messages import NotScheduled, OtherAccount, UnknownMessage, cancel_message
from smsgate.usecases.sending import opted_out

WAIT_MAX_RECIPIENTS: Final = 1000
"""?wait=true sends during the request: a bounded size keeps the request's time bounded."""


def _recipients(body: SendRequest) -> int:
    if body.rows is not None:
        return len(body.rows)
    if isinstance(body.to, str):
        return len([p for p in re.split(r"[,;\n]", body.to) if p.strip()])
    return len(body.to or [])


def _fingerprint(body: SendRequest) -> str:
    """What an Idempotency-Key is bound to: the request's body, as validated."""
    return hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()


def _check_columns(body: SendRequest) -> None:
    """Rows with columns the text does not use are a mistake: refuse them before anything."""
    if body.rows is not None:
        Template.parse(body.text).check_columns(sorted({k for row in body.rows for k in row}))


def router(
    gateway: Gateway, store: Store, auth: Sequence[Any], callback_url: str | None = None
) -> APIRouter:
    """``callback_url``: where status changes go for sends that name none."""
    app = APIRouter(dependencies=list(auth))

    sends = queue_of(store)

    @app.post(
        "/v1/messages",
        operation_id="SendMessages",
        summary="Send an SMS to one or many recipients",
        description="With the message store on PostgreSQL, the send is queued: every message "
        "is on record and the answer (202) comes at once; workers send it, and "
        "GET /v1/sends/{send_id} follows it. With ?wait=true (up to "
        f"{WAIT_MAX_RECIPIENTS:,} recipients), or on the embedded SQLite store, it is sent "
        "during the request and the answer (201) is its report. With an Idempotency-Key, a "
        "retried request (the same key and body within 24 h) gets the first answer and sends "
        "nothing; the same key with another body, or while the first request has not "
        "finished, is 409.",
        response_model=SendReportOut,
        status_code=201,
        responses={
            **ERRORS,
            202: {"model": QueuedOut, "description": "Queued: on record, sent by the workers"},
            409: {"model": ErrorOut},
        },
    )
    def send_messages(
        body: SendRequest,
        wait: Annotated[
            bool,
            Query(description=f"Send during the request (up to {WAIT_MAX_RECIPIENTS:,})"),
        ] = False,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=200,
                description="Makes a retry safe: the same key and body get the first answer",
            ),
        ] = None,
    ) -> Any:
        if sends is not None and not wait:
            return _queue(body, sends, idempotency_key)
        if wait and _recipients(body) > WAIT_MAX_RECIPIENTS:
            raise InvalidInput(
                f"?wait=true sends up to {WAIT_MAX_RECIPIENTS:,} recipients during the request: "
                "leave it out to queue a larger send"
            )
        if idempotency_key is None:
            return _send(body)
        claim = store.claim_key(idempotency_key, _fingerprint(body))
        if claim.state is ClaimState.DONE:
            return _answer(claim.response)
        if claim.state is not ClaimState.NEW:
            raise _key_taken(idempotency_key, claim.state)
        try:
            report = _send(body)
        except InvalidInput:
            store.release_key(idempotency_key)  # refused before anything left: retry freely
            raise
        store.finish_key(idempotency_key, report.model_dump(mode="json"))
        return report

    def _queue(body: SendRequest, sends: Sends, key: str | None) -> Any:
        _check_columns(body)
        try:
            answer = accept_send(
                gateway,
                sends,
                body.to or [],
                body.text,
                rows=body.rows,
                key=(key, _fingerprint(body)) if key else None,
                **_options(body),
            )
        except KeyTaken as taken:
            assert key is not None
            raise _key_taken(key, taken.state) from None
        return _answer(answer)

    def _answer(answer: dict[str, Any]) -> Any:
        """An answer as first given: a queued send's (202) or a sent one's report (201); an
        Idempotency-Key's retry may get either, whichever way the first request went."""
        if "send_id" in answer:
            return JSONResponse(answer, 202)
        return SendReportOut.model_validate(answer)

    def _key_taken(key: str, state: ClaimState) -> HTTPException:
        if state is ClaimState.CONFLICT:
            return HTTPException(
                409,
                f"the Idempotency-Key {key!r} was used for another request in the "
                "last 24 h: use a new key for a new send",
            )
        return HTTPException(
            409,
            f"the request with Idempotency-Key {key!r} has not finished, or "
            "was cut off: its messages are on record (GET /v1/messages); do not send it "
            "again without checking",
        )

    def _options(body: SendRequest) -> SendOptions:
        return SendOptions(
            sender=body.sender,
            region=body.region,
            strict=body.strict,
            max_parts=body.max_parts,
            truncate=body.truncate,
            scheduled_at=body.scheduled_at,
            campaign_name=body.tag,
            flash=body.flash,
            opted_out=opted_out(store, ignore=body.ignore_opt_out),
            callback_url=body.callback_url or callback_url,
        )

    def _send(body: SendRequest) -> SendReportOut:
        options = _options(body)
        _check_columns(body)
        if body.rows is not None:
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
