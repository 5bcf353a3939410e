"""A fourth provider needs its module, its emulator, one registry line each: proved here.

``Toy`` below stands for ``providers/toy.py`` and ``ToyEmulator`` for ``sandbox/toy/``; the
test adds one entry to each registry (what the two registry lines do) and nothing else, then
sends through the same gateway, sandbox app and contract rules the real providers go through.
If this needs a change anywhere else, a provider-specific piece has leaked out of its room.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any, Final

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smsgate.core.dsn import Dsn
from smsgate.core.errors import Unsupported
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.report import RecipientResult, RecipientStatus, RequestRecord
from smsgate.core.secret import Secret
from smsgate.core.sender import SenderRule
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway
from smsgate.providers import REGISTRY
from smsgate.providers.base import (
    BaseProvider,
    Batch,
    BatchOutcome,
    Capabilities,
    Exchange,
    Registration,
    json_request,
)
from smsgate.sandbox import emulators as sandbox_registry
from smsgate.sandbox.emulator import EmulatorRegistration, Shared, sandbox_dsn
from smsgate.sandbox.emulators import EMULATORS
from smsgate.sandbox.inbox import InboxMessage
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, inbox

NAME: Final = "toy"

# -- what would be providers/toy.py ----------------------------------------------------------

CAPABILITIES: Final = Capabilities(
    max_recipients_per_request=2,
    max_text_chars=160,
    sender=SenderRule(re.compile(r"[A-Z]{2,8}"), "2 to 8 capital letters", provider="Toy"),
)


class Toy(BaseProvider):
    name = NAME
    capabilities = CAPABILITIES

    def __init__(self, key: Secret, origin: str) -> None:
        self.key, self.origin = key, origin

    @classmethod
    def from_dsn(cls, dsn: Dsn) -> Toy:
        return cls(Secret(dsn.credential("key", "KEY")), dsn.origin("https://toy.invalid"))

    def describe(self) -> str:
        return f"Toy at {self.origin}"

    def send(self, batch: Batch) -> Exchange[BatchOutcome]:
        body = {"to": [r.number for r in batch.recipients], "text": batch.message.text}
        url = f"{self.origin}/toy/send"
        response = yield json_request("POST", url, f"Key {self.key.reveal()}", body)
        ids = response.json().get("ids", []) if response.status_code == 200 else []
        results = [
            RecipientResult(r.number, RecipientStatus.SENT, ids[i])
            if i < len(ids)
            else RecipientResult(r.number, RecipientStatus.REJECTED, None, "toy refused it")
            for i, r in enumerate(batch.recipients)
        ]
        record = RequestRecord(None, response.status_code, "", len(batch.recipients))
        return BatchOutcome(results, record)

    def read_webhook(self, fields: dict[str, str]) -> Receipt | Reply:
        if "id" not in fields:
            raise ValueError("not a toy receipt")
        return Receipt(NAME, MessageStatus.DELIVERED, True, "OK", fields["id"])


# -- what would be sandbox/toy/ --------------------------------------------------------------


class ToyEmulator:
    name = NAME

    def __init__(self, shared: Shared) -> None:
        self.inbox = shared.inbox

    def demo_dsn(self, host: str, port: int) -> str:
        return sandbox_dsn(NAME, "toy-key", host, port)

    def set_receipt_delay(self, seconds: float) -> None:
        pass

    def restore(self) -> None:
        pass  # it keeps nothing of its own: its messages last in the shared inbox

    def resume(self) -> None:
        pass

    def routes(self) -> list[BaseRoute]:
        return [Route("/toy/send", self._send, methods=["POST"])]

    async def _send(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Key toy-key":
            return JSONResponse({"error": "who are you"}, 401)
        body: dict[str, Any] = json.loads(await request.body())
        ids = [secrets.token_hex(6) for _ in body["to"]]
        self.inbox.add(
            [
                InboxMessage(i, NAME, "toy", "", to, body["text"], None, "TOY", "GSM-7", 1, 0, "ok")
                for i, to in zip(ids, body["to"], strict=True)
            ]
        )
        return JSONResponse({"ids": ids})


def client_dsn(host: str, port: int, **options: str) -> str:
    return sandbox_dsn(NAME, "toy-key", host, port, **options)


# -- the two registry lines, and the proof ---------------------------------------------------


@pytest.fixture
def toy_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundSandbox]:
    monkeypatch.setitem(REGISTRY, NAME, Registration(NAME, CAPABILITIES, Toy.from_dsn))
    toy = EmulatorRegistration(NAME, ToyEmulator, client_dsn)
    monkeypatch.setattr(sandbox_registry, "EMULATORS", (*EMULATORS, toy))
    with BackgroundSandbox() as sandbox:
        yield sandbox


def test_a_fourth_provider_sends_through_the_unchanged_gateway_and_sandbox(
    toy_sandbox: BackgroundSandbox,
) -> None:
    dsn = client_dsn(toy_sandbox.host, toy_sandbox.port)
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send("0612345678, 0612345679, +447700900001", "Hi", sender="TOY")
        assert report.accepted == 3 and len(report.requests) == 2  # its own batch size
        assert len(inbox(toy_sandbox)) == 3
        with pytest.raises(Unsupported, match="toy cannot tell an account's credits; allmysms"):
            gateway.info()  # an ability it does not declare: refused, naming who can
        with pytest.raises(Exception, match="2 to 8 capital letters"):
            gateway.send("0612345678", "Hi", sender="toy")  # its own sender rule
        receipt = gateway.read_webhook({"id": "x"})
        assert isinstance(receipt, Receipt) and receipt.status is MessageStatus.DELIVERED
    listed = httpx.get(f"{toy_sandbox.url}/sandbox/messages", params={"provider": NAME}).json()
    assert listed["count"] == 3
