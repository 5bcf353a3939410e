"""What the sailor started and finished: the record that keeps a message from being processed
twice (an SMS sent twice) when the broker delivers it again.

The broker redelivers a message whose ack it did not get: after a crash (SIGKILL, OOM), a lost
connection, or a restart. Whether its first attempt had its effect is known only from a record
made *before* the attempt. The runtime asks a ledger before it processes a message and tells it
how the message ended before it acks it:

- nothing recorded: the message was never started (not even by a crashed process), so it is
  processed, redelivered or not;
- started, not finished: its first attempt may have had its effect; it becomes an error that
  says so, never a second attempt;
- finished: its ack was lost, not its work; it is acked (or rejected) again, not processed.

:class:`MemoryLedger` is the default and forgets everything when the process ends, so it cannot
tell "never started" from "started by a process that died": it treats every redelivered message
it did not finish itself as started. A component gives a durable ledger (smsgate's keeps it in
the message store when SMSGATE_DATABASE_URL is set) to tell the two apart across restarts.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import StrEnum
from typing import Final, Protocol


class Seen(StrEnum):
    """What an earlier attempt at a message left on record."""

    STARTED = "started"  # begun, never finished: its effect is unknown
    ACKED = "acked"  # finished and acked
    REJECTED = "rejected"  # finished with an error, rejected


class Ledger(Protocol):
    durable: bool
    """True when the record outlives the process (so "never started" can be told apart)."""

    async def begin(self, key: str) -> Seen | None:
        """Record ``key`` as started, unless it was seen before: then what was seen."""
        ...

    async def finish(self, key: str, ok: bool) -> None:
        """Record how ``key`` ended, before the message is acked or rejected."""
        ...

    async def aclose(self) -> None: ...


FINISHED_MEMORY: Final = 10_000
"""How many messages a memory ledger remembers to spot redeliveries of lost acks."""


class MemoryLedger:
    """The record in this process's memory, bounded; the Node.js sailor keeps none at all."""

    durable = False

    def __init__(self, size: int = FINISHED_MEMORY) -> None:
        self._seen: OrderedDict[str, Seen] = OrderedDict()
        self._size = size

    async def begin(self, key: str) -> Seen | None:
        seen = self._seen.get(key)
        if seen is None:
            self._remember(key, Seen.STARTED)
        return seen

    async def finish(self, key: str, ok: bool) -> None:
        self._remember(key, Seen.ACKED if ok else Seen.REJECTED)

    def _remember(self, key: str, seen: Seen) -> None:
        self._seen[key] = seen
        self._seen.move_to_end(key)
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)

    async def aclose(self) -> None:
        return None
