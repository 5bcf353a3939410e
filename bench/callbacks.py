"""Status callbacks delivered per second by one service process to a local receiver.

20,000 messages with a callback URL are put on record first (the store's trigger puts one
callback each in the outbox); then ``smsgate serve`` (the embedded SQLite store: the service
delivers by itself) posts them, signed, to a receiver in its own process. The rate is counted
at the receiver, from the first callback to the last; afterwards every webhook-id must have
arrived exactly once (none lost, none doubled) and the store must say delivered for each.

The receiver is a few lines of asyncio over raw HTTP/1.1, written by hand because an HTTP
server library spends more CPU per request than the deliverer it measures, and both share
this machine's two cores. Run alone: ``python bench/callbacks.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final

import httpx
from receipts import record_messages  # bench/receipts.py: the same messages on record

from smsgate.sandbox.server import free_port
from smsgate.store import Store
from smsgate.store.callbacks import Callbacks

MESSAGES: Final = 20_000
TARGET: Final = 2_000
SECRET: Final = "whsec_" + base64.b64encode(b"the benchmark's callback secret!").decode()


# -- the receiver (run as `python bench/callbacks.py --receive PORT`) ------------------------


async def receive(port: int) -> None:
    seen: dict[str, int] = {}
    times: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length", "0"))
                if length:
                    await reader.readexactly(length)
                if lines[0].startswith("GET /count"):
                    body = json.dumps(
                        {
                            "total": sum(seen.values()),
                            "unique": len(seen),
                            "first": times[0] if times else None,
                            "last": times[-1] if times else None,
                        }
                    ).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                else:
                    webhook_id = headers.get("webhook-id", "")
                    seen[webhook_id] = seen.get(webhook_id, 0) + 1
                    times.append(time.time())
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# -- the benchmark --------------------------------------------------------------------------


def main(count: int = MESSAGES) -> None:
    print(f"\n## Status callbacks delivered by one service ({count:,}, SQLite store)")
    receiver_port, service_port = free_port(), free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receive", str(receiver_port)])
    with TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'smsgate.db'}")
        record_messages(store, count, callback_url=f"http://127.0.0.1:{receiver_port}/hooks")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
        env.update(
            SMSGATE_DATA_DIR=folder,
            SMSGATE_API_KEYS="bench-key",
            SMSGATE_CALLBACK_SECRET=SECRET,
        )
        command = [sys.executable, "-m", "smsgate.cli", "serve", "--port", str(service_port)]
        service = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            counted = _wait(receiver_port, count)
        finally:
            service.terminate()
            service.wait(timeout=30)
            receiver.terminate()
            receiver.wait(timeout=30)
        _, delivered = Callbacks(store).page(state="delivered", limit=1)
        store.close()
    seconds = counted["last"] - counted["first"]
    rate = count / seconds if seconds > 0 else float("inf")
    honest = counted["unique"] == count and counted["total"] == count and delivered == count
    print(
        f"{rate:,.0f} callbacks/s ({count:,} in {seconds:.2f} s, first to last at the receiver; "
        f"{'meets' if rate >= TARGET else 'MISSES'} the >= {TARGET:,}/s target); "
        f"received {counted['total']:,}, distinct webhook-ids {counted['unique']:,}, "
        f"delivered in the store {delivered:,}: "
        f"{'none lost or doubled' if honest else 'LOST OR DOUBLED'}"
    )


def _wait(port: int, count: int, timeout: float = 600) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    last_total = -1
    while time.monotonic() < deadline:
        try:
            counted = httpx.get(f"http://127.0.0.1:{port}/count", timeout=5).json()
        except httpx.HTTPError:
            counted = None
        if counted and counted["unique"] >= count:
            time.sleep(1.0)  # anything doubled would arrive now
            result: dict[str, float] = httpx.get(f"http://127.0.0.1:{port}/count").json()
            return result
        if counted:
            last_total = counted["total"]
        time.sleep(0.2)
    raise SystemExit(f"timed out: the receiver got {last_total} callbacks of {count}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--receive":
        asyncio.run(receive(int(sys.argv[2])))
    else:
        main()
