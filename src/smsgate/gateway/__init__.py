"""The one entry point: ``Gateway.from_dsn(dsn).send(to=..., text=..., sender=...)``.

It picks the provider from the DSN, validates and batches, drives the provider's requests with
the retry rules of :mod:`smsgate.gateway.transport`, and returns a :class:`SendReport` that
says what became of every recipient. :class:`AsyncGateway` is the same over asyncio.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from smsgate.core.receipts import Receipt, Reply
from smsgate.core.remote import MessageQuery, ProviderMessage
from smsgate.core.report import AccountInfo, SendReport
from smsgate.gateway.abilities import require
from smsgate.gateway.endpoint import Endpoint, default_region, resolve_endpoint
from smsgate.gateway.plan import (
    Progress,
    SendOptions,
    SendRecorder,
    SendRun,
    SentBatch,
    start_send,
)
from smsgate.gateway.ratelimit import limiter_for
from smsgate.gateway.transport import MaybeSent, NotSent, RetryPolicy, drive, drive_async
from smsgate.providers import Batch, BatchOutcome, Exchange

T = TypeVar("T")

Outcome = BatchOutcome | NotSent | MaybeSent


class _Base:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        recorder: SendRecorder | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.region = default_region(region)
        self.retry = retry or RetryPolicy()
        self.recorder = recorder
        self._limiter = limiter_for(endpoint.provider)

    @classmethod
    def from_dsn(
        cls,
        dsn: str | None = None,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
        recorder: SendRecorder | None = None,
    ) -> Self:
        """The DSN, else $SMSGATE_DSN, else the embedded sandbox (``sandbox://``).

        A recorder (the message store) keeps every message sent.
        """
        return cls(resolve_endpoint(dsn, env), region=region, retry=retry, recorder=recorder)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint.provider.describe()})"


class Gateway(_Base):
    """Synchronous gateway; close it (or use ``with``) to release its connections."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        recorder: SendRecorder | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(endpoint, region=region, retry=retry, recorder=recorder)
        self._client = client or endpoint.client(self.retry.timeout)

    def send(
        self,
        to: str | Iterable[str],
        text: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        """Send one text to many recipients (options: :class:`SendOptions`).

        Raises InvalidInput (nothing sent) for a bad sender or text, or when no recipient is
        valid; otherwise always returns a report, whatever the provider or network did.
        """
        run = start_send(
            self.endpoint,
            to,
            text,
            gateway_region=self.region,
            progress=progress,
            recorder=self.recorder,
            **options,
        )
        return self._execute(run)

    def send_personalised(
        self,
        rows: Sequence[Mapping[str, str]],
        template: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        """A text per recipient: ``rows`` have a ``to`` and a value for each ``{column}`` of
        the template. A recipient whose text does not fit is skipped; the others go."""
        run = start_send(
            self.endpoint,
            (),
            template,
            gateway_region=self.region,
            progress=progress,
            recorder=self.recorder,
            rows=rows,
            **options,
        )
        return self._execute(run)

    def _execute(self, run: SendRun) -> SendReport:
        if self.endpoint.provider.capabilities.concurrency <= 1:
            for batch in run:
                run.record(batch, self._send_batch(batch))
            return run.report

        # Pipelined sends run on asyncio (aiohttp): threads over httpx spend three times the
        # CPU per request. In a thread of its own if this one already runs an event loop.
        async def pipelined() -> SendReport:
            async with AsyncGateway(self.endpoint, region=self.region, retry=self.retry) as twin:
                return await _pipeline(run, twin._send_batch, self.endpoint)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(pipelined())
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsgate-send") as pool:
            return pool.submit(asyncio.run, pipelined()).result()

    def _drive(self, exchange: Exchange[T]) -> T:
        return drive(exchange, self._client.send, self.retry, self._limiter)

    def _send_batch(self, batch: Batch) -> Outcome:
        try:
            return self._drive(self.endpoint.provider.send(batch))
        except (NotSent, MaybeSent) as error:
            return error

    def info(self) -> AccountInfo:
        """The account's state and credits; raises ProviderError when the provider refuses."""
        require(self.endpoint.provider, "credits", "tell an account's credits")
        info = self._drive(self.endpoint.provider.account())
        info.sandbox = self.endpoint.sandbox
        return info

    def receipts(self, campaign_id: str) -> list[Receipt]:
        """The provider's latest receipt for each message of a campaign (pull fallback)."""
        require(self.endpoint.provider, "receipts_pull", "hand out a campaign's receipts")
        return self._drive(self.endpoint.provider.receipts(campaign_id))

    def replies(self) -> list[Reply]:
        """Replies the provider has not handed out before."""
        require(self.endpoint.provider, "replies_pull", "hand out replies")
        return self._drive(self.endpoint.provider.replies())

    def cancel(self, campaign_id: str) -> None:
        """Cancel a scheduled campaign; raises ProviderError when it is too late."""
        require(self.endpoint.provider, "cancel", "cancel a scheduled send")
        self._drive(self.endpoint.provider.cancel(campaign_id))

    def lookup(self, provider_message_id: str) -> Receipt:
        """One message's current status at the provider."""
        require(self.endpoint.provider, "lookup", "look up one message")
        provider = self.endpoint.provider
        return self._drive(provider.lookup(provider_message_id))

    def search(self, query: MessageQuery, *, failed: bool = False) -> list[ProviderMessage]:
        """Messages the provider holds that match the query (only failed ones with ``failed``)."""
        require(self.endpoint.provider, "search", "search its messages")
        return self._drive(self.endpoint.provider.search(query, failed=failed))

    def inbound(self, query: MessageQuery | None = None) -> list[ProviderMessage]:
        """Unread incoming messages."""
        require(self.endpoint.provider, "inbound", "list unread incoming messages")
        return self._drive(self.endpoint.provider.inbound(query or MessageQuery()))

    def scheduled(self) -> list[ProviderMessage]:
        """Messages and batches scheduled at the provider (lately, and still to come)."""
        require(self.endpoint.provider, "search", "list scheduled messages")
        return self._drive(self.endpoint.provider.scheduled())

    def batch_messages(self, batch_id: str) -> list[ProviderMessage]:
        """Every message of one batch, as the provider has them."""
        require(self.endpoint.provider, "search", "list a batch's messages")
        return self._drive(self.endpoint.provider.batch_messages(batch_id))

    def delete(self, provider_message_id: str) -> None:
        require(self.endpoint.provider, "delete", "delete a message")
        self._drive(self.endpoint.provider.delete(provider_message_id))

    def customer_id(self) -> str:
        require(self.endpoint.provider, "customer_id", "tell the account's customer id")
        return self._drive(self.endpoint.provider.customer_id())

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncGateway(_Base):
    """The asyncio twin of :class:`Gateway`."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        recorder: SendRecorder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(endpoint, region=region, retry=retry, recorder=recorder)
        self._transport = transport or endpoint.async_transport()
        self._timeout = self.retry.timeout.as_dict()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Straight to the transport: an SMS API needs none of httpx.AsyncClient's cookie
        jar, auth flows and redirects, which cost a third of the CPU of each request."""
        request.extensions.setdefault("timeout", self._timeout)
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    async def send(
        self,
        to: str | Iterable[str],
        text: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        run = start_send(
            self.endpoint,
            to,
            text,
            gateway_region=self.region,
            progress=progress,
            recorder=self.recorder,
            **options,
        )
        return await _pipeline(run, self._send_batch, self.endpoint)

    async def send_personalised(
        self,
        rows: Sequence[Mapping[str, str]],
        template: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        run = start_send(
            self.endpoint,
            (),
            template,
            gateway_region=self.region,
            progress=progress,
            recorder=self.recorder,
            rows=rows,
            **options,
        )
        return await _pipeline(run, self._send_batch, self.endpoint)

    async def _drive(self, exchange: Exchange[T]) -> T:
        return await drive_async(exchange, self._send, self.retry, self._limiter)

    async def _send_batch(self, batch: Batch) -> Outcome:
        try:
            return await self._drive(self.endpoint.provider.send(batch))
        except (NotSent, MaybeSent) as error:
            return error

    async def info(self) -> AccountInfo:
        require(self.endpoint.provider, "credits", "tell an account's credits")
        info = await self._drive(self.endpoint.provider.account())
        info.sandbox = self.endpoint.sandbox
        return info

    async def receipts(self, campaign_id: str) -> list[Receipt]:
        provider = self.endpoint.provider
        require(provider, "receipts_pull", "hand out a campaign's receipts")
        return await self._drive(provider.receipts(campaign_id))

    async def replies(self) -> list[Reply]:
        require(self.endpoint.provider, "replies_pull", "hand out replies")
        return await self._drive(self.endpoint.provider.replies())

    async def cancel(self, campaign_id: str) -> None:
        provider = self.endpoint.provider
        require(provider, "cancel", "cancel a scheduled send")
        await self._drive(provider.cancel(campaign_id))

    async def lookup(self, provider_message_id: str) -> Receipt:
        provider = self.endpoint.provider
        require(provider, "lookup", "look up one message")
        return await self._drive(provider.lookup(provider_message_id))

    async def search(self, query: MessageQuery, *, failed: bool = False) -> list[ProviderMessage]:
        require(self.endpoint.provider, "search", "search its messages")
        return await self._drive(self.endpoint.provider.search(query, failed=failed))

    async def inbound(self, query: MessageQuery | None = None) -> list[ProviderMessage]:
        require(self.endpoint.provider, "inbound", "list unread incoming messages")
        return await self._drive(self.endpoint.provider.inbound(query or MessageQuery()))

    async def scheduled(self) -> list[ProviderMessage]:
        require(self.endpoint.provider, "search", "list scheduled messages")
        return await self._drive(self.endpoint.provider.scheduled())

    async def batch_messages(self, batch_id: str) -> list[ProviderMessage]:
        require(self.endpoint.provider, "search", "list a batch's messages")
        return await self._drive(self.endpoint.provider.batch_messages(batch_id))

    async def delete(self, provider_message_id: str) -> None:
        require(self.endpoint.provider, "delete", "delete a message")
        await self._drive(self.endpoint.provider.delete(provider_message_id))

    async def customer_id(self) -> str:
        require(self.endpoint.provider, "customer_id", "tell the account's customer id")
        return await self._drive(self.endpoint.provider.customer_id())

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _pipeline(
    run: SendRun, send_batch: Callable[[Batch], Coroutine[Any, Any, Outcome]], endpoint: Endpoint
) -> SendReport:
    """Up to the provider's concurrency of requests in flight, recorded in order.

    The first request goes alone, so a refusal that applies to all (the key, the credit)
    costs one request; after it, the next batch is taken only when a slot frees.
    """
    width = endpoint.provider.capabilities.concurrency
    if width <= 1:  # one request at a time: no task per batch
        for batch in run:
            run.record(batch, await send_batch(batch))
        return run.report
    window: deque[tuple[Batch, asyncio.Task[Outcome]]] = deque()
    batches = iter(run)
    limit = 1
    try:
        while True:
            while len(window) < limit and (queued := next(batches, None)) is not None:
                window.append((queued, asyncio.create_task(send_batch(queued))))
            if not window:
                return run.report
            batch, task = window.popleft()
            run.record(batch, await task)
            limit = width
    finally:
        for _, task in window:  # cancelled midway: what is in flight is still awaited
            await asyncio.gather(task, return_exceptions=True)


__all__ = [
    "AsyncGateway",
    "Endpoint",
    "Gateway",
    "Progress",
    "RetryPolicy",
    "SendOptions",
    "SendRecorder",
    "SentBatch",
    "resolve_endpoint",
]
