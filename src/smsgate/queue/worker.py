"""``smsgate worker``: run the queue's jobs, any number of workers on any number of machines
against one PostgreSQL. SIGTERM (or Ctrl-C) finishes the jobs in hand, then exits 0."""

from __future__ import annotations

import asyncio
import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import procrastinate

from smsgate.core.errors import ConfigurationError
from smsgate.gateway import Gateway
from smsgate.queue.engine import (
    CALLBACKS_QUEUE,
    CALLBACKS_TASK,
    HEARTBEAT,
    MAINTENANCE_QUEUE,
    RECOVER_TASK,
    SEND_TASK,
    SENDS_QUEUE,
    STALLED_AFTER,
    job_app,
)
from smsgate.queue.job import Runner
from smsgate.store import Store
from smsgate.usecases.callbacks import Deliverer
from smsgate.usecases.health import keep_judging

log = logging.getLogger("smsgate.queue")

WORKER_GC_THRESHOLDS: Final = (100_000, 50, 100)
"""The worker's garbage collector thresholds (see run_worker)."""


def needs_postgresql(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        raise ConfigurationError(
            "the queue needs the message store on PostgreSQL: set SMSGATE_DATABASE_URL="
            "postgresql+psycopg://USER@HOST/DB (the embedded SQLite store sends in process)"
        )


def run_worker(
    store: Store,
    gateway: Gateway,
    concurrency: int,
    name: str = "worker",
    callback_secret: str | None = None,
) -> None:
    """Run jobs until SIGTERM/SIGINT: ``concurrency`` sends at once, each in a thread of its
    own (the gateway and the store are thread-safe), the recovery of dead workers' jobs, and
    the delivery of status callbacks (signed with ``callback_secret``)."""
    needs_postgresql(store)
    runner = Runner(store, gateway)
    deliverer = Deliverer(store, callback_secret)
    app = job_app(store.url)

    # A job that fails (the store unreachable midway) runs again: safe, since it sends only
    # rows still queued and makes what it had in flight unknown.
    retry = procrastinate.RetryStrategy(max_attempts=8, exponential_wait=2)

    @app.task(name=SEND_TASK, queue=SENDS_QUEUE, retry=retry, pass_context=True)
    def send_chunk(context: procrastinate.JobContext, send_id: str, chunk: int) -> None:
        try:
            done = runner.run(send_id, chunk)
        except Exception as error:
            job = context.job
            if retry.get_retry_decision(exception=error, job=job) is None:
                # Its last attempt: no job will take its rows any more.
                try:
                    runner.give_up(send_id, chunk, error, job.attempts + 1)
                except Exception:  # the store itself is failing: the rows stay as they are
                    log.exception("send %s chunk %d: could not settle its rows", send_id, chunk)
            raise
        log.info("send %s chunk %d: %d sent, %d postponed", send_id, chunk, *vars(done).values())

    @app.periodic(cron="* * * * * */2", periodic_id="recover")
    @app.task(name=RECOVER_TASK, queue=MAINTENANCE_QUEUE, pass_context=True)
    async def recover(context: object, timestamp: int) -> None:
        """Jobs held by a worker that stopped beating run again (safe: jobs are idempotent)."""
        manager = app.job_manager
        for job in await manager.get_stalled_jobs(
            queue=SENDS_QUEUE, seconds_since_heartbeat=STALLED_AFTER
        ):
            log.warning("job %s of a dead worker: running it again", job.id)
            await manager.retry_job(job)

    @app.task(name=CALLBACKS_TASK, queue=CALLBACKS_QUEUE)
    async def deliver_callbacks() -> None:
        """The callbacks of one transaction (and any other due): the trigger deferred it."""
        await deliverer.drain_all()

    @app.periodic(cron="* * * * * */2", periodic_id="callbacks")
    @app.task(name="smsgate.retry_callbacks", queue=CALLBACKS_QUEUE, pass_context=True)
    async def retry_callbacks(context: object, timestamp: int) -> None:
        """Callbacks whose retry is due (their first attempt failed)."""
        await deliverer.drain_all()

    async def main() -> None:
        # Sync jobs run in the loop's default executor: one thread per concurrent job.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(concurrency + 2, "smsgate-job"))
        stop = asyncio.Event()
        judging = asyncio.create_task(keep_judging(gateway, store, stop))
        async with app.open_async():
            try:
                await run()
            finally:
                stop.set()
                await judging

    async def run() -> None:
        await app.run_worker_async(
            queues=[SENDS_QUEUE, MAINTENANCE_QUEUE, CALLBACKS_QUEUE],
            # The recovery task takes a slot when one is free: with every slot busy
            # sending, no worker has died that it would need to find.
            concurrency=concurrency,
            # LISTEN/NOTIFY wakes a worker at once; polling covers a missed notification.
            fetch_job_polling_interval=1.0,
            name=name,
            install_signal_handlers=True,
            update_heartbeat_interval=HEARTBEAT,
            stalled_worker_timeout=STALLED_AFTER,
            delete_jobs="successful",
        )

    # A job holds its chunk's rows and results: tens of thousands of small containers that
    # reference counting frees. At the default threshold (700 allocations) the collector
    # rescanned them again and again, a fifth of the worker's CPU (bench/queued_sends.py:
    # 43-47 against 27-38 µs a recipient). Cycles are still collected, 100,000 allocations on.
    gc.set_threshold(*WORKER_GC_THRESHOLDS)
    asyncio.run(main())
