"""Receipts ingested per second by one service process under 50 concurrent callers.

The service (``smsgate serve``) runs in its own process on SQLite and on PostgreSQL; N
messages are recorded first, then every one gets a delivery receipt by webhook, plus replays
of 10% of them. Afterwards the store is counted: every message delivered, every receipt kept
once, none lost or doubled.

The load generator is a few lines of asyncio over raw keep-alive HTTP/1.1, written by hand
because an HTTP client library spends more CPU per request than the service it measures,
and both share this machine's two cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final
from urllib.parse import urlencode

import httpx
import sqlalchemy

from smsgate.core.message import compose_message
from smsgate.core.report import RecipientResult, RecipientStatus
from smsgate.core.sent import SentBatch
from smsgate.providers.allmysms import ALPHANUMERIC_NAME
from smsgate.sandbox.server import free_port
from smsgate.store import Store

CALLERS: Final = 50
MESSAGES: Final = 20_000
REPLAYED: Final = 0.10
SECRET: Final = "bench-secret"  # noqa: S105 (the benchmark's own webhook secret)
POSTGRES_ADMIN: Final = os.environ.get(
    "SMSGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)


def record_messages(store: Store, count: int, callback_url: str | None = None) -> list[str]:
    """``count`` messages sent (on record as sent), each with the callback URL if given;
    returns their provider ids."""
    message = compose_message("Benchmark", sender_rule=ALPHANUMERIC_NAME)
    ids: list[str] = []
    for start in range(0, count, 1000):
        numbers = [f"3361{n:07d}" for n in range(start, min(count, start + 1000))]
        results = [
            RecipientResult(n, RecipientStatus.SENT, f"sms-{n}", None, f"msg_bench_{n}")
            for n in numbers
        ]
        store.record_batch(
            SentBatch(
                "allmysms",
                True,
                message,
                f"req_{start}",
                results,
                f"ap_{start}",
                None,
                callback_url=callback_url,
            )
        )
        ids.extend(f"sms-{n}" for n in numbers)
    return ids


def receipt_body(sms_id: str) -> bytes:
    number = sms_id.removeprefix("sms-")
    return urlencode(
        {
            "smsId": sms_id,
            "campaignId": "",
            "phoneNumber": number,
            "receptionDate": "2026-11-22 10:00:00",
            "status": "1",
            "statusText": "Delivered",
        }
    ).encode()


async def caller(port: int, bodies: list[bytes], outcomes: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /webhooks/allmysms/{SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
    ).encode()
    for body in bodies:
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await reader.readexactly(length)
        status = status_line.split()[1].decode()
        outcomes[json.loads(payload)["outcome"] if status == "200" else f"HTTP {status}"] += 1
    writer.close()


async def load(port: int, bodies: list[bytes]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    shares = [bodies[i::CALLERS] for i in range(CALLERS)]
    await asyncio.gather(*(caller(port, share, outcomes) for share in shares))
    return outcomes


def run_service(url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "SMSGATE_API_KEYS": "bench",
        "SMSGATE_WEBHOOK_SECRETS": SECRET,
        "SMSGATE_DATABASE_URL": url,
    }
    env.pop("SMSGATE_DSN", None)
    service = subprocess.Popen(
        [sys.executable, "-m", "smsgate.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return service, port
        except httpx.TransportError:
            if time.monotonic() > deadline or service.poll() is not None:
                raise RuntimeError("the service did not start") from None
            time.sleep(0.1)


def bench_database(name: str, url: str) -> None:
    store = Store(url)
    ids = record_messages(store, MESSAGES)
    with store.engine.begin() as connection:
        # What autovacuum does to a live database; a table filled a second ago has no
        # statistics, and PostgreSQL would scan instead of using the message-id index.
        connection.exec_driver_sql("ANALYZE")
    replays = ids[: int(len(ids) * REPLAYED)]
    bodies = [receipt_body(i) for i in ids + replays]
    service, port = run_service(url)
    try:
        start = time.perf_counter()
        outcomes = asyncio.run(load(port, bodies))
        seconds = time.perf_counter() - start
    finally:
        service.terminate()
        service.wait(timeout=10)
    delivered = store.messages(status="delivered", limit=1).total
    with store.engine.connect() as connection:
        kept = connection.exec_driver_sql(
            "SELECT count(*) FROM message_events WHERE source = 'webhook'"
        ).scalar()
    store.close()
    rate = len(bodies) / seconds
    intact = delivered == MESSAGES and kept == MESSAGES and outcomes["applied"] == MESSAGES
    intact = intact and outcomes["duplicate"] == len(replays)
    print(
        f"{name:10} {rate:>8,.0f} receipts/s ({len(bodies):,} webhook calls in {seconds:.2f} s, "
        f"{CALLERS} callers); answers {dict(outcomes)}; store: {delivered:,} delivered, "
        f"{kept:,} receipts kept -> {'none lost or doubled' if intact else 'MISMATCH'}; "
        f"{'meets' if rate >= 2000 and intact else 'MISSES'} the 2,000/s target"
    )


def main() -> None:
    print(f"\n## Receipts ingested by one service process ({CALLERS} concurrent callers)")
    with TemporaryDirectory() as folder:
        bench_database("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")
    name = f"smsgate_bench_{os.getpid()}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        bench_database("PostgreSQL", POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
