"""Call budgets shared across processes and machines, on PostgreSQL's clock (see
``gateway.ratelimit``): one row per provider account."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError

from smsgate.core.rates import FULL, Slot, answer_slot, take_slot
from smsgate.store.schema import RateBudgetRow

log = logging.getLogger("smsgate.store")
T = TypeVar("T")


class Database(Protocol):
    """Where the budgets' rows are (a store)."""

    @property
    def engine(self) -> Engine: ...


class SharedBudget:
    """At most ``calls`` per ``period`` seconds for one account, across processes and
    machines, on the database's clock: the account's row is locked (SELECT ... FOR UPDATE)
    while a caller takes the slot whose last call is oldest, and again when its call has
    its answer, so that the slot counts from then (see ``gateway.ratelimit.Slot``)."""

    def __init__(self, store: Database, key: str, calls: int, period: float) -> None:
        self.store, self.key, self.calls, self.period = store, key, calls, period

    def __repr__(self) -> str:
        return f"SharedBudget({self.calls}/{self.period:g}s)"

    def _update(self, change: Callable[[list[list[Any]], float], T]) -> T:
        """Run ``change`` on the locked row's slots ([id, seconds]) and the database's now."""
        table = cast(Table, RateBudgetRow.__table__)
        with self.store.engine.begin() as connection:
            connection.execute(
                postgresql.insert(table).values(key=self.key, slots="[]").on_conflict_do_nothing()
            )
            slots_text, now = connection.execute(
                select(table.c.slots, func.extract("epoch", func.clock_timestamp()))
                .where(table.c.key == self.key)
                .with_for_update()
            ).one()
            slots: list[list[Any]] = json.loads(slots_text)
            result = change(slots, float(now))
            connection.execute(
                update(table).where(table.c.key == self.key).values(slots=json.dumps(slots))
            )
        return result

    def reserve(self) -> Slot:
        """The next call's slot (see core.rates.take_slot); the row keeps each slot as
        [when its call last counted, in flight, the token of its latest call]."""
        token = secrets.token_hex(6)

        def take(slots: list[list[Any]], now: float) -> float | None:
            slots[:] = [slot for slot in slots if not isinstance(slot[0], str)]  # older format
            taken = take_slot(slots, self.calls, self.period, now)
            if taken is None:
                return None
            slot, wait = taken
            slot[2:] = [token]
            return wait

        def answered(slots: list[list[Any]], now: float) -> None:
            for slot in slots:
                if slot[2:] == [token]:
                    answer_slot(slot, now)

        wait = self._update(take)
        if wait is None:
            return FULL

        def done() -> None:
            # The call went out whatever happens here: a store that cannot note its answer
            # leaves the slot in flight until it is stale, and the send goes on.
            try:
                self._update(answered)
            except SQLAlchemyError as error:
                log.warning("could not note a call's answer in its budget: %s", error)

        return Slot(wait, done)
