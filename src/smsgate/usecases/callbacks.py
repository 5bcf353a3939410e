"""Status callbacks delivered: POST each callback of the outbox to its client, signed per
the Standard Webhooks specification (the ``standardwebhooks`` package signs), and decide
what a failed attempt means.

Retried with exponential backoff (connection errors, timeouts, 429 and 5xx) until a day after
the change, with the same ``webhook-id`` every time; another 4xx is the client saying no:
dead-lettered at once. Dead letters are listed and replayed through the API. Delivery is at
least once (a deliverer killed mid-POST leaves the callback to another after its lease):
receivers dedupe by ``webhook-id``, as the specification asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx

from smsgate.store import Store
from smsgate.store.callbacks import Callbacks, Due

log = logging.getLogger("smsgate.callbacks")

RETRIED: Final = frozenset({408, 425, 429})
"""Besides 5xx: the client asks us to come back later."""


@dataclass(frozen=True)
class Backoff:
    first: float = 5.0
    """Seconds before the second attempt; doubled after each."""
    longest: float = 3600.0
    give_up_after: float = 86400.0
    """Seconds after the change: then it is dead-lettered."""

    def next_at(self, attempts: int, created_at: datetime, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed ones (None: give up)."""
        wait = min(self.first * 2 ** (attempts - 1), self.longest)
        at = now + timedelta(seconds=wait)
        if at > created_at + timedelta(seconds=self.give_up_after):
            return None
        return at


class Deliverer:
    """Drains the outbox: claims what is due, POSTs it concurrently, records the outcomes."""

    def __init__(
        self,
        store: Store,
        secret: str | None,
        *,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
        concurrency: int = 64,
    ) -> None:
        self.callbacks = Callbacks(store)
        self.backoff = backoff or Backoff()
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._concurrency = concurrency
        self._signer = None
        if secret:
            from standardwebhooks.webhooks import Webhook

            self._signer = Webhook(secret)

    def __repr__(self) -> str:  # never the secret
        return f"Deliverer(signed={self._signer is not None})"

    async def drain(self, client: httpx.AsyncBaseTransport, limit: int = 500) -> int:
        """Deliver one claim of due callbacks; returns how many were attempted."""
        due = await asyncio.to_thread(self.callbacks.claim, limit)
        if not due:
            return 0
        gate = asyncio.Semaphore(self._concurrency)

        async def attempt(callback: Due) -> tuple[Due, str | None, bool]:
            async with gate:
                return (callback, *await self._post(client, callback))

        outcomes = await asyncio.gather(*(attempt(c) for c in due))
        now = datetime.now(UTC)
        delivered = [c.id for c, error, _ in outcomes if error is None]
        retry: list[tuple[str, datetime, str]] = []
        dead: list[tuple[str, str]] = []
        for callback, error, again in outcomes:
            if error is None:
                continue
            at = self.backoff.next_at(callback.attempts + 1, callback.created_at, now)
            if again and at is not None:
                retry.append((callback.id, at, error))
            else:
                dead.append((callback.id, error if not again else f"gave up: {error}"))
        await asyncio.to_thread(self._record, delivered, retry, dead)
        return len(due)

    def _record(
        self,
        delivered: list[str],
        retry: list[tuple[str, datetime, str]],
        dead: list[tuple[str, str]],
    ) -> None:
        self.callbacks.delivered(delivered)
        self.callbacks.retry(retry)
        self.callbacks.fail(dead)
        for callback_id, error in dead:
            log.warning("callback %s dead-lettered: %s", callback_id, error)

    async def _post(
        self, client: httpx.AsyncBaseTransport, callback: Due
    ) -> tuple[str | None, bool]:
        """(None, _) when delivered; else (why, whether to try again)."""
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": callback.id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if self._signer is not None:
            headers["webhook-signature"] = self._signer.sign(callback.id, now, callback.payload)
        request = httpx.Request(
            "POST", callback.url, content=callback.payload.encode(), headers=headers
        )
        request.extensions["timeout"] = self._timeouts
        try:
            response = await client.handle_async_request(request)
        except httpx.HTTPError as error:
            return f"{type(error).__name__} posting to the callback URL", True
        code = response.status_code
        if 200 <= code < 300:
            return None, False
        return f"the callback URL answered HTTP {code}", code >= 500 or code in RETRIED

    async def run(self, stop: asyncio.Event, idle: float = 0.2) -> None:
        """Deliver until ``stop`` is set: what is due at once, else look again shortly."""
        client = _transport()
        try:
            while not stop.is_set():
                try:
                    attempted = await self.drain(client)
                except Exception:  # the store away for a moment: never the loop's end
                    log.exception("callback delivery failed; trying again")
                    attempted = 0
                if attempted == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), idle)
        finally:
            await client.aclose()

    async def drain_all(self) -> int:
        """Deliver everything due now (a worker's job); returns how many were attempted."""
        total = 0
        client = _transport()
        try:
            while attempted := await self.drain(client):
                total += attempted
        finally:
            await client.aclose()
        return total


def _transport() -> httpx.AsyncBaseTransport:
    """aiohttp under httpx's request and response types, as the gateway sends: httpx's own
    async pool spends most of a callback's CPU finding a free connection among many."""
    from smsgate.gateway.aiohttp_transport import AiohttpTransport

    return AiohttpTransport(httpx.Limits(max_connections=64, keepalive_expiry=2.0))
