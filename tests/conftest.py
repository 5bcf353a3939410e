"""Shared fixtures: a real sandbox on a loopback socket for every test that sends."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from starlette.types import ASGIApp, Receive, Scope, Send

from smsgate.gateway import Gateway
from smsgate.gateway.transport import RetryPolicy
from smsgate.sandbox.allmysms.accounts import Account
from smsgate.sandbox.allmysms.emulator import AllMySmsEmulator
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from smsgate.service.app import ServiceConfig, create_app
from smsgate.store import Store

# What the tests keep (the embedded store, the embedded sandbox's state) never lands in the
# home directory of whoever runs them.
os.environ.setdefault("SMSGATE_DATA_DIR", tempfile.mkdtemp(prefix="smsgate-tests-"))

POSTGRES_ADMIN_URL = os.environ.get(
    "SMSGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)

ALL = {"limit": "100000"}
"""Every message of the sandbox's inbox in one page (its pages hold 1,000 by default)."""

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
    sandbox.state.emulator(AllMySmsEmulator).accounts.add(Account(login, api_key, credits))
    return sandbox.dsn(login, api_key)


def modules_a_send_loads(data: Path) -> set[str]:
    """The modules ``smsgate send`` to ``sandbox://`` imports (``-X importtime``), with its
    data in ``data``: the second of two sends, as the first makes the store (Alembic's
    migration loads much more). Each send goes to its own number."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    env["SMSGATE_DATA_DIR"] = str(data)
    command = [sys.executable, "-X", "importtime", "-m", "smsgate.cli", "send", "--to"]
    for number in ("0612345678", "0612345679"):
        done = subprocess.run([*command, number, "Hi"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-500:]
    return {line.rpartition("|")[2].strip() for line in done.stderr.splitlines()}


def inject(sandbox: BackgroundSandbox, **fault: object) -> None:
    """Ask the sandbox, over HTTP like any test client would, to misbehave once."""
    response = httpx.post(f"{sandbox.url}/sandbox/faults", json=fault)
    assert response.status_code == 204, response.text


def inbox(sandbox: BackgroundSandbox) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = httpx.get(
        f"{sandbox.url}/sandbox/messages", params=ALL
    ).json()["messages"]
    return messages


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL at 127.0.0.1:5432."""
    name = f"smsgate_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sqlalchemy.exc.OperationalError as error:
        pytest.fail(
            f"PostgreSQL does not answer at 127.0.0.1:5432 ({type(error).__name__}): run "
            "`make test`, which starts one, or set SMSGATE_TEST_POSTGRES_URL"
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The message store on each database the project supports, empty for each test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'smsgate.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = Store(url)
    if request.param == "postgresql":
        with opened.engine.begin() as connection:
            connection.exec_driver_sql(
                "TRUNCATE message_events, replies, messages, submissions, opt_outs"
                " RESTART IDENTITY CASCADE"
            )
    yield opened
    opened.close()


WEBHOOK_SECRET = "hook-secret"
AUTH = {"Authorization": "Bearer key"}
WAIT = {"wait": "true"}
"""Sends during the request: the report comes in the answer, whichever the store."""


@contextmanager
def service_with_webhooks(
    store: Store, dsn_for: Callable[[str], str], *, public_url: bool = False
) -> Iterator[httpx.Client]:
    """The HTTP service on a loopback port, its gateway's DSN made knowing that port:
    ``dsn_for(webhook_base)`` gets ``http://127.0.0.1:PORT/webhooks`` to name callbacks.
    Its client sends with ``?wait=true`` (the report in the answer, on either store); the
    queue, on PostgreSQL without it, has tests/test_queue.py. With ``public_url``, the
    gateway is told the service's URL as SMSGATE_PUBLIC_URL (the providers' receipts
    addresses come from it)."""
    apps: list[ASGIApp] = []

    async def late(scope: Scope, receive: Receive, send: Send) -> None:
        await apps[0](scope, receive, send)

    service = BackgroundApp(late)  # its port is known now, its app comes next
    env = {"SMSGATE_PUBLIC_URL": service.url, "SMSGATE_WEBHOOK_SECRETS": WEBHOOK_SECRET}
    gateway = Gateway.from_dsn(
        dsn_for(f"{service.url}/webhooks"),
        retry=FAST_RETRY,
        env=env if public_url else {},
        recorder=store,
    )
    apps.append(create_app(gateway, store, ServiceConfig(("key",), (WEBHOOK_SECRET,))))
    with (
        service,
        httpx.Client(base_url=service.url, headers=AUTH, params=WAIT) as api,
    ):
        yield api
    gateway.close()
