"""Retry only what provably did not reach the provider; never send an SMS twice."""

from __future__ import annotations

import socket

import httpx
import pytest

from smsgate.core.report import RecipientStatus, SendStatus
from smsgate.gateway import Gateway
from smsgate.gateway.transport import RetryPolicy
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, inbox, inject


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused_is_retried_then_reported_failed_not_sent() -> None:
    dsn = f"allmysms+http://demo:demo@127.0.0.1:{closed_port()}?batch_size=1"
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0611111111, 0622222222", "Hi")
    assert report.status is SendStatus.FAILED
    assert [r.status for r in report.recipients] == [RecipientStatus.FAILED] * 2
    assert "after 3 tries" in (report.recipients[0].error or "")
    assert "nothing was sent" in (report.recipients[0].error or "")
    assert len(report.requests) == 1  # the second batch was not even tried


@pytest.mark.parametrize("status", [429, 503])
def test_busy_answers_are_retried_and_the_sms_goes_once(
    gateway: Gateway, sandbox: BackgroundSandbox, status: int
) -> None:
    inject(sandbox, method="sendSms", when="before", status=status, retry_after="0", times=2)
    report = gateway.send("0612345678", "Hi")
    assert report.status is SendStatus.SENT
    assert len(inbox(sandbox)) == 1


def test_busy_for_longer_than_we_wait_is_failed_and_nothing_sent(
    gateway: Gateway, sandbox: BackgroundSandbox
) -> None:
    inject(sandbox, method="sendSms", when="before", status=429, retry_after="3600")
    report = gateway.send("0612345678", "Hi")
    assert report.status is SendStatus.FAILED and "asked to wait 3600 s" in (
        report.recipients[0].error or ""
    )
    assert inbox(sandbox) == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_after_the_request_arrived_is_unknown_and_not_resent(
    gateway: Gateway, sandbox: BackgroundSandbox, status: int
) -> None:
    inject(sandbox, method="sendSms", when="after", status=status)
    report = gateway.send("0612345678", "Hi")
    assert report.status is SendStatus.UNKNOWN
    assert "may have been sent" in (report.recipients[0].error or "")
    assert len(inbox(sandbox)) == 1  # it did arrive, exactly once


def test_a_read_timeout_is_unknown_and_not_resent(sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="sendSms", when="after", delay=1.5)
    impatient = RetryPolicy(attempts=3, backoff=0.01, timeout=httpx.Timeout(0.5, connect=2.0))
    with Gateway.from_dsn(sandbox.dsn(), retry=impatient, env={}) as gw:
        report = gw.send("0612345678", "Hi")
    assert report.status is SendStatus.UNKNOWN and "ReadTimeout" in (
        report.recipients[0].error or ""
    )
    assert len(inbox(sandbox)) == 1


def test_an_unreadable_answer_is_unknown(gateway: Gateway, sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="sendSms", answer={"nothing": "useful"})
    report = gateway.send("0612345678", "Hi")
    assert report.status is SendStatus.UNKNOWN


def test_after_an_unknown_batch_the_next_batches_still_go(sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="sendSms", when="after", status=500)
    with Gateway.from_dsn(sandbox.dsn() + "?batch_size=1", retry=FAST_RETRY, env={}) as gw:
        report = gw.send("0611111111, 0622222222", "Hi")
    assert [r.status for r in report.recipients] == [RecipientStatus.UNKNOWN, RecipientStatus.SENT]
    assert len(inbox(sandbox)) == 2
