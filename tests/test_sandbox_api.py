"""The sandbox's API for tests, over a real socket: pages and filters, waiting for an SMS
instead of sleeping, deleting by filter, one inbox per account, its own OpenAPI."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.gateway import Gateway
from smsgate.sandbox.allmysms.ids import new_sms_ids
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, add_account


def send(dsn: str, numbers: list[str], text: str, **options: object) -> None:
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send(numbers, text, **options)  # type: ignore[arg-type]
    assert report.accepted == len(numbers)


def listed(sandbox: BackgroundSandbox, **params: str) -> dict[str, object]:
    response = httpx.get(f"{sandbox.url}/sandbox/messages", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, object] = response.json()
    return found


def test_pages_and_filters(sandbox: BackgroundSandbox) -> None:
    settings = {"receipt_delay": 60}  # no receipt moves a status while this test looks
    httpx.post(f"{sandbox.url}/sandbox/allmysms/settings", json=settings).raise_for_status()
    before = datetime.now(UTC).isoformat()
    send(sandbox.dsn(), [f"+3361234{i:04d}" for i in range(5)], "Hello Paris")
    send(sandbox.smsworks_dsn(), ["+447700900123"], "Hello London", sender="Acme")
    page = listed(sandbox, limit="2", offset="1")
    assert (page["count"], page["total"]) == (2, 6)
    assert listed(sandbox, q="london")["total"] == 1
    assert listed(sandbox, provider="smsworks")["total"] == 1
    assert listed(sandbox, to="+33612340003")["total"] == 1
    assert listed(sandbox, status="sent", provider="allmysms")["total"] == 5
    assert listed(sandbox, since=before)["total"] == 6
    assert listed(sandbox, since="2999-01-01T00:00:00Z")["total"] == 0
    newest = listed(sandbox, order="newest", limit="1")["messages"]
    assert isinstance(newest, list) and newest[0]["provider"] == "smsworks"
    wrong = httpx.get(f"{sandbox.url}/sandbox/messages", params={"since": "yesterday"})
    assert wrong.status_code == 400 and "ISO 8601" in wrong.json()["error"]
    assert httpx.get(f"{sandbox.url}/sandbox/messages", params={"limit": "-1"}).status_code == 400


def test_wait_returns_as_soon_as_the_sms_arrives(sandbox: BackgroundSandbox) -> None:
    later = threading.Timer(0.3, send, (sandbox.dsn(), ["+33612345678"], "Your code is 123"))
    started = time.monotonic()
    later.start()
    response = httpx.get(
        f"{sandbox.url}/sandbox/messages/wait",
        params={"to": "33612345678", "timeout": "10"},
        timeout=15,
    )
    later.join()
    assert response.status_code == 200, response.text
    assert response.json()["message"]["text"] == "Your code is 123"
    assert time.monotonic() - started < 5  # it came back with the SMS, not at the timeout
    again = httpx.get(
        f"{sandbox.url}/sandbox/messages/wait", params={"to": "+33612345678", "timeout": "0"}
    )
    assert again.status_code == 200  # one that is there already is found at once
    missing = httpx.get(
        f"{sandbox.url}/sandbox/messages/wait", params={"to": "33600000000", "timeout": "0.2"}
    )
    assert missing.status_code == 408
    assert missing.json() == {"error": "no SMS matching the query arrived within 0.2 s"}


def test_delete_by_filter_and_one_inbox_per_account(sandbox: BackgroundSandbox) -> None:
    mine = add_account(sandbox, "mine", "mine-key", 1000)
    theirs = add_account(sandbox, "theirs", "theirs-key", 1000)
    send(mine, ["+33612340001", "+33612340002"], "Mine")
    send(theirs, ["+33612340003"], "Theirs")
    assert listed(sandbox, account="mine")["total"] == 2
    assert listed(sandbox, account="theirs")["total"] == 1
    deleted = httpx.delete(f"{sandbox.url}/sandbox/messages", params={"account": "mine"})
    assert deleted.json() == {"deleted": 2}
    assert listed(sandbox)["total"] == 1  # the other test's SMS is still there
    assert httpx.delete(f"{sandbox.url}/sandbox/messages").json() == {"deleted": 1}


@pytest.mark.parametrize("method", ["get", "delete"])
def test_every_path_of_the_sandbox_openapi_answers(sandbox: BackgroundSandbox, method: str) -> None:
    from openapi_spec_validator import validate

    spec = httpx.get(f"{sandbox.url}/sandbox/openapi.json").json()
    validate(spec)
    for path, operations in spec["paths"].items():
        if "{" in path or path.endswith("/stream"):
            continue  # a message's own paths (tests/test_sandbox_web.py), and a stream
        if method in operations:
            params = {"timeout": "0"} if path.endswith("/wait") else {}
            response = httpx.request(method, f"{sandbox.url}{path}", params=params)
            assert response.status_code in (200, 408), (path, response.text)


def test_every_providers_inbox_status_follows_its_receipts(sandbox: BackgroundSandbox) -> None:
    sandbox.state.set_receipt_delay(0.05)
    send(sandbox.messangi_dsn(), ["+33612345678"], "Hi", sender="Acme")
    send(sandbox.smsworks_dsn(), ["+447700900123"], "Hi", sender="Acme")
    for provider in ("messangi", "smsworks"):
        found = httpx.get(
            f"{sandbox.url}/sandbox/messages/wait",
            params={"provider": provider, "status": "delivered", "timeout": "10"},
            timeout=15,
        )
        assert found.status_code == 200, (provider, found.text)
        history = found.json()["message"]["history"]
        assert history[-1]["status"] == "delivered"


def test_the_inbox_keeps_its_newest_messages_up_to_its_capacity() -> None:
    from smsgate.sandbox.inbox import Inbox, InboxMessage, InboxQuery

    inbox = Inbox(capacity=3)
    for n in range(5):
        inbox.add(
            [
                InboxMessage(
                    f"m{n}",
                    "allmysms",
                    "demo",
                    "c",
                    "336",
                    "t",
                    None,
                    "36180",
                    "GSM-7",
                    1,
                    15,
                    "sent",
                )
            ]
        )
    page, total = inbox.find(InboxQuery())
    assert [m.id for m in page] == ["m2", "m3", "m4"] and total == 3
    assert inbox.get("m0") is None and inbox.get("m4") is not None


def test_the_handset_buttons_act_for_every_provider(sandbox: BackgroundSandbox) -> None:
    """What the inbox page's buttons post: a final status now (once), a reply where the
    provider has an inbound flow."""
    sandbox.state.set_receipt_delay(600)
    send(sandbox.messangi_dsn(), ["+33612345678"], "Hi", sender="Acme")
    works = sandbox.smsworks_dsn()
    send(works, ["+447700900123"], "Hi", sender="Acme")
    for provider, action, status in (
        ("messangi", "expire", "expired"),
        ("smsworks", "fail", "failed"),
    ):
        message = listed(sandbox, provider=provider)["messages"][0]  # type: ignore[index]
        url = f"{sandbox.url}/sandbox/messages/{message['id']}"
        wait = httpx.get(
            f"{sandbox.url}/sandbox/messages/wait",
            params={"provider": provider, "status": "sent", "timeout": "5"},
        )
        assert wait.status_code == 200
        assert httpx.post(f"{url}/{action}").status_code == 200
        assert httpx.get(url).json()["status"] == status
        assert httpx.post(f"{url}/deliver").status_code == 409  # it has its final status
    messangi = listed(sandbox, provider="messangi")["messages"][0]  # type: ignore[index]
    assert (
        "reply"
        not in httpx.get(f"{sandbox.url}/sandbox/messages/{messangi['id']}").json()["actions"]
    )
    smsworks = listed(sandbox, provider="smsworks")["messages"][0]  # type: ignore[index]
    replied = httpx.post(
        f"{sandbox.url}/sandbox/messages/{smsworks['id']}/reply", json={"text": "Thanks"}
    )
    assert replied.status_code == 200
    with Gateway.from_dsn(works, retry=FAST_RETRY, env={}) as gateway:
        assert [m.text for m in gateway.inbound()] == ["Thanks"]


def test_a_campaigns_tag_is_kept_and_searched(sandbox: BackgroundSandbox) -> None:
    send(sandbox.dsn(), ["+33612345678"], "Tagged", campaign_name="Black Friday")
    send(
        sandbox.smsworks_dsn(),
        ["+447700900123"],
        "Tagged too",
        sender="Acme",
        campaign_name="Black Friday",
    )
    send(sandbox.dsn(), ["+33612345679"], "Not tagged")
    assert listed(sandbox, tag="Black Friday")["total"] == 2
    assert listed(sandbox, q="black fri")["total"] == 2


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=300))
def test_message_ids_are_version_1_uuids_each_later_than_the_one_before(
    first: int, second: int
) -> None:
    """AllMySMS's smsId is a time-based UUID (its API page's example is one): ids handed out
    by the sandbox are too, distinct, and in the order they were made, across calls."""
    ids = new_sms_ids(first) + new_sms_ids(second)
    assert len(ids) == first + second == len(set(ids))
    parsed = [uuid.UUID(text) for text in ids]
    assert [str(one) for one in parsed] == ids
    assert all(one.version == 1 and one.variant == uuid.RFC_4122 for one in parsed)
    times = [one.time for one in parsed]
    assert times == sorted(times)
    now = uuid.uuid1().time
    assert all(now - 600 * 10**7 < time <= now + 10**7 for time in times)  # 100 ns ticks
