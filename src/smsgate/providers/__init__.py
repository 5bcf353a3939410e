"""One module per provider. The registry maps a DSN scheme to the provider that serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError
from smsgate.providers.allmysms import AllMySms
from smsgate.providers.base import Batch, BatchOutcome, Capabilities, Exchange, Provider

PROVIDERS: Final[dict[str, Callable[[Dsn], Provider]]] = {
    "allmysms": AllMySms.from_dsn,
}


def provider_from_dsn(dsn: Dsn) -> Provider:
    factory = PROVIDERS.get(dsn.scheme)
    if factory is None:
        known = ", ".join(sorted([*PROVIDERS, "sandbox"]))
        raise ConfigurationError(
            f"unknown provider {dsn.scheme!r} in the DSN {dsn.masked()}: use one of {known}"
        )
    return factory(dsn)


__all__ = [
    "PROVIDERS",
    "Batch",
    "BatchOutcome",
    "Capabilities",
    "Exchange",
    "Provider",
    "provider_from_dsn",
]
