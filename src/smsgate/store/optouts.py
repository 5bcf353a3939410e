"""The opt-outs of one store: numbers that later sends skip (see core.optout)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, delete, func, select

from smsgate.store.schema import OptOutRow
from smsgate.store.store import Store, opt_out_number

_TABLE = cast(Table, OptOutRow.__table__)


class OptOuts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self, number: str, source: str, provider: str | None = None, detail: str | None = None
    ) -> bool:
        """True when the number was not opted out yet."""
        with self.store.engine.begin() as connection:
            return opt_out_number(connection, number, source, provider, detail)

    def remove(self, number: str) -> bool:
        """True when the number was opted out (it may be sent to again)."""
        with self.store.engine.begin() as connection:
            return connection.execute(delete(_TABLE).where(_TABLE.c.number == number)).rowcount > 0

    def get(self, number: str) -> OptOutRow | None:
        with self.store._session() as session:
            return session.get(OptOutRow, number)

    def list(self, *, limit: int = 100, offset: int = 0) -> tuple[list[OptOutRow], int]:
        """A page of opt-outs, newest first, and how many there are."""
        with self.store._session() as session:
            total = session.scalar(select(func.count()).select_from(OptOutRow)) or 0
            rows = session.scalars(
                select(OptOutRow)
                .order_by(OptOutRow.created_at.desc(), OptOutRow.number)
                .limit(limit)
                .offset(offset)
            ).all()
            return list(rows), total
