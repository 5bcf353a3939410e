"""Chaos on demand, over real sockets: what each rule does to a client, and the rules' text."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.report import RecipientStatus
from smsgate.gateway import Gateway
from smsgate.sandbox.chaos import Chaos, parse_chaos
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, inbox


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
    ["503", "500-after", "timeout", "drop", "latency:200ms", "latency:100-500ms", "rate:10/1s"]
)


@given(
    rules=st.lists(
        st.tuples(
            st.sampled_from(["", "sendSms:", "*:", "smsworks.batch:"]),
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
        assert rule.method == (method.rstrip(":") or "*")
        assert rule.probability == (float(percent[1:-1]) / 100 if percent else 1.0)


@pytest.mark.parametrize("text", ["500@", "latency:5-1ms", "rate:0/1s", "200", "sendSms:"])
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
