"""Spike for docs/decisions/job-engine.md: DBOS Transact on this machine's PostgreSQL.

Not part of make bench (the engine is not a dependency). Run with a virtual environment that
has dbos and psycopg:  python bench/spikes/dbos_spike.py
Measures: enqueue rate, one job's latency, a rate limit shared by two processes, and what
becomes of a workflow whose process is SIGKILLed (another executor; the same executor again).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
from dbos import DBOS, Queue, SetWorkflowID

DSN = os.environ.get("SPIKE_DSN") or "postgresql://postgres@127.0.0.1/spike_dbos"
RUNS = DSN  # the runs table lives beside DBOS's own schema

queues: dict[str, Queue] = {}


@DBOS.step()
def record_run(n: int) -> None:
    with psycopg.connect(RUNS, autocommit=True) as c:
        c.execute(
            "INSERT INTO spike_runs (n, pid, at) VALUES (%s, %s, clock_timestamp())",
            (n, os.getpid()),
        )


@DBOS.workflow()
def send(n: int, hold: float = 0.0) -> None:
    record_run(n)
    if hold:
        time.sleep(hold)  # the provider's request, in flight


def launch(executor: str) -> None:
    DBOS(config={"name": "spike", "system_database_url": DSN, "executor_id": executor})
    DBOS.launch()
    limit = {"limit": 20, "period": 2}
    queues["sms"] = DBOS.register_queue("sms", limiter=limit, polling_interval_sec=0.05)
    queues["idle"] = DBOS.register_queue("idle", polling_interval_sec=3600)


def wait_for(query: str, timeout: float = 30) -> float:
    deadline = time.time() + timeout
    with psycopg.connect(RUNS, autocommit=True) as c:
        while time.time() < deadline:
            row = c.execute(query).fetchone()
            if row and row[0] is not None:
                return float(row[0])
            time.sleep(0.02)
    raise TimeoutError(query)


def main() -> None:
    with psycopg.connect(RUNS, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS spike_runs (n int, pid int, at timestamptz)")
        c.execute("TRUNCATE spike_runs")
    launch("spike-main")
    queue, idle = queues["sms"], queues["idle"]
    start = time.perf_counter()
    for i in range(1_000):
        with SetWorkflowID(f"idle-{time.time_ns()}-{i}"):
            idle.enqueue(send, i)
    print(f"enqueue: {1_000 / (time.perf_counter() - start):,.0f} workflows/s, one per call")

    workers = [subprocess.Popen([sys.executable, __file__, "--worker", f"w{i}"]) for i in (1, 2)]
    time.sleep(8)
    start = time.time()
    queue.enqueue(send, -1)
    ran = wait_for("SELECT extract(epoch from at) FROM spike_runs WHERE n = -1")
    print(f"latency: enqueue to start {(ran - start) * 1000:.0f} ms (queue polled every 50 ms)")

    for i in range(60):
        queue.enqueue(send, 1000 + i)
    wait_for("SELECT 1 FROM spike_runs WHERE n >= 1000 HAVING count(*) = 60", timeout=60)
    with psycopg.connect(RUNS) as c:
        times = [
            r[0]
            for r in c.execute(
                "SELECT extract(epoch from at) FROM spike_runs WHERE n >= 1000 ORDER BY at"
            )
        ]
        pids = {r[0] for r in c.execute("SELECT pid FROM spike_runs WHERE n >= 1000")}
    busiest = max(sum(1 for t in times if s <= t < s + 2) for s in times)
    print(f"rate limit 20 per 2 s over {len(pids)} processes: at most {busiest} starts in any 2 s")

    queue.enqueue(send, -2, 30)
    wait_for("SELECT 1 FROM spike_runs WHERE n = -2")
    with psycopg.connect(RUNS) as c:
        pid = c.execute("SELECT pid FROM spike_runs WHERE n = -2").fetchone()[0]
    holder = next(w for w in workers if w.pid == pid)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    name = "w1" if holder is workers[0] else "w2"
    time.sleep(15)
    with psycopg.connect(RUNS) as c:
        again = c.execute("SELECT count(*) FROM spike_runs WHERE n = -2").fetchone()[0]
    print(f"recovery: 15 s after SIGKILL, the other live executor ran it {again - 1} more time(s)")
    restarted = subprocess.Popen([sys.executable, __file__, "--worker", name])
    killed = time.time()
    back = wait_for(
        "SELECT extract(epoch from max(at)) FROM spike_runs WHERE n = -2 HAVING count(*) = 2", 60
    )
    print(f"recovery: the same executor id restarted ran it {back - killed:.1f} s after its start")
    for w in [*workers, restarted]:
        w.kill()
    DBOS.destroy()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        launch(sys.argv[2])
        while True:
            time.sleep(1)
    else:
        main()
