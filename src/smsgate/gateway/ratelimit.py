"""A provider's call limit, kept by every worker of one process (threads and event loops).

Written by hand: the asyncio rate limiters on PyPI serve one event loop, and a sync gateway's
threads and the service's loops must share one budget per account.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Final

from smsgate.providers import Provider


class RateLimiter:
    """At most ``calls`` per ``period`` seconds. A caller reserves the next free slot and is
    told how long to wait for it, so waiting never holds the lock."""

    def __init__(self, calls: int, period: float) -> None:
        self.calls = calls
        self.period = period
        self._slots: deque[float] = deque(maxlen=calls)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = time.monotonic()
            at = now
            if len(self._slots) == self.calls:
                at = max(now, self._slots[0] + self.period)
            self._slots.append(at)
            return at - now


_LIMITERS: Final[dict[str, RateLimiter]] = {}
_LOCK: Final = threading.Lock()


def limiter_for(provider: Provider) -> RateLimiter | None:
    """The process-wide limiter of this provider account, if the provider declares a limit."""
    limit = provider.capabilities.rate_limit
    if limit is None:
        return None
    key = provider.rate_key
    with _LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(*limit)
        return _LIMITERS[key]
