"""The message store: every message sent, its status history, and the replies."""

from smsgate.store.store import MessagePage, ReceiptOutcome, Store, database_url

__all__ = ["MessagePage", "ReceiptOutcome", "Store", "database_url"]
