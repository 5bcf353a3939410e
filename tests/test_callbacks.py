"""Status callbacks over real sockets: a client's receiver on loopback that fails, then
accepts; signatures checked with the Standard Webhooks algorithm written out here (not the
package that signs them)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from smsgate.gateway import Gateway
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from smsgate.service.app import ServiceConfig, create_app
from smsgate.store import Store
from smsgate.store.callbacks import Callbacks
from smsgate.usecases.callbacks import Backoff, Deliverer
from tests.conftest import FAST_RETRY, WAIT

SECRET = "whsec_" + base64.b64encode(b"a callback secret of 32 bytes!!!").decode()
KEY = "key"
QUICK = Backoff(first=0.05, longest=0.2, give_up_after=2.0)


@dataclass
class Receiver:
    """The client's application: answers ``codes`` in turn (then the last one forever)."""

    codes: list[int]
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append((headers, body))
        code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
        await send({"type": "http.response.start", "status": code, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The specification's check: base64(HMAC-SHA256(key, id.timestamp.body)), key being the
    base64 part of the secret, among the space-separated ``v1,`` signatures."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.removeprefix("v1,") for s in headers["webhook-signature"].split(" ")]
    return any(hmac.compare_digest(expected, s) for s in given)


@contextmanager
def delivering(store: Store) -> Iterator[None]:
    """On PostgreSQL the workers deliver (tests/test_queue.py runs them): here a deliverer
    in a thread stands in for them. On SQLite the service delivers by itself."""
    if store.engine.dialect.name != "postgresql":
        yield
        return
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    deliverer = Deliverer(store, SECRET, backoff=QUICK)
    thread = threading.Thread(target=loop.run_until_complete, args=(deliverer.run(stop, 0.05),))
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)


@contextmanager
def service(
    store: Store, sandbox: BackgroundSandbox, default_url: str | None = None
) -> Iterator[httpx.Client]:
    """The service, signing its callbacks; ``default_url``: its SMSGATE_CALLBACK_URL."""
    gateway = Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}, recorder=store)
    config = ServiceConfig(
        (KEY,), (), callback_url=default_url, callback_secret=SECRET, callback_backoff=QUICK
    )
    with (
        BackgroundApp(create_app(gateway, store, config)) as server,
        delivering(store),
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, params=WAIT
        ) as api,
    ):
        yield api
    gateway.close()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def test_a_receiver_failing_twice_gets_one_delivery_signed_with_the_same_webhook_id(
    store: Store, sandbox: BackgroundSandbox
) -> None:
    receiver = Receiver([500, 503, 204])
    with BackgroundApp(receiver) as client_app, service(store, sandbox) as api:
        answer = api.post(
            "/v1/messages",
            json={"to": "0612345678", "text": "Hi", "callback_url": f"{client_app.url}/hooks"},
        )
        assert answer.status_code == 201, answer.text
        message_id = answer.json()["recipients"][0]["id"]
        wait_until(lambda: len(receiver.seen) >= 3, "three attempts")
        delivered = wait_until(
            lambda: api.get("/v1/callbacks", params={"status": "delivered"}).json()["items"],
            "the callback to be delivered",
        )
    assert len(receiver.seen) == 3  # two failures, one delivery, nothing more
    ids = {headers["webhook-id"] for headers, _ in receiver.seen}
    assert ids == {delivered[0]["id"]}
    for headers, body in receiver.seen:
        assert signature_valid(SECRET, headers, body)
    payload = json.loads(receiver.seen[-1][1])
    assert payload["type"] == "message.sent"
    assert payload["data"]["id"] == message_id and payload["data"]["status"] == "sent"
    assert delivered[0]["attempts"] == 3


