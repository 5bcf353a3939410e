"""What every provider emulator is to the sandbox: routes, a demo account, receipt timing.

An emulator package (``sandbox/<name>/``) holds its routes at the provider's real paths, its
control routes under ``/sandbox/<name>/``, its settings and its state, and ends with its
``EMULATOR`` registration; the sandbox's app loops over the registered ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, urlencode

from starlette.routing import BaseRoute

from smsgate.sandbox.calls import Calls
from smsgate.sandbox.faults import Faults
from smsgate.sandbox.inbox import Inbox, InboxMessage
from smsgate.sandbox.keep import Keep


@dataclass
class Shared:
    """What every emulator writes to: the one inbox, the injected faults, the calls counted,
    and the keep their state lasts in."""

    keep: Keep = field(default_factory=Keep)
    inbox: Inbox = field(init=False)
    faults: Faults = field(default_factory=Faults)
    calls: Calls = field(default_factory=Calls)

    def __post_init__(self) -> None:
        self.inbox = Inbox(keep=self.keep)


class Emulator(Protocol):
    name: str

    def routes(self) -> list[BaseRoute]:
        """The provider's API at its real paths, and the emulator's own under /sandbox/<name>/."""
        ...

    def demo_dsn(self, host: str, port: int) -> str:
        """The DSN of this emulator's demo account at host:port (plain HTTP)."""
        ...

    def set_receipt_delay(self, seconds: float) -> None:
        """Seconds between an accepted SMS and its final receipt."""
        ...

    def restore(self) -> None:
        """Its accounts and records as the sandbox's keep holds them: once, before it serves,
        after the inbox (its records point at the inbox's messages)."""
        ...

    def resume(self) -> None:
        """On the event loop, once: what was pending when the sandbox stopped goes on (a
        receipt that fell due meanwhile comes now; a held send waits on for its time)."""
        ...


class Handset(Protocol):
    """What an emulator lets the inbox page do as the network and the recipient would
    (optional: an emulator without it shows its messages, with no buttons)."""

    replies: bool
    """Whether its recipients can answer (the provider has an inbound flow)."""

    async def settle(self, message: InboxMessage, outcome: str) -> bool:
        """Its final receipt now: ``deliver``, ``fail`` or ``expire`` (False: it has one)."""
        ...

    async def reply_to(self, message: InboxMessage, text: str) -> bool:
        """The recipient answers, through the provider's inbound flow and webhooks."""
        ...

    def account_list(self) -> list[dict[str, object]]:
        """Its accounts as the inbox page lists them: name and credits (None: unmetered)."""
        ...


@dataclass(frozen=True)
class EmulatorRegistration:
    name: str
    build: Callable[[Shared], Emulator]
    client_dsn: Callable[..., str]
    """(host, port, **options) -> a DSN for a client of a running sandbox's demo account."""


def sandbox_dsn(scheme: str, credentials: str, host: str, port: int, **options: str) -> str:
    """A DSN for one of the emulators at host:port (plain HTTP)."""
    query = "?" + urlencode(options) if options else ""
    return f"{scheme}+http://{quote(credentials, safe=':')}@{host}:{port}{query}"
