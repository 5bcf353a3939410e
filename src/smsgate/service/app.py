"""``smsgate serve``: the API a Power Automate connector, a Zapier/n8n webhook or curl calls.

Sync endpoints (FastAPI runs them in its thread pool): the gateway's httpx client and the store
are thread-safe, and the work is I/O bound.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from smsgate.core.errors import ConfigurationError, InvalidInput, ProviderError
from smsgate.core.personalise import Template
from smsgate.core.receipts import Reply
from smsgate.core.remote import MessageQuery
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway, SendOptions
from smsgate.service.auth import matches_any, split_list
from smsgate.service.ingest import ReceiptWriter
from smsgate.service.schemas import (
    AccountOut,
    CustomerOut,
    ErrorOut,
    EventOut,
    MessageOut,
    MessagePageOut,
    ProviderMessageOut,
    ProviderStatusOut,
    ReplyOut,
    SendReportOut,
    SendRequest,
    report_out,
)
from smsgate.service.swagger2 import swagger2
from smsgate.service.webhooks import PREFIX as WEBHOOK_PREFIX
from smsgate.service.webhooks import WebhookApp
from smsgate.store import Store
from smsgate.store.actions import NotScheduled, UnknownMessage, cancel_message

API_KEYS_VARIABLE: Final = "SMSGATE_API_KEYS"
WEBHOOK_SECRETS_VARIABLE: Final = "SMSGATE_WEBHOOK_SECRETS"
MAX_OFFSET: Final = 2**31 - 1  # what every database takes as an OFFSET
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


@dataclass(frozen=True)
class ServiceConfig:
    api_keys: tuple[str, ...]
    webhook_secrets: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ServiceConfig":
        env = os.environ if env is None else env
        keys = split_list(env.get(API_KEYS_VARIABLE))
        if not keys:
            raise ConfigurationError(
                f"the service needs at least one API key: set {API_KEYS_VARIABLE}=KEY[,KEY2]"
            )
        return cls(keys, split_list(env.get(WEBHOOK_SECRETS_VARIABLE)))

    def __repr__(self) -> str:
        return f"ServiceConfig({len(self.api_keys)} API keys, {len(self.webhook_secrets)} secrets)"


def create_app(gateway: Gateway, store: Store, config: ServiceConfig) -> ASGIApp:
    writer = ReceiptWriter(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        yield
        await writer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="smsgate",
        version="1",
        description="Send SMS through real providers and know what happened to every one.",
        responses={401: {"model": ErrorOut, "description": "Missing or wrong API key"}},
    )
    bearer = HTTPBearer(auto_error=False, description="An API key from SMSGATE_API_KEYS")

    def api_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        token = credentials.credentials if credentials else ""
        if not matches_any(token, config.api_keys):
            raise HTTPException(401, "a valid API key is required: Authorization: Bearer KEY")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, error.status_code, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return JSONResponse(
            {"error": f"{where or 'request'}: {first.get('msg', 'invalid')}{more}"}, 422
        )

    @app.exception_handler(InvalidInput)
    async def bad_input(request: Request, error: InvalidInput) -> JSONResponse:
        return JSONResponse({"error": str(error)}, 422)

    @app.exception_handler(ProviderError)
    async def provider_error(request: Request, error: ProviderError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, 502)

    authed = [Depends(api_key)]

    @app.post(
        "/v1/messages",
        operation_id="SendMessages",
        summary="Send an SMS to one or many recipients",
        response_model=SendReportOut,
        status_code=201,
        dependencies=authed,
        responses=_ERRORS,
    )
    def send_messages(body: SendRequest) -> SendReportOut:
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
        dependencies=authed,
        responses=_ERRORS,
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
            since=_aware(since),
            until=_aware(until),
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
        dependencies=authed,
        responses=_ERRORS,
    )
    def get_message(message_id: MessageId) -> MessageOut:
        return _message(message_id)

    @app.get(
        "/v1/messages/{message_id}/events",
        operation_id="ListMessageEvents",
        summary="A message's status history",
        response_model=list[EventOut],
        dependencies=authed,
        responses=_ERRORS,
    )
    def list_events(message_id: MessageId) -> list[EventOut]:
        _message(message_id)
        return [EventOut.model_validate(e) for e in store.events(message_id)]

    @app.post(
        "/v1/messages/{message_id}/cancel",
        operation_id="CancelMessage",
        summary="Cancel a scheduled message (and the rest of its provider campaign)",
        response_model=MessageOut,
        dependencies=authed,
        responses={**_ERRORS, 409: {"model": ErrorOut}, 502: {"model": ErrorOut}},
    )
    def cancel(message_id: MessageId) -> MessageOut:
        try:
            cancel_message(gateway, store, message_id)
        except UnknownMessage as error:
            raise HTTPException(404, str(error)) from None
        except NotScheduled as error:
            raise HTTPException(409, str(error)) from None
        return _message(message_id)

    @app.get(
        "/v1/account",
        operation_id="GetAccount",
        summary="The provider account's status and credits",
        response_model=AccountOut,
        dependencies=authed,
        responses={**_ERRORS, 502: {"model": ErrorOut}},
    )
    def get_account() -> AccountOut:
        return AccountOut.model_validate(gateway.info().to_dict())

    @app.get(
        "/v1/replies",
        operation_id="ListReplies",
        summary="Replies received, newest first",
        response_model=list[ReplyOut],
        dependencies=authed,
        responses=_ERRORS,
    )
    def list_replies(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[ReplyOut]:
        return [ReplyOut.model_validate(r) for r in store.replies(limit=limit, offset=offset)]

    async def receive(
        provider: str, secret: str, fields: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """A provider's webhook call; nothing is recorded unless the secret is right."""
        if not matches_any(secret, config.webhook_secrets):
            return 401, {"error": "unknown webhook secret"}
        if provider != gateway.endpoint.provider.name:
            return 404, {"error": f"this service does not serve {provider!r} webhooks"}
        try:
            event = gateway.endpoint.provider.read_webhook(fields)
        except ValueError as error:
            return 422, {"error": str(error)}
        if isinstance(event, Reply):
            new = await asyncio.to_thread(store.add_reply, event)
            return 200, {"kind": "reply", "outcome": "new" if new else "duplicate"}
        outcome = await writer.submit(event)
        return 200, {"kind": "receipt", "outcome": outcome.value}

    at_provider = {
        **_ERRORS,
        502: {"model": ErrorOut, "description": "The provider refused or failed"},
    }

    def _query(
        status: str | None,
        to: str | None,
        sender: str | None,
        keyword: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        skip: int,
    ) -> MessageQuery:
        return MessageQuery(status, to, sender, keyword, _aware(since), _aware(until), limit, skip)

    Status = Annotated[str | None, Query(description="The provider's status word", max_length=32)]
    Number = Annotated[str | None, Query(description="Recipient number", max_length=20)]
    Sender = Annotated[str | None, Query(description="Sender", max_length=15)]
    Keyword = Annotated[str | None, Query(description="Inbound keyword", max_length=50)]
    Since = Annotated[datetime | None, Query(description="Created at or after")]
    Until = Annotated[datetime | None, Query(description="Created at or before")]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Skip = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

    @app.get(
        "/v1/provider/messages",
        operation_id="SearchProviderMessages",
        summary="Search the messages the provider holds (The SMS Works)",
        response_model=list[ProviderMessageOut],
        dependencies=authed,
        responses=at_provider,
    )
    def search_provider(
        status: Status = None,
        to: Number = None,
        sender: Sender = None,
        keyword: Keyword = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
        skip: Skip = 0,
    ) -> list[ProviderMessageOut]:
        query = _query(status, to, sender, keyword, since, until, limit, skip)
        found = gateway.search(query)
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    @app.get(
        "/v1/provider/messages/failed",
        operation_id="ListFailedMessages",
        summary="Messages the provider could not deliver",
        response_model=list[ProviderMessageOut],
        dependencies=authed,
        responses=at_provider,
    )
    def failed_provider(limit: Limit = 100, skip: Skip = 0) -> list[ProviderMessageOut]:
        found = gateway.search(MessageQuery(limit=limit, skip=skip), failed=True)
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    @app.get(
        "/v1/provider/inbox",
        operation_id="ListUnreadInbound",
        summary="Unread incoming messages at the provider",
        response_model=list[ProviderMessageOut],
        dependencies=authed,
        responses=at_provider,
    )
    def inbox_provider(limit: Limit = 100, skip: Skip = 0) -> list[ProviderMessageOut]:
        found = gateway.inbound(MessageQuery(limit=limit, skip=skip))
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    @app.get(
        "/v1/provider/scheduled",
        operation_id="ListScheduledMessages",
        summary="Messages and batches scheduled at the provider",
        response_model=list[ProviderMessageOut],
        dependencies=authed,
        responses=at_provider,
    )
    def scheduled_provider() -> list[ProviderMessageOut]:
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in gateway.scheduled()]

    @app.get(
        "/v1/provider/batches/{batch_id}",
        operation_id="GetBatchMessages",
        summary="Every message of one batch at the provider",
        response_model=list[ProviderMessageOut],
        dependencies=authed,
        responses=at_provider,
    )
    def batch_provider(
        batch_id: Annotated[str, Path(description="The provider's batch id", max_length=64)],
    ) -> list[ProviderMessageOut]:
        found = gateway.batch_messages(batch_id)
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    ProviderId = Annotated[str, Path(description="The provider's message id", max_length=64)]

    @app.get(
        "/v1/provider/messages/{provider_message_id}",
        operation_id="GetProviderMessage",
        summary="One message's status at the provider now",
        response_model=ProviderStatusOut,
        dependencies=authed,
        responses=at_provider,
    )
    def lookup_provider(provider_message_id: ProviderId) -> ProviderStatusOut:
        receipt = gateway.lookup(provider_message_id)
        return ProviderStatusOut(
            provider_message_id=receipt.provider_message_id or provider_message_id,
            status=receipt.status.value,
            provider_status=receipt.provider_status,
            final=receipt.permanent,
            recipient=receipt.recipient,
            occurred_at=receipt.occurred_at,
            detail=receipt.detail,
        )

    @app.delete(
        "/v1/provider/messages/{provider_message_id}",
        operation_id="DeleteProviderMessage",
        summary="Delete a message at the provider",
        status_code=204,
        dependencies=authed,
        responses=at_provider,
    )
    def delete_provider(provider_message_id: ProviderId) -> Response:
        gateway.delete(provider_message_id)
        return Response(status_code=204)

    @app.get(
        "/v1/account/customer-id",
        operation_id="GetCustomerId",
        summary="The provider account's customer id",
        response_model=CustomerOut,
        dependencies=authed,
        responses=at_provider,
    )
    def customer_id() -> CustomerOut:
        return CustomerOut(customer_id=gateway.customer_id())

    @app.get("/openapi-v2.json", include_in_schema=False)
    def openapi_v2(request: Request) -> dict[str, Any]:
        """Swagger 2.0, for connector importers without OpenAPI 3 (Power Automate)."""
        return swagger2(app.openapi(), request.url.netloc, request.url.scheme)

    @app.get("/healthz", operation_id="Health", summary="Liveness", include_in_schema=True)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return _Dispatch(app, WebhookApp(receive))


class _Dispatch:
    """Webhooks go straight to a bare ASGI app (they come by the thousand and need none of
    FastAPI's layers); everything else, lifespan included, to the FastAPI app."""

    def __init__(self, api: FastAPI, webhooks: WebhookApp) -> None:
        self.api = api
        self.webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WEBHOOK_PREFIX):
            await self.webhooks(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
