"""How long a provider account's SMS took to be delivered lately: from our request (the
message's write-ahead record) to the delivery its receipt reports. What a route's health
judges a provider's deliveries by."""

from __future__ import annotations

from sqlalchemy import select

from smsgate.store.schema import EventRow, MessageRow
from smsgate.store.store import Store


def delivery_seconds(
    store: Store, provider: str, account: str | None, last: int = 100
) -> list[float]:
    """Seconds from request to delivery of the account's ``last`` delivered messages, newest
    first (by the provider's time where its receipt gives one)."""
    query = (
        select(MessageRow.created_at, EventRow.occurred_at, EventRow.received_at)
        .join(MessageRow, MessageRow.id == EventRow.message_id)
        .where(
            EventRow.provider == provider,
            EventRow.status == "delivered",
            EventRow.source != "send",
            MessageRow.account == account if account is not None else MessageRow.account.is_(None),
        )
        .order_by(EventRow.id.desc())
        .limit(last)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        max(0.0, ((occurred or received) - created).total_seconds())
        for created, occurred, received in rows
    ]
