"""The AllMySMS emulator: its accounts, campaigns and receipts, its API and its controls."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smsgate.sandbox.allmysms import api
from smsgate.sandbox.allmysms.accounts import DEMO_API_KEY, DEMO_LOGIN, parse_account
from smsgate.sandbox.allmysms.state import AllMySmsState
from smsgate.sandbox.emulator import sandbox_dsn
from smsgate.sandbox.inbox import InboxMessage

NAME: Final = "allmysms"


class AllMySmsEmulator(AllMySmsState):
    name = NAME
    replies = True

    def demo_dsn(self, host: str, port: int) -> str:
        return client_dsn(host, port)

    def set_receipt_delay(self, seconds: float) -> None:
        self.events.settings.receipt_delay = seconds

    def configure(
        self, accounts: list[str], receipts_url: str | None, replies_url: str | None
    ) -> None:
        """Extra accounts (``LOGIN:APIKEY[:CREDITS]``) and where receipts and replies go;
        raises ValueError naming a malformed account. An account given as it was at the
        last start keeps the credits it has left; given otherwise, it starts afresh."""
        for spec in accounts:
            account = parse_account(spec)
            if self.given.get(account.login) != spec or not self.accounts.exists(account.login):
                self.accounts.add(account)
                self.given[account.login] = spec
        self.events.settings.receipts_url = receipts_url
        self.events.settings.replies_url = replies_url

    async def settle(self, message: InboxMessage, outcome: str) -> bool:
        return await self.events.settle(message, outcome)

    def account_list(self) -> list[dict[str, object]]:
        with self.accounts.lock:
            found = list(self.accounts.by_login.values())
        return [{"account": a.login, "credits": a.credits} for a in found]

    async def reply_to(self, message: InboxMessage, text: str) -> bool:
        return self.events.reply(self.inbox, message.to, text, message.id) is not None

    def routes(self) -> list[BaseRoute]:
        return [
            *api.routes(self),
            Route(f"/sandbox/{NAME}/settings", self._settings, methods=["POST"]),
            Route(f"/sandbox/{NAME}/replies", self._reply, methods=["POST"]),
        ]

    async def _settings(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        settings = self.events.settings
        if "receipt_delay" in body:
            settings.receipt_delay = float(body["receipt_delay"])
        for name in ("receipts_url", "replies_url"):
            if name in body:
                setattr(settings, name, body[name] or None)
        return JSONResponse(
            {
                "receipt_delay": settings.receipt_delay,
                "receipts_url": settings.receipts_url,
                "replies_url": settings.replies_url,
            }
        )

    async def _reply(self, request: Request) -> Response:
        """A recipient answers an SMS they got: AllMySMS's inbound flow and webhook."""
        body = await request.json()
        sender = str(body.get("from", "")).lstrip("+")
        mo = self.events.reply(self.inbox, sender, str(body.get("text", "")), body.get("sms_id"))
        if mo is None:
            return JSONResponse({"error": f"no SMS was sent to {sender} to reply to"}, 404)
        return JSONResponse(mo.to_dict() | {"smsId": mo.sms_id}, status_code=201)


def client_dsn(
    host: str, port: int, login: str = DEMO_LOGIN, api_key: str = DEMO_API_KEY, **options: str
) -> str:
    """The DSN of an AllMySMS account on a sandbox at host:port."""
    return sandbox_dsn(NAME, f"{login}:{api_key}", host, port, **options)
