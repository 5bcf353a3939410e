"""From a DSN to a provider and how to reach it (including trial mode and the sandbox)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Protocol

import httpx

from smsgate import settings
from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError
from smsgate.core.recipients import check_region
from smsgate.providers import REGISTRY, Provider, check_options, provider_from_dsn

SANDBOX_DSN: Final = settings.DSN.default
# The embedded sandbox is loaded by name: it is a plug-in of the gateway, not a layer under it.
EMBEDDED_SANDBOX_MODULE: Final = "smsgate.sandbox.embedded"


class EmbeddedSandbox(Protocol):
    DSN: str

    def keep_in(self, folder: Path | None) -> None: ...

    def transport(self) -> httpx.BaseTransport: ...

    def async_transport(self) -> httpx.AsyncBaseTransport: ...


@dataclass
class Endpoint:
    """Where sends go: the provider, and for the embedded sandbox the in-process transports."""

    provider: Provider
    sandbox: bool = False
    trial: bool = False
    embedded: EmbeddedSandbox | None = None
    default_sender: str | None = None
    """The DSN's ``?from=``: the sender of a send that names none."""
    account: str | None = None
    """The account the sends go through (``Dsn.account()``), as the store keeps it."""
    rate_limit: tuple[int, float] | None = None
    """The DSN's ``?rate=CALLS/SECONDSs``: a call budget tighter (or looser) than the
    provider's own, e.g. for an account whose contract says so."""

    def client(self, timeout: httpx.Timeout) -> httpx.Client:
        transport = self.embedded.transport() if self.embedded else None
        return httpx.Client(transport=transport, timeout=timeout, limits=_LIMITS)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """aiohttp underneath (see :mod:`smsgate.gateway.aiohttp_transport`), loaded only by
        what sends over asyncio."""
        if self.embedded:
            return self.embedded.async_transport()
        from smsgate.gateway.aiohttp_transport import AiohttpTransport

        return AiohttpTransport(_LIMITS)


# Idle connections are dropped well before servers usually close them (5 s), so that a send
# never goes out on a connection the server is closing, which would leave its outcome unknown.
_LIMITS: Final = httpx.Limits(max_connections=20, keepalive_expiry=2.0)


SANDBOX: Final = "sandbox"
"""The account of the embedded sandbox (its state lasts in the data directory, unless
``sandbox://?ephemeral=true``)."""
EPHEMERAL: Final = "ephemeral"


def plain_endpoint(dsn: str) -> Endpoint:
    """The endpoint a DSN names as it is: blank credentials are not swapped for the trial
    account (checking a user's own credentials)."""
    return _plain(Dsn.parse(dsn), None)


def _rate(dsn: Dsn) -> tuple[int, float] | None:
    """``?rate=100/60s`` (or ``/60``, ``/1m``): at most 100 calls in any 60 seconds."""
    text = dsn.options.get("rate")
    if not text:
        return None
    found = re.fullmatch(r"(\d+)/(\d+(?:\.\d+)?)([sm]?)", text.strip().lower())
    parsed = (0, 0.0)
    if found:
        scale = 60.0 if found[3] == "m" else 1.0
        parsed = (int(found[1]), float(found[2]) * scale)
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ConfigurationError(
            f"the DSN option rate={text!r} is not a rate: write it as CALLS/SECONDS, "
            "e.g. rate=100/60s"
        )
    return parsed


def _plain(dsn: Dsn, env: Mapping[str, str] | None) -> Endpoint:
    sender = dsn.options.get("from") or None
    if dsn.scheme == "sandbox":
        check_options(dsn, frozenset({EPHEMERAL}))
        embedded: EmbeddedSandbox = importlib.import_module(EMBEDDED_SANDBOX_MODULE)
        answer = dsn.options.get(EPHEMERAL, "false").strip().lower()
        if answer not in ("true", "false", "1", "0"):
            raise ConfigurationError(
                f"the DSN option {EPHEMERAL}={dsn.options[EPHEMERAL]!r} is not a yes or no: "
                "write sandbox://?ephemeral=true (keep nothing) or leave it out"
            )
        embedded.keep_in(None if answer in ("true", "1") else settings.data_dir(env))
        provider = provider_from_dsn(Dsn.parse(embedded.DSN))
        return Endpoint(
            provider, sandbox=True, embedded=embedded, default_sender=sender, account=SANDBOX
        )
    return Endpoint(
        provider_from_dsn(dsn), default_sender=sender, account=dsn.account(), rate_limit=_rate(dsn)
    )


def receipts_asked(dsn: Dsn, env: Mapping[str, str] | None) -> Dsn:
    """The DSN with the option that tells its provider where to POST receipts, from
    ``SMSGATE_PUBLIC_URL`` (``{url}/webhooks/{provider}/{first webhook secret}``), when the
    provider takes one and the DSN leaves it out."""
    public = settings.PUBLIC_URL.read(env)
    entry = REGISTRY.get(dsn.scheme)
    option = entry.receipts_option if entry else None
    if not public or option is None or option in dsn.options:
        return dsn
    settings.PUBLIC_URL.validate(public)
    secrets = settings.split_list(settings.WEBHOOK_SECRETS.read(env))
    if not secrets:
        raise ConfigurationError(
            f"{settings.PUBLIC_URL.name} is set but {settings.WEBHOOK_SECRETS.name} is not: "
            "the receipts' path needs a secret; set both, or neither"
        )
    url = f"{public.rstrip('/')}/webhooks/{dsn.scheme}/{secrets[0]}"
    return replace(dsn, options={**dsn.options, option: url})


def resolve_endpoint(dsn: str | None = None, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint for a DSN, else the ``SMSGATE_DSN`` setting, else the embedded sandbox.

    Blank credentials mean trial mode: the sends go through the operator's trial account
    (the ``SMSGATE_TRIAL_DSN`` setting) and the endpoint says trial.
    """
    text = dsn or settings.DSN.read(env)
    endpoint = _plain(receipts_asked(Dsn.parse(text), env), env)
    if not endpoint.provider.trial:
        return endpoint
    if not endpoint.provider.capabilities.trial:
        raise ConfigurationError(
            f"the DSN {Dsn.parse(text).masked()} has no credentials: give them in the DSN"
        )
    trial_dsn = settings.TRIAL_DSN.read(env)
    if not trial_dsn:
        raise ConfigurationError(
            "blank login or API key means trial mode, and no trial account is configured: "
            f"set {settings.TRIAL_DSN.name} (e.g. allmysms://LOGIN:APIKEY@default) "
            "or give credentials"
        )
    trial = _plain(Dsn.parse(trial_dsn), env)
    if trial.provider.trial:
        raise ConfigurationError(f"{settings.TRIAL_DSN.name} must name an account with credentials")
    trial.trial = True
    trial.default_sender = endpoint.default_sender or trial.default_sender
    return trial


def default_region(region: str | None, env: Mapping[str, str] | None = None) -> str:
    return check_region(region or settings.DEFAULT_REGION.read(env))
