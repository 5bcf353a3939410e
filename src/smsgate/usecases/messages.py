"""A recorded message: find it, cancel it at the provider and in the store."""

from __future__ import annotations

from dataclasses import dataclass

from smsgate.core.errors import InvalidInput, ProviderError
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway
from smsgate.gateway.endpoint import SANDBOX, SANDBOX_DSN
from smsgate.store.schema import MessageRow
from smsgate.store.sends import Sends
from smsgate.store.store import Store


class UnknownMessage(InvalidInput):
    pass


class NotScheduled(InvalidInput):
    pass


class OtherAccount(InvalidInput):
    """The DSN at hand reaches another account than the one the message went through."""


@dataclass(frozen=True)
class Cancelled:
    count: int
    """How many messages of the campaign were cancelled in the store."""
    note: str | None = None
    """What the person should know besides (the embedded sandbox case)."""


SANDBOX_GONE = (
    "the embedded sandbox no longer holds it (sent with sandbox://?ephemeral=true, or its "
    "state in the data directory was removed), so nothing is left there to send"
)


def stored_message(store: Store, message_id: str) -> MessageRow:
    row = store.message(message_id)
    if row is None:
        raise UnknownMessage(f"no message {message_id!r}: list them with 'smsgate messages'")
    return row


def scheduled_message(store: Store, message_id: str) -> MessageRow:
    return _scheduled(stored_message(store, message_id))


def _scheduled(row: MessageRow) -> MessageRow:
    if row.status != MessageStatus.SCHEDULED or not row.campaign_id:
        raise NotScheduled(
            f"message {row.id} is {row.status}: only a scheduled one can be cancelled"
        )
    return row


def gateway_for(row: MessageRow, dsn: str | None = None) -> Gateway:
    """A gateway to the account ``row`` went through: ``dsn`` if given, else the embedded
    sandbox for a message sent there, else the SMSGATE_DSN setting (checked by cancel)."""
    if dsn is None and row.account == SANDBOX:
        dsn = SANDBOX_DSN
    return Gateway.from_dsn(dsn)


def cancel_message(gateway: Gateway, store: Store, message_id: str) -> Cancelled:
    """Cancel a scheduled message at the provider (with the rest of its provider campaign),
    then in the store. The gateway must reach the account the message went through.
    A message the gateway still holds (a queued send, scheduled where the provider cannot
    schedule) is cancelled in the store with the rest of its send: its job then sends nothing."""
    row = stored_message(store, message_id)
    if row.status == MessageStatus.QUEUED and row.send_id:
        return Cancelled(Sends(store).cancel(row.send_id))
    _scheduled(row)
    assert row.campaign_id is not None
    reaches = gateway.endpoint.account
    if row.account is not None and reaches != row.account:
        raise OtherAccount(
            f"message {message_id} went through another {row.provider} account than the DSN "
            f"at hand ({gateway.provider_name}): give that account's DSN with --dsn or "
            "SMSGATE_DSN"
        )
    note = None
    try:
        gateway.cancel(row.campaign_id)
    except ProviderError:
        if row.account != SANDBOX:
            raise
        note = SANDBOX_GONE
    return Cancelled(store.cancel_campaign(row.provider, row.campaign_id), note)
