"""The calls each account made, per API method: what the inbox page's account view shows."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime


class Calls:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], Counter[str]] = {}
        self._last: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def record(self, provider: str, account: str, method: str) -> None:
        key = (provider, account)
        with self._lock:
            self._counts.setdefault(key, Counter())[method] += 1
            self._last[key] = datetime.now(UTC).isoformat(timespec="seconds")

    def of(self, provider: str, account: str) -> dict[str, object]:
        key = (provider, account)
        with self._lock:
            counts = dict(self._counts.get(key, {}))
            return {"calls": counts, "total": sum(counts.values()), "last": self._last.get(key)}
