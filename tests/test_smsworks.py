"""The SMS Works over real HTTP: every connector action against the sandbox's emulator."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.cli import main
from smsgate.core.dsn import Dsn
from smsgate.core.errors import InvalidSender
from smsgate.core.remote import MessageQuery
from smsgate.core.report import RecipientStatus, SendStatus
from smsgate.core.secret import Secret
from smsgate.gateway import Gateway
from smsgate.gateway.ratelimit import RateLimiter, limiter_for
from smsgate.providers.smsworks import RECEIPT_STATUSES, SmsWorks, _js_date, _parse_date
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from smsgate.sandbox.smsworks.emulator import SmsWorksEmulator
from smsgate.service.app import ServiceConfig, create_app
from smsgate.store import Store
from smsgate.usecases.sync import sync
from tests.conftest import (
    AUTH,
    FAST_RETRY,
    WAIT,
    WEBHOOK_SECRET,
    inbox,
    inject,
    service_with_webhooks,
)

UK = "+44 7911 123456"
UK2 = "+44 7911 123457"


@pytest.fixture
def works(sandbox: BackgroundSandbox) -> Iterator[Gateway]:
    sandbox.state.emulator(SmsWorksEmulator).messages.settings.receipt_delay = 0.05
    with Gateway.from_dsn(sandbox.smsworks_dsn(), retry=FAST_RETRY, env={}) as gateway:
        yield gateway


def credits(sandbox: BackgroundSandbox) -> float:
    return next(iter(sandbox.state.emulator(SmsWorksEmulator).customers.by_id.values())).credits


def test_one_number_is_a_message_many_are_one_batch(
    works: Gateway, sandbox: BackgroundSandbox
) -> None:
    single = works.send(UK, "Hello", sender="ACME")
    assert single.status is SendStatus.SENT
    assert single.recipients[0].provider_message_id
    assert single.credits_used == 1 and single.credits_left == 999
    many = works.send([UK, UK2, "+33612345678"], "Hello", sender="ACME")
    assert len(many.requests) == 1 and many.requests[0].campaign_id
    assert [r.status for r in many.recipients] == [RecipientStatus.SENT] * 3
    assert credits(sandbox) == 1000 - 1 - (1 + 1 + 2)  # outside the UK costs double
    assert len(inbox(sandbox)) == 4


def test_ten_thousand_numbers_take_two_requests(works: Gateway, sandbox: BackgroundSandbox) -> None:
    httpx.post(f"{sandbox.url}/sandbox/smsworks/settings", json={"credits": 20_000})
    result = works.send([f"+4479{n:08d}" for n in range(10_000)], "Hi", sender="ACME")
    assert len(result.requests) == 2  # 5000 per batch, the API's limit
    assert result.accepted == 10_000


def test_flash_goes_one_number_per_request(works: Gateway, sandbox: BackgroundSandbox) -> None:
    report = works.send([UK, UK2], "Now", sender="ACME", flash=True)
    assert len(report.requests) == 2
    assert all(m["flash"] for m in inbox(sandbox))


def test_schedule_then_cancel_a_message_and_a_batch(
    works: Gateway, sandbox: BackgroundSandbox
) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    one = works.send(UK, "Later", sender="ACME", scheduled_at=later)
    batch = works.send([UK, UK2], "Later", sender="ACME", scheduled_at=later)
    assert one.status is SendStatus.SCHEDULED and batch.status is SendStatus.SCHEDULED
    assert credits(sandbox) == 1000 - 3
    for report in (one, batch):
        works.cancel(report.requests[0].campaign_id or "")
    assert credits(sandbox) == 1000  # refunded
    message_id = one.recipients[0].provider_message_id or ""
    assert works.lookup(message_id).provider_status == "CANCELLED"
    with pytest.raises(Exception, match="did not cancel"):
        works.cancel(message_id)  # no longer scheduled


def test_credits_customer_id_and_refusals(works: Gateway, sandbox: BackgroundSandbox) -> None:
    assert works.info().credits == 1000
    assert works.customer_id() == next(
        iter(sandbox.state.emulator(SmsWorksEmulator).customers.by_id)
    )
    httpx.post(f"{sandbox.url}/sandbox/smsworks/settings", json={"credits": 1})
    poor = works.send(
        ["+33612345678", UK],
        "Hi",
        sender="ACME",
    )
    assert poor.status is SendStatus.REJECTED
    assert "too few credits" in (poor.recipients[0].error or "")
    assert inbox(sandbox) == []
    with pytest.raises(InvalidSender, match="The SMS Works needs a sender"):
        works.send(UK, "Hi")


def test_a_token_the_api_refuses_stops_the_send(sandbox: BackgroundSandbox) -> None:
    dsn = sandbox.smsworks_dsn().replace("smsworks+http://JWT%20", "smsworks+http://JWT%20x")
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send([UK, UK2], "Hi", sender="ACME")
    assert report.status is SendStatus.REJECTED
    assert "refused the token" in (report.recipients[0].error or "")
    assert inbox(sandbox) == []


def test_a_429_with_retry_after_is_waited_for_and_sent_once(
    works: Gateway, sandbox: BackgroundSandbox
) -> None:
    inject(sandbox, method="smsworks.send", when="before", status=429, retry_after="0")
    assert works.send(UK, "Hi", sender="ACME").status is SendStatus.SENT
    assert len(inbox(sandbox)) == 1


def test_search_failed_inbox_lookup_delete(works: Gateway, sandbox: BackgroundSandbox) -> None:
    works.send([UK, "+44 7911 129990"], "Hi", sender="ACME")  # ...9990 ends undeliverable
    deadline = time.monotonic() + 5
    while len(works.search(MessageQuery(), failed=True)) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    [failed] = works.search(MessageQuery(), failed=True)
    assert failed.provider_status == "UNDELIVERABLE" and failed.failure == "Handset error"
    assert [m.to for m in works.search(MessageQuery(to="447911123456"))] == ["447911123456"]
    httpx.post(f"{sandbox.url}/sandbox/smsworks/incoming", json={"from": UK, "content": "Yes"})
    [incoming] = works.inbound()
    assert (incoming.provider_status, incoming.text) == ("INCOMING", "Yes")
    works.delete(incoming.provider_message_id)
    assert works.inbound() == []
    with pytest.raises(Exception, match="did not delete"):
        works.delete(incoming.provider_message_id)
    with pytest.raises(Exception, match="has no message"):
        works.lookup("no-such-id")


def test_every_gateway_of_one_account_shares_one_budget(sandbox: BackgroundSandbox) -> None:
    dsn = sandbox.smsworks_dsn()
    with Gateway.from_dsn(dsn, env={}) as one, Gateway.from_dsn(dsn, env={}) as two:
        first, second = limiter_for(one.endpoint.provider), limiter_for(two.endpoint.provider)
        assert isinstance(first, RateLimiter) and first is second
        assert (first.calls, first.period) == (100, 60.0)
    with Gateway.from_dsn(sandbox.messangi_dsn(), env={}) as unlimited:
        assert limiter_for(unlimited.endpoint.provider) is None


def test_the_budget_is_the_customers_whichever_token() -> None:
    def token(claims: dict[str, object]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"JWT eyJhbGciOiAiSFMyNTYifQ.{body}.c2ln"

    monday = SmsWorks(Secret(token({"customerid": "c-1", "iat": 1})))
    tuesday = SmsWorks(Secret(token({"customerid": "c-1", "iat": 2})))
    other = SmsWorks(Secret(token({"customerid": "c-2", "iat": 1})))
    assert monday.rate_key == tuesday.rate_key != other.rate_key
    assert SmsWorks(Secret("not-a-jwt")).rate_key.startswith("smsworks:")


def test_the_rate_limit_reserves_slots_one_period_apart() -> None:
    limiter = RateLimiter(2, 60.0)
    first, second = limiter.reserve(), limiter.reserve()
    assert first.wait == second.wait == 0
    assert limiter.reserve().full  # both calls in flight: nothing to promise yet
    first.done()
    second.done()
    third, fourth = limiter.reserve(), limiter.reserve()
    assert 59 < third.wait <= 60 and 59 < fourth.wait <= 60
    third.done()
    assert 119 < limiter.reserve().wait <= 120


def test_a_slot_counts_from_its_calls_answer() -> None:
    """A call that left late (a busy machine) counts from when it was answered: the next
    call waits a whole period from then, so the two never arrive within one period."""
    limiter = RateLimiter(1, 0.2)
    first = limiter.reserve()
    time.sleep(0.1)  # the call is slow to go out and come back
    first.done()
    assert 0.15 < limiter.reserve().wait <= 0.2


# -- the emulator, as any client sees it -------------------------------------------------------


def test_every_header_form_of_the_token_is_accepted(sandbox: BackgroundSandbox) -> None:
    token = sandbox.state.emulator(SmsWorksEmulator).customers.demo_token()
    bare = token.removeprefix("JWT ")
    for header in (token, bare, f"Bearer {bare}"):
        answer = httpx.get(f"{sandbox.url}/v1/credits/balance", headers={"Authorization": header})
        assert answer.status_code == 200, header
    refused = httpx.get(f"{sandbox.url}/v1/credits/balance", headers={"Authorization": "JWT a.b.c"})
    assert (refused.status_code, refused.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"destination": "447911123456", "content": "Hi"}, "'sender' is required"),
        ({"sender": "A B", "destination": "447911123456", "content": "Hi"}, "'sender' must"),
        ({"sender": "ACME", "destination": "12", "content": "Hi"}, "'destination'"),
        ({"sender": "ACME", "destination": "447911123456", "content": "x" * 1281}, "1280"),
        (
            {"sender": "ACME", "destination": "447911123456", "content": "Hi", "validity": 0},
            "validity",
        ),
    ],
)
def test_invalid_messages_are_400_extended_errors(
    sandbox: BackgroundSandbox, body: dict[str, Any], message: str
) -> None:
    headers = {"Authorization": sandbox.state.emulator(SmsWorksEmulator).customers.demo_token()}
    answer = httpx.post(f"{sandbox.url}/v1/message/send", json=body, headers=headers)
    assert answer.status_code == 400
    error = answer.json()
    assert message in error["message"]
    assert (error["errorCode"], error["status"], error["permanent"]) == (400, "REJECTED", True)


def test_batch_any_sends_each_its_own_text(sandbox: BackgroundSandbox) -> None:
    headers = {"Authorization": sandbox.state.emulator(SmsWorksEmulator).customers.demo_token()}
    messages = [
        {"sender": "ACME", "destination": "07911123456", "content": "Hi Ann"},
        {"sender": "ACME", "destination": "447911123457", "content": "Hi Bob"},
    ]
    answer = httpx.post(f"{sandbox.url}/v1/batch/any", json=messages, headers=headers)
    assert answer.status_code == 201 and answer.json()["status"] == "SCHEDULED"
    batch = httpx.get(f"{sandbox.url}/v1/batch/{answer.json()['batchid']}", headers=headers)
    assert sorted(m["content"] for m in batch.json()) == ["Hi Ann", "Hi Bob"]
    assert {m["destination"] for m in batch.json()} == {447911123456, 447911123457}
    sample = httpx.get(f"{sandbox.url}/v1/utils/errors/402").json()
    assert sample["errorCode"] == 402 and sample["permanent"] is False


def test_every_status_is_mapped() -> None:
    named = {"SENT", "DELIVERED", "EXPIRED", "UNDELIVERABLE", "REJECTED", "INCOMING", "SCHEDULED"}
    assert named | {"CANCELLED", "DELETED", "PROCESSED"} <= set(RECEIPT_STATUSES)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_javascript_dates_round_trip(moment: datetime) -> None:
    aware = moment.replace(microsecond=0, tzinfo=UTC)
    assert _parse_date(_js_date(aware)) == aware
    assert _parse_date("Wed Jul 19 2017 20:53:46 GMT+0100 (BST)") == datetime(
        2017, 7, 19, 19, 53, 46, tzinfo=UTC
    )


# -- delivery reports, into the store through the service --------------------------------------


@pytest.mark.parametrize("numbers", [[UK], [UK, "+44 7911 129991"]])
def test_delivery_reports_reach_the_store(
    store: Store, sandbox: BackgroundSandbox, numbers: list[str]
) -> None:
    sandbox.state.emulator(SmsWorksEmulator).messages.settings.receipt_delay = 0.05
    expected = ["delivered", "rejected"][: len(numbers)]

    def dsn(webhooks: str) -> str:
        return sandbox.smsworks_dsn(deliveryreporturl=f"{webhooks}/smsworks/{WEBHOOK_SECRET}")

    with service_with_webhooks(store, dsn) as api:
        sent = api.post("/v1/messages", json={"to": numbers, "text": "Hi", "sender": "ACME"})
        assert sent.status_code == 201, sent.text
        ids = [r["id"] for r in sent.json()["recipients"]]
        deadline = time.monotonic() + 10
        while [api.get(f"/v1/messages/{i}").json()["status"] for i in ids] != expected:
            assert time.monotonic() < deadline
            time.sleep(0.05)


# -- the CLI ---------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_connector_action_from_the_cli(
    sandbox: BackgroundSandbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMSGATE_DATA_DIR", str(tmp_path))
    sandbox.state.emulator(SmsWorksEmulator).messages.settings.receipt_delay = 0.05
    dsn = sandbox.smsworks_dsn()
    code, out, _ = cli(capsys, "send", "--dsn", dsn, "--to", UK, "--from", "ACME", "--json", "Hi")
    assert code == 0
    provider_id = json.loads(out)["recipients"][0]["provider_message_id"]
    code, out, _ = cli(
        capsys, "send", "--dsn", dsn, "--to", UK2, "--from", "ACME", "--flash", "Now"
    )
    assert code == 0 and inbox(sandbox)[-1]["flash"] is True
    code, out, _ = cli(capsys, "lookup", provider_id, "--dsn", dsn, "--json")
    assert code == 0 and json.loads(out)["provider_message_id"] == provider_id
    code, out, _ = cli(capsys, "search", "--dsn", dsn, "--to", "447911123456", "--json")
    assert [m["provider_message_id"] for m in json.loads(out)["items"]] == [provider_id]
    code, out, _ = cli(capsys, "search", "--dsn", dsn, "--failed")
    assert (code, out) == (0, "")
    httpx.post(f"{sandbox.url}/sandbox/smsworks/incoming", json={"from": UK, "content": "Yes"})
    code, out, _ = cli(capsys, "inbox", "--dsn", dsn)
    assert code == 0 and "Yes" in out
    code, out, _ = cli(capsys, "customer-id", "--dsn", dsn)
    assert out.strip() == next(iter(sandbox.state.emulator(SmsWorksEmulator).customers.by_id))
    code, out, _ = cli(capsys, "info", "--dsn", dsn, "--json")
    assert json.loads(out)["credits"] == 998
    code, out, _ = cli(capsys, "delete", provider_id, "--dsn", dsn)
    assert code == 0
    code, _, err = cli(capsys, "inbox", "--dsn", sandbox.dsn())
    assert code == 2 and "allmysms cannot list unread incoming messages; smsworks can" in err


def test_sync_pulls_batch_and_message_statuses(store: Store, sandbox: BackgroundSandbox) -> None:
    sandbox.state.emulator(SmsWorksEmulator).messages.settings.receipt_delay = 0.01
    with Gateway.from_dsn(sandbox.smsworks_dsn(), retry=FAST_RETRY, env={}, recorder=store) as gw:
        batch = gw.send([UK, "+44 7911 129992"], "Hi", sender="ACME")
        later = gw.send(UK2, "Later", sender="ACME", scheduled_at=datetime.now(UTC) + timedelta(1))
        gw.cancel(later.requests[0].campaign_id or "")
        time.sleep(0.2)
        result = sync(gw, store)
    assert result.campaigns == 2
    statuses = {store.message(r.id or "").status for r in batch.recipients}  # type: ignore[union-attr]
    assert statuses == {"delivered", "expired"}
    assert store.message(later.recipients[0].id or "").status == "cancelled"  # type: ignore[union-attr]


def test_scheduled_and_batch_listings(
    works: Gateway, sandbox: BackgroundSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    one = works.send(UK, "Later", sender="ACME", scheduled_at=later)
    many = works.send([UK, UK2], "Later too", sender="ACME", scheduled_at=later)
    # One ScheduledMessagesResponse object (the official definitions): the latest scheduled.
    single_id = one.recipients[0].provider_message_id or ""
    batch_id = many.requests[0].campaign_id or ""
    (latest,) = works.scheduled()
    assert latest.batch_id == batch_id and latest.to is not None
    assert latest.provider_status == "SCHEDULED"
    token = sandbox.state.emulator(SmsWorksEmulator).customers.demo_token()
    raw = httpx.get(f"{sandbox.url}/v1/messages/schedule", headers={"Authorization": token}).json()
    assert isinstance(raw, dict) and raw["id"] == batch_id and raw["batch"] is True
    # The client reads the array the definitions' prose describes too, and {} as nothing.
    provider = SmsWorks.from_dsn(Dsn.parse("smsworks://TOKEN@default"))
    for body, ids in (([raw, {**raw, "id": single_id, "batch": False}], 2), ({}, 0)):
        exchange = provider.scheduled()
        request = next(exchange)
        with pytest.raises(StopIteration) as done:
            exchange.send(httpx.Response(200, json=body, request=request))
        assert len(done.value.value) == ids
    in_batch = works.batch_messages(batch_id)
    assert sorted(m.to or "" for m in in_batch) == ["447911123456", "447911123457"]
    with pytest.raises(Exception, match="Batch not found"):
        works.batch_messages("999")


def test_fractional_credits_stay_fractional(
    sandbox: BackgroundSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The SMS Works' credits are numbers that may be fractional (both official definitions)."""
    httpx.post(f"{sandbox.url}/sandbox/smsworks/settings", json={"credits": 4321.5})
    dsn = sandbox.smsworks_dsn()
    code, out, _ = cli(capsys, "info", "--dsn", dsn, "--json")
    assert code == 0 and json.loads(out)["credits"] == 4321.5
    code, out, _ = cli(capsys, "info", "--dsn", dsn)
    assert "4321.5 credits" in out
    store = Store(f"sqlite:///{tmp_path / 'smsgate.db'}")
    gateway = Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}, recorder=store)
    with BackgroundApp(create_app(gateway, store, ServiceConfig(("key",), ()))) as service:
        api = httpx.Client(base_url=service.url, headers=AUTH, params=WAIT)
        assert api.get("/v1/account").json()["credits"] == 4321.5
        sent = api.post("/v1/messages", json={"to": [UK], "text": "Hi", "sender": "ACME"})
        assert sent.json()["credits_left"] == 4320.5
    gateway.close()
    store.close()


