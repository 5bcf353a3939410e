"""Send and record: a gateway whose every message is kept in the message store.

The gateway hands each batch's outcome to its recorder; the store is that recorder. Wiring
them here keeps the gateway unaware of storage and the store unaware of sending.
"""

from __future__ import annotations

from smsgate.gateway import Gateway
from smsgate.store.recorder import Recorder


def recording_gateway(dsn: str | None, store: Recorder, *, region: str | None = None) -> Gateway:
    """The gateway for a DSN (else the settings', else the sandbox), recording in ``store``
    and sharing each account's call budget through it (on PostgreSQL)."""
    return Gateway.from_dsn(dsn, region=region, recorder=store, budgets=store)


def opted_out(store: Recorder, *, ignore: bool = False) -> frozenset[str] | None:
    """The numbers a send skips because they opted out (None when told to ignore them: a
    transactional SMS a person must get, such as a one-time code)."""
    return None if ignore else store.opted_out()
