"""Spike for docs/decisions/job-engine.md: procrastinate on this machine's PostgreSQL.

Not part of make bench (the engine is not a dependency yet). Run with a virtual environment
that has procrastinate and psycopg:  python bench/spikes/procrastinate_spike.py [DSN]
Measures: enqueue rate (batch defer, and one defer per transaction on our own connection),
one job's latency, recovery of a job held by a SIGKILLed worker, delayed jobs and cancel.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import procrastinate
import psycopg

DSN = os.environ.get("SPIKE_DSN") or "postgresql://postgres@127.0.0.1/spike_procrastinate"
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=DSN))


@app.task(name="send", queue="sms")
async def send(n: int, hold: float = 0.0) -> None:
    async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as c:
        await c.execute(
            "INSERT INTO spike_runs (n, pid, at) VALUES (%s, %s, clock_timestamp())",
            (n, os.getpid()),
        )
    if hold:
        await asyncio.sleep(hold)


@app.periodic(cron="* * * * * */1")  # every second: what a deployment would run to recover
@app.task(name="recover", queue="maintenance")
async def recover(timestamp: int) -> None:
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=3):
        await app.job_manager.retry_job(job)


async def worker(concurrency: int) -> None:
    async with app.open_async():
        await app.run_worker_async(
            queues=["sms", "maintenance"],
            concurrency=concurrency,
            update_heartbeat_interval=1,
            stalled_worker_timeout=3,
            install_signal_handlers=True,
        )


async def main() -> None:
    async with app.open_async():
        await app.schema_manager.apply_schema_async() if not await _has_schema() else None
        async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as c:
            await c.execute(
                "CREATE TABLE IF NOT EXISTS spike_runs (n int, pid int, at timestamptz)"
            )
            await c.execute("TRUNCATE spike_runs")
            await c.execute("DELETE FROM procrastinate_jobs")

        # 1. enqueue rate: one batch of 10,000, then 1,000 defers each in our own transaction
        start = time.perf_counter()
        await send.batch_defer_async(*[{"n": i} for i in range(10_000)])
        batch = 10_000 / (time.perf_counter() - start)
        async with await psycopg.AsyncConnection.connect(DSN) as ours:
            start = time.perf_counter()
            for i in range(1_000):
                async with ours.transaction():
                    await ours.execute("SELECT 1")  # our rows would be written here
                    await send.configure(queue="idle", connection=ours).defer_async(n=i)
            single = 1_000 / (time.perf_counter() - start)
        async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as c:
            await c.execute("DELETE FROM procrastinate_jobs")
        print(
            f"enqueue: {batch:,.0f} jobs/s in one batch; {single:,.0f} jobs/s one per transaction"
        )

        # 2. latency: a worker waiting (LISTEN/NOTIFY), one job
        w = subprocess.Popen([sys.executable, __file__, "--worker", "4"])
        await asyncio.sleep(3)
        start = time.time()
        await send.defer_async(n=-1)
        ran = await _wait_for("SELECT extract(epoch from at) FROM spike_runs WHERE n = -1")
        print(f"latency: defer to start {(ran - start) * 1000:.0f} ms")

        # 3. recovery: the worker holding a job is SIGKILLed; another recovers it
        await send.defer_async(n=-2, hold=30)
        await _wait_for("SELECT 1 FROM spike_runs WHERE n = -2")
        w.send_signal(signal.SIGKILL)
        killed = time.time()
        w.wait()
        w2 = subprocess.Popen([sys.executable, __file__, "--worker", "4"])
        again = await _wait_for(
            "SELECT extract(epoch from max(at)) FROM spike_runs WHERE n = -2 HAVING count(*) = 2",
            timeout=60,
        )
        print(
            f"recovery: a SIGKILLed worker's job ran again {again - killed:.1f} s later "
            "(heartbeat 1 s, stalled after 3 s, retried by a periodic task)"
        )

        # 4. delayed job and cancel
        job_id = await send.configure(schedule_in={"seconds": 60}).defer_async(n=-3)
        cancelled = await app.job_manager.cancel_job_by_id_async(job_id)
        status = await app.job_manager.get_job_status_async(job_id)
        print(f"delayed + cancel: cancel_job_by_id -> {cancelled}, status {status.value}")
        w2.send_signal(signal.SIGTERM)  # graceful: finishes the job in hand (30 s hold) first
        w2.wait(timeout=60)


async def _has_schema() -> bool:
    async with await psycopg.AsyncConnection.connect(DSN) as c:
        found = await (await c.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
        return found is not None and found[0] is not None


async def _wait_for(query: str, timeout: float = 30) -> float:
    deadline = time.time() + timeout
    async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as c:
        while time.time() < deadline:
            row = await (await c.execute(query)).fetchone()
            if row and row[0] is not None:
                return float(row[0])
            await asyncio.sleep(0.02)
    raise TimeoutError(query)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        asyncio.run(worker(int(sys.argv[2])))
    else:
        asyncio.run(main())
