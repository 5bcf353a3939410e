"""The message store: every message sent, its status history, and the replies.

The send path (``store.recorder``) loads without SQLAlchemy; the Store and the rest load it,
so this package imports them only when asked for (``smsgate send`` needs the recorder alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smsgate.store.recorder import database_url
    from smsgate.store.store import MessagePage, ReceiptOutcome, Store

__all__ = ["MessagePage", "ReceiptOutcome", "Store", "database_url"]


def __getattr__(name: str) -> Any:
    if name == "database_url":
        from smsgate.store import recorder

        return recorder.database_url
    if name in __all__:
        from smsgate.store import store

        return getattr(store, name)
    raise AttributeError(f"module 'smsgate.store' has no attribute {name!r}")
