"""The calls each account made, per API method: what the inbox page's account view shows."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from smsgate.sandbox.keep import Docs, Keep

KIND = "calls"


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

    def restore(self, keep: Keep) -> None:
        """The counts its keep holds; from now on the keep asks for them at each flush."""
        for key, doc in keep.docs(KIND):
            provider, _, account = key.partition("|")
            self._counts[(provider, account)] = Counter(doc.get("calls", {}))
            if doc.get("last"):
                self._last[(provider, account)] = str(doc["last"])
        keep.snapshots(self._snapshot)

    def _snapshot(self) -> dict[str, Docs]:
        with self._lock:
            docs: dict[str, dict[str, Any]] = {
                f"{provider}|{account}": {
                    "calls": dict(counts),
                    "last": self._last.get((provider, account)),
                }
                for (provider, account), counts in self._counts.items()
            }
        return {KIND: docs}

    def of(self, provider: str, account: str) -> dict[str, object]:
        key = (provider, account)
        with self._lock:
            counts = dict(self._counts.get(key, {}))
            return {"calls": counts, "total": sum(counts.values()), "last": self._last.get(key)}
