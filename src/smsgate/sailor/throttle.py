"""Emit rate limits (spec §13): at most ``limit`` emits per ``interval``; excess emits wait."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class Throttle:
    """A sliding window over the last ``limit`` emit times.

    Hand-written: a dozen lines, and the asyncio rate-limit libraries either poll or pull in
    more than this needs.
    """

    def __init__(self, limit: int, interval_ms: int) -> None:
        self._limit = max(limit, 1)
        self._interval = max(interval_ms, 0) / 1000
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            while self._times and now - self._times[0] >= self._interval:
                self._times.popleft()
            if len(self._times) >= self._limit:
                await asyncio.sleep(self._times[0] + self._interval - now)
                self._times.popleft()
            self._times.append(time.monotonic())
