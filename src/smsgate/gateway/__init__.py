"""The one entry point: ``Gateway.from_dsn(dsn).send(to=..., text=..., sender=...)``.

It picks the provider from the DSN, validates and batches, drives the provider's requests with
the retry rules of :mod:`smsgate.gateway.transport`, and returns a :class:`SendReport` that
says what became of every recipient. :class:`AsyncGateway` is the same over asyncio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Self

import httpx

from smsgate.core.report import AccountInfo, RecipientStatus, SendReport
from smsgate.gateway.endpoint import Endpoint, default_region, resolve_endpoint
from smsgate.gateway.plan import (
    SendPlan,
    plan_send,
    record_not_attempted,
    record_outcome,
    record_transport_failure,
)
from smsgate.gateway.transport import MaybeSent, NotSent, RetryPolicy, drive, drive_async
from smsgate.providers import Batch, BatchOutcome

Progress = Callable[[int, int], None]
"""Called after each request with (recipients done, recipients to send)."""


class _Base:
    def __init__(
        self, endpoint: Endpoint, *, region: str | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self.endpoint = endpoint
        self.region = default_region(region)
        self.retry = retry or RetryPolicy()

    @property
    def provider_name(self) -> str:
        return self.endpoint.provider.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint.provider.describe()})"

    def _plan(
        self,
        to: str | Iterable[str],
        text: str,
        sender: str | None,
        region: str | None,
        strict: bool,
        max_parts: int,
        truncate: bool,
        scheduled_at: datetime | None,
        campaign_name: str | None,
    ) -> SendPlan:
        return plan_send(
            self.endpoint,
            to,
            text,
            sender=sender,
            region=default_region(region) if region else self.region,
            strict=strict,
            max_parts=max_parts,
            truncate=truncate,
            scheduled_at=scheduled_at,
            campaign_name=campaign_name,
        )

    @staticmethod
    def _after_batch(
        plan: SendPlan, index: int, batch: Batch, outcome: BatchOutcome | Exception
    ) -> bool:
        """Record one batch; True when no later batch may be sent."""
        report = plan.report
        if isinstance(outcome, NotSent):
            record_transport_failure(report, batch, RecipientStatus.FAILED, str(outcome))
            record_not_attempted(report, plan.remaining(index + 1), str(outcome))
            return True
        if isinstance(outcome, MaybeSent):
            record_transport_failure(report, batch, RecipientStatus.UNKNOWN, str(outcome))
            return False
        assert isinstance(outcome, BatchOutcome)
        record_outcome(report, outcome)
        if outcome.stop:
            record_not_attempted(report, plan.remaining(index + 1), outcome.stop)
            return True
        return False


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

    @classmethod
    def from_dsn(
        cls,
        dsn: str | None = None,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Gateway:
        return cls(resolve_endpoint(dsn, env), region=region, retry=retry)

    def send(
        self,
        to: str | Iterable[str],
        text: str,
        *,
        sender: str | None = None,
        region: str | None = None,
        strict: bool = False,
        max_parts: int = 1,
        truncate: bool = True,
        scheduled_at: datetime | None = None,
        campaign_name: str | None = None,
        progress: Progress | None = None,
    ) -> SendReport:
        """Send one text to many recipients.

        Raises InvalidInput (nothing sent) for a bad sender or text, or when no recipient is
        valid; otherwise always returns a report, whatever the provider or network did.
        """
        plan = self._plan(
            to, text, sender, region, strict, max_parts, truncate, scheduled_at, campaign_name
        )
        total, done = len(plan.recipients.recipients), 0
        for index, batch in enumerate(plan.batches):
            outcome: BatchOutcome | Exception
            try:
                outcome = drive(self.endpoint.provider.send(batch), self._client.send, self.retry)
            except (NotSent, MaybeSent) as error:
                outcome = error
            stop = self._after_batch(plan, index, batch, outcome)
            done += len(batch.recipients)
            if progress:
                progress(done, total)
            if stop:
                break
        return plan.report

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

    @classmethod
    def from_dsn(
        cls,
        dsn: str | None = None,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> AsyncGateway:
        return cls(resolve_endpoint(dsn, env), region=region, retry=retry)

    async def send(
        self,
        to: str | Iterable[str],
        text: str,
        *,
        sender: str | None = None,
        region: str | None = None,
        strict: bool = False,
        max_parts: int = 1,
        truncate: bool = True,
        scheduled_at: datetime | None = None,
        campaign_name: str | None = None,
        progress: Progress | None = None,
    ) -> SendReport:
        plan = self._plan(
            to, text, sender, region, strict, max_parts, truncate, scheduled_at, campaign_name
        )
        total, done = len(plan.recipients.recipients), 0
        for index, batch in enumerate(plan.batches):
            outcome: BatchOutcome | Exception
            try:
                outcome = await drive_async(
                    self.endpoint.provider.send(batch), self._client.send, self.retry
                )
            except (NotSent, MaybeSent) as error:
                outcome = error
            stop = self._after_batch(plan, index, batch, outcome)
            done += len(batch.recipients)
            if progress:
                progress(done, total)
            if stop:
                break
        return plan.report

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


__all__ = ["AsyncGateway", "Endpoint", "Gateway", "Progress", "RetryPolicy", "resolve_endpoint"]
