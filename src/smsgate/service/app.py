"""``smsgate serve``: the API a Power Automate connector, a Zapier/n8n webhook or curl calls.

Sync endpoints (FastAPI runs them in its thread pool): the gateway's httpx client and the store
are thread-safe, and the work is I/O bound.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from smsgate import settings
from smsgate.core.errors import ConfigurationError, InvalidInput, ProviderError
from smsgate.core.optout import DEFAULT as DEFAULT_OPT_OUT
from smsgate.core.optout import OptOutKeywords
from smsgate.core.receipts import Reply
from smsgate.gateway import Gateway
from smsgate.service.auth import matches_any
from smsgate.service.guard import ApiGuard
from smsgate.service.ingest import ReceiptWriter
from smsgate.service.routers import (
    account,
    callbacks,
    messages,
    optouts,
    provider,
    replies,
    routes,
    sends,
)
from smsgate.service.schemas import ErrorOut
from smsgate.service.swagger2 import swagger2
from smsgate.service.webhooks import PREFIX as WEBHOOK_PREFIX
from smsgate.service.webhooks import WebhookApp
from smsgate.store import Store
from smsgate.usecases.callbacks import Backoff, Deliverer
from smsgate.usecases.health import keep_judging
from smsgate.usecases.optouts import record_reply

MAX_API_BODY: Final = 64 * 2**20
"""A send's body at most (about a million recipients); over it, 413 before it is read."""


@dataclass(frozen=True)
class ServiceConfig:
    api_keys: tuple[str, ...]
    webhook_secrets: tuple[str, ...]
    opt_out_keywords: OptOutKeywords = DEFAULT_OPT_OUT
    callback_url: str | None = None
    """Where status changes go for sends that name no callback_url."""
    callback_secret: str | None = None
    callback_backoff: Backoff | None = None
    """How failed callbacks are retried (default: from 5 s, doubling, for a day)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ServiceConfig":
        keys = settings.split_list(settings.API_KEYS.read(env))
        if not keys:
            raise ConfigurationError(
                f"the service needs at least one API key: set {settings.API_KEYS.name}=KEY[,KEY2]"
            )
        secrets = settings.split_list(settings.WEBHOOK_SECRETS.read(env))
        callback_url = settings.CALLBACK_URL.validate(settings.CALLBACK_URL.read(env)) or None
        return cls(
            keys,
            secrets,
            settings.opt_out_keywords(env),
            callback_url,
            settings.callback_secret(env),
        )

    def __repr__(self) -> str:
        return f"ServiceConfig({len(self.api_keys)} API keys, {len(self.webhook_secrets)} secrets)"


def create_app(gateway: Gateway, store: Store, config: ServiceConfig) -> ASGIApp:
    """The API (routers by resource) and the providers' webhooks, over one gateway and store."""
    writer = ReceiptWriter(store)
    # On PostgreSQL the workers deliver callbacks (jobs the store's trigger defers); on the
    # embedded SQLite store, there are no workers: the service delivers them itself.
    deliverer = (
        Deliverer(store, config.callback_secret, backoff=config.callback_backoff)
        if store.engine.dialect.name != "postgresql"
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        stop = asyncio.Event()
        delivering = asyncio.create_task(deliverer.run(stop)) if deliverer else None
        judging = asyncio.create_task(keep_judging(gateway, store, stop))
        yield
        stop.set()
        await judging
        if delivering is not None:
            await delivering
        await writer.stop()

    # The docs pages serve Swagger UI and Redoc from the package: they work offline.
    app = FastAPIOffline(
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

    install_error_handlers(app)
    auth = [Depends(api_key)]
    app.include_router(messages.router(gateway, store, auth, config.callback_url))
    for router in (account, replies, provider, routes):
        app.include_router(router.router(gateway, store, auth))
    app.include_router(sends.router(store, auth))
    app.include_router(callbacks.router(store, auth))
    app.include_router(optouts.router(store, auth))

    @app.get("/openapi-v2.json", include_in_schema=False)
    def openapi_v2(request: Request) -> dict[str, Any]:
        """Swagger 2.0, for connector importers without OpenAPI 3 (Power Automate)."""
        return swagger2(app.openapi(), request.url.netloc, request.url.scheme)

    @app.get("/healthz", operation_id="Health", summary="Liveness", include_in_schema=True)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    served = gateway.providers()

    async def receive(
        provider: str, secret: str, fields: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """A provider's webhook call, its secret already checked (nothing else is read)."""
        if provider not in served:
            return 404, {"error": f"this service does not serve {provider!r} webhooks"}
        try:
            event = gateway.read_webhook(fields, provider)
        except ValueError as error:
            return 422, {"error": str(error)}
        if isinstance(event, Reply):
            keywords = config.opt_out_keywords
            new = await asyncio.to_thread(record_reply, store, event, keywords)
            return 200, {"kind": "reply", "outcome": "new" if new else "duplicate"}
        outcome = await writer.submit(event)
        return 200, {"kind": "receipt", "outcome": outcome.value}

    def authorised(secret: str) -> bool:
        return matches_any(secret, config.webhook_secrets)

    guarded = ApiGuard(app, config.api_keys, MAX_API_BODY)
    return _Dispatch(guarded, WebhookApp(receive, authorised))


def install_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"error": "one line"}``: what is wrong and what to do."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, error.status_code, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        if first.get("type") == "extra_forbidden":
            return JSONResponse(
                {"error": f"unknown field {where!r}: check its spelling in the API docs{more}"},
                422,
            )
        return JSONResponse(
            {"error": f"{where or 'request'}: {first.get('msg', 'invalid')}{more}"}, 422
        )

    @app.exception_handler(InvalidInput)
    async def bad_input(request: Request, error: InvalidInput) -> JSONResponse:
        return JSONResponse({"error": str(error)}, 422)

    @app.exception_handler(ProviderError)
    async def provider_error(request: Request, error: ProviderError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, 502)


class _Dispatch:
    """Webhooks go straight to a bare ASGI app (they come by the thousand and need none of
    FastAPI's layers); everything else, lifespan included, to the FastAPI app."""

    def __init__(self, api: ASGIApp, webhooks: WebhookApp) -> None:
        self.api = api
        self.webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WEBHOOK_PREFIX):
            await self.webhooks(scope, receive, send)
        else:
            await self.api(scope, receive, send)
