"""Chaos on demand, over real sockets: what each rule does to a client, and the rules' text."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgate.core.report import RecipientStatus
from smsgate.gateway import Gateway
from smsgate.gateway.transport import RetryPolicy
from smsgate.sandbox.chaos import NEVER, Chaos, parse_chaos
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from tests.conftest import ALL, FAST_RETRY, add_account, inbox


def chaos(sandbox: BackgroundSandbox, spec: str) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/sandbox/chaos", json={"spec": spec})


def send(sandbox: BackgroundSandbox, dsn: str | None = None) -> list[RecipientStatus]:
    with Gateway.from_dsn(dsn or sandbox.dsn(), retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send(["+33612345678", "+33612345679"], "Chaos", sender="Acme")
    return [r.status for r in report.recipients]


def test_an_error_before_processing_sends_nothing_and_the_client_says_failed(
    sandbox: BackgroundSandbox,
) -> None:
    assert chaos(sandbox, "sendSms:503@100%").status_code == 200
    assert send(sandbox) == [RecipientStatus.FAILED] * 2  # 503 each try: provably not sent
    assert inbox(sandbox) == []
    injected = httpx.get(f"{sandbox.url}/sandbox/chaos").json()["injected"]
    assert injected[-1]["faults"] == ["HTTP 503 before processing"]


def test_an_error_after_processing_and_a_dropped_connection_leave_the_sms_unknown(
    sandbox: BackgroundSandbox,
) -> None:
    chaos(sandbox, "sendSms:500-after")
    assert send(sandbox) == [RecipientStatus.UNKNOWN] * 2
    chaos(sandbox, "drop")
    assert send(sandbox) == [RecipientStatus.UNKNOWN] * 2
    assert len(inbox(sandbox)) == 4  # both went out, and the client never said sent


def test_a_rate_limit_answers_429_with_retry_after(sandbox: BackgroundSandbox) -> None:
    chaos(sandbox, "smsworks.send:rate:1/60s")
    dsn = sandbox.smsworks_dsn()
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        first = gateway.send("+447700900123", "One", sender="Acme")
        second = gateway.send("+447700900124", "Two", sender="Acme")
    assert first.recipients[0].status is RecipientStatus.SENT
    assert second.recipients[0].status is RecipientStatus.FAILED
    assert "asked to wait 60 s" in (second.recipients[0].error or "")


def test_latency_and_other_methods_untouched(sandbox: BackgroundSandbox) -> None:
    chaos(sandbox, "messangi.send:503,latency:1-2ms")
    assert send(sandbox) == [RecipientStatus.SENT] * 2  # AllMySMS: only the latency
    shown = httpx.get(f"{sandbox.url}/sandbox/chaos").json()
    assert shown["spec"] == "messangi.send:503,latency:1-2ms"
    assert httpx.delete(f"{sandbox.url}/sandbox/chaos").json()["spec"] == ""


def test_a_bad_rule_is_one_line_and_changes_nothing(sandbox: BackgroundSandbox) -> None:
    chaos(sandbox, "timeout@1%")
    refused = chaos(sandbox, "sendSms:500@150%")
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "chaos rule 'sendSms:500@150%': a probability is at most 100%"
    }
    assert httpx.get(f"{sandbox.url}/sandbox/chaos").json()["spec"] == "timeout@1%"
    cli = subprocess.run(
        [sys.executable, "-m", "smsgate.cli", "sandbox", "--chaos", "sendSms:teapot"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2
    assert cli.stderr.count("\n") == 1 and "does not read" in cli.stderr


def test_probabilities_hold_over_many_calls() -> None:
    seeded = Chaos(seed=2026)
    seeded.set("sendSms:500@20%")
    hits = sum(1 for _ in range(10_000) if seeded.effect("sendSms").status_before == 500)
    assert 1_800 < hits < 2_200
    assert seeded.effect("getInfo").reasons == ()


_ACTIONS = st.sampled_from(
    [
        "503",
        "500-after",
        "timeout",
        "timeout:3s",
        "drop",
        "latency:200ms",
        "latency:100-500ms",
        "rate:10/1s",
        "receipts:delay:30s",
        "receipts:delay:5-60s",
        "receipts:duplicate",
        "receipts:reorder",
        "receipts:never",
    ]
)


@given(
    rules=st.lists(
        st.tuples(
            st.sampled_from(
                ["", "sendSms:", "*:", "smsworks.batch:", "allmysms/", "messangi[a@b.c]/send:"]
            ),
            _ACTIONS,
            st.sampled_from(["", "@5%", "@100%", "@0.5%"]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_every_rule_written_as_documented_reads_back(rules: list[tuple[str, str, str]]) -> None:
    spec = ",".join(f"{method}{action}{percent}" for method, action, percent in rules)
    parsed = parse_chaos(spec)
    assert len(parsed) == len(rules)
    for rule, (method, _, percent) in zip(parsed, rules, strict=True):
        scope, _, named = method.rpartition("/")
        assert rule.method == (named.rstrip(":") or "*")
        assert rule.provider == (scope.partition("[")[0] or "*")
        assert rule.account == (scope.partition("[")[2].rstrip("]") or "*")
        assert rule.probability == (float(percent[1:-1]) / 100 if percent else 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "500@",
        "latency:5-1ms",
        "rate:0/1s",
        "200",
        "sendSms:",
        "number:33*=vanish",
        "number:33*=fail@5%",
        "receipts:lost",
        "Allmysms/503",
        "allmysms[]/503",
    ],
)
def test_malformed_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="chaos"):
        parse_chaos(text)


def test_the_faults_of_a_call_are_on_the_messages_it_sent(sandbox: BackgroundSandbox) -> None:
    chaos(sandbox, "sendSms:500-after,latency:1ms")
    send(sandbox)
    messages = inbox(sandbox)
    assert messages[0]["faults"] == ["HTTP 500 after processing", "latency 1 ms"]
    httpx.delete(f"{sandbox.url}/sandbox/chaos")
    httpx.post(
        f"{sandbox.url}/sandbox/faults", json={"method": "sendSms", "when": "after", "status": 502}
    )
    send(sandbox)
    assert inbox(sandbox)[-1]["faults"] == ["injected fault after processing: HTTP 502"]


def test_the_accounts_view_counts_each_accounts_calls(sandbox: BackgroundSandbox) -> None:
    send(sandbox)
    with Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}) as gateway:
        gateway.info()
    accounts = httpx.get(f"{sandbox.url}/sandbox/accounts").json()["accounts"]
    demo = next(a for a in accounts if a["provider"] == "allmysms" and a["account"] == "demo")
    assert demo["calls"] == {"sendSms": 1, "getInfo": 1} and demo["total"] == 2
    assert demo["credits"] == 15000 - 2 * 15
    assert {a["provider"] for a in accounts} == {"allmysms", "messangi", "smsworks"}


def test_a_rule_scoped_to_an_account_leaves_the_others_alone(sandbox: BackgroundSandbox) -> None:
    other = add_account(sandbox, "other", "other-key", 1000)
    chaos(sandbox, "allmysms[other]/sendSms:503,messangi/503")
    assert send(sandbox) == [RecipientStatus.SENT] * 2  # demo: untouched
    assert send(sandbox, other) == [RecipientStatus.FAILED] * 2


def test_the_rate_limit_is_a_bucket_per_account(sandbox: BackgroundSandbox) -> None:
    other = add_account(sandbox, "other", "other-key", 1000)
    chaos(sandbox, "allmysms/sendSms:rate:1/60s")
    assert send(sandbox) == [RecipientStatus.SENT] * 2
    assert send(sandbox, other) == [RecipientStatus.SENT] * 2  # its own bucket
    assert send(sandbox) == [RecipientStatus.FAILED] * 2  # demo's is empty


def test_a_timeout_leaves_the_sms_unknown_and_taken(sandbox: BackgroundSandbox) -> None:
    chaos(sandbox, "sendSms:timeout:3s")
    impatient = RetryPolicy(attempts=1, timeout=httpx.Timeout(1.0))
    with Gateway.from_dsn(sandbox.dsn(), retry=impatient, env={}) as gateway:
        report = gateway.send("+33612345678", "Waiting", sender="Acme")
    assert report.recipients[0].status is RecipientStatus.UNKNOWN
    assert [m["faults"] for m in inbox(sandbox)] == [
        ["no answer for 3 s (timeout) after processing"]
    ]


def _ends(sandbox: BackgroundSandbox, provider: str, number: str, status: str) -> None:
    found = httpx.get(
        f"{sandbox.url}/sandbox/messages/wait",
        params={"provider": provider, "to": number, "status": status, "timeout": "10"},
        timeout=15,
    )
    assert found.status_code == 200, (provider, number, status, found.text)


def test_a_number_pattern_decides_how_each_providers_sms_ends(sandbox: BackgroundSandbox) -> None:
    for name in ("allmysms", "messangi", "smsworks"):
        httpx.post(f"{sandbox.url}/sandbox/{name}/settings", json={"receipt_delay": 0.05})
    # the first rule that matches decides
    chaos(sandbox, "messangi/number:33612345*=reject,number:3361234567?=fail,number:44*=expire")
    send(sandbox)
    send(sandbox, sandbox.messangi_dsn())
    with Gateway.from_dsn(sandbox.smsworks_dsn(), retry=FAST_RETRY, env={}) as gateway:
        gateway.send("+447700900123", "Chaos", sender="Acme")
    listed = httpx.get(f"{sandbox.url}/sandbox/messages", params=ALL).json()["messages"]
    for message in listed:
        expected = {"allmysms": "failed", "messangi": "rejected", "smsworks": "expired"}
        provider = str(message["provider"])
        _ends(sandbox, provider, str(message["to"]), expected[provider])


@pytest.fixture
def receiver() -> Iterator[tuple[BackgroundApp, list[dict[str, str]]]]:
    """A client's receipts webhook: what it got, in order."""
    got: list[dict[str, str]] = []

    async def receive(request: Request) -> Response:
        got.append({k: str(v) for k, v in (await request.form()).items()})
        return Response(status_code=204)

    with BackgroundApp(Starlette(routes=[Route("/r", receive, methods=["POST"])])) as app:
        yield app, got