def test_a_receiver_that_always_fails_is_dead_lettered_then_replayed(
    store: Store, sandbox: BackgroundSandbox
) -> None:
    receiver = Receiver([500])
    with BackgroundApp(receiver) as client_app, service(store, sandbox) as api:
        answer = api.post(
            "/v1/messages",
            json={"to": "0612345678", "text": "Hi", "callback_url": f"{client_app.url}/hooks"},
        )
        assert answer.status_code == 201, answer.text
        failed = wait_until(
            lambda: api.get("/v1/callbacks", params={"status": "failed"}).json()["items"],
            "the dead letter",
        )
        assert failed[0]["last_error"].startswith("gave up: the callback URL answered HTTP 500")
        attempts = len(receiver.seen)
        assert attempts >= 2
        receiver.codes[:] = [200]  # the client fixed its application
        replayed = api.post(f"/v1/callbacks/{failed[0]['id']}/replay")
        assert replayed.status_code == 202, replayed.text
        wait_until(lambda: len(receiver.seen) > attempts, "the replay")
        wait_until(
            lambda: api.get("/v1/callbacks", params={"status": "delivered"}).json()["total"],
            "the replay to be delivered",
        )
        assert api.post("/v1/callbacks/cb_nope/replay").status_code == 404
    assert {h["webhook-id"] for h, _ in receiver.seen} == {failed[0]["id"]}


def test_a_receiver_refusing_with_a_4xx_is_not_retried(
    store: Store, sandbox: BackgroundSandbox
) -> None:
    receiver = Receiver([410])
    with BackgroundApp(receiver) as client_app, service(store, sandbox) as api:
        api.post(
            "/v1/messages",
            json={"to": "0612345678", "text": "Hi", "callback_url": f"{client_app.url}/h"},
        )
        failed = wait_until(
            lambda: api.get("/v1/callbacks", params={"status": "failed"}).json()["items"],
            "the dead letter",
        )
        time.sleep(0.3)  # longer than the backoff: a retry would have come by now
    assert len(receiver.seen) == 1
    assert failed[0]["last_error"] == "the callback URL answered HTTP 410"


def test_every_status_change_is_told_once_and_a_reply_too(store: Store) -> None:
    """The triggers: a change of status (not a write of the same one) makes one callback, in
    the change's own transaction; a reply to a message with a callback URL makes one."""
    from datetime import UTC, datetime

    from smsgate.core.receipts import Reply

    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO messages (id, provider, sandbox, recipient, text, encoding, parts, "
            "status, final, created_at, updated_at, callback_url, provider_message_id) VALUES "
            "('msg_1', 'allmysms', false, '33612345678', 'Hi', 'GSM-7', 1, 'submitting', "
            "false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'http://127.0.0.1:9/h', 'p1')"
        )
        for status in ("sent", "sent", "delivered"):
            connection.exec_driver_sql(
                f"UPDATE messages SET status = '{status}' WHERE id = 'msg_1'"  # noqa: S608
            )
    store.add_reply(
        Reply("allmysms", "r1", "33612345678", "Thanks", "p1", received_at=datetime.now(UTC))
    )
    rows, _ = Callbacks(store).page(message_id="msg_1")
    kinds = sorted((r.kind, r.status or "") for r in rows)
    assert kinds == [("reply", ""), ("status", "delivered"), ("status", "sent")]
    reply = next(json.loads(r.payload) for r in rows if r.kind == "reply")
    assert reply["type"] == "message.reply" and reply["data"]["text"] == "Thanks"


def test_no_secret_shows_in_a_repr(store: Store) -> None:
    assert SECRET not in repr(Deliverer(store, SECRET))
    assert SECRET not in repr(ServiceConfig((KEY,), (), callback_secret=SECRET))


def test_a_malformed_callback_secret_is_one_clear_line() -> None:
    from smsgate import settings
    from smsgate.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a Standard Webhooks secret"):
        settings.callback_secret({"SMSGATE_CALLBACK_SECRET": "hunter2"})
    assert settings.callback_secret({"SMSGATE_CALLBACK_SECRET": SECRET}) == SECRET


def test_the_services_default_callback_url_serves_sends_that_name_none(
    store: Store, sandbox: BackgroundSandbox
) -> None:
    receiver = Receiver([204])
    with (
        BackgroundApp(receiver) as client_app,
        service(store, sandbox, f"{client_app.url}/default") as api,
    ):
        assert api.post("/v1/messages", json={"to": "0612345678", "text": "Hi"}).is_success
        wait_until(lambda: receiver.seen, "the callback at the default URL")
    assert json.loads(receiver.seen[0][1])["type"] == "message.sent"
