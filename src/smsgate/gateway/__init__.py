"""The one entry point: ``Gateway.from_dsn(dsn).send(to=..., text=..., sender=...)``.

It picks the provider from the DSN, validates and batches, drives the provider's requests with
the retry rules of :mod:`smsgate.gateway.transport`, and returns a :class:`SendReport` that
says what became of every recipient. :class:`AsyncGateway` is the same over asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Self, Unpack

import httpx

from smsgate.core.receipts import Receipt, Reply
from smsgate.core.report import AccountInfo, SendReport
from smsgate.gateway.endpoint import Endpoint, default_region, resolve_endpoint
from smsgate.gateway.plan import Progress, SendOptions, SendRecorder, SentBatch, start_send
from smsgate.gateway.transport import MaybeSent, NotSent, RetryPolicy, drive, drive_async
from smsgate.providers import BatchOutcome


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
        for batch in run:
            outcome: BatchOutcome | NotSent | MaybeSent
            try:
                outcome = drive(self.endpoint.provider.send(batch), self._client.send, self.retry)
            except (NotSent, MaybeSent) as error:
                outcome = error
            run.record(batch, outcome)
        return run.report

    def info(self) -> AccountInfo:
        """The account's state and credits; raises ProviderError when the provider refuses."""
        info = drive(self.endpoint.provider.account(), self._client.send, self.retry)
        info.sandbox = self.endpoint.sandbox
        return info

    def receipts(self, campaign_id: str) -> list[Receipt]:
        """The provider's latest receipt for each message of a campaign (pull fallback)."""
        return drive(self.endpoint.provider.receipts(campaign_id), self._client.send, self.retry)

    def replies(self) -> list[Reply]:
        """Replies the provider has not handed out before."""
        return drive(self.endpoint.provider.replies(), self._client.send, self.retry)

    def cancel(self, campaign_id: str) -> None:
        """Cancel a scheduled campaign; raises ProviderError when it is too late."""
        drive(self.endpoint.provider.cancel(campaign_id), self._client.send, self.retry)

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
        for batch in run:
            outcome: BatchOutcome | NotSent | MaybeSent
            try:
                outcome = await drive_async(
                    self.endpoint.provider.send(batch), self._send, self.retry
                )
            except (NotSent, MaybeSent) as error:
                outcome = error
            run.record(batch, outcome)
        return run.report

    async def info(self) -> AccountInfo:
        info = await drive_async(self.endpoint.provider.account(), self._send, self.retry)
        info.sandbox = self.endpoint.sandbox
        return info

    async def receipts(self, campaign_id: str) -> list[Receipt]:
        provider = self.endpoint.provider
        return await drive_async(provider.receipts(campaign_id), self._send, self.retry)

    async def replies(self) -> list[Reply]:
        return await drive_async(self.endpoint.provider.replies(), self._send, self.retry)

    async def cancel(self, campaign_id: str) -> None:
        provider = self.endpoint.provider
        await drive_async(provider.cancel(campaign_id), self._send, self.retry)

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