def _codes(got: list[dict[str, str]], count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # and nothing more after it
    return [g["status"] for g in got]


def test_receipts_duplicated_reordered_delayed_or_never_sent(
    sandbox: BackgroundSandbox, receiver: tuple[BackgroundApp, list[dict[str, str]]]
) -> None:
    app, got = receiver
    settings = {"receipt_delay": 0.05, "receipts_url": f"{app.url}/r"}
    httpx.post(f"{sandbox.url}/sandbox/allmysms/settings", json=settings)

    def one(spec: str, count: int) -> tuple[list[str], dict[str, object]]:
        got.clear()
        chaos(sandbox, spec)
        with Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}) as gateway:
            gateway.send("+33612345678", "Receipts", sender="Acme")
        codes = _codes(got, count)
        return codes, inbox(sandbox)[-1]

    codes, message = one("receipts:duplicate", 3)
    assert codes == ["3", "1", "1"]
    assert "final receipt sent twice (chaos)" in message["faults"]  # type: ignore[operator]
    codes, _ = one("receipts:reorder", 3)
    assert codes == ["3", "1", "3"]  # the stale one after the final
    codes, message = one("receipts:never", 1)
    assert codes == ["3"] and message["status"] == "sent"
    assert NEVER in message["faults"]  # type: ignore[operator]
    codes, message = one("receipts:delay:0.5s", 2)
    assert codes == ["3", "1"]
    assert "final receipt delayed 0.5 s (chaos)" in message["faults"]  # type: ignore[operator]
