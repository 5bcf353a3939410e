"""A route's members judged by their deliveries: the receipts in the store say how long each
provider account took lately; one much slower than it should be is tried last for a while."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from smsgate.gateway import Gateway
from smsgate.gateway.routes import SLOW_DELIVERY
from smsgate.store import Store
from smsgate.store.deliveries import delivery_seconds

log = logging.getLogger("smsgate.routes")
JUDGE_EVERY: Final = 30.0


def judge_deliveries(gateway: Gateway, store: Store, slow: float = SLOW_DELIVERY) -> list[str]:
    """Judge every member of the gateway's routes (none without routes); returns the labels
    of those demoted now."""
    if gateway.routing is None:
        return []
    demoted = []
    for member in gateway.routing.members():
        seconds = delivery_seconds(store, member.name, member.endpoint.account)
        if member.health.judge_deliveries(seconds, slow):
            demoted.append(member.label)
    return demoted


async def keep_judging(
    gateway: Gateway, store: Store, stop: asyncio.Event, every: float = JUDGE_EVERY
) -> None:
    """Judge the members every ``every`` seconds until ``stop`` (a service's or a worker's
    own view: health is per process)."""
    if gateway.routing is None:
        return
    while not stop.is_set():
        try:
            await asyncio.to_thread(judge_deliveries, gateway, store)
        except Exception:  # the store away for a moment: judge again next time
            log.exception("could not judge the routes' deliveries")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
