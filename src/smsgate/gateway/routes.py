"""Routes resolved: each provider account of a route with its call budget and its health.

A send over a route (``A || B``, ``A && B``, or a prefix table in ``SMSGATE_ROUTES``) plans
its batches once; :mod:`smsgate.gateway.plan` asks :class:`Routing` which member takes each
batch, and which takes it next when one provably did not send it. The health kept here is
this process's: a member that failed ``FAILURES`` of its last ``WINDOW`` requests is tried
after the others for ``COOL_OFF`` seconds, then trusted again.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Final

from smsgate import settings
from smsgate.core.route import Route, RouteMode, RouteTable, is_route
from smsgate.gateway.endpoint import Endpoint, resolve_endpoint
from smsgate.gateway.ratelimit import Budgets, Limiter, limiter_for

WINDOW: Final = 20
FAILURES: Final = 5
COOL_OFF: Final = 60.0
"""A member that failed 5 of its last 20 requests is tried last for 60 s."""
RECENT_ERRORS: Final = 5
SLOW_DELIVERY: Final = 600.0
"""A member whose median delivery (request to receipt) over its last deliveries is slower
than this is tried last for ``COOL_OFF`` seconds."""
DELIVERY_SAMPLES: Final = 20
"""Deliveries needed before they are judged (fewer say nothing yet)."""


class Health:
    """How a member fared in its last requests (thread-safe: a service's loops share it)."""

    def __init__(self) -> None:
        self._outcomes: deque[bool] = deque(maxlen=WINDOW)
        self._latencies: deque[float] = deque(maxlen=WINDOW * 5)
        self._errors: deque[tuple[float, str]] = deque(maxlen=RECENT_ERRORS)
        self._demoted_until = 0.0
        self._delivery: float | None = None
        self._lock = threading.Lock()

    def record(self, ok: bool, seconds: float | None, error: str | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            self._outcomes.append(ok)
            if seconds is not None:
                self._latencies.append(seconds)
            if not ok:
                self._errors.append((time.time(), error or "failed"))
                if sum(1 for o in self._outcomes if not o) >= FAILURES:
                    self._demoted_until = now + COOL_OFF
                    self._outcomes.clear()  # restored after the cool-off with a clean slate

    def judge_deliveries(self, seconds: Sequence[float], slow: float = SLOW_DELIVERY) -> bool:
        """Demote the member when its median delivery time is slower than ``slow``
        (receipts, read from the store); True when it did."""
        self._delivery = statistics.median(seconds) if seconds else None
        if len(seconds) < DELIVERY_SAMPLES or self._delivery is None or self._delivery <= slow:
            return False
        with self._lock:
            self._demoted_until = time.monotonic() + COOL_OFF
            self._errors.append(
                (time.time(), f"deliveries slow: median {self._delivery:.0f} s over {len(seconds)}")
            )
        return True

    def demoted(self) -> bool:
        return time.monotonic() < self._demoted_until

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            latencies = sorted(self._latencies)
            failed = sum(1 for o in self._outcomes if not o)
            left = self._demoted_until - time.monotonic()
            return {
                "state": "demoted" if left > 0 else "healthy",
                "demoted_for_seconds": round(left, 1) if left > 0 else None,
                "requests": len(self._outcomes),
                "failed": failed,
                "recent_errors": [
                    {"at": datetime.fromtimestamp(at, UTC).isoformat(), "error": error}
                    for at, error in reversed(self._errors)
                ],
                "latency_ms": _percentiles(latencies),
                "delivery_median_seconds": (
                    round(self._delivery, 1) if self._delivery is not None else None
                ),
            }


def _percentiles(latencies: list[float]) -> dict[str, float] | None:
    if not latencies:
        return None
    if len(latencies) == 1:
        only = round(latencies[0] * 1000, 1)
        return {"p50": only, "p95": only, "p99": only}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        name: round(cuts[q - 1] * 1000, 1) for name, q in (("p50", 50), ("p95", 95), ("p99", 99))
    }


@dataclass(eq=False)
class Member:
    """One provider account of a route."""

    endpoint: Endpoint
    label: str
    """The provider's name; ``name#2`` when a route names the same provider twice."""
    limiter: Limiter | None
    health: Health = field(default_factory=Health)

    @property
    def name(self) -> str:
        return self.endpoint.provider.name


class RouteMembers:
    """One route's members, and the order a batch tries them in."""

    def __init__(self, route: Route, members: Sequence[Member]) -> None:
        self.route = route
        self.mode = route.mode
        self.members = list(members)
        self._turn = count()

    def order(self, *, turn: bool = True) -> list[Member]:
        """Failover: in the route's order; round robin: starting one further each time a
        batch takes its turn (``turn=False`` asks without taking one). Demoted members come
        after the healthy ones either way."""
        members = self.members
        if turn and self.mode is RouteMode.ROUND_ROBIN and len(members) > 1:
            start = next(self._turn) % len(members)
            members = members[start:] + members[:start]
        healthy = [m for m in members if not m.health.demoted()]
        return healthy + [m for m in members if m.health.demoted()]


class Routing:
    """Every route a gateway sends through: by number prefix, else its one route."""

    def __init__(self, routes: Sequence[tuple[str, RouteMembers]]) -> None:
        self.routes = list(routes)
        """(prefix in international digits, '' for every number), longest first."""

    def route_for(self, number: str) -> tuple[str, RouteMembers] | None:
        for prefix, members in self.routes:
            if number.startswith(prefix):
                return prefix, members
        return None

    def members(self) -> Iterator[Member]:
        seen: set[int] = set()
        for _, route in self.routes:
            for member in route.members:
                if id(member) not in seen:
                    seen.add(id(member))
                    yield member

    def describe(self) -> str:
        """The routes as a report names them (no credential)."""
        if len(self.routes) == 1:
            return _joined(self.routes[0][1])
        return "; ".join(f"+{p}: {_joined(r)}" if p else f"*: {_joined(r)}" for p, r in self.routes)


def _joined(route: RouteMembers) -> str:
    joiner = " && " if route.mode is RouteMode.ROUND_ROBIN else " || "
    return joiner.join(m.label for m in route.members)


def _table_text(value: str) -> str:
    """The table itself, or the text of the TOML file it names (``routes.toml``)."""
    if "=" in value or not value.endswith(".toml"):
        return value
    try:
        with open(value, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        from smsgate.core.errors import ConfigurationError

        raise ConfigurationError(
            f"{settings.ROUTES.name} names {value!r}, which cannot be read "
            f"({error.strerror}): fix the path or give the routes inline"
        ) from None


def routing_for(
    dsn: str | None, env: Mapping[str, str] | None, budgets: Budgets | None
) -> Routing | None:
    """The routing a DSN (``A || B``) or the ``SMSGATE_ROUTES`` table asks for; None for
    one plain DSN, which keeps the single-provider path."""
    text = dsn or settings.DSN.read(env)
    table_text = "" if dsn else settings.ROUTES.read(env)
    if table_text:
        table = RouteTable.parse(_table_text(table_text))
    elif is_route(text):
        table = RouteTable((("", Route.parse(text)),))
    else:
        return None
    by_dsn: dict[str, Member] = {}
    labels: dict[str, int] = {}
    routes = []
    for prefix, route in table.routes:
        members = []
        for member_dsn in route.dsns:
            member = by_dsn.get(member_dsn)
            if member is None:
                endpoint = resolve_endpoint(member_dsn, env)
                name = endpoint.provider.name
                labels[name] = labels.get(name, 0) + 1
                label = name if labels[name] == 1 else f"{name}#{labels[name]}"
                limiter = limiter_for(endpoint.provider, endpoint.rate_limit, budgets)
                member = by_dsn[member_dsn] = Member(endpoint, label, limiter)
            members.append(member)
        routes.append((prefix, RouteMembers(route, members)))
    return Routing(routes)
