"""The AllMySMS Send action end to end: gateway -> real HTTP on loopback -> sandbox emulator."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.errors import ConfigurationError, InvalidSender, InvalidText, NoRecipients
from smsgate.core.report import RecipientStatus, SendStatus
from smsgate.gateway import AsyncGateway, Gateway
from smsgate.providers.allmysms import DATE_FORMAT, PARIS, _paris_time
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, add_account, inbox, inject


def test_a_send_reaches_the_sandbox_with_ids_and_credits(
    gateway: Gateway, sandbox: BackgroundSandbox
) -> None:
    report = gateway.send("06 12 34 56 78, +44 7911 123456", "Hello from smsgate", sender="Acme")
    assert report.status is SendStatus.SENT and report.sandbox is False
    got = inbox(sandbox)
    assert [m["to"] for m in got] == ["33612345678", "447911123456"]
    ids = {m["to"]: m["id"] for m in got}
    for result in report.recipients:
        assert result.status is RecipientStatus.SENT
        assert result.provider_message_id == ids[result.to]
    assert report.credits_used == 30 and report.credits_left == 15000 - 30
    assert report.requests[0].code == 100 and report.requests[0].campaign_id
    assert got[0]["sender_requested"] == "Acme" and got[0]["sender_shown"] == "36180"
    assert got[1]["sender_shown"] == "Acme"


def test_the_report_has_the_documented_shape(gateway: Gateway) -> None:
    data = gateway.send("0612345678, junk", "Hi").to_dict()
    assert {
        "provider",
        "sandbox",
        "status",
        "trial",
        "text",
        "truncated",
        "encoding",
        "parts",
        "recipients",
        "skipped",
        "requests",
        "credits_used",
        "credits_left",
    } <= set(data)
    assert data["status"] == "partial"
    assert data["skipped"] == [{"input": "junk", "reason": data["skipped"][0]["reason"]}]  # type: ignore[index]
    json.dumps(data)


def test_long_text_is_truncated_to_one_sms_and_says_so(
    gateway: Gateway, sandbox: BackgroundSandbox
) -> None:
    report = gateway.send("0612345678", "ê" * 170 + "ça")
    assert report.truncated and report.parts == 1 and report.encoding.value == "UCS-2"
    assert report.text == "ê" * 70
    assert any("truncated" in w for w in report.warnings)
    assert inbox(sandbox)[0]["text"] == "ê" * 70
    assert gateway.send("0612345678", "é" * 170).text == "é" * 160  # é is GSM-7


def test_max_parts_allows_concatenated_sms_up_to_640_characters(
    gateway: Gateway, sandbox: BackgroundSandbox
) -> None:
    report = gateway.send("0612345678", "a" * 1000, max_parts=9)
    assert report.text == "a" * 640 and report.parts == 5 and report.truncated
    assert inbox(sandbox)[0]["parts"] == 5 and report.credits_used == 75


def test_bad_input_sends_nothing(gateway: Gateway, sandbox: BackgroundSandbox) -> None:
    with pytest.raises(InvalidSender):
        gateway.send("0612345678", "Hi", sender="1bad")
    with pytest.raises(InvalidText, match="empty"):
        gateway.send("0612345678", "   ")
    with pytest.raises(InvalidText, match="too long"):
        gateway.send("0612345678", "a" * 161, truncate=False)
    with pytest.raises(NoRecipients, match="'abc': not a phone number"):
        gateway.send("abc, ;", "Hi")
    assert inbox(sandbox) == []


def test_4500_numbers_are_three_requests(sandbox: BackgroundSandbox) -> None:
    numbers = [f"+336{n:08d}" for n in range(4500)]
    seen: list[tuple[int, int]] = []
    rich = add_account(sandbox, "rich", "k", 100_000)
    with Gateway.from_dsn(rich, retry=FAST_RETRY, env={}) as gw:
        report = gw.send(
            numbers, "Campaign", progress=lambda done, total: seen.append((done, total))
        )
    assert [r.recipients for r in report.requests] == [2000, 2000, 500]
    assert seen == [(2000, 4500), (4000, 4500), (4500, 4500)]
    assert report.accepted == 4500 and len(inbox(sandbox)) == 4500


def test_batch_size_comes_from_the_dsn(sandbox: BackgroundSandbox) -> None:
    with Gateway.from_dsn(sandbox.dsn() + "?batch_size=2", retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0611111111,0622222222,0633333333", "Hi")
    assert [r.recipients for r in report.requests] == [2, 1]


def test_numbers_the_provider_refuses_are_reported_and_the_rest_sent(
    gateway: Gateway, sandbox: BackgroundSandbox
) -> None:
    report = gateway.send("0612345678, +3361234, 0698765432", "Hi")
    assert report.status is SendStatus.PARTIAL and report.requests[0].code == 113
    by_number = {r.to: r for r in report.recipients}
    assert by_number["3361234"].status is RecipientStatus.REJECTED
    assert "113" in (by_number["3361234"].error or "")
    assert by_number["33612345678"].status is RecipientStatus.SENT
    assert len(inbox(sandbox)) == 2


def test_no_valid_number_for_the_provider(gateway: Gateway) -> None:
    report = gateway.send("+3361234", "Hi")
    assert report.status is SendStatus.REJECTED and report.requests[0].code == 114


def test_wrong_credentials(sandbox: BackgroundSandbox) -> None:
    with Gateway.from_dsn(sandbox.dsn("demo", "wrong-key"), retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0612345678", "Hi")
    assert report.status is SendStatus.REJECTED and report.requests[0].code == 102
    assert "check the credentials" in (report.recipients[0].error or "")
    assert "wrong-key" not in json.dumps(report.to_dict())


def test_no_credit_and_too_little_credit(sandbox: BackgroundSandbox) -> None:
    broke = add_account(sandbox, "broke", "k1", 0)
    poor = add_account(sandbox, "poor", "k2", 20)
    with Gateway.from_dsn(broke, retry=FAST_RETRY, env={}) as gw:
        assert gw.send("0612345678", "Hi").requests[0].code == 103
    with Gateway.from_dsn(poor, retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0612345678, 0698765432", "Hi")
    assert report.requests[0].code == 104 and "top up" in (report.recipients[0].error or "")
    assert inbox(sandbox) == []


def test_a_refusal_for_every_batch_stops_the_later_batches(sandbox: BackgroundSandbox) -> None:
    poor = add_account(sandbox, "poor", "k2", 20)
    with Gateway.from_dsn(poor + "?batch_size=1", retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0611111111, 0622222222, 0633333333", "Hi")
    assert len(report.requests) == 2  # 15 credits paid the first; the second got 104
    statuses = [r.status for r in report.recipients]
    assert statuses == [RecipientStatus.SENT, RecipientStatus.REJECTED, RecipientStatus.FAILED]
    assert "not sent: not enough AllMySMS credit" in (report.recipients[2].error or "")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (105, "bug in smsgate"),
        (106, "bug in smsgate"),
        (107, "bug in smsgate"),
        (108, "bug in smsgate"),
        (109, "bug in smsgate"),
        (110, "empty"),
        (111, "longer than 640"),
        (112, "bug in smsgate"),
        (115, "date"),
        (117, "link"),
        (118, "master account"),
        (199, "199"),
    ],
)
def test_every_status_code_has_a_clear_outcome(
    gateway: Gateway, sandbox: BackgroundSandbox, code: int, words: str
) -> None:
    inject(sandbox, method="sendSms", answer={"status": code, "statusText": "texte"})
    report = gateway.send("0612345678", "Hi")
    assert report.status is SendStatus.REJECTED and report.requests[0].code == code
    assert words in (report.recipients[0].error or "")


def test_a_long_link_is_refused_with_advice(gateway: Gateway) -> None:
    report = gateway.send("0612345678", "See https://example.com/" + "x" * 70)
    assert report.requests[0].code == 117
    assert "keep links under 80 characters" in (report.recipients[0].error or "")


def test_scheduled_send(gateway: Gateway, sandbox: BackgroundSandbox) -> None:
    later = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)
    report = gateway.send("0612345678", "Later", scheduled_at=later)
    assert report.status is SendStatus.SCHEDULED and report.requests[0].code == 101
    assert inbox(sandbox)[0]["status"] == "scheduled"


def test_trial_mode_uses_the_operator_account(sandbox: BackgroundSandbox) -> None:
    operator = add_account(sandbox, "operator", "op-key", 1000)
    env = {"SMSGATE_TRIAL_DSN": operator}
    with Gateway.from_dsn("allmysms://@default", retry=FAST_RETRY, env=env) as gw:
        report = gw.send("0611111111, 0622222222, 0633333333", "Hello")
    assert report.trial and report.text == "TRIAL USE: Hello"
    assert [s.reason for s in report.skipped] == ["trial limit"]
    assert report.accepted == 2 and report.status is SendStatus.PARTIAL
    assert {m["account"] for m in inbox(sandbox)} == {"operator"}


def test_trial_prefix_counts_toward_the_length(sandbox: BackgroundSandbox) -> None:
    env = {"SMSGATE_TRIAL_DSN": sandbox.dsn()}
    with Gateway.from_dsn("allmysms://login:@default", retry=FAST_RETRY, env=env) as gw:
        report = gw.send("0611111111", "a" * 160)
    assert report.text == "TRIAL USE: " + "a" * 149 and report.truncated


def test_trial_without_an_operator_account_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="set SMSGATE_TRIAL_DSN"):
        Gateway.from_dsn("allmysms://@default", env={})


def test_async_twin(sandbox: BackgroundSandbox) -> None:
    async def run() -> tuple[int, float | None]:
        async with AsyncGateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}) as gw:
            report = await gw.send("0612345678, 0698765432", "Async hello")
            info = await gw.info()
        return report.accepted, info.credits

    assert asyncio.run(run()) == (2, 15000 - 30)


def test_account_info(gateway: Gateway) -> None:
    info = gateway.info()
    assert (info.status, info.credits) == ("Active Account", 15000)
    assert "apiKey" not in info.details and "demo" not in json.dumps(info.to_dict()["details"])


def test_async_twin_on_the_embedded_sandbox() -> None:
    async def run() -> tuple[bool, int]:
        async with AsyncGateway.from_dsn("sandbox://", env={}) as gw:
            report = await gw.send("0612345678", "Embedded async")
        return report.sandbox, report.accepted

    assert asyncio.run(run()) == (True, 1)


def test_secrets_never_reach_the_logs(
    sandbox: BackgroundSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    dsn = add_account(sandbox, "logged", "Sup3rSecretKey", 100)
    caplog.set_level(logging.DEBUG)
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0612345678", "Hi")
        info = gw.info()
        shown = [
            repr(gw),
            repr(gw.endpoint.provider),
            json.dumps(report.to_dict()),
            json.dumps(info.to_dict()),
        ]
    assert caplog.records
    assert all("Sup3rSecretKey" not in text for text in [*shown, caplog.text])


_digits = st.text(alphabet="0123456789", min_size=1, max_size=4)
_stamps = st.builds(
    lambda y, mo, d, h, mi, s, sep: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}",
    _digits,
    _digits,
    _digits,
    _digits,
    _digits,
    _digits,
    st.sampled_from([" ", "T", "  "]),
)


@given(st.one_of(_stamps, st.text(max_size=25), st.datetimes().map(str)))
def test_receipt_times_read_exactly_what_the_spec_format_allows(text: str) -> None:
    """The fast reader agrees with strptime on AllMySMS's 'YYYY-MM-DD HH:MM:SS' (Paris)."""
    try:
        expected: datetime | None = datetime.strptime(text.strip(), DATE_FORMAT)
    except ValueError:
        expected = None
    if expected is not None and len(text.strip()) != 19:
        expected = None  # strptime also takes unpadded fields, which AllMySMS never sends
    got = _paris_time(text)
    assert got == (expected.replace(tzinfo=PARIS) if expected else None)
