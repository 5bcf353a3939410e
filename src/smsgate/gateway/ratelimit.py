"""A provider's call limit: one budget per account, however many threads, event loops and
processes send through it.

In one process, :class:`RateLimiter` (written by hand: the asyncio rate limiters on PyPI
serve one event loop, and a sync gateway's threads and the service's loops must share one
budget). Across processes and machines, a :class:`Budgets` the gateway is given (the message
store on PostgreSQL keeps each account's budget in a row).
"""

from __future__ import annotations

import threading
import time
from typing import Final, Protocol

from smsgate.core.rates import FULL, Slot, answer_slot, take_slot
from smsgate.providers import Provider


class Limiter(Protocol):
    def reserve(self) -> Slot:
        """Take the next free call slot."""
        ...


class Budgets(Protocol):
    def budget(self, key: str, calls: int, period: float) -> Limiter | None:
        """The budget of one account shared with other processes; None: this process's."""
        ...


class RateLimiter:
    """At most ``calls`` in any ``period`` seconds, as the provider counts them. A caller
    takes the slot whose last call is oldest and is told how long to wait, so waiting never
    holds the lock."""

    def __init__(self, calls: int, period: float) -> None:
        self.calls = calls
        self.period = period
        self._slots: list[list[float]] = []  # see core.rates.take_slot
        self._lock = threading.Lock()

    def reserve(self) -> Slot:
        with self._lock:
            now = time.monotonic()
            taken = take_slot(self._slots, self.calls, self.period, now)
        if taken is None:
            return FULL
        slot, wait = taken

        def done() -> None:
            with self._lock:
                answer_slot(slot, time.monotonic())

        return Slot(wait, done)


_LIMITERS: Final[dict[str, RateLimiter]] = {}
_LOCK: Final = threading.Lock()


def limiter_for(
    provider: Provider,
    limit: tuple[int, float] | None = None,
    budgets: Budgets | None = None,
) -> Limiter | None:
    """The limiter of this provider account: ``limit`` (the DSN's ``?rate=``) or the one the
    provider declares; shared across processes when ``budgets`` keeps it, else process-wide."""
    limit = limit or provider.capabilities.rate_limit
    if limit is None:
        return None
    key = provider.rate_key
    if budgets is not None and (shared := budgets.budget(key, *limit)) is not None:
        return shared
    with _LOCK:
        found = _LIMITERS.get(key)
        if found is None or (found.calls, found.period) != limit:
            found = _LIMITERS[key] = RateLimiter(*limit)
        return found
