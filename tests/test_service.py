"""The HTTP service over real sockets: service + sandbox + each database.

The sandbox plays AllMySMS: it accepts the send and calls the service's webhook with receipts
and replies, as the real provider does.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from smsgate.gateway import Gateway
from smsgate.sandbox.allmysms.emulator import AllMySmsEmulator
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from smsgate.service.app import ServiceConfig, create_app
from smsgate.service.schemas import SendRequest
from smsgate.store import Store
from smsgate.usecases.sync import sync
from tests.conftest import FAST_RETRY, WAIT, inbox

KEYS = ("key-one", "key-two")
SECRET = "hook-secret"


class Service:
    def __init__(self, server: BackgroundApp, store: Store, sandbox: BackgroundSandbox) -> None:
        self.server, self.store, self.sandbox = server, store, sandbox
        self.api = httpx.Client(  # ?wait=true: the report in the answer, on either store
            base_url=server.url,
            headers={"Authorization": f"Bearer {KEYS[0]}"},
            params=WAIT,
            timeout=10,
        )

    def webhook(self, secret: str = SECRET) -> str:
        return f"{self.server.url}/webhooks/allmysms/{secret}"

    def send(self, **body: object) -> dict[str, object]:
        response = self.api.post("/v1/messages", json={"text": "Hello", **body})
        assert response.status_code == 201, response.text
        report: dict[str, object] = response.json()
        return report

    def message(self, message_id: str) -> dict[str, object]:
        response = self.api.get(f"/v1/messages/{message_id}")
        assert response.status_code == 200, response.text
        found: dict[str, object] = response.json()
        return found

    def wait_for(
        self, message_id: str, done: Callable[[dict[str, object]], bool]
    ) -> dict[str, object]:
        deadline = time.monotonic() + 10
        while True:
            found = self.message(message_id)
            if done(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture
def service(store: Store, sandbox: BackgroundSandbox) -> Iterator[Service]:
    gateway = Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}, recorder=store)
    app = create_app(gateway, store, ServiceConfig(KEYS, (SECRET,)))
    with BackgroundApp(app) as server:
        running = Service(server, store, sandbox)
        settings = sandbox.state.emulator(AllMySmsEmulator).events.settings
        settings.receipt_delay = 0.2
        settings.receipts_url = settings.replies_url = running.webhook()
        yield running
    gateway.close()


def ids_of(report: dict[str, object]) -> list[str]:
    return [str(r["id"]) for r in report["recipients"]]  # type: ignore[attr-defined]


def test_a_send_whose_receipt_comes_by_webhook_ends_delivered(service: Service) -> None:
    report = service.send(to="0612345678", sender="Acme", tag="welcome")
    assert report["status"] == "sent"
    (message_id,) = ids_of(report)
    message = service.wait_for(message_id, lambda m: m["status"] == "delivered")
    assert message["status"] == "delivered" and message["final"] and message["tag"] == "welcome"
    events = service.api.get(f"/v1/messages/{message_id}/events").json()
    assert [(e["status"], e["source"]) for e in events] == [
        ("sent", "send"),
        ("sent", "webhook"),
        ("delivered", "webhook"),
    ]


@pytest.mark.parametrize(
    ("number", "status"),
    [("+33612349990", "failed"), ("+33612349991", "rejected"), ("+33612349992", "expired")],
)
def test_magic_numbers_end_as_the_sandbox_says(service: Service, number: str, status: str) -> None:
    (message_id,) = ids_of(service.send(to=number))
    assert service.wait_for(message_id, lambda m: m["final"] is True)["status"] == status


def test_api_keys_are_required_and_rotate(service: Service) -> None:
    url = f"{service.server.url}/v1/messages"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {KEYS[1]}"}).status_code == 200
    refused = httpx.post(url, json={"to": "0612345678", "text": "Hi"})
    assert refused.status_code == 401 and "API key" in refused.json()["error"]
    assert inbox(service.sandbox) == []


def test_forged_receipts_are_refused_and_record_nothing(service: Service) -> None:
    service.sandbox.state.emulator(AllMySmsEmulator).events.settings.receipts_url = None
    (message_id,) = ids_of(service.send(to="0612345678"))
    provider_id = service.message(message_id)["provider_message_id"]
    forged = {"smsId": provider_id, "status": "4", "phoneNumber": "33612345678"}
    assert httpx.post(service.webhook("guess"), data=forged).status_code == 401
    assert httpx.post(service.webhook("").rstrip("/"), data=forged).status_code == 401
    basic_wrong = httpx.post(
        f"{service.server.url}/webhooks/allmysms", data=forged, auth=("allmysms", "guess")
    )
    assert basic_wrong.status_code == 401
    assert service.message(message_id)["status"] == "sent"
    assert len(service.api.get(f"/v1/messages/{message_id}/events").json()) == 1
    basic_right = httpx.post(
        f"{service.server.url}/webhooks/allmysms", data=forged, auth=("allmysms", SECRET)
    )
    assert basic_right.json() == {"kind": "receipt", "outcome": "applied"}


def test_replayed_and_out_of_order_receipts(service: Service) -> None:
    service.sandbox.state.emulator(AllMySmsEmulator).events.settings.receipts_url = None
    (message_id,) = ids_of(service.send(to="0612345678"))
    provider_id = service.message(message_id)["provider_message_id"]

    def receipt(code: str, when: str) -> dict[str, object]:
        fields = {
            "smsId": provider_id,
            "campaignId": "",
            "phoneNumber": "33612345678",
            "receptionDate": when,
            "status": code,
            "statusText": "x",
        }
        answer: dict[str, object] = httpx.post(service.webhook(), data=fields).json()
        return answer

    assert receipt("1", "2026-11-22 10:00:05")["outcome"] == "applied"
    assert receipt("1", "2026-11-22 10:00:05")["outcome"] == "duplicate"
    assert receipt("3", "2026-11-22 10:00:01")["outcome"] == "recorded"  # late, out of order
    assert service.message(message_id)["status"] == "delivered"
    get = httpx.get(
        service.webhook(),
        params={"smsId": str(provider_id), "status": "2", "receptionDate": "2026-11-22 10:00:09"},
    )
    assert get.json()["outcome"] == "recorded"  # final never goes back
    statuses = [e["status"] for e in service.api.get(f"/v1/messages/{message_id}/events").json()]
    assert statuses == ["sent", "delivered", "sent", "failed"]


def test_webhooks_take_multipart_and_refuse_what_is_not_a_webhook(service: Service) -> None:
    service.sandbox.state.emulator(AllMySmsEmulator).events.settings.receipts_url = None
    (message_id,) = ids_of(service.send(to="0612345678"))
    provider_id = str(service.message(message_id)["provider_message_id"])
    fields = {"smsId": provider_id, "status": "1", "receptionDate": "2026-11-22 10:00:05"}
    multipart = httpx.post(service.webhook(), files={k: (None, v) for k, v in fields.items()})
    assert multipart.json() == {"kind": "receipt", "outcome": "applied"}
    assert service.message(message_id)["status"] == "delivered"
    assert httpx.put(service.webhook(), data=fields).status_code == 405
    assert httpx.post(f"{service.server.url}/webhooks/", data=fields).status_code == 404
    nested = httpx.post(f"{service.webhook()}/extra", data=fields)
    assert nested.status_code == 404
    other = httpx.post(f"{service.server.url}/webhooks/messangi/{SECRET}", data=fields)
    assert other.status_code == 404
    unreadable = httpx.post(service.webhook(), data={"nothing": "here"})
    assert unreadable.status_code == 422
    assert unreadable.headers["content-type"] == "application/json"


def test_a_receipt_before_the_send_is_recorded_waits(service: Service) -> None:
    early = {"smsId": "not-yet-known", "status": "1", "phoneNumber": "33612345678"}
    assert httpx.post(service.webhook(), data=early).json()["outcome"] == "waiting"
    assert httpx.post(service.webhook(), data={"junk": "1"}).status_code == 422


def test_a_scheduled_send_is_cancelled(service: Service) -> None:
    later = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).isoformat()
    report = service.send(to="0612345678", scheduled_at=later)
    assert report["status"] == "scheduled"
    (message_id,) = ids_of(report)
    credits = service.api.get("/v1/account").json()["credits"]
    cancelled = service.api.post(f"/v1/messages/{message_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert service.api.get("/v1/account").json()["credits"] == credits + 15
    assert inbox(service.sandbox)[0]["status"] == "cancelled"
    again = service.api.post(f"/v1/messages/{message_id}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["error"]


def test_replies_arrive_by_webhook(service: Service) -> None:
    (message_id,) = ids_of(service.send(to="0612345678"))
    injected = httpx.post(
        f"{service.sandbox.url}/sandbox/allmysms/replies",
        json={"from": "33612345678", "text": "Yes please"},
    )
    assert injected.status_code == 201
    deadline = time.monotonic() + 5
    while not (found := service.api.get("/v1/replies").json()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(r["message_id"], r["sender"], r["text"]) for r in found] == [
        (message_id, "33612345678", "Yes please")
    ]


def test_sync_pulls_what_webhooks_did_not_bring(service: Service) -> None:
    settings = service.sandbox.state.emulator(AllMySmsEmulator).events.settings
    settings.receipts_url = settings.replies_url = None
    (message_id,) = ids_of(service.send(to="0612345678"))
    httpx.post(
        f"{service.sandbox.url}/sandbox/allmysms/replies",
        json={"from": "33612345678", "text": "ok"},
    )
    with Gateway.from_dsn(service.sandbox.dsn(), retry=FAST_RETRY, env={}) as gateway:
        deadline = time.monotonic() + 10  # the sandbox's receipt comes after its delay
        total = sync(gateway, service.store)
        while total.applied == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
            result = sync(gateway, service.store)
            total.applied += result.applied
            total.replies += result.replies
        assert (total.campaigns, total.applied, total.replies) == (1, 1, 1)
        assert sync(gateway, service.store).campaigns == 0  # nothing open any more
    assert service.message(message_id)["status"] == "delivered"


def test_bad_input_is_422_and_sends_nothing(service: Service) -> None:
    response = service.api.post("/v1/messages", json={"to": "abc", "text": "Hi"})
    assert response.status_code == 422 and "no valid recipient" in response.json()["error"]
    assert service.api.post("/v1/messages", json={"to": "0612345678"}).status_code == 422
    assert inbox(service.sandbox) == []


def test_an_idempotency_key_makes_a_retried_send_safe(service: Service) -> None:
    """The same key and body: the first answer again, nothing sent twice. Another body with
    the key: 409. A request refused before anything left frees its key. A key whose first
    request never finished (cut off mid-send): 409, never a second send."""
    body = {"to": "0612345678", "text": "Once only"}
    key = {"Idempotency-Key": "order-4821"}
    first = service.api.post("/v1/messages", json=body, headers=key)
    again = service.api.post("/v1/messages", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(inbox(service.sandbox)) == 1
    other = service.api.post("/v1/messages", json={**body, "text": "Else"}, headers=key)
    assert other.status_code == 409 and "use a new key" in other.json()["error"]
    refused = {"Idempotency-Key": "order-bad"}
    bad = {"to": "abc", "text": "Hi"}
    assert service.api.post("/v1/messages", json=bad, headers=refused).status_code == 422
    retried = service.api.post("/v1/messages", json={**bad, "to": "0612345679"}, headers=refused)
    assert retried.status_code == 201  # the refused request took nothing
    cut_off = hashlib.sha256(
        json.dumps(
            SendRequest.model_validate(body).model_dump(mode="json"), sort_keys=True
        ).encode()
    ).hexdigest()
    assert service.store.claim_key("order-cut", cut_off).state.value == "new"  # never finished
    pending = service.api.post("/v1/messages", json=body, headers={"Idempotency-Key": "order-cut"})
    assert pending.status_code == 409 and "has not finished" in pending.json()["error"]
    assert len(inbox(service.sandbox)) == 2


def test_listing_and_lookups(service: Service) -> None:
    service.sandbox.state.emulator(AllMySmsEmulator).events.settings.receipts_url = None
    service.send(to="0611111111, 0622222222", tag="a")
    service.send(to="0633333333", tag="b")
    page = service.api.get("/v1/messages", params={"tag": "a", "limit": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert service.api.get("/v1/messages", params={"recipient": "33633333333"}).json()["total"] == 1
    assert service.api.get("/v1/messages", params={"status": "delivered"}).json()["total"] == 0
    assert service.api.get("/v1/messages/msg_nope").status_code == 404
    assert service.api.get("/v1/account").json()["credits"] == 15000 - 45
    assert httpx.get(f"{service.server.url}/healthz").json() == {"status": "ok"}


def test_openapi_is_ready_for_connector_importers(service: Service) -> None:
    document = httpx.get(f"{service.server.url}/openapi.json").json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert all(op.get("operationId") and op.get("summary") for op in operations)
    assert {op["operationId"] for op in operations} >= {
        "SendMessages",
        "ListMessages",
        "GetMessage",
        "ListMessageEvents",
        "CancelMessage",
        "GetAccount",
        "ListReplies",
    }
    assert "examples" in document["components"]["schemas"]["SendRequest"]


def test_swagger2_for_power_automate_is_valid(service: Service) -> None:
    from openapi_spec_validator import validate

    document = httpx.get(f"{service.server.url}/openapi-v2.json").json()
    validate(document)
    assert document["swagger"] == "2.0" and document["host"] == f"127.0.0.1:{service.server.port}"
    send = document["paths"]["/v1/messages"]["post"]
    assert send["operationId"] == "SendMessages" and send["summary"]
    (body,) = [p for p in send["parameters"] if p["in"] == "body"]
    assert body["schema"] == {"$ref": "#/definitions/SendRequest"}
    assert document["definitions"]["SendRequest"]["example"]["text"] == "Your code is 4821"
    assert document["definitions"]["MessageOut"]["properties"]["error"]["x-nullable"] is True
    assert send["security"] == [{"api_key": []}]
    to = document["definitions"]["SendRequest"]["properties"]["to"]
    assert to["type"] == "array" and to["minItems"] == 1 and "minLength" not in to


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def test_hostile_bodies_are_refused_without_being_read(service: Service) -> None:
    """The secret and the key come first; a body over the limit is 413 unread; JSON nested
    100,000 deep and multipart without a boundary or with 2,000 fields are 4xx, never 500."""
    wrong = f"{service.server.url}/webhooks/allmysms/not-the-secret"
    huge = httpx.post(wrong, content=_chunks(500 * 2**20), timeout=30)  # streamed, not buffered
    assert huge.status_code == 401
    too_big = httpx.post(service.webhook(), content=_chunks(2**20), timeout=30)
    assert too_big.status_code == 413
    deep = b"[" * 100_000 + b"]" * 100_000
    json_headers = {"content-type": "application/json"}
    assert httpx.post(service.webhook(), content=deep, headers=json_headers).status_code == 413
    deep_small = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    nested = httpx.post(service.webhook(), content=deep_small, headers=json_headers)
    assert nested.status_code == 400, nested.text
    boundless = httpx.post(
        service.webhook(), content=b"--x\r\n", headers={"content-type": "multipart/form-data"}
    )
    assert boundless.status_code == 400
    many = {f"f{n}": (None, "1") for n in range(2000)}
    assert httpx.post(service.webhook(), files=many).status_code in (400, 413)
    # The API: the key before the body, the size before reading, deep JSON a 400.
    api = service.server.url + "/v1/messages"
    unauthorised = httpx.post(api, content=b"{broken", headers={"Authorization": "Bearer no"})
    assert unauthorised.status_code == 401
    big = service.api.post("/v1/messages", content=_chunks(65 * 2**20), timeout=60)
    assert big.status_code == 413 and "MiB" in big.json()["error"]
    deep_api = service.api.post("/v1/messages", content=deep_small, headers=json_headers)
    assert deep_api.status_code == 400
    broken = service.api.post("/v1/messages", content=b"{broken", headers=json_headers)
    assert broken.status_code == 422
    assert service.api.get("/healthz").status_code == 200


def test_the_docs_pages_work_offline(service: Service) -> None:
    """Swagger UI and Redoc come from the package, never a CDN: every asset is ours."""
    base = service.server.url
    for page in ("/docs", "/redoc"):
        html = httpx.get(base + page)
        assert html.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
        assets += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html.text)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            assert httpx.get(base + asset).status_code == 200, asset
