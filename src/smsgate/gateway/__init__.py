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

from smsgate.core.report import AccountInfo, SendReport
from smsgate.gateway.endpoint import Endpoint, default_region, resolve_endpoint
from smsgate.gateway.plan import Progress, SendOptions, start_send
from smsgate.gateway.transport import MaybeSent, NotSent, RetryPolicy, drive, drive_async
from smsgate.providers import BatchOutcome


class _Base:
    def __init__(
        self, endpoint: Endpoint, *, region: str | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self.endpoint = endpoint
        self.region = default_region(region)
        self.retry = retry or RetryPolicy()

    @classmethod
    def from_dsn(
        cls,
        dsn: str | None = None,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """The DSN, else $SMSGATE_DSN, else the embedded sandbox (``sandbox://``)."""
        return cls(resolve_endpoint(dsn, env), region=region, retry=retry)

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
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(endpoint, region=region, retry=retry)
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
            self.endpoint, to, text, gateway_region=self.region, progress=progress, **options
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
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(endpoint, region=region, retry=retry)
        self._client = client or endpoint.async_client(self.retry.timeout)

    async def send(
        self,
        to: str | Iterable[str],
        text: str,
        *,
        progress: Progress | None = None,
        **options: Unpack[SendOptions],
    ) -> SendReport:
        run = start_send(
            self.endpoint, to, text, gateway_region=self.region, progress=progress, **options
        )
        for batch in run:
            outcome: BatchOutcome | NotSent | MaybeSent
            try:
                outcome = await drive_async(
                    self.endpoint.provider.send(batch), self._client.send, self.retry
                )
            except (NotSent, MaybeSent) as error:
                outcome = error
            run.record(batch, outcome)
        return run.report

    async def info(self) -> AccountInfo:
        info = await drive_async(self.endpoint.provider.account(), self._client.send, self.retry)
        info.sandbox = self.endpoint.sandbox
        return info

    async def aclose(self) -> None:
        await self._client.aclose()

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
    "resolve_endpoint",
]