def test_sync_finds_at_the_provider_what_an_unknown_outcome_hid(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """The SMS Works took one SMS and its answer was lost (a 500 after it took it): unknown,
    never re-sent. sync searches the provider by recipient, text and time, and records its
    id and status. Another SMS that never arrived (refused before) stays unknown."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with Gateway.from_dsn(
        sandbox.smsworks_dsn(), retry=FAST_RETRY, env={}, recorder=store
    ) as gateway:
        inject(sandbox, method="smsworks.send", when="after", status=500)
        taken = gateway.send("447700900001", "Lost answer", sender="ACME")
        inject(sandbox, method="smsworks.send", when="before", status=500)
        refused = gateway.send("447700900002", "Never arrived", sender="ACME")
        assert [taken.recipients[0].status, refused.recipients[0].status] == ["unknown"] * 2
        assert len(inbox(sandbox)) == 1
        result = sync(gateway, store)
    assert result.identified == 1
    found = store.message(taken.recipients[0].id or "")
    assert found is not None and found.status == "sent" and found.provider_message_id
    events = store.events(found.id)
    assert [e.source for e in events][-1] == "sync" and "found at the provider" in (
        events[-1].detail or ""
    )
    still = store.message(refused.recipients[0].id or "")
    assert still is not None and still.status == "unknown" and still.provider_message_id is None
    assert len(inbox(sandbox)) == 1  # nothing re-sent
