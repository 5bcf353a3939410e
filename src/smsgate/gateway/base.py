"""What the sync and async gateways share: every operation written once, as an exchange.

Like httpx's ``BaseClient``: all the pure logic lives here (which ability an operation needs,
the words of its refusal, the provider exchange it runs, what is added to its result), and
:class:`~smsgate.gateway.client.Gateway` and :class:`~smsgate.gateway.client.AsyncGateway`
differ only in how they drive an exchange's requests over the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Self, cast

from smsgate.core.receipts import OptOut, Receipt, Reply
from smsgate.core.remote import MessageQuery, ProviderMessage
from smsgate.core.report import AccountInfo
from smsgate.gateway.abilities import require
from smsgate.gateway.compose import SendOptions
from smsgate.gateway.endpoint import Endpoint, default_region, resolve_endpoint
from smsgate.gateway.plan import Progress, SendRecorder, SendRun, start_send
from smsgate.gateway.ratelimit import Budgets, limiter_for
from smsgate.gateway.routes import Health, Routing, routing_for
from smsgate.gateway.transport import RetryPolicy
from smsgate.providers import Exchange, Provider
from smsgate.providers.base import (
    Cancel,
    Credits,
    CustomerId,
    Delete,
    Inbound,
    Lookup,
    OptOutsPull,
    ReceiptsPull,
    RepliesPull,
    Search,
)

_SHOWN_ABILITIES = ("schedule", "cancel", "flash", "credits", "receipts_pull", "lookup", "search")


def _member_view(
    endpoint: Endpoint, health: Health | None, label: str | None = None
) -> dict[str, object]:
    caps = endpoint.provider.capabilities
    return {
        "provider": label or endpoint.provider.name,
        "endpoint": endpoint.provider.describe(),
        "sandbox": endpoint.sandbox,
        "abilities": [name for name in _SHOWN_ABILITIES if getattr(caps, name)]
        + (["personalised"] if caps.personalised else []),
        "health": (health or Health()).snapshot(),
    }


class GatewayBase:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        recorder: SendRecorder | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.region = default_region(region)
        self.retry = retry or RetryPolicy()
        self.recorder = recorder
        self._limiter = limiter_for(endpoint.provider, endpoint.rate_limit, budgets)
        self.routing: Routing | None = None
        """Over routes (``A || B``, ``A && B``, ``SMSGATE_ROUTES``): every member; the
        endpoint above is the first route's first member, which the other operations use."""

    @classmethod
    def from_dsn(
        cls,
        dsn: str | None = None,
        *,
        region: str | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
        recorder: SendRecorder | None = None,
        budgets: Budgets | None = None,
    ) -> Self:
        """The DSN, else the ``SMSGATE_DSN`` setting, else the embedded sandbox (``sandbox://``).

        A recorder (the message store) keeps every message sent; budgets (the message store
        on PostgreSQL) share each account's call budget with every other process.
        """
        routing = routing_for(dsn, env, budgets)
        if routing is None:
            endpoint = resolve_endpoint(dsn, env)
            return cls(endpoint, region=region, retry=retry, recorder=recorder, budgets=budgets)
        first = next(routing.members())
        gateway = cls(
            first.endpoint, region=region, retry=retry, recorder=recorder, budgets=budgets
        )
        gateway.routing = routing
        return gateway

    def __repr__(self) -> str:
        if self.routing is not None:
            return f"{type(self).__name__}({self.routing.describe()})"
        return f"{type(self).__name__}({self.endpoint.provider.describe()})"

    def _width(self, run: SendRun) -> int:
        """Requests of a run in flight at once: its provider's concurrency (over a route,
        the largest of its members')."""
        if run.routed is None:
            return self.endpoint.provider.capabilities.concurrency
        return max(m.endpoint.provider.capabilities.concurrency for m in run.routed.members())

    @property
    def provider_name(self) -> str:
        return self.endpoint.provider.name

    def read_webhook(self, fields: dict[str, str], provider: str | None = None) -> Receipt | Reply:
        """A provider's webhook call as a receipt or a reply; ValueError if it is neither.
        ``provider``: which of the routes' providers called (default the gateway's own)."""
        return (
            self.providers()
            .get(provider or self.provider_name, self.endpoint.provider)
            .read_webhook(fields)
        )

    def providers(self) -> dict[str, Provider]:
        """Every provider this gateway sends through, by name (its routes' members)."""
        if self.routing is None:
            return {self.endpoint.provider.name: self.endpoint.provider}
        found: dict[str, Provider] = {}
        for member in self.routing.members():
            found.setdefault(member.name, member.endpoint.provider)
        return found

    def routes(self) -> list[dict[str, object]]:
        """The routes as ``smsgate routes`` and ``GET /v1/routes`` show them: each prefix,
        its mode, and each member's provider, where it goes (no credential), what it can
        do, and its health in this process."""
        if self.routing is None:
            members = [(self.endpoint, None)]
            return [{"prefix": "*", "mode": "single", "members": [_member_view(*members[0])]}]
        return [
            {
                "prefix": f"+{prefix}" if prefix else "*",
                "mode": route.mode.value,
                "members": [_member_view(m.endpoint, m.health, m.label) for m in route.members],
            }
            for prefix, route in self.routing.routes
        ]

    # -- sends: everything refusable is refused here, before the first request ----------------

    def _start(
        self,
        to: str | Iterable[str],
        text: str,
        progress: Progress | None,
        options: SendOptions,
        rows: Sequence[Mapping[str, str]] | None = None,
    ) -> SendRun:
        return start_send(
            self.endpoint,
            to,
            text,
            gateway_region=self.region,
            progress=progress,
            recorder=self.recorder,
            rows=rows,
            routing=self.routing,
            **options,
        )

    def _start_personalised(
        self,
        rows: Sequence[Mapping[str, str]],
        template: str,
        progress: Progress | None,
        options: SendOptions,
    ) -> SendRun:
        return self._start((), template, progress, options, rows)

    # -- the other operations, each an exchange the twins drive -------------------------------

    def _able(self, ability: str, action: str) -> Provider:
        """The provider, once it is known to declare the ability (else Unsupported)."""
        require(self.endpoint.provider, ability, action)
        return self.endpoint.provider

    def _info(self) -> Exchange[AccountInfo]:
        provider = cast(Credits, self._able("credits", "tell an account's credits"))
        info = yield from provider.account()
        info.sandbox = self.endpoint.sandbox
        return info

    def _receipts(self, campaign_id: str) -> Exchange[list[Receipt]]:
        provider = cast(ReceiptsPull, self._able("receipts_pull", "hand out a campaign's receipts"))
        return (yield from provider.receipts(campaign_id))

    def _replies(self) -> Exchange[list[Reply]]:
        provider = cast(RepliesPull, self._able("replies_pull", "hand out replies"))
        return (yield from provider.replies())

    def _opt_outs(self) -> Exchange[list[OptOut]]:
        provider = cast(OptOutsPull, self._able("opt_outs_pull", "list its opted-out numbers"))
        return (yield from provider.opt_outs())

    def _cancel(self, campaign_id: str) -> Exchange[None]:
        provider = cast(Cancel, self._able("cancel", "cancel a scheduled send"))
        yield from provider.cancel(campaign_id)

    def _lookup(self, provider_message_id: str) -> Exchange[Receipt]:
        provider = cast(Lookup, self._able("lookup", "look up one message"))
        return (yield from provider.lookup(provider_message_id))

    def _search(self, query: MessageQuery, failed: bool) -> Exchange[list[ProviderMessage]]:
        provider = cast(Search, self._able("search", "search its messages"))
        return (yield from provider.search(query, failed=failed))

    def _inbound(self, query: MessageQuery | None) -> Exchange[list[ProviderMessage]]:
        provider = cast(Inbound, self._able("inbound", "list unread incoming messages"))
        return (yield from provider.inbound(query or MessageQuery()))

    def _scheduled(self) -> Exchange[list[ProviderMessage]]:
        provider = cast(Search, self._able("search", "list scheduled messages"))
        return (yield from provider.scheduled())

    def _batch_messages(self, batch_id: str) -> Exchange[list[ProviderMessage]]:
        provider = cast(Search, self._able("search", "list a batch's messages"))
        return (yield from provider.batch_messages(batch_id))

    def _delete(self, provider_message_id: str) -> Exchange[None]:
        provider = cast(Delete, self._able("delete", "delete a message"))
        yield from provider.delete(provider_message_id)

    def _customer_id(self) -> Exchange[str]:
        provider = cast(CustomerId, self._able("customer_id", "tell the account's customer id"))
        return (yield from provider.customer_id())
