"""Opt-outs as they arrive: a reply that asks for no more SMS, the provider's own list."""

from __future__ import annotations

from smsgate.core.errors import InvalidInput
from smsgate.core.optout import OptOutKeywords
from smsgate.core.receipts import Reply
from smsgate.core.recipients import prepare_recipients
from smsgate.gateway import Gateway
from smsgate.gateway.endpoint import default_region
from smsgate.store import Store
from smsgate.store.optouts import OptOuts


def opt_out_number(raw: str, region: str | None = None) -> str:
    """A number as opt-outs keep it (international digits, as recipients are written), from
    what a person typed; InvalidInput saying why when it is not a phone number."""
    prepared = prepare_recipients([raw], region=default_region(region))
    if not prepared.recipients:
        reason = prepared.skipped[0].reason if prepared.skipped else "empty"
        raise InvalidInput(f"{raw!r} is not a phone number ({reason}): write it as +33612345678")
    return prepared.recipients[0].number


def record_reply(store: Store, reply: Reply, keywords: OptOutKeywords) -> bool:
    """Keep a reply (True when new); one that is an opt-out keyword opts its sender out, in
    the same transaction, even when the reply itself was seen before."""
    return store.add_reply(reply, opt_out=keywords.match(reply.text))


def read_provider_opt_outs(gateway: Gateway, store: Store) -> int:
    """The provider's own opt-out list (AllMySMS getBlacklist) into ours; how many are new."""
    opt_outs = OptOuts(store)
    return sum(
        opt_outs.add(found.number, "provider", gateway.provider_name, found.detail)
        for found in gateway.opt_outs()
    )
