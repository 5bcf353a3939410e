"""``smsgate sync``: the pull fallback for webhooks that never came."""

from __future__ import annotations

from dataclasses import dataclass

from smsgate.gateway import Gateway
from smsgate.store.store import ReceiptOutcome, Store


@dataclass
class SyncResult:
    campaigns: int = 0
    receipts: int = 0
    applied: int = 0
    replies: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def sync(gateway: Gateway, store: Store) -> SyncResult:
    """Ask the provider about every campaign with messages not final yet, and for replies."""
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
        result.replies = sum(store.add_reply(reply) for reply in gateway.replies())
    return result
