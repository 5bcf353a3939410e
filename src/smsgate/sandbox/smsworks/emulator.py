"""The SMS Works emulator: its customers and tokens, messages and reports, API and controls."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smsgate.sandbox.emulator import sandbox_dsn
from smsgate.sandbox.inbox import InboxMessage
from smsgate.sandbox.smsworks import api
from smsgate.sandbox.smsworks.accounts import DEMO_CUSTOMER, DEMO_KEY, DEMO_SECRET
from smsgate.sandbox.smsworks.messages import NAME, Stored
from smsgate.sandbox.smsworks.state import SmsWorksState


class SmsWorksEmulator(SmsWorksState):
    name = NAME

    def demo_dsn(self, host: str, port: int) -> str:
        return sandbox_dsn(NAME, self.customers.demo_token(), host, port)

    replies = True

    def set_receipt_delay(self, seconds: float) -> None:
        self.messages.settings.receipt_delay = seconds

    async def settle(self, message: InboxMessage, outcome: str) -> bool:
        return await self.messages.settle(message.id, outcome)

    def account_list(self) -> list[dict[str, object]]:
        return [
            {"account": c.customer_id, "credits": c.credits}
            for c in list(self.customers.by_id.values())
        ]

    async def reply_to(self, message: InboxMessage, text: str) -> bool:
        """The recipient answers: an incoming SMS to the account, unread (``/inbox``)."""
        self.incoming(message.account, message.to, text)
        return True

    def incoming(
        self, customer_id: str, sender: str, text: str, to: str = "447700900000"
    ) -> Stored:
        fields = {
            "sender": sender.lstrip("+"),
            "destination": to,
            "content": text,
            "keyword": text.split(" ", 1)[0].upper() if text else "",
            "status": "INCOMING",
        }
        return self.messages.add(customer_id, fields, 0.0, unread=True)

    def routes(self) -> list[BaseRoute]:
        return [
            *api.routes(self),
            Route(f"/sandbox/{NAME}/settings", self._settings, methods=["POST"]),
            Route(f"/sandbox/{NAME}/incoming", self._incoming, methods=["POST"]),
        ]

    async def _settings(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        settings = self.messages.settings
        if "receipt_delay" in body:
            settings.receipt_delay = float(body["receipt_delay"])
        if "delivery_report_url" in body:
            settings.delivery_report_url = body["delivery_report_url"] or None
        if "throttle" in body:
            settings.throttle = bool(body["throttle"])
        if "credits" in body:
            for customer in self.customers.by_id.values():
                customer.credits = float(body["credits"])
        return JSONResponse(
            {
                "receipt_delay": settings.receipt_delay,
                "delivery_report_url": settings.delivery_report_url,
                "throttle": settings.throttle,
            }
        )

    async def _incoming(self, request: Request) -> Response:
        """An SMS a handset sends to the account's number: unread until deleted."""
        body = await request.json()
        customer_id = str(body.get("customerid") or next(iter(self.customers.by_id)))
        stored = self.incoming(
            customer_id,
            str(body.get("from", "")),
            str(body.get("content", "")),
            str(body.get("to", "447700900000")),
        )
        return JSONResponse(stored.data, status_code=201)


def client_dsn(host: str, port: int, **options: str) -> str:
    """The DSN of the demo customer on a running sandbox, with a token it issues."""
    answer = httpx.post(
        f"http://{host}:{port}/v1/auth/token",
        json={"customerid": DEMO_CUSTOMER, "key": DEMO_KEY, "secret": DEMO_SECRET},
        timeout=10,
    )
    return sandbox_dsn(NAME, answer.json()["token"], host, port, **options)
