"""The component's durable ledger: the sailor's record of its messages in the message store.

With SMSGATE_DATABASE_URL set, a sailor restarted after a crash finds which messages it had
started and finished (smsgate.sailor.ledger says why); without it, the runtime's memory ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from smsgate import settings
from smsgate.core.errors import SmsgateError
from smsgate.sailor.errors import ConfigurationError
from smsgate.sailor.ledger import Ledger, MemoryLedger, Seen

if TYPE_CHECKING:
    from smsgate.store import Store


class StoreLedger:
    """A ledger in the message store's sailor_messages table (SQLite or PostgreSQL)."""

    durable = True

    def __init__(self, store: Store) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"StoreLedger({self.store!r})"

    async def begin(self, key: str) -> Seen | None:
        seen = await asyncio.to_thread(self.store.begin_sailor_message, key)
        return Seen(seen) if seen is not None else None

    async def finish(self, key: str, ok: bool) -> None:
        state = Seen.ACKED if ok else Seen.REJECTED
        await asyncio.to_thread(self.store.finish_sailor_message, key, state.value)

    async def aclose(self) -> None:
        self.store.close()


def ledger_for(env: Mapping[str, str]) -> Ledger:
    """The message store's ledger when SMSGATE_DATABASE_URL names one, else memory."""
    url = settings.DATABASE_URL.read(env)
    if not url:
        return MemoryLedger()
    from smsgate.store import Store  # SQLAlchemy only for a sailor that keeps a store

    try:
        return StoreLedger(Store(url))
    except SmsgateError as error:  # the store's one line, for the runtime's exit code 2
        raise ConfigurationError(str(error)) from None
