"""Routes: which providers a send may go through, in what order, by destination.

A route is one DSN, or several joined the way Symfony Notifier joins transports:
``A || B`` is failover (B takes a batch only when A provably did not send it), ``A && B`` is
round robin (batches spread across the providers, each still failing over to the others).
A route table maps number prefixes to routes (the routes setting): ``+33 = allmysms://...;
+44 = smsworks://...; * = A || B || C``, or the same as TOML. Pure text rules: nothing here
reaches a provider or the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError


class RouteMode(StrEnum):
    SINGLE = "single"
    FAILOVER = "failover"
    ROUND_ROBIN = "round robin"


_OPERATORS: Final = {"||": RouteMode.FAILOVER, "&&": RouteMode.ROUND_ROBIN}
_SPLIT: Final = re.compile(r"\s*(\|\||&&)\s*")
DEFAULT_PREFIX: Final = "*"
"""The route of every number no prefix of the table matches."""


@dataclass(frozen=True)
class Route:
    """One or more DSNs and how a send spreads over them."""

    mode: RouteMode
    dsns: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Route:
        """``A``, ``A || B || C`` or ``A && B``; refuses a mix of both operators (say which
        one you mean: the two read differently in every tool that has them)."""
        pieces = _SPLIT.split(text.strip())
        dsns = tuple(piece.strip() for piece in pieces[::2])
        operators = set(pieces[1::2])
        if any(not dsn for dsn in dsns):
            raise ConfigurationError(
                "a route has an empty provider around '||' or '&&': write it as "
                "messangi://KEY@default || smsworks://TOKEN@default"
            )
        if len(operators) > 1:
            raise ConfigurationError(
                "a route mixes '||' (failover) and '&&' (round robin): use one of them; "
                "round robin already fails over to the other providers"
            )
        for dsn in dsns:
            Dsn.parse(dsn)  # each member is a DSN (the error says which part is wrong)
        mode = _OPERATORS[operators.pop()] if operators else RouteMode.SINGLE
        return cls(mode, dsns)

    @property
    def multiple(self) -> bool:
        return len(self.dsns) > 1

    def masked(self) -> str:
        """The route as it may be shown: every credential masked."""
        joiner = " && " if self.mode is RouteMode.ROUND_ROBIN else " || "
        return joiner.join(Dsn.parse(dsn).masked() for dsn in self.dsns)

    def __repr__(self) -> str:
        return f"Route({self.masked()!r})"


def is_route(text: str) -> bool:
    """True when the text joins several DSNs (a plain DSN takes the fast, single path)."""
    return "||" in text or "&&" in text


@dataclass(frozen=True)
class RouteTable:
    """Number prefixes (international digits, no '+') to routes; the longest prefix wins."""

    routes: tuple[tuple[str, Route], ...]
    """(prefix, route), longest prefix first; the default's prefix is ''."""

    @classmethod
    def parse(cls, text: str) -> RouteTable:
        """``PREFIX = ROUTE`` entries, one per line or separated by ';' (``*`` or
        ``default`` is every other number), or a TOML table of the same (``[routes]``
        optional)."""
        entries = _toml_entries(text)
        if entries is None:
            entries = []
            for raw in re.split(r"[;\n]", text):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                prefix, equals, route = line.partition("=")
                if not equals:
                    raise ConfigurationError(
                        f"the route entry {line.split('://')[0]!r}... has no '=': write "
                        "PREFIX = DSN, e.g. +33 = allmysms://LOGIN:KEY@default"
                    )
                entries.append((prefix.strip(), route.strip()))
        routes: dict[str, Route] = {}
        for prefix, route in entries:
            key = _prefix(prefix)
            if key in routes:
                raise ConfigurationError(f"the routes name the prefix {prefix!r} twice: keep one")
            routes[key] = Route.parse(route)
        if not routes:
            raise ConfigurationError("the routes are empty: give PREFIX = DSN entries")
        ordered = sorted(routes.items(), key=lambda item: -len(item[0]))
        return cls(tuple(ordered))

    def prefix_for(self, number: str) -> str | None:
        for prefix, _ in self.routes:
            if number.startswith(prefix):
                return prefix
        return None

    def masked(self) -> list[tuple[str, str]]:
        """(prefix as written, route with credentials masked), for ``smsgate routes``."""
        return [(f"+{p}" if p else DEFAULT_PREFIX, r.masked()) for p, r in self.routes]


def _prefix(text: str) -> str:
    """``+33``, ``33`` → ``33``; ``*`` or ``default`` → ``''`` (matches every number)."""
    raw = text.strip().strip('"').strip()
    if raw in (DEFAULT_PREFIX, "default"):
        return ""
    digits = raw.removeprefix("+").replace(" ", "")
    if not digits.isdigit():
        raise ConfigurationError(
            f"the route prefix {raw!r} is not a number prefix: write it as +33, 33 or *"
        )
    return digits


def _toml_entries(text: str) -> list[tuple[str, str]] | None:
    """The entries of a TOML route table, or None when the text is not TOML of that shape."""
    import tomllib  # only a route table loads it: start-up time is a feature

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    table = data.get("routes", data)
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        return None
    return [(str(k), str(v)) for k, v in table.items()]
