"""Data source names: one URL says which provider, which account and which endpoint.

``scheme[+transport]://USER:PASSWORD@HOST[:PORT][?option=value]``. The password is held as a
:class:`Secret`, and the user part is a credential too (Messangi's key, The SMS Works' token):
:meth:`Dsn.masked` shows neither, and is the only form fit for messages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from smsgate.core.errors import ConfigurationError
from smsgate.core.secret import MASK, Secret


@dataclass(frozen=True)
class Dsn:
    scheme: str
    transport: str | None
    user: str
    password: Secret
    host: str
    port: int | None
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Dsn:
        raw = text.strip()
        if "://" not in raw:
            raise ConfigurationError(  # not echoed: it may be a bare key or token
                "the DSN given has no scheme (no '://'): write it as "
                "allmysms://LOGIN:APIKEY@default or sandbox://"
            )
        parts = urlsplit(raw)
        scheme, _, transport = parts.scheme.lower().partition("+")
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError(
                f"the DSN {_mask_raw(raw)!r} has a port that is not a number: fix the port"
            ) from None
        return cls(
            scheme=scheme,
            transport=transport or None,
            user=unquote(parts.username or ""),
            password=Secret(unquote(parts.password or "")),
            host=(parts.hostname or ""),
            port=port,
            options=dict(parse_qsl(parts.query)),
        )

    def origin(self, default: str) -> str:
        """Where the provider is: ``default`` for @default, else HTTPS (or HTTP with
        ``+http``) to the host and port the DSN names."""
        if self.transport not in (None, "http", "https"):
            raise ConfigurationError(
                f"unknown transport {self.transport!r} in {self.masked()}: use {self.scheme}:// "
                f"or {self.scheme}+http://"
            )
        if not self.host:
            raise ConfigurationError(f"the DSN {self.masked()} has no host: use @default")
        if self.host == "default":
            return default
        port = f":{self.port}" if self.port else ""
        return f"{self.transport or 'https'}://{self.host}{port}"

    def credential(self, what: str, placeholder: str) -> str:
        """The one secret of a provider that takes one (an API key, a token)."""
        value = self.user or self.password.reveal()
        if not value:
            raise ConfigurationError(
                f"the DSN {self.masked()} has no {what}: write {self.scheme}://{placeholder}@default"
            )
        return value

    def int_option(self, name: str, default: int, highest: int | None = None) -> int:
        raw = self.options.get(name, str(default))
        if not raw.isdigit() or int(raw) < 1 or (highest is not None and int(raw) > highest):
            limit = f"1 to {highest}" if highest is not None else "a positive number"
            raise ConfigurationError(f"{name}={raw!r} in the DSN must be {limit}")
        return int(raw)

    def masked(self) -> str:
        """The DSN as it may be shown: every credential (user and password) masked."""
        scheme = self.scheme + (f"+{self.transport}" if self.transport else "")
        credentials = ""
        if self.user or self.password:
            user = MASK if self.user else ""
            credentials = user + (f":{MASK}" if self.password else "") + "@"
        port = f":{self.port}" if self.port is not None else ""
        return f"{scheme}://{credentials}{self.host}{port}"

    def account(self) -> str:
        """Which account this DSN sends through, as the store may keep it: the scheme and a
        fingerprint of the credentials and host (never the credentials), so that a later
        command can tell whether a DSN it is given reaches the same account."""
        identity = f"{self.scheme}\n{self.user}\n{self.password.reveal()}\n{self.host}:{self.port}"
        return f"{self.scheme}:{hashlib.sha256(identity.encode()).hexdigest()[:16]}"

    def __repr__(self) -> str:
        return f"Dsn({self.masked()!r})"

    __str__ = masked


def _mask_raw(raw: str) -> str:
    """Mask the whole user part (between '//' and the last '@') of text that did not parse."""
    head, at, tail = raw.rpartition("@")
    if not at:
        return raw
    scheme, sep, _ = head.rpartition("//")
    return f"{scheme}{sep}{MASK}@{tail}"
