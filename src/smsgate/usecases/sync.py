"""``smsgate sync``: the pull fallback for webhooks that never came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from smsgate.core.optout import DEFAULT, OptOutKeywords
from smsgate.core.remote import MessageQuery
from smsgate.gateway import Gateway
from smsgate.store.store import ReceiptOutcome, Store
from smsgate.usecases.optouts import read_provider_opt_outs, record_reply

BEFORE: Final = timedelta(minutes=5)
AFTER: Final = timedelta(minutes=30)
"""The window around our record of a message (written before its request left) in which the
provider's copy of it is looked for: clocks differ, and a request may take a while."""
FOUND: Final = "found at the provider after its outcome was unknown (sync)"


@dataclass
class SyncResult:
    campaigns: int = 0
    receipts: int = 0
    applied: int = 0
    replies: int = 0
    opt_outs: int = 0
    """Numbers the provider keeps from being sent to, new to our opt-outs."""
    identified: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def sync(gateway: Gateway, store: Store, keywords: OptOutKeywords = DEFAULT) -> SyncResult:
    """Ask the provider about every campaign with messages not final yet, for replies (those
    that are one of the opt-out ``keywords`` opt their sender out) and for its opt-outs."""
    provider = gateway.endpoint.provider
    result = SyncResult()
    if provider.capabilities.receipts_pull:
        for campaign_id in store.open_campaigns(provider.name):
            result.campaigns += 1
            for receipt in gateway.receipts(campaign_id):
                result.receipts += 1
                outcome = store.apply_receipt(receipt, source="sync")
                result.applied += outcome is ReceiptOutcome.APPLIED
    if provider.capabilities.replies_pull:
        result.replies = sum(record_reply(store, r, keywords) for r in gateway.replies())
    if provider.capabilities.opt_outs_pull:
        result.opt_outs = read_provider_opt_outs(gateway, store)
    if provider.capabilities.search:
        result.identified = identify_unknown(gateway, store)
    return result


def identify_unknown(gateway: Gateway, store: Store) -> int:
    """Messages whose request may or may not have reached the provider (unknown, never named
    by it): where the provider can search its messages (The SMS Works), look for each by
    recipient, text and time. Found, it takes the provider's id and status; not found, it
    stays unknown (absence now does not prove it never arrived) and is never re-sent."""
    found = 0
    for row in store.unidentified(gateway.provider_name, gateway.endpoint.account):
        query = MessageQuery(
            to=row.recipient, since=row.created_at - BEFORE, until=row.created_at + AFTER
        )
        for candidate in gateway.search(query):
            if candidate.text != row.text or (row.sender and candidate.sender != row.sender):
                continue
            if store.identify(row.id, candidate.provider_message_id, candidate.status, FOUND):
                found += 1
                break
    return found
