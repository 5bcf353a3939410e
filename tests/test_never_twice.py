"""Retry only what provably did not reach the provider; never send an SMS twice.

Every case runs through both gateways: the sync one (httpx over httpcore) and the async one
(httpx over aiohttp), since each maps its own network errors.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from smsgate.core.report import RecipientStatus, SendReport, SendStatus
from smsgate.gateway import AsyncGateway, Gateway
from smsgate.gateway.transport import RetryPolicy
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, inbox, inject

Send = Callable[..., SendReport]


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Send:
    """send(dsn, to, text, retry=FAST_RETRY) through one of the two gateways."""

    def sync(dsn: str, to: str, text: str, retry: RetryPolicy = FAST_RETRY) -> SendReport:
        with Gateway.from_dsn(dsn, retry=retry, env={}) as gateway:
            return gateway.send(to, text)

    def via_async(dsn: str, to: str, text: str, retry: RetryPolicy = FAST_RETRY) -> SendReport:
        async def main() -> SendReport:
            async with AsyncGateway.from_dsn(dsn, retry=retry, env={}) as gateway:
                return await gateway.send(to, text)

        return asyncio.run(main())

    return sync if request.param == "sync" else via_async


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused_is_retried_then_reported_failed_not_sent(send: Send) -> None:
    dsn = f"allmysms+http://demo:demo@127.0.0.1:{closed_port()}?batch_size=1"
    report = send(dsn, "0611111111, 0622222222", "Hi")
    assert report.status is SendStatus.FAILED
    assert [r.status for r in report.recipients] == [RecipientStatus.FAILED] * 2
    assert "after 3 tries" in (report.recipients[0].error or "")
    assert "nothing was sent" in (report.recipients[0].error or "")
    assert len(report.requests) == 1  # the second batch was not even tried


@pytest.mark.parametrize("status", [429, 503])
def test_busy_answers_are_retried_and_the_sms_goes_once(
    send: Send, sandbox: BackgroundSandbox, status: int
) -> None:
    inject(sandbox, method="sendSms", when="before", status=status, retry_after="0", times=2)
    report = send(sandbox.dsn(), "0612345678", "Hi")
    assert report.status is SendStatus.SENT
    assert len(inbox(sandbox)) == 1


def test_busy_for_longer_than_we_wait_is_failed_and_nothing_sent(
    send: Send, sandbox: BackgroundSandbox
) -> None:
    inject(sandbox, method="sendSms", when="before", status=429, retry_after="3600")
    report = send(sandbox.dsn(), "0612345678", "Hi")
    assert report.status is SendStatus.FAILED and "asked to wait 3600 s" in (
        report.recipients[0].error or ""
    )
    assert inbox(sandbox) == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_after_the_request_arrived_is_unknown_and_not_resent(
    send: Send, sandbox: BackgroundSandbox, status: int
) -> None:
    inject(sandbox, method="sendSms", when="after", status=status)
    report = send(sandbox.dsn(), "0612345678", "Hi")
    assert report.status is SendStatus.UNKNOWN
    assert "may have been sent" in (report.recipients[0].error or "")
    assert len(inbox(sandbox)) == 1  # it did arrive, exactly once


def test_a_read_timeout_is_unknown_and_not_resent(send: Send, sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="sendSms", when="after", delay=1.5)
    impatient = RetryPolicy(attempts=3, backoff=0.01, timeout=httpx.Timeout(0.5, connect=2.0))
    report = send(sandbox.dsn(), "0612345678", "Hi", impatient)
    assert report.status is SendStatus.UNKNOWN and "ReadTimeout" in (
        report.recipients[0].error or ""
    )
    assert len(inbox(sandbox)) == 1


@pytest.fixture
def hang_up() -> Iterator[tuple[int, list[bytes]]]:
    """A server that reads each request, then closes the connection without an answer."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                data = connection.recv(65536)
                if data:
                    received.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    server.close()
    thread.join(timeout=5)


def test_a_connection_dropped_after_the_request_is_unknown_and_not_resent(
    send: Send, hang_up: tuple[int, list[bytes]]
) -> None:
    port, received = hang_up
    report = send(f"allmysms+http://demo:demo@127.0.0.1:{port}", "0612345678", "Hi")
    assert report.status is SendStatus.UNKNOWN
    assert "may have been sent" in (report.recipients[0].error or "")
    assert len(received) == 1  # the request went out once, and was not sent again


def test_an_unreadable_answer_is_unknown(send: Send, sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="sendSms", answer={"nothing": "useful"})
    report = send(sandbox.dsn(), "0612345678", "Hi")
    assert report.status is SendStatus.UNKNOWN


def test_after_an_unknown_batch_the_next_batches_still_go(
    send: Send, sandbox: BackgroundSandbox
) -> None:
    inject(sandbox, method="sendSms", when="after", status=500)
    report = send(sandbox.dsn() + "?batch_size=1", "0611111111, 0622222222", "Hi")
    assert [r.status for r in report.recipients] == [RecipientStatus.UNKNOWN, RecipientStatus.SENT]
    assert len(inbox(sandbox)) == 2
