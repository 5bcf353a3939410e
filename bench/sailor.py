"""Messages per second through the elastic.io sailor, and what the sailor itself costs.

The sailor runs as the platform starts it (``python -m smsgate.elasticio.run``, its own
process) against the RabbitMQ at 127.0.0.1:5672, with the sandbox (own process) as AllMySMS.
The bench plays the platform: publishes N encrypted messages to the step's queue and waits
until the N data messages are in the next step's queue.

1. The Send action, prefetch 1 and 10: one SMS per message, end to end.
2. The sailor alone: an echo component (``bench/echo_component``) with prefetch 10; the
   sailor process's CPU per message is its overhead (decrypt, headers, encrypt, publish,
   ack), measured from /proc.
3. The codec alone, in this process: decrypt + encrypt of one message, in microseconds.

The platform's default emit limit (10 data per 100 ms, as in the Node.js sailor) would cap any
step at 100 messages/s; the bench raises ELASTICIO_DATA_RATE_LIMIT as a busy flow would.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Final

from smsgate.elasticio.local import (
    CIPHER,
    FLOW_ID,
    STEP_ID,
    Broker,
    LocalStep,
    StepApi,
    broker_for,
)
from smsgate.sandbox.server import SandboxProcess

MESSAGES: Final = 3000
TARGET_RATE: Final = 500
TARGET_OVERHEAD_US: Final = 1000
ECHO_COMPONENT: Final = Path(__file__).resolve().parent / "echo_component"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait_for_consumer(broker: Broker) -> None:
    for _ in range(600):
        declared = await broker.channel.declare_queue(broker.step.key("in"), passive=True)
        if declared.declaration_result.consumer_count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the sailor never started consuming")


async def _through(
    broker: Broker, process: subprocess.Popen[bytes], count: int
) -> tuple[float, float]:
    """Publish ``count`` messages, read ``count`` data messages: (wall s, sailor CPU s)."""
    await _wait_for_consumer(broker)
    body = {"nums": "0612345678", "sender": "Bench", "message": "Votre code est 4821"}
    cpu = _cpu_seconds(process.pid)
    start = time.perf_counter()
    for _ in range(count):
        await broker.publish(body)
    # The data queue is counted, not consumed: its consumer is the next step's, not ours, and
    # on this two-core machine it would take CPU from the sailor under test.
    while await broker.count("data") < count:
        await asyncio.sleep(0.02)
    return time.perf_counter() - start, _cpu_seconds(process.pid) - cpu


def _run(step: LocalStep, env: dict[str, str], count: int) -> tuple[float, float]:
    process = subprocess.Popen(
        [sys.executable, "-m", "smsgate.elasticio.run"], env=env, stderr=subprocess.DEVNULL
    )

    async def main() -> tuple[float, float]:
        async with broker_for(step) as broker:
            return await _through(broker, process, count)

    try:
        return asyncio.run(main())
    finally:
        process.terminate()
        process.wait(timeout=30)


def _env(step: LocalStep, sandbox_url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELASTICIO_", "SMSGATE_"))}
    env.update(step.env(ELASTICIO_DATA_RATE_LIMIT="100000", LOG_LEVEL="WARNING", **more))
    env["SMSGATE_ALLMYSMS_URL"] = sandbox_url
    return env


def codec_microseconds() -> float:
    msg = {"id": "b0c1", "body": {"nums": "0612345678", "sender": "Bench", "message": "x" * 60}}
    wire = CIPHER.encode(msg, 1)
    runs = 20_000
    seconds = timeit.timeit(lambda: CIPHER.encode(CIPHER.decode(wire, 1), 1), number=runs)
    return seconds / runs * 1e6


def main() -> None:
    print("\n## The elastic.io sailor (RabbitMQ at 127.0.0.1:5672, sandbox as AllMySMS)")
    with (
        StepApi() as platform,
        SandboxProcess(accounts=[f"bench:bench:{100 * MESSAGES}"]) as sandbox,
    ):
        platform.steps[(FLOW_ID, STEP_ID)] = {"config": {"login": "bench", "apiKey": "bench"}}
        for prefetch in (1, 10):
            step = LocalStep(platform.url)
            env = _env(step, sandbox.url, ELASTICIO_RABBITMQ_PREFETCH_SAILOR=str(prefetch))
            wall, cpu = _run(step, env, MESSAGES)
            rate = MESSAGES / wall
            verdict = ""
            if prefetch == 10:
                verdict = f"  {'meets' if rate >= TARGET_RATE else 'MISSES'} the >= 500/s target"
            print(
                f"Send action, prefetch {prefetch:>2}: {rate:>6,.0f} messages/s "
                f"({MESSAGES:,} messages, one SMS each, {wall:.2f} s; "
                f"sailor CPU {cpu / MESSAGES * 1e6:,.0f} us/message){verdict}"
            )
        step = LocalStep(platform.url)
        env = _env(
            step,
            sandbox.url,
            ELASTICIO_RABBITMQ_PREFETCH_SAILOR="10",
            ELASTICIO_FUNCTION="echo",
            ELASTICIO_COMPONENT_PATH=str(ECHO_COMPONENT),
        )
        env["PYTHONPATH"] = str(ECHO_COMPONENT)
        wall, cpu = _run(step, env, MESSAGES)
    overhead = cpu / MESSAGES * 1e6
    verdict = "meets" if overhead <= TARGET_OVERHEAD_US else "MISSES"
    print(
        f"sailor alone (echo action, prefetch 10): {MESSAGES / wall:,.0f} messages/s; "
        f"overhead {overhead:,.0f} us/message of sailor CPU (decrypt, headers, encrypt, "
        f"publish with confirm, ack)  {verdict} the <= 1 ms target"
    )
    print(f"codec alone: decrypt + encrypt {codec_microseconds():.1f} us/message")


if __name__ == "__main__":
    main()
