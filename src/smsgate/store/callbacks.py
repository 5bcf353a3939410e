"""The callbacks outbox: status changes to POST to clients, as the triggers of migration 0006
put them on record, and what became of each delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, func, select, update

from smsgate.store.recorder import utcnow
from smsgate.store.schema import CallbackRow
from smsgate.store.store import Store

_TABLE = cast(Table, CallbackRow.__table__)
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
STATES: Final = (PENDING, DELIVERED, FAILED)
LEASE: Final = timedelta(seconds=60)
"""A claimed callback is not claimed again for this long: a deliverer that dies mid-POST
leaves it to another after the lease (the same webhook-id: receivers dedupe by it)."""


@dataclass(frozen=True)
class Due:
    """A callback to POST now."""

    id: str
    url: str
    payload: str
    attempts: int
    """Attempts before this one."""
    created_at: datetime


class Callbacks:
    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, limit: int = 500) -> list[Due]:
        """Callbacks due now, leased to this caller (on PostgreSQL, rows another deliverer
        holds are skipped, never waited for)."""
        now = utcnow()
        c = _TABLE.c
        due = (
            select(c.id)
            .where(c.state == PENDING, c.next_at <= now)
            .order_by(c.next_at)
            .limit(limit)
        )
        if self.store.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        with self.store.engine.begin() as connection:
            rows = connection.execute(
                update(_TABLE)
                .where(c.id.in_(due.scalar_subquery()))
                .values(next_at=now + LEASE, attempts=c.attempts + 1)
                .returning(c.id, c.url, c.payload, c.attempts, c.created_at)
            ).all()
        return [Due(r.id, r.url, r.payload, r.attempts - 1, r.created_at) for r in rows]

    def delivered(self, ids: list[str]) -> None:
        if ids:
            self._set(ids, state=DELIVERED, delivered_at=utcnow(), last_error=None)

    def retry(self, outcomes: list[tuple[str, datetime, str]]) -> None:
        """(id, when to try again, why this attempt failed)."""
        with self.store.engine.begin() as connection:
            for callback_id, at, error in outcomes:
                connection.execute(
                    update(_TABLE)
                    .where(_TABLE.c.id == callback_id)
                    .values(next_at=at, last_error=error[:500])
                )

    def fail(self, outcomes: list[tuple[str, str]]) -> None:
        """Dead-lettered: (id, why). Listed as failed until replayed."""
        with self.store.engine.begin() as connection:
            for callback_id, error in outcomes:
                connection.execute(
                    update(_TABLE)
                    .where(_TABLE.c.id == callback_id)
                    .values(state=FAILED, last_error=error[:500])
                )

    def replay(self, callback_id: str) -> CallbackRow | None:
        """A dead-lettered (or delivered) callback due again now, with the same id and body;
        None when there is no such callback."""
        now = utcnow()
        with self.store.engine.begin() as connection:
            found = connection.execute(
                update(_TABLE)
                .where(_TABLE.c.id == callback_id)
                .values(state=PENDING, next_at=now, attempts=0, created_at=now)
                .returning(_TABLE.c.id)
            ).first()
        return self.get(callback_id) if found else None

    def get(self, callback_id: str) -> CallbackRow | None:
        with self.store._session() as session:
            return session.get(CallbackRow, callback_id)

    def page(
        self,
        state: str | None = None,
        message_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[CallbackRow], int]:
        """Callbacks newest first (of one state, one message), and how many match."""
        query = select(CallbackRow)
        counted = select(func.count()).select_from(CallbackRow)
        for condition in (
            CallbackRow.state == state if state else None,
            CallbackRow.message_id == message_id if message_id else None,
        ):
            if condition is not None:
                query, counted = query.where(condition), counted.where(condition)
        with self.store._session() as session:
            rows = session.scalars(
                query.order_by(CallbackRow.created_at.desc(), CallbackRow.id)
                .limit(limit)
                .offset(offset)
            ).all()
            total = session.scalar(counted) or 0
            session.expunge_all()
        return list(rows), int(total)

    def next_due(self) -> datetime | None:
        """When the earliest pending callback is due (None: none is pending)."""
        with self.store.engine.connect() as connection:
            found: datetime | None = connection.execute(
                select(func.min(_TABLE.c.next_at)).where(_TABLE.c.state == PENDING)
            ).scalar()
        return found

    def _set(self, ids: list[str], **values: object) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(update(_TABLE).where(_TABLE.c.id.in_(ids)).values(**values))
