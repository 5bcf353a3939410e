"""Messangi over real HTTP: the client against the sandbox's emulator, and the emulator itself."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.errors import InvalidSender, Unsupported
from smsgate.core.report import RecipientStatus, SendStatus
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway
from smsgate.providers.messangi import RECEIPT_STATUSES, _utc_time
from smsgate.sandbox.messangi.accounts import DEMO_KEY
from smsgate.sandbox.messangi.emulator import MessangiEmulator
from smsgate.sandbox.server import BackgroundSandbox
from smsgate.store import Store
from tests.conftest import FAST_RETRY, WEBHOOK_SECRET, inbox, inject, service_with_webhooks

AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}


def messangi(sandbox: BackgroundSandbox, **options: str) -> Gateway:
    return Gateway.from_dsn(sandbox.messangi_dsn(**options), retry=FAST_RETRY, env={})


def test_one_request_per_recipient_each_with_its_id(sandbox: BackgroundSandbox) -> None:
    with messangi(sandbox) as gateway:
        report = gateway.send("0612345678, +44 7911 123456, 0612345679", "Bonjour", sender="ACME")
    assert report.status is SendStatus.SENT
    assert len(report.requests) == 3
    assert all(len(r.provider_message_id or "") == 24 for r in report.recipients)
    sent = inbox(sandbox)
    assert sorted(str(m["to"]) for m in sent) == ["33612345678", "33612345679", "447911123456"]
    assert {m["provider"] for m in sent} == {"messangi"}
    assert {m["client_message_id"] for m in sent} == {r.id for r in report.recipients}


def test_the_batch_endpoint_takes_many_recipients_in_one_request(
    sandbox: BackgroundSandbox,
) -> None:
    with messangi(sandbox, batch_size="500") as gateway:
        report = gateway.send([f"06123456{n:02d}" for n in range(30)], "Hi", sender="12345")
    assert len(report.requests) == 1
    assert [r.status for r in report.recipients] == [RecipientStatus.SENT] * 30
    assert len({r.provider_message_id for r in report.recipients}) == 30
    assert len(inbox(sandbox)) == 30


def test_a_refused_key_stops_the_send_after_one_request(sandbox: BackgroundSandbox) -> None:
    with Gateway.from_dsn(
        sandbox.messangi_dsn(api_key="wrong-key"), retry=FAST_RETRY, env={}
    ) as gw:
        report = gw.send("0612345678, 0612345679, 0612345670", "Hi", sender="ACME")
    assert len(report.requests) == 1
    assert report.status is SendStatus.REJECTED
    assert "refused the API key" in (report.recipients[0].error or "")
    assert "wrong-key" not in json.dumps(report.to_dict())
    assert inbox(sandbox) == []


def test_busy_is_retried_and_a_5xx_is_unknown_never_resent(sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="messangi.send", when="before", status=503, retry_after="0")
    inject(sandbox, method="messangi.send", when="after", status=500)
    with messangi(sandbox) as gateway:
        report = gateway.send("0612345678", "Hi", sender="ACME")
        assert report.status is SendStatus.UNKNOWN  # 503 retried; then 500 after arrival
        assert len(inbox(sandbox)) == 1
        again = gateway.send("0612345678", "Hi", sender="ACME")
    assert again.status is SendStatus.SENT


def test_lookup_follows_the_message_to_its_final_status(sandbox: BackgroundSandbox) -> None:
    sandbox.state.emulator(MessangiEmulator).events.settings.receipt_delay = 0.05
    with messangi(sandbox) as gateway:
        report = gateway.send("0612349990", "Hi", sender="ACME")
        provider_id = report.recipients[0].provider_message_id or ""
        deadline = time.monotonic() + 5
        while (receipt := gateway.lookup(provider_id)).provider_status != "UNDELIV":
            assert time.monotonic() < deadline, receipt
            time.sleep(0.02)
    assert receipt.status is MessageStatus.FAILED and receipt.permanent


def test_what_messangi_cannot_do_is_refused_naming_who_can(sandbox: BackgroundSandbox) -> None:
    with messangi(sandbox) as gateway:
        for action in (gateway.info, gateway.replies):
            with pytest.raises(Unsupported, match=r"allmysms(, smsworks)? can"):
                action()
        with pytest.raises(Unsupported, match="messangi cannot cancel a scheduled send"):
            gateway.cancel("c1")
        with pytest.raises(Unsupported, match="cannot schedule"):
            gateway.send("0612345678", "Hi", sender="ACME", scheduled_at=datetime.now(UTC))
        with pytest.raises(InvalidSender, match="Messangi needs a sender") as refused:
            gateway.send("0612345678", "Hi")
        assert "--from (CLI) or 'sender' (API)" in str(refused.value)  # said for every face
    assert inbox(sandbox) == []


# -- the emulator, as any client sees it -------------------------------------------------------


def test_login_gives_a_key_in_a_header_and_refuses_bad_passwords(
    sandbox: BackgroundSandbox,
) -> None:
    url = f"{sandbox.url}/kingslanding/login"
    good = httpx.post(url, json={"username": "demo@example.com", "password": "demo"})
    assert good.status_code == 200 and good.content == b""
    assert good.headers["access-control-expose-headers"] == "Authorization"
    key = good.headers["authorization"]
    body = {"from": "ACME", "to": "+33612345678", "text": "Hi"}
    sent = httpx.post(f"{sandbox.url}/raven/v2/messages", json=body, headers={"Authorization": key})
    assert sent.status_code == 200
    bad = httpx.post(url, json={"username": "demo@example.com", "password": "nope"})
    assert (bad.status_code, bad.content) == (403, b"")


def test_keys_from_login_expire_after_24_hours(sandbox: BackgroundSandbox) -> None:
    users = sandbox.state.emulator(MessangiEmulator).users
    key = users.login("demo@example.com", "demo")
    assert users.owner(f"Bearer {key}") == "demo@example.com"
    later = time.time() + timedelta(hours=24, seconds=1).total_seconds()
    users.clock = lambda: later
    assert users.owner(f"Bearer {key}") is None
    assert users.owner(f"Bearer {DEMO_KEY}") == "demo@example.com"  # a copied key does not


@pytest.mark.parametrize(
    ("body", "explain"),
    [
        ({"to": "+33612345678", "text": "Hi"}, "'from' is required"),
        ({"from": "A", "to": "0612345678", "text": "Hi"}, "'to' must be an E.164 number"),
        ({"from": "A", "to": "+33612345678", "text": 12}, "'text' is required"),
        ({"from": "A", "to": "+33612345678", "text": "Hi", "callbacks": 3}, "'callbacks'"),
    ],
)
def test_invalid_sends_are_400_with_the_error_envelope(
    sandbox: BackgroundSandbox, body: dict[str, Any], explain: str
) -> None:
    answer = httpx.post(f"{sandbox.url}/raven/v2/messages", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["data"] is None
    assert explain in answer.json()["meta"]["explain"]


def test_paths_methods_and_keys(sandbox: BackgroundSandbox) -> None:
    base = sandbox.url
    assert httpx.post(f"{base}/raven/v2/messages", json={}).status_code == 401
    wrong = httpx.get(f"{base}/raven/v2/messages", headers=AUTH)
    assert wrong.status_code == 405 and "explain" in wrong.json()["meta"]
    assert httpx.get(f"{base}/raven/v9/nothing", headers=AUTH).status_code == 404
    assert httpx.get(f"{base}/raven/v2/messages/{'0' * 24}", headers=AUTH).status_code == 404
    text = httpx.post(f"{base}/raven/v2/messages", content=b"not json", headers=AUTH)
    assert text.status_code == 400


def test_over_1600_characters_is_an_error_status_and_nothing_is_sent(
    sandbox: BackgroundSandbox,
) -> None:
    body = {"from": "A", "to": "+33612345678", "text": "x" * 1601}
    answer = httpx.post(f"{sandbox.url}/raven/v2/messages", json=body, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["data"]["status"] == "ERROR"
    assert answer.json()["meta"]["explain"] == "Text exceeds the limit of allowed segments"
    assert inbox(sandbox) == []


def test_batches_fill_placeholders_and_list_invalid_numbers(sandbox: BackgroundSandbox) -> None:
    body = {
        "from": "12345",
        "text": "Hi {0}, your balance is ${1} {2}",
        "to": [
            {"to": "+525500000000", "params": ["Elizabeth", 10.65]},
            {"to:": "525511111111", "params": ["Ana", 3]},
            {"to": "12", "params": []},
        ],
    }
    answer = httpx.post(f"{sandbox.url}/raven/v3/messages/batch", json=body, headers=AUTH)
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert [item["mobile"] for item in data["ids"]] == ["+525500000000", "525511111111"]
    assert data["invalidNumber"] == ["12"]
    assert data["text"] == body["text"] and "to" not in data
    texts = sorted(str(m["text"]) for m in inbox(sandbox))
    assert texts == ["Hi Ana, your balance is $3 {2}", "Hi Elizabeth, your balance is $10.65 {2}"]
    empty = httpx.post(f"{sandbox.url}/v3/messages/batch", json={**body, "to": []}, headers=AUTH)
    assert empty.status_code == 400


def test_blacklisted_numbers_and_refused_senders_end_at_once(sandbox: BackgroundSandbox) -> None:
    settings = httpx.post(
        f"{sandbox.url}/sandbox/messangi/settings",
        json={"blacklist": ["+33612345678"], "senders_not_allowed": ["BLOCKED"]},
    )
    assert settings.status_code == 200
    with messangi(sandbox) as gateway:
        blocked = gateway.send("0612345678", "Hi", sender="ACME").recipients[0]
        code = gateway.send("0612345679", "Hi", sender="BLOCKED").recipients[0]
        time.sleep(0.1)
        assert gateway.lookup(blocked.provider_message_id or "").provider_status == "BLACKLISTED"
        assert gateway.lookup(code.provider_message_id or "").provider_status == "CODE_NOT_ALLOWED"


# -- statuses and times ------------------------------------------------------------------------


def test_every_status_of_the_spec_is_mapped() -> None:
    spec = [
        "QUEUE",
        "DEQUEUED",
        "SENT",
        "ENROUTE",
        "ACCEPTD",
        "INCOMPLETE",
        "DELIVRD",
        "EXPIRED",
        "UNDELIV",
        "REJECTD",
        "DELETED",
        "UNKNOWN",
        "INVALID_ROUTING",
        "CODE_NOT_ALLOWED",
        "BLACKLISTED",
        "SEGMENTS_EXCEEDED",
        "EXHAUSTED",
        "ERROR",
    ]
    assert set(spec) <= set(RECEIPT_STATUSES)
    finals = {code for code, (_, final) in RECEIPT_STATUSES.items() if final}
    assert {"ENROUTE", "ACCEPTD", "SENT", "QUEUE"}.isdisjoint(finals)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_callback_dates_read_with_nanoseconds(moment: datetime) -> None:
    """Messangi writes up to nine fraction digits and Z; Python keeps six."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    assert _utc_time(text) == moment.replace(tzinfo=UTC)
    assert _utc_time(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == moment.replace(
        microsecond=0, tzinfo=UTC
    )


# -- receipts by callback, into the store through the service ----------------------------------


@pytest.mark.parametrize(
    ("number", "status"), [("0612345678", "delivered"), ("0612349991", "rejected")]
)
def test_callbacks_bring_receipts_into_the_store(
    store: Store, sandbox: BackgroundSandbox, number: str, status: str
) -> None:
    sandbox.state.emulator(MessangiEmulator).events.settings.receipt_delay = 0.05

    def dsn(webhooks: str) -> str:
        return sandbox.messangi_dsn(callbacks=f"{webhooks}/messangi/{WEBHOOK_SECRET}")

    with service_with_webhooks(store, dsn) as api:
        report = api.post("/v1/messages", json={"to": number, "text": "Hi", "sender": "ACME"})
        assert report.status_code == 201, report.text
        message_id = report.json()["recipients"][0]["id"]
        deadline = time.monotonic() + 10
        while (found := api.get(f"/v1/messages/{message_id}").json())["status"] != status:
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
        events = api.get(f"/v1/messages/{message_id}/events").json()
    assert [e["provider_status"] for e in events if e["source"] == "webhook"][-1] in (
        "DELIVRD",
        "REJECTD",
    )


def test_a_user_and_password_log_in_once_for_a_key(sandbox: BackgroundSandbox) -> None:
    users = sandbox.state.emulator(MessangiEmulator).users
    keys_before = len(users.keys)
    dsn = f"messangi+http://demo%40example.com:demo@127.0.0.1:{sandbox.port}"
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send("0612345678, 0612345679, 0612345670", "Hi", sender="ACME")
        assert gateway.lookup(report.recipients[0].provider_message_id or "").provider_status
        assert "api_key=Secret('***')" in repr(gateway.endpoint.provider)
    assert report.status is SendStatus.SENT
    assert len(users.keys) == keys_before + 1  # one login served every request


def test_a_refused_login_sends_nothing_and_says_why(sandbox: BackgroundSandbox) -> None:
    dsn = f"messangi+http://demo%40example.com:wrong@127.0.0.1:{sandbox.port}"
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send("0612345678, 0612345679", "Hi", sender="ACME")
    assert report.status is SendStatus.REJECTED
    assert "refused the login of demo@example.com (HTTP 403)" in (report.recipients[0].error or "")
    assert len(report.requests) == 1
    assert "wrong" not in json.dumps(report.to_dict())
    assert inbox(sandbox) == []


def test_no_balance_stops_the_send_after_one_request(sandbox: BackgroundSandbox) -> None:
    """A 402 applies to every later request too, as The SMS Works' does."""
    inject(sandbox, method="messangi.send", status=402, times=10)
    with messangi(sandbox) as gateway:
        report = gateway.send("0612345678, 0612345679, 0612345670", "Hi", sender="ACME")
    assert len(report.requests) == 1
    assert all("lack of balance (HTTP 402" in (r.error or "") for r in report.recipients)
    assert inbox(sandbox) == []
