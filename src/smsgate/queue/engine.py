"""The job engine (procrastinate, see docs/decisions/job-engine.md): its app, its tasks'
names and queues, and deferring a send's jobs on the caller's own connection.

Nothing else in smsgate imports procrastinate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.engine import make_url

from smsgate.store import Store

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.types import JSONValue

    from smsgate.store.sends import Sends

SEND_TASK: Final = "smsgate.send_chunk"
CALLBACKS_TASK: Final = "smsgate.deliver_callbacks"
"""Deferred by the store's trigger (migration 0006) with each transaction's callbacks."""
CALLBACKS_QUEUE: Final = "callbacks"
RECOVER_TASK: Final = "smsgate.recover"
SENDS_QUEUE: Final = "sends"
MAINTENANCE_QUEUE: Final = "maintenance"

HEARTBEAT: Final = 1.0
"""Seconds between a worker's heartbeats."""
STALLED_AFTER: Final = 5.0
"""A worker silent this long is dead: its jobs are run again by another (idempotent: what it
had in flight becomes ``unknown``, never re-sent)."""


def queue_of(store: Store) -> Sends | None:
    """The store's queued sends, where the queue can run (PostgreSQL); None on SQLite, where
    sends go out in process."""
    if store.engine.dialect.name != "postgresql":
        return None
    from smsgate.store.sends import Sends

    return Sends(store)


def conninfo(url: str) -> str:
    """The libpq address of the store's SQLAlchemy URL (``postgresql+psycopg://...``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def job_app(url: str | None = None) -> procrastinate.App:
    """A procrastinate app on the store's database (``url``), or, without one, an app that
    only defers on connections it is given (never opened)."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(conninfo=conninfo(url) if url else "")
    return procrastinate.App(connector=connector)


_DEFERRER: procrastinate.App | None = None


def defer_chunks(
    connection: Any, send_id: str, chunks: Sequence[int], at: datetime | None = None
) -> None:
    """Defer a job per chunk of a send on ``connection`` (a psycopg connection inside the
    caller's transaction): the jobs commit with the send's rows, or not at all."""
    global _DEFERRER
    if _DEFERRER is None:
        _DEFERRER = job_app()
    task = _DEFERRER.configure_task(
        SEND_TASK, queue=SENDS_QUEUE, schedule_at=at, connection=connection
    )
    jobs: list[dict[str, JSONValue]] = [{"send_id": send_id, "chunk": c} for c in chunks]
    task.batch_defer(*jobs)
