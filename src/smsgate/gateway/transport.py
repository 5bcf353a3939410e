"""Driving a provider exchange over HTTP, and the one place that decides about retries.

The rule: retry only what provably did not reach the provider (no connection was made, or the
provider answered 429/503, which say the request was not processed). Anything that may have
arrived (a read timeout, a dropped connection after sending, another 5xx) raises
:class:`MaybeSent`, and the gateway reports its recipients ``unknown``; it is never re-sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Final, TypeVar

import httpx

from smsgate.core.errors import ProviderError
from smsgate.core.rates import RECHECK, Slot
from smsgate.gateway.ratelimit import Limiter
from smsgate.providers.base import Exchange

T = TypeVar("T")

# Raised before a single byte of the request reached the provider.
NEVER_ARRIVED: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
BUSY: Final = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries in all for a request that provably did not arrive."""
    backoff: float = 0.5
    """First wait in seconds, doubled after each try."""
    max_wait: float = 30.0
    """The longest Retry-After we wait for; longer means give up now (nothing was sent)."""
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=10.0))
    connect_attempts: int | None = None
    """Tries for a connection that fails (None: ``attempts``). A route member with another
    member behind it tries once: the next provider takes the batch at once."""


class NotSent(ProviderError):
    """The request never reached the provider: nothing was sent, sending again is safe.

    A send folds it into its report (the batch ``failed``); any other operation raises it as
    the ordinary error it is (exit 1, HTTP 502), never as a bug. ``retry_after`` is set when
    the provider was busy (429/503): a queued send waits that long and sends it then."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MaybeSent(ProviderError):
    """The request may have reached the provider: its SMS may have gone out (``unknown``)."""


def _host(request: httpx.Request) -> str:
    return request.url.host or "the provider"


def _wait_after_error(
    error: httpx.HTTPError, request: httpx.Request, attempt: int, policy: RetryPolicy
) -> float:
    host = _host(request)
    if isinstance(error, NEVER_ARRIVED):
        if attempt >= (policy.connect_attempts or policy.attempts):
            raise NotSent(
                f"could not connect to {host} after {attempt} tries ({type(error).__name__}): "
                "nothing was sent; check the DSN host or try again later"
            ) from None
        return float(policy.backoff * 2 ** (attempt - 1))
    raise MaybeSent(
        f"no complete answer from {host} ({type(error).__name__}): the SMS may have been sent; "
        "check the account before sending again"
    ) from None


def _wait_after_response(
    response: httpx.Response, attempt: int, policy: RetryPolicy
) -> float | None:
    """None: hand the response to the provider. A number: wait that long and try again."""
    code = response.status_code
    host = _host(response.request)
    if code in BUSY:
        wait = retry_after(response)
        if wait is None:
            wait = policy.backoff * 2 ** (attempt - 1)
        if attempt >= policy.attempts or wait > policy.max_wait:
            raise NotSent(
                f"{host} is busy (HTTP {code}, asked to wait {wait:g} s) after {attempt} tries: "
                "nothing was sent; try again later",
                retry_after=wait,
            )
        return wait
    if code >= 500:
        raise MaybeSent(
            f"{host} failed with HTTP {code}: the SMS may have been sent; "
            "check the account before sending again"
        )
    return None


def _next_wait(
    outcome: httpx.Response | httpx.HTTPError,
    request: httpx.Request,
    attempt: int,
    policy: RetryPolicy,
) -> float | None:
    """After one try: None hands the response on; a number is the wait before the next try."""
    if isinstance(outcome, httpx.HTTPError):
        return _wait_after_error(outcome, request, attempt, policy)
    return _wait_after_response(outcome, attempt, policy)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _turn(limiter: Limiter | None, request: httpx.Request) -> Slot | None:
    """The call's turn in its account's budget (``full``: ask again shortly). A budget that
    cannot be reached (the store down) stops the call before it leaves: NotSent, never a
    call outside the budget."""
    if limiter is None:
        return None
    try:
        return limiter.reserve()
    except Exception as error:
        raise NotSent(
            f"the call budget for {_host(request)} could not be taken "
            f"({type(error).__name__}): nothing was sent; check the message store"
        ) from None


def drive(
    exchange: Exchange[T],
    send: Callable[[httpx.Request], httpx.Response],
    policy: RetryPolicy,
    limiter: Limiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    try:
        request = next(exchange)
        while True:
            attempt = 1
            while True:
                outcome: httpx.Response | httpx.HTTPError
                slot = _turn(limiter, request)
                while slot is not None and slot.full:
                    sleep(RECHECK)
                    slot = _turn(limiter, request)
                if slot is not None and slot.wait > 0:
                    sleep(slot.wait)
                try:
                    outcome = send(request)
                    outcome.read()
                except httpx.HTTPError as error:
                    outcome = error
                finally:
                    if slot is not None:
                        slot.done()
                wait = _next_wait(outcome, request, attempt, policy)
                if wait is None:
                    break
                sleep(wait)
                attempt += 1
            assert isinstance(outcome, httpx.Response)
            request = exchange.send(outcome)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        exchange.close()


async def drive_async(
    exchange: Exchange[T],
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    policy: RetryPolicy,
    limiter: Limiter | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    try:
        request = next(exchange)
        while True:
            attempt = 1
            while True:
                outcome: httpx.Response | httpx.HTTPError
                slot = _turn(limiter, request)
                while slot is not None and slot.full:
                    await sleep(RECHECK)
                    slot = _turn(limiter, request)
                if slot is not None and slot.wait > 0:
                    await sleep(slot.wait)
                try:
                    outcome = await send(request)
                    await outcome.aread()
                except httpx.HTTPError as error:
                    outcome = error
                finally:
                    if slot is not None:
                        slot.done()
                wait = _next_wait(outcome, request, attempt, policy)
                if wait is None:
                    break
                await sleep(wait)
                attempt += 1
            assert isinstance(outcome, httpx.Response)
            request = exchange.send(outcome)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        exchange.close()
