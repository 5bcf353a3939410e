"""An action a provider cannot do is refused before any request, naming the providers that can.

Never a silent no-op, never a half-done emulation: what a provider can do is its
:class:`~smsgate.providers.Capabilities`, declared once in its module, and a provider has the
methods of an optional operation exactly when it declares the ability.
"""

from __future__ import annotations

from smsgate.core.errors import Unsupported
from smsgate.providers import REGISTRY, Provider, providers_that


def providers_fitting(chars: int, but: str) -> str:
    """Which other providers take a text of this many characters, with their limits."""
    fits = sorted(
        (entry.capabilities.max_text_chars, name)
        for name, entry in REGISTRY.items()
        if name != but and (entry.capabilities.max_text_chars or chars) >= chars
    )
    if not fits:
        return "no provider smsgate knows takes that many"
    return ", ".join(f"{name} takes up to {limit}" for limit, name in fits) + " characters"


def require(provider: Provider, ability: str, action: str) -> None:
    if getattr(provider.capabilities, ability):
        return
    able_ones = [name for name in providers_that(ability) if name != provider.name]
    who = f"{', '.join(able_ones)} can" if able_ones else "no provider smsgate knows can"
    raise Unsupported(f"{provider.name} cannot {action}; {who}: use a DSN for one of those")
