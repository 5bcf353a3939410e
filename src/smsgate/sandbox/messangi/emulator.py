"""The Messangi emulator: its users and keys, messages and callbacks, its API and controls."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smsgate.sandbox.emulator import sandbox_dsn
from smsgate.sandbox.inbox import InboxMessage
from smsgate.sandbox.messangi import api
from smsgate.sandbox.messangi.accounts import DEMO_KEY
from smsgate.sandbox.messangi.events import NAME
from smsgate.sandbox.messangi.state import MessangiState


class MessangiEmulator(MessangiState):
    name = NAME

    def demo_dsn(self, host: str, port: int) -> str:
        return client_dsn(host, port)

    replies = False  # the connector reads no replies from Messangi: none to emulate

    def set_receipt_delay(self, seconds: float) -> None:
        self.events.settings.receipt_delay = seconds

    async def settle(self, message: InboxMessage, outcome: str) -> bool:
        return await self.events.settle(message.id, outcome)

    async def reply_to(self, message: InboxMessage, text: str) -> bool:
        return False

    def account_list(self) -> list[dict[str, object]]:
        """Messangi's users (their keys' owner); it meters no credits here."""
        return [{"account": user, "credits": None} for user in sorted(self.users.passwords)]

    def routes(self) -> list[BaseRoute]:
        return [
            *api.routes(self),
            Route(f"/sandbox/{NAME}/settings", self._settings, methods=["POST"]),
        ]

    async def _settings(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        settings = self.events.settings
        if "receipt_delay" in body:
            settings.receipt_delay = float(body["receipt_delay"])
        for name in ("blacklist", "senders_not_allowed"):
            if name in body:
                setattr(settings, name, {str(item).lstrip("+") for item in body[name]})
        return JSONResponse(
            {
                "receipt_delay": settings.receipt_delay,
                "blacklist": sorted(settings.blacklist),
                "senders_not_allowed": sorted(settings.senders_not_allowed),
            }
        )


def client_dsn(host: str, port: int, api_key: str = DEMO_KEY, **options: str) -> str:
    """The DSN of a Messangi API key on a sandbox (options: batch_size, callbacks)."""
    return sandbox_dsn(NAME, api_key, host, port, **options)
