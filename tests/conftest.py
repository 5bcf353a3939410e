"""Shared fixtures: a real sandbox on a loopback socket for every test that sends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from smsgate.gateway import Gateway
from smsgate.gateway.transport import RetryPolicy
from smsgate.sandbox.allmysms.accounts import Account
from smsgate.sandbox.server import BackgroundSandbox

FAST_RETRY = RetryPolicy(
    attempts=3, backoff=0.01, max_wait=2.0, timeout=httpx.Timeout(5.0, connect=2.0)
)


@pytest.fixture
def sandbox() -> Iterator[BackgroundSandbox]:
    with BackgroundSandbox() as server:
        yield server


@pytest.fixture
def gateway(sandbox: BackgroundSandbox) -> Iterator[Gateway]:
    with Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}) as gw:
        yield gw


def add_account(sandbox: BackgroundSandbox, login: str, api_key: str, credits: int) -> str:
    sandbox.state.allmysms.add(Account(login, api_key, credits))
    return sandbox.dsn(login, api_key)


def inject(sandbox: BackgroundSandbox, **fault: object) -> None:
    """Ask the sandbox, over HTTP like any test client would, to misbehave once."""
    response = httpx.post(f"{sandbox.url}/sandbox/faults", json=fault)
    assert response.status_code == 204, response.text


def inbox(sandbox: BackgroundSandbox) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = httpx.get(f"{sandbox.url}/sandbox/messages").json()[
        "messages"
    ]
    return messages
