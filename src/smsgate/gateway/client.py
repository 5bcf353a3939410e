"""The two gateways: :class:`Gateway` over httpx, :class:`AsyncGateway` over asyncio.

Each public operation is one line that drives the exchange :class:`GatewayBase` builds; what
differs is only how requests travel. Pipelined single-recipient sends (Messangi) run on
asyncio in both: threads over httpx spend three times the CPU per request, so the sync gateway
drives them on an event loop of its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from smsgate.core.receipts import OptOut, Receipt, Reply
from smsgate.core.remote import MessageQuery, ProviderMessage
from smsgate.core.report import AccountInfo, SendReport
from smsgate.gateway.base import GatewayBase
from smsgate.gateway.compose import SendOptions
from smsgate.gateway.endpoint import Endpoint
from smsgate.gateway.plan import Progress, SendRecorder, SendRun
from smsgate.gateway.ratelimit import Budgets, Limiter
from smsgate.gateway.routed import Way
from smsgate.gateway.transport import MaybeSent, NotSent, RetryPolicy, drive, drive_async
from smsgate.providers import Batch, BatchOutcome, Exchange

T = TypeVar("T")

Outcome = BatchOutcome | NotSent | MaybeSent


class Gateway(GatewayBase):
    """Synchronous gateway; close it (or use ``with``) to release its connections."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        recorder: SendRecorder | None = None,
        client: httpx.Client | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        super().__init__(endpoint, region=region, retry=retry, recorder=recorder, budgets=budgets)
        self._client = client or endpoint.client(self.retry.timeout)
        self._clients: dict[int, httpx.Client] = {}

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
        return self.execute(self._start(to, text, progress, options))

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
        return self.execute(self._start_personalised(rows, template, progress, options))

    def execute(self, run: SendRun) -> SendReport:
        """Drive a planned run's requests (a send above, or a queued send's job)."""
        width = self._width(run)
        if width <= 1:
            for batch in run:
                run.record(batch, self._send_batch(batch, run.way(batch)))
            return run.report

        async def pipelined() -> SendReport:
            lanes = Lanes(AsyncLane(self.endpoint, self.retry, self._limiter))
            try:
                return await pipeline(run, partial(lanes.send_batch, run), width)
            finally:
                await lanes.aclose()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(pipelined())
        # This thread already runs an event loop: pipeline in a thread of its own.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsgate-send") as pool:
            return pool.submit(asyncio.run, pipelined()).result()

    def _drive(self, exchange: Exchange[T]) -> T:
        return drive(exchange, self._client.send, self.retry, self._limiter)

    def _send_batch(self, batch: Batch, way: Way | None) -> Outcome:
        if way is None:
            endpoint, limiter, retry = self.endpoint, self._limiter, self.retry
        else:
            endpoint, limiter, retry = way.endpoint, way.limiter, hurried(self.retry, way)
        client = self._client_for(endpoint)
        try:
            return drive(endpoint.provider.send(batch), client.send, retry, limiter)
        except (NotSent, MaybeSent) as error:
            return error

    def _client_for(self, endpoint: Endpoint) -> httpx.Client:
        """The gateway's client, or for another member of a route its own (opened once)."""
        if endpoint is self.endpoint:
            return self._client
        found = self._clients.get(id(endpoint))
        if found is None:
            found = self._clients[id(endpoint)] = endpoint.client(self.retry.timeout)
        return found

    def info(self) -> AccountInfo:
        """The account's state and credits; raises ProviderError when the provider refuses."""
        return self._drive(self._info())

    def receipts(self, campaign_id: str) -> list[Receipt]:
        """The provider's latest receipt for each message of a campaign (pull fallback)."""
        return self._drive(self._receipts(campaign_id))

    def replies(self) -> list[Reply]:
        """Replies the provider has not handed out before."""
        return self._drive(self._replies())

    def opt_outs(self) -> list[OptOut]:
        """The numbers the provider itself keeps from being sent to (AllMySMS's blacklist)."""
        return self._drive(self._opt_outs())

    def cancel(self, campaign_id: str) -> None:
        """Cancel a scheduled campaign; raises ProviderError when it is too late."""
        self._drive(self._cancel(campaign_id))

    def lookup(self, provider_message_id: str) -> Receipt:
        """One message's current status at the provider."""
        return self._drive(self._lookup(provider_message_id))

    def search(self, query: MessageQuery, *, failed: bool = False) -> list[ProviderMessage]:
        """Messages the provider holds that match the query (only failed ones with ``failed``)."""
        return self._drive(self._search(query, failed))

    def inbound(self, query: MessageQuery | None = None) -> list[ProviderMessage]:
        """Unread incoming messages."""
        return self._drive(self._inbound(query))

    def scheduled(self) -> list[ProviderMessage]:
        """Messages and batches scheduled at the provider (lately, and still to come)."""
        return self._drive(self._scheduled())

    def batch_messages(self, batch_id: str) -> list[ProviderMessage]:
        """Every message of one batch, as the provider has them."""
        return self._drive(self._batch_messages(batch_id))

    def delete(self, provider_message_id: str) -> None:
        self._drive(self._delete(provider_message_id))

    def customer_id(self) -> str:
        return self._drive(self._customer_id())

    def close(self) -> None:
        self._client.close()
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncLane:
    """Requests over asyncio, straight to the transport: an SMS API needs none of
    httpx.AsyncClient's cookie jar, auth flows and redirects, which cost a third of the CPU of
    each request. The async gateway's I/O, and the sync gateway's for pipelined sends."""

    def __init__(
        self,
        endpoint: Endpoint,
        retry: RetryPolicy,
        limiter: Limiter | None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.retry = retry
        self.limiter = limiter
        self.transport = transport or endpoint.async_transport()
        self._timeout = retry.timeout.as_dict()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        request.extensions.setdefault("timeout", self._timeout)
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response

    async def drive(self, exchange: Exchange[T], retry: RetryPolicy | None = None) -> T:
        return await drive_async(exchange, self._send, retry or self.retry, self.limiter)

    async def send_batch(self, batch: Batch, retry: RetryPolicy | None = None) -> Outcome:
        try:
            return await self.drive(self.endpoint.provider.send(batch), retry)
        except (NotSent, MaybeSent) as error:
            return error

    async def aclose(self) -> None:
        await self.transport.aclose()


def hurried(retry: RetryPolicy, way: Way) -> RetryPolicy:
    """The retry policy of a routed batch: with another member behind it, a refused
    connection is not tried again (that member takes the batch at once)."""
    return replace(retry, connect_attempts=1) if way.fallback else retry


class Lanes:
    """An :class:`AsyncLane` per endpoint a run sends through: the gateway's own, and over a
    route each other member's, opened on first use."""

    def __init__(self, first: AsyncLane) -> None:
        self.first = first
        self._lanes: dict[int, AsyncLane] = {id(first.endpoint): first}

    async def send_batch(self, run: SendRun, batch: Batch) -> Outcome:
        way = run.way(batch)
        if way is None:
            return await self.first.send_batch(batch)
        lane = self._lanes.get(id(way.endpoint))
        if lane is None:
            lane = AsyncLane(way.endpoint, self.first.retry, way.limiter)
            self._lanes[id(way.endpoint)] = lane
        return await lane.send_batch(batch, hurried(self.first.retry, way))

    async def aclose(self) -> None:
        for lane in self._lanes.values():
            await lane.aclose()


class AsyncGateway(GatewayBase):
    """The asyncio twin of :class:`Gateway`."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        recorder: SendRecorder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        super().__init__(endpoint, region=region, retry=retry, recorder=recorder, budgets=budgets)
        self._lane = AsyncLane(endpoint, self.retry, self._limiter, transport)
        self._lanes = Lanes(self._lane)
        self._drive = self._lane.drive

    async def send(
        self,
        to: str | Iterable[str],
        text: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        run = self._start(to, text, progress, options)
        return await pipeline(run, partial(self._lanes.send_batch, run), self._width(run))

    async def send_personalised(
        self,
        rows: Sequence[Mapping[str, str]],
        template: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        run = self._start_personalised(rows, template, progress, options)
        return await pipeline(run, partial(self._lanes.send_batch, run), self._width(run))

    async def info(self) -> AccountInfo:
        return await self._drive(self._info())

    async def receipts(self, campaign_id: str) -> list[Receipt]:
        return await self._drive(self._receipts(campaign_id))

    async def replies(self) -> list[Reply]:
        return await self._drive(self._replies())

    async def opt_outs(self) -> list[OptOut]:
        return await self._drive(self._opt_outs())

    async def cancel(self, campaign_id: str) -> None:
        await self._drive(self._cancel(campaign_id))

    async def lookup(self, provider_message_id: str) -> Receipt:
        return await self._drive(self._lookup(provider_message_id))

    async def search(self, query: MessageQuery, *, failed: bool = False) -> list[ProviderMessage]:
        return await self._drive(self._search(query, failed))

    async def inbound(self, query: MessageQuery | None = None) -> list[ProviderMessage]:
        return await self._drive(self._inbound(query))

    async def scheduled(self) -> list[ProviderMessage]:
        return await self._drive(self._scheduled())

    async def batch_messages(self, batch_id: str) -> list[ProviderMessage]:
        return await self._drive(self._batch_messages(batch_id))

    async def delete(self, provider_message_id: str) -> None:
        await self._drive(self._delete(provider_message_id))

    async def customer_id(self) -> str:
        return await self._drive(self._customer_id())

    async def aclose(self) -> None:
        await self._lanes.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def pipeline(
    run: SendRun, send_batch: Callable[[Batch], Coroutine[Any, Any, Outcome]], width: int
) -> SendReport:
    """Up to ``width`` requests in flight (the provider's concurrency), recorded in order.

    The first request goes alone, so a refusal that applies to all (the key, the credit)
    costs one request; after it, the next batch is taken only when a slot frees.
    """
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
