"""The provider interface: small enough that a test double is a dozen lines.

Providers are *sans-IO*: an operation is a generator that yields the ``httpx.Request`` it needs
and receives the ``httpx.Response``; it returns a core result. The gateway drives it with a sync
or an async client and owns every network decision (retries, timeouts, what 'unknown' means),
so the same provider code serves both and no provider can retry on its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import httpx

from smsgate.core.dsn import Dsn
from smsgate.core.message import Message
from smsgate.core.receipts import OptOut, Receipt, Reply
from smsgate.core.recipients import Recipient
from smsgate.core.remote import MessageQuery, ProviderMessage
from smsgate.core.report import AccountInfo, RecipientResult, RequestRecord
from smsgate.core.sender import SenderRule

T = TypeVar("T")
Exchange = Generator[httpx.Request, httpx.Response, T]


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do and its limits, declared in one place per provider."""

    max_recipients_per_request: int
    max_text_chars: int | None
    sender: SenderRule
    """Which senders the provider accepts, checked before anything is sent."""
    concurrency: int = 1
    """Requests of one send in flight at once (pipelining single-recipient sends)."""
    schedule: bool = False
    cancel: bool = False
    credits: bool = False
    trial: bool = False
    receipts_pull: bool = False
    replies_pull: bool = False
    opt_outs_pull: bool = False
    """Read the numbers the provider itself keeps from being sent to (their STOP replies)."""
    lookup: bool = False
    """Read one message's current status from the provider."""
    flash: bool = False
    flash_batch: bool = True
    """False: a flash SMS goes to one recipient per request."""
    search: bool = False
    """List messages by status, number, sender, dates (and failed ones)."""
    inbound: bool = False
    """Read the unread incoming messages."""
    delete: bool = False
    customer_id: bool = False
    personalised: int = 0
    """Recipients per request of a personalised send (a text per recipient); 0: none."""
    personalised_schedule: bool = False
    rate_limit: tuple[int, float] | None = None
    """At most this many calls per so many seconds, for every worker of one process."""


@dataclass(frozen=True)
class Batch:
    """One request's worth of recipients for one message."""

    message: Message
    recipients: Sequence[Recipient]
    reference: str = ""
    """Our reference for this request, sent where the API takes one (AllMySMS CLIMSGID)."""
    message_ids: Sequence[str] = ()
    """Our id of each recipient's message, in the order of ``recipients``."""
    params: Sequence[tuple[str, ...]] = ()
    """Personalised sends: each recipient's values for ``message.template``'s columns."""
    texts: Sequence[str] = ()
    """Personalised sends: each recipient's text, written out."""

    def text_of(self, index: int) -> str:
        return self.texts[index] if self.texts else self.message.text


@dataclass
class BatchOutcome:
    results: list[RecipientResult]
    """One per recipient, in the order of ``Batch.recipients``."""
    request: RequestRecord
    credits_used: float | None = None
    credits_left: float | None = None
    stop: str | None = field(default=None)
    """Set when the refusal applies to every later batch too (credentials, credit, text):
    the gateway then sends no more and says why."""


def json_request(
    method: str, url: httpx.URL | str, authorization: str, body: Any = None
) -> httpx.Request:
    """A request to a JSON API (Messangi, The SMS Works): compact UTF-8 JSON, if any body."""
    headers = {"Authorization": authorization}
    if body is None:
        return httpx.Request(method, url, headers=headers)
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers["Content-Type"] = "application/json"
    return httpx.Request(method, url, headers=headers, content=content)


class BaseProvider:
    """Defaults every provider shares; a provider overrides what differs."""

    name: str
    capabilities: Capabilities

    @property
    def trial(self) -> bool:
        """True when the account is blank and trial mode applies (AllMySMS only)."""
        return False

    @property
    def rate_key(self) -> str:
        """Which calls share one rate budget (``Capabilities.rate_limit``): by default every
        call to this provider; a provider whose limit is per account names the account."""
        return self.name


class Provider(Protocol):
    """What every provider does. What only some do is an optional operation below."""

    name: str
    capabilities: Capabilities

    @property
    def trial(self) -> bool: ...

    @property
    def rate_key(self) -> str: ...

    def describe(self) -> str:
        """Where requests go, fit to show (no credential)."""
        ...

    def send(self, batch: Batch) -> Exchange[BatchOutcome]: ...

    def read_webhook(self, fields: dict[str, str]) -> Receipt | Reply:
        """A webhook call's fields as a receipt or a reply; raises ValueError if neither."""
        ...


# Optional operations, one protocol per ability. A provider has the methods of an ability
# exactly when its Capabilities declare it (the provider contract test checks both ways), and
# the gateway refuses an undeclared one before any request, naming the providers that can.


class Credits(Protocol):
    def account(self) -> Exchange[AccountInfo]: ...


class ReceiptsPull(Protocol):
    def receipts(self, campaign_id: str) -> Exchange[list[Receipt]]:
        """The latest receipt of each message of a campaign (pull fallback for webhooks)."""
        ...


class RepliesPull(Protocol):
    def replies(self) -> Exchange[list[Reply]]:
        """Replies not fetched before."""
        ...


class OptOutsPull(Protocol):
    def opt_outs(self) -> Exchange[list[OptOut]]:
        """The account's opted-out numbers, as the provider keeps them."""
        ...


class Cancel(Protocol):
    def cancel(self, campaign_id: str) -> Exchange[None]:
        """Cancel a scheduled campaign; raises ProviderError when the provider refuses."""
        ...


class Lookup(Protocol):
    def lookup(self, provider_message_id: str) -> Exchange[Receipt]:
        """One message's current status, as the provider has it."""
        ...


class Search(Protocol):
    def search(
        self, query: MessageQuery, *, failed: bool = False
    ) -> Exchange[list[ProviderMessage]]:
        """Messages matching the query (only failed ones with ``failed``)."""
        ...

    def scheduled(self) -> Exchange[list[ProviderMessage]]:
        """Messages and batches scheduled (or sent from a schedule) lately."""
        ...

    def batch_messages(self, batch_id: str) -> Exchange[list[ProviderMessage]]: ...


class Inbound(Protocol):
    def inbound(self, query: MessageQuery) -> Exchange[list[ProviderMessage]]:
        """Unread incoming messages."""
        ...


class Delete(Protocol):
    def delete(self, provider_message_id: str) -> Exchange[None]: ...


class CustomerId(Protocol):
    def customer_id(self) -> Exchange[str]: ...


OPTIONAL_OPERATIONS: Final[dict[str, tuple[str, ...]]] = {
    "credits": ("account",),
    "receipts_pull": ("receipts",),
    "replies_pull": ("replies",),
    "opt_outs_pull": ("opt_outs",),
    "cancel": ("cancel",),
    "lookup": ("lookup",),
    "search": ("search", "scheduled", "batch_messages"),
    "inbound": ("inbound",),
    "delete": ("delete",),
    "customer_id": ("customer_id",),
}
"""Each optional ability and the methods a provider that declares it has."""


@dataclass(frozen=True)
class Registration:
    """A provider as the registry knows it: its name, what it can do, how a DSN builds it."""

    name: str
    capabilities: Capabilities
    from_dsn: Callable[[Dsn], Provider]
    options: frozenset[str] = frozenset()
    """The DSN options (``?name=value``) this provider reads; any other is refused."""
    receipts_option: str | None = None
    """The DSN option that tells the provider where to POST its receipts with each send
    (the gateway fills it from ``SMSGATE_PUBLIC_URL`` when the DSN leaves it out); None: the
    provider is told in its own console (AllMySMS)."""
