"""Messages per second through the elastic.io sailor, and what the sailor itself costs.

The sailor runs as the platform starts it (``python -m smsgate.elasticio.run``, its own
process) against the RabbitMQ at 127.0.0.1:5672, with the sandbox (own process) as AllMySMS.
The bench plays the platform.

1. The Send action, prefetch 1 and 10: one SMS per message, end to end. The step's queue
   holds the N messages before the sailor starts, a backlog the previous step left: on the
   platform that step runs in another container, so here it must not take the sailor's CPU
   while it is measured. The window runs from the sailor's first data message to its last,
   read from the data queue's count every 10 ms.
2. For comparison, prefetch 10 with the platform publishing meanwhile, one message at a
   time on this machine's cores, as the first version of this bench measured it.
3. The sailor alone: an echo component (``bench/echo_component``) with prefetch 10; the
   sailor process's CPU per message is its overhead (decrypt, headers, encrypt, publish,
   ack), measured from /proc over the same window.
4. The codec alone, in this process: decrypt + encrypt of one message, in microseconds.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from smsgate.sailor.local import (
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
POLL_S: Final = 0.01
BODY: Final = {"nums": "0612345678", "sender": "Bench", "message": "Votre code est 4821"}


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


@dataclass(frozen=True)
class Window:
    """Messages the sailor finished within a measured stretch, and what it took."""

    messages: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.messages * 1e6


async def _publish(broker: Broker, count: int) -> None:
    for _ in range(count):
        await broker.publish(BODY)


async def _drained(broker: Broker, pid: int, count: int) -> Window:
    """From the first data message to the count-th. The data queue is counted, not consumed:
    its consumer is the next step's, not ours."""
    while (first := await broker.count("data")) == 0:
        await asyncio.sleep(POLL_S)
    cpu, start = _cpu_seconds(pid), time.perf_counter()
    while await broker.count("data") < count:
        await asyncio.sleep(POLL_S)
    return Window(count - first, time.perf_counter() - start, _cpu_seconds(pid) - cpu)


async def _live(broker: Broker, pid: int, count: int) -> Window:
    """Publish while the sailor works, one confirmed message at a time, as the first bench did."""
    await _wait_for_consumer(broker)
    cpu, start = _cpu_seconds(pid), time.perf_counter()
    await _publish(broker, count)
    while await broker.count("data") < count:
        await asyncio.sleep(POLL_S)
    return Window(count, time.perf_counter() - start, _cpu_seconds(pid) - cpu)


def _run(step: LocalStep, env: dict[str, str], count: int, *, backlog: bool = True) -> Window:
    async def main() -> Window:
        async with broker_for(step) as broker:
            if backlog:
                await _publish(broker, count)
            process = subprocess.Popen(
                [sys.executable, "-m", "smsgate.elasticio.run"], env=env, stderr=subprocess.DEVNULL
            )
            try:
                if backlog:
                    return await _drained(broker, process.pid, count)
                return await _live(broker, process.pid, count)
            finally:
                process.terminate()
                process.wait(timeout=30)

    return asyncio.run(main())


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


def _send_line(label: str, window: Window, target: bool) -> str:
    verdict = ""
    if target:
        verdict = f"  {'meets' if window.rate >= TARGET_RATE else 'MISSES'} the >= 500/s target"
    return (
        f"Send action, {label}: {window.rate:>6,.0f} messages/s ({window.messages:,} messages, "
        f"one SMS each, {window.wall:.2f} s; sailor CPU {window.cpu_us:,.0f} us/message){verdict}"
    )


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
            window = _run(step, env, MESSAGES)
            print(_send_line(f"prefetch {prefetch:>2}", window, prefetch == 10))
        step = LocalStep(platform.url)
        env = _env(step, sandbox.url, ELASTICIO_RABBITMQ_PREFETCH_SAILOR="10")
        live = _run(step, env, MESSAGES, backlog=False)
        print(_send_line("prefetch 10, the platform publishing on the same cores", live, False))
        step = LocalStep(platform.url)
        env = _env(
            step,
            sandbox.url,
            ELASTICIO_RABBITMQ_PREFETCH_SAILOR="10",
            ELASTICIO_FUNCTION="echo",
            ELASTICIO_COMPONENT_PATH=str(ECHO_COMPONENT),
        )
        env["PYTHONPATH"] = str(ECHO_COMPONENT)
        echo = _run(step, env, MESSAGES)
    verdict = "meets" if echo.cpu_us <= TARGET_OVERHEAD_US else "MISSES"
    print(
        f"sailor alone (echo action, prefetch 10): {echo.rate:,.0f} messages/s; "
        f"overhead {echo.cpu_us:,.0f} us/message of sailor CPU (decrypt, headers, encrypt, "
        f"publish with confirm, ack)  {verdict} the <= 1 ms target"
    )
    print(f"codec alone: decrypt + encrypt {codec_microseconds():.1f} us/message")


if __name__ == "__main__":
    main()
