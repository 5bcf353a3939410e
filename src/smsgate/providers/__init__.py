"""One module per provider. The registry maps a DSN scheme to the provider that serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError
from smsgate.providers import allmysms, messangi, smsworks
from smsgate.providers.allmysms import AllMySms
from smsgate.providers.base import Batch, BatchOutcome, Capabilities, Exchange, Provider

PROVIDERS: Final[dict[str, Callable[[Dsn], Provider]]] = {
    allmysms.NAME: AllMySms.from_dsn,
    messangi.NAME: messangi.Messangi.from_dsn,
    smsworks.NAME: smsworks.SmsWorks.from_dsn,
}
CAPABILITIES: Final[dict[str, Capabilities]] = {
    allmysms.NAME: allmysms.CAPABILITIES,
    messangi.NAME: messangi.CAPABILITIES,
    smsworks.NAME: smsworks.CAPABILITIES,
}
"""What each provider can do, for telling a user which providers can do what one cannot."""


def providers_that(ability: str) -> list[str]:
    return sorted(name for name, caps in CAPABILITIES.items() if getattr(caps, ability, False))


def provider_from_dsn(dsn: Dsn) -> Provider:
    factory = PROVIDERS.get(dsn.scheme)
    if factory is None:
        known = ", ".join(sorted([*PROVIDERS, "sandbox"]))
        raise ConfigurationError(
            f"unknown provider {dsn.scheme!r} in the DSN {dsn.masked()}: use one of {known}"
        )
    return factory(dsn)


__all__ = [
    "CAPABILITIES",
    "PROVIDERS",
    "Batch",
    "BatchOutcome",
    "Capabilities",
    "Exchange",
    "Provider",
    "provider_from_dsn",
    "providers_that",
]
