"""A recorded message: find it, cancel it at the provider and in the store."""

from __future__ import annotations

from smsgate.core.errors import InvalidInput
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway
from smsgate.store.schema import MessageRow
from smsgate.store.store import Store


class UnknownMessage(InvalidInput):
    pass


class NotScheduled(InvalidInput):
    pass


def stored_message(store: Store, message_id: str) -> MessageRow:
    row = store.message(message_id)
    if row is None:
        raise UnknownMessage(f"no message {message_id!r}: list them with 'smsgate messages'")
    return row


def cancel_message(gateway: Gateway, store: Store, message_id: str) -> int:
    """Cancel a scheduled message at the provider (with the rest of its provider campaign),
    then in the store; returns how many messages were cancelled."""
    row = stored_message(store, message_id)
    if row.status != MessageStatus.SCHEDULED or not row.campaign_id:
        raise NotScheduled(
            f"message {message_id} is {row.status}: only a scheduled one can be cancelled"
        )
    gateway.cancel(row.campaign_id)
    return store.cancel_campaign(row.provider, row.campaign_id)
