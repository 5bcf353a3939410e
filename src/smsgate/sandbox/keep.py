"""What the sandbox keeps across restarts: its inbox, accounts, campaigns, receipts and replies,
in SQLite in the data directory (``sandbox.db`` for ``smsgate sandbox``, ``sandbox-embedded.db``
for ``sandbox://``); with ``--ephemeral``, nothing.

Written behind, so that keeping costs a send little: the inbox and the emulators *touch* a
record they change, and the touched records are written together at the next flush (after each
request of the embedded sandbox, whose process may end right after it; every quarter second in
a server, and when it stops). Small state (accounts, block lists, calls) is given as a snapshot,
written whole when it differs from what was written last. A server killed with SIGKILL loses at
most the last quarter second: a sandbox is for tests and demos, not for anyone's money.

One table of JSON documents by kind and key, through the standard library's ``sqlite3``: no
schema to migrate as emulators grow, and nothing to install.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, Final, Protocol

FLUSH_EVERY: Final = 0.25
"""Seconds between two flushes of a server's touched records."""
SERVER_FILE: Final = "sandbox.db"
EMBEDDED_FILE: Final = "sandbox-embedded.db"

Docs = dict[str, dict[str, Any]]
"""A kind's documents by key."""


class Record(Protocol):
    def to_doc(self) -> dict[str, Any]:
        """What is kept of it, as JSON."""
        ...


class KeepBusy(Exception):
    """Another sandbox process keeps its state in the same file."""


class Keep:
    """Keeps nothing: the sandbox lives in memory only (``--ephemeral``, tests)."""

    lasting: bool = False
    where: str = "memory only"

    def touch(self, kind: str, key: str, record: Record) -> None:
        """The record changed: write it at the next flush."""

    def forget(self, kind: str, key: str) -> None:
        """The record is gone: delete it at the next flush."""

    def snapshots(self, source: Callable[[], dict[str, Docs]]) -> None:
        """Small state, asked for at each flush as ``{kind: {key: doc}}`` and written whole."""

    def docs(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every kept document of a kind, in the order they were first written."""
        return iter(())

    def flush(self) -> None:
        """Write what was touched since the last flush."""

    def close(self) -> None:
        """Flush and let go of the file."""


class SqliteKeep(Keep):
    lasting = True

    def __init__(self, path: Path, *, exclusive: bool = False, reset: bool = False) -> None:
        """``exclusive``: refuse (:class:`KeepBusy`) when another process holds the file (two
        servers would overwrite each other's state); ``reset``: start from nothing."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.where = str(path)
        self._lock_file: int | None = None
        if exclusive:
            self._lock_file = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock_file)
                raise KeepBusy(f"another smsgate sandbox keeps its state in {path}") from None
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, "
            "doc TEXT NOT NULL, PRIMARY KEY (kind, key))"
        )
        if reset:
            self._db.execute("DELETE FROM records")
        self._touched: dict[tuple[str, str], Record | None] = {}
        self._sources: list[Callable[[], dict[str, Docs]]] = []
        self._written: dict[str, str] = {}
        """Each snapshot kind as last written, so an unchanged one is not written again."""
        self._guard = threading.Lock()
        self._closed = False

    def touch(self, kind: str, key: str, record: Record) -> None:
        with self._guard:
            self._touched[(kind, key)] = record

    def forget(self, kind: str, key: str) -> None:
        with self._guard:
            self._touched[(kind, key)] = None

    def snapshots(self, source: Callable[[], dict[str, Docs]]) -> None:
        self._sources.append(source)

    def docs(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        with self._guard:
            rows = self._db.execute(
                "SELECT key, doc FROM records WHERE kind = ? ORDER BY rowid", (kind,)
            ).fetchall()
        for key, doc in rows:
            with suppress(ValueError):
                yield key, json.loads(doc)

    def flush(self) -> None:
        with self._guard:
            if self._closed:
                return
            touched, self._touched = self._touched, {}
            upserts: list[tuple[str, str, str]] = []
            deletes: list[tuple[str, str]] = []
            for (kind, key), record in touched.items():
                if record is None:
                    deletes.append((kind, key))
                    continue
                try:
                    upserts.append((kind, key, json.dumps(record.to_doc())))
                except RuntimeError:  # changed by another thread as it was read: next time
                    self._touched[(kind, key)] = record
            wholes: list[tuple[str, str, Docs]] = []
            for source in self._sources:
                for kind, docs in source().items():
                    text = json.dumps(docs, sort_keys=True)
                    if self._written.get(kind) != text:
                        wholes.append((kind, text, docs))
            if not (upserts or deletes or wholes):
                return
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany("DELETE FROM records WHERE kind = ? AND key = ?", deletes)
                db.executemany(_UPSERT, upserts)
                for kind, _, docs in wholes:
                    db.execute("DELETE FROM records WHERE kind = ?", (kind,))
                    db.executemany(
                        _UPSERT, [(kind, key, json.dumps(doc)) for key, doc in docs.items()]
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            for kind, text, _ in wholes:
                self._written[kind] = text

    def close(self) -> None:
        self.flush()
        with self._guard:
            if self._closed:
                return
            self._closed = True
            self._db.close()
            if self._lock_file is not None:
                os.close(self._lock_file)


_UPSERT: Final = (
    "INSERT INTO records (kind, key, doc) VALUES (?, ?, ?) "
    "ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc"
)
