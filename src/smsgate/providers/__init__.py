"""One module per provider; the registry lists them, one line each.

A provider module holds everything the gateway must know about that provider (its
capabilities, sender rule, rate key, status tables, webhook reading, and only the operations it
can do) and ends with its ``PROVIDER`` registration. Adding one: ``docs/adding-a-provider.md``.
"""

from __future__ import annotations

from typing import Final

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError
from smsgate.providers import allmysms, messangi, smsworks
from smsgate.providers.base import (
    Batch,
    BatchOutcome,
    Capabilities,
    Exchange,
    Provider,
    Registration,
)

REGISTRY: Final[dict[str, Registration]] = {
    entry.name: entry
    for entry in (
        allmysms.PROVIDER,
        messangi.PROVIDER,
        smsworks.PROVIDER,
    )
}
"""Every provider by its DSN scheme."""


def providers_that(ability: str) -> list[str]:
    """The providers that declare an ability, for a refusal that names who can."""
    return sorted(
        name for name, entry in REGISTRY.items() if getattr(entry.capabilities, ability, False)
    )


def provider_from_dsn(dsn: Dsn) -> Provider:
    entry = REGISTRY.get(dsn.scheme)
    if entry is None:
        known = ", ".join(sorted([*REGISTRY, "sandbox"]))
        raise ConfigurationError(
            f"unknown provider {dsn.scheme!r} in the DSN {dsn.masked()}: use one of {known}"
        )
    check_options(dsn, entry.options)
    return entry.from_dsn(dsn)


GATEWAY_OPTIONS: Final = frozenset({"from", "rate"})
"""DSN options every provider takes, read by the gateway: ``from`` is the default sender
(Symfony Notifier's form); ``rate`` a call budget (``rate=100/60s``)."""


def check_options(dsn: Dsn, known: frozenset[str]) -> None:
    """Refuse an option nobody reads: a typo (``?batchsize=``) must not pass silently."""
    allowed = known | GATEWAY_OPTIONS
    unknown = sorted(set(dsn.options) - allowed)
    if unknown:
        raise ConfigurationError(
            f"unknown option {unknown[0]!r} in the DSN {dsn.masked()}: "
            f"{dsn.scheme} takes {', '.join(sorted(allowed))}"
        )


__all__ = [
    "REGISTRY",
    "Batch",
    "BatchOutcome",
    "Capabilities",
    "Exchange",
    "Provider",
    "Registration",
    "provider_from_dsn",
    "providers_that",
]
