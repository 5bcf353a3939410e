"""Spike: what a 100,000-recipient send's store writes cost on SQLite, by design variant.

Not part of make bench: it measured designs for issue 10's last target (the CLI's 100k send
<= 3x the library's CPU), and the store took one of them in migration 0009: a write-ahead
row per batch, then each message inserted once with its outcome. Run with smsgate's venv:
``python bench/spikes/store_writes_spike.py``. The schema is smsgate's own (its migrations);
the statements are the shapes store/sqlite.py sends (one statement per batch, JSON rows):
per batch of 2,000, the write-ahead INSERT of each message, committed; then the outcome
UPDATE and the "send" events, committed (the design before 0009, and its variants). It
prints CPU microseconds per recipient, the median of 3 runs.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from smsgate.store.recorder import SQLITE_PRAGMAS, Recorder

COUNT, BATCH, RUNS = 100_000, 2000, 3
NOW = "2026-12-06 20:00:00.000000"
VARIANTS: dict[str, dict[str, Any]] = {
    "before 0009 (provider ids in time order, sequential numbers)": {},
    "random numbers too (as real sends have)": {"random_numbers": True},
    "random provider ids (version-4 UUIDs)": {"random_ids": True},
    "no (provider, provider_message_id) index": {"no_index": True},
    "no per-recipient 'send' event": {"no_events": True},
    "neither that index nor those events": {"no_index": True, "no_events": True},
    "outcomes committed per 10 batches": {"group": 10},
    "a 128 MB page cache": {"cache": True},
    "0009, the store's: write-ahead per batch, each message inserted once": {"intent": True},
    "one row per batch (its numbers, then its outcomes, as JSON)": {"per_batch": True},
}


def run(path: Path, options: dict[str, Any]) -> float:
    Recorder(f"sqlite:///{path}").close()  # smsgate's schema, by its migrations
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        db.execute(pragma)
    if options.get("cache"):
        db.execute("PRAGMA cache_size=-131072")
    if options.get("intent"):
        db.execute("CREATE TABLE spike_intents (id INTEGER PRIMARY KEY, numbers TEXT)")
    if options.get("per_batch"):
        db.execute("CREATE TABLE spike_batches (id TEXT PRIMARY KEY, numbers TEXT, outcomes TEXT)")
    if options.get("no_index"):
        db.execute("DROP INDEX ix_messages_provider_provider_message_id")
    rnd = random.Random(1)
    numbers = [
        f"336{rnd.randrange(10**8) if options.get('random_numbers') else n:08d}"
        for n in range(COUNT)
    ]
    ids = [f"msg_{n:026d}" for n in range(COUNT)]
    pending: list[tuple[list[str], list[str], list[str]]] = []
    group = int(options.get("group", 1))
    started = time.process_time()
    for b in range(COUNT // BATCH):
        batch_ids, batch_numbers = (
            ids[b * BATCH : (b + 1) * BATCH],
            numbers[b * BATCH : (b + 1) * BATCH],
        )
        if options.get("per_batch"):
            per_batch(db, b, batch_ids, batch_numbers, rnd)
            continue
        if options.get("intent"):
            intent(db, b, batch_ids, batch_numbers)
            continue
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO messages (id, recipient, provider, sandbox, text, encoding, parts,"
            " status, final, created_at, updated_at, account, submitted_by, client_reference)"
            " SELECT j.value->>0, j.value->>1, 'allmysms', 0, 'Campaign', 'GSM-7', 1,"
            " 'submitting', 0, ?, ?, 'bench', 'spike', 'ref' FROM json_each(?) AS j",
            [NOW, NOW, json.dumps(list(zip(batch_ids, batch_numbers, strict=True)))],
        )
        db.execute("COMMIT")
        if options.get("random_ids"):
            provider_ids = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in batch_ids]
        else:  # AllMySMS's smsIds are time-based UUIDs, made in order (sandbox/allmysms/ids.py)
            provider_ids = [f"{b:04d}-{i:06d}" for i in range(BATCH)]
        pending.append((batch_ids, batch_numbers, provider_ids))
        if len(pending) >= group or b == COUNT // BATCH - 1:
            outcomes(db, pending, events=not options.get("no_events"))
            pending.clear()
    return 1e6 * (time.process_time() - started) / COUNT


def per_batch(
    db: sqlite3.Connection, b: int, ids: list[str], numbers: list[str], rnd: random.Random
) -> None:
    """The floor of a store that keeps a batch, not its recipients, as one row."""
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "INSERT INTO spike_batches (id, numbers) VALUES (?, ?)",
        [f"b{b}", json.dumps(list(zip(ids, numbers, strict=True)))],
    )
    db.execute("COMMIT")
    provider_ids = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in ids]
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "UPDATE spike_batches SET outcomes = ? WHERE id = ?",
        [json.dumps({"campaign": "ap_1", "status": "sent", "ids": provider_ids}), f"b{b}"],
    )
    db.execute("COMMIT")


def intent(db: sqlite3.Connection, b: int, ids: list[str], numbers: list[str]) -> None:
    """A write-ahead of the batch as one row; after its answer, each message inserted once,
    with its outcome and "send" event, and that row deleted (no UPDATE of each message)."""
    db.execute("BEGIN IMMEDIATE")
    row = db.execute(
        "INSERT INTO spike_intents (numbers) VALUES (?)",
        [json.dumps(list(zip(ids, numbers, strict=True)))],
    ).lastrowid
    db.execute("COMMIT")
    pairs = enumerate(zip(ids, numbers, strict=True))
    rows = json.dumps([[*pair, f"{b:04d}-{i:06d}"] for i, pair in pairs])
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "INSERT INTO messages (id, recipient, provider_message_id, provider, sandbox, text,"
        " encoding, parts, status, final, created_at, updated_at, account, submitted_by,"
        " client_reference, campaign_id, cost) SELECT j.value->>0, j.value->>1, j.value->>2,"
        " 'allmysms', 0, 'Campaign', 'GSM-7', 1, 'sent', 0, ?, ?, 'bench', 'spike', 'ref',"
        " 'ap_1', 15 FROM json_each(?) AS j",
        [NOW, NOW, rows],
    )
    db.execute(_EVENTS, [NOW, NOW, rows])
    db.execute("DELETE FROM spike_intents WHERE id = ?", [row])
    db.execute("COMMIT")


_EVENTS = (
    "INSERT INTO message_events (message_id, recipient, provider_message_id,"
    " campaign_id, status, permanent, detail, provider, source, occurred_at,"
    " received_at) SELECT j.value->>0, j.value->>1, j.value->>2, 'ap_1', 'sent', 0,"
    " NULL, 'allmysms', 'send', ?, ? FROM json_each(?) AS j"
)


def outcomes(
    db: sqlite3.Connection, pending: list[tuple[list[str], list[str], list[str]]], events: bool
) -> None:
    rows = [row for batch in pending for row in zip(*batch, strict=True)]
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "UPDATE messages SET provider_message_id = j.value->>2, campaign_id = 'ap_1', cost = 15,"
        " status = 'sent', final = 0, error = NULL, updated_at = ?"
        " FROM json_each(?) AS j WHERE messages.id = j.value->>0",
        [NOW, json.dumps(rows)],
    )
    if events:
        db.execute(_EVENTS, [NOW, NOW, json.dumps(rows)])
    db.execute("COMMIT")


def main() -> None:
    print(f"SQLite {sqlite3.sqlite_version}; {COUNT:,} recipients in batches of {BATCH:,}")
    with tempfile.TemporaryDirectory() as folder:
        for v, (name, options) in enumerate(VARIANTS.items()):
            figures = [run(Path(folder) / f"{v}-{n}.db", options) for n in range(RUNS)]
            print(f"{name:60} {statistics.median(figures):5.1f} us/recipient", flush=True)


if __name__ == "__main__":
    main()
