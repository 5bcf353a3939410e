"""The provider interface: small enough that a test double is a dozen lines.

Providers are *sans-IO*: an operation is a generator that yields the ``httpx.Request`` it needs
and receives the ``httpx.Response``; it returns a core result. The gateway drives it with a sync
or an async client and owns every network decision (retries, timeouts, what 'unknown' means),
so the same provider code serves both and no provider can retry on its own.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx

from smsgate.core.errors import ProviderError
from smsgate.core.message import Message
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.recipients import Recipient
from smsgate.core.remote import MessageQuery, ProviderMessage
from smsgate.core.report import AccountInfo, RecipientResult, RequestRecord
from smsgate.core.sender import ALPHANUMERIC_NAME, SenderRule

T = TypeVar("T")
Exchange = Generator[httpx.Request, httpx.Response, T]


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do and its limits, declared in one place per provider."""

    max_recipients_per_request: int
    max_text_chars: int | None
    sender: SenderRule = ALPHANUMERIC_NAME
    concurrency: int = 1
    """Requests of one send in flight at once (pipelining single-recipient sends)."""
    schedule: bool = False
    cancel: bool = False
    credits: bool = False
    trial: bool = False
    receipts_pull: bool = False
    replies_pull: bool = False
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
    credits_used: int | None = None
    credits_left: int | None = None
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


def _refused(what: str) -> Exchange[T]:
    raise ProviderError(f"this provider cannot {what}")
    yield  # a generator, like every exchange


class OptionalOperations:
    """What only some providers can do. The gateway refuses these by capability before it
    calls them (naming the providers that can), so these bodies are a last line only."""

    def lookup(self, provider_message_id: str) -> Exchange[Receipt]:
        return _refused("look up one message")

    def search(
        self, query: MessageQuery, *, failed: bool = False
    ) -> Exchange[list[ProviderMessage]]:
        return _refused("search messages")

    def inbound(self, query: MessageQuery) -> Exchange[list[ProviderMessage]]:
        return _refused("read incoming messages")

    def scheduled(self) -> Exchange[list[ProviderMessage]]:
        return _refused("list scheduled messages")

    def batch_messages(self, batch_id: str) -> Exchange[list[ProviderMessage]]:
        return _refused("list a batch's messages")

    def delete(self, provider_message_id: str) -> Exchange[None]:
        return _refused("delete a message")

    def customer_id(self) -> Exchange[str]:
        return _refused("tell the customer id")


class Provider(Protocol):
    name: str
    capabilities: Capabilities

    @property
    def trial(self) -> bool:
        """True when the account is blank and trial mode applies."""
        ...

    def describe(self) -> str:
        """Where requests go, fit to show (no credential)."""
        ...

    def send(self, batch: Batch) -> Exchange[BatchOutcome]: ...

    def account(self) -> Exchange[AccountInfo]: ...

    def receipts(self, campaign_id: str) -> Exchange[list[Receipt]]:
        """The latest receipt of each message of a campaign (pull fallback for webhooks)."""
        ...

    def replies(self) -> Exchange[list[Reply]]:
        """Replies not fetched before."""
        ...

    def cancel(self, campaign_id: str) -> Exchange[None]:
        """Cancel a scheduled campaign; raises ProviderError when the provider refuses."""
        ...

    def lookup(self, provider_message_id: str) -> Exchange[Receipt]:
        """One message's current status, as the provider has it."""
        ...

    def search(
        self, query: MessageQuery, *, failed: bool = False
    ) -> Exchange[list[ProviderMessage]]:
        """Messages matching the query (only failed ones with ``failed``)."""
        ...

    def inbound(self, query: MessageQuery) -> Exchange[list[ProviderMessage]]:
        """Unread incoming messages."""
        ...

    def scheduled(self) -> Exchange[list[ProviderMessage]]:
        """Messages and batches scheduled (or sent from a schedule) lately."""
        ...

    def batch_messages(self, batch_id: str) -> Exchange[list[ProviderMessage]]: ...

    def delete(self, provider_message_id: str) -> Exchange[None]: ...

    def customer_id(self) -> Exchange[str]: ...

    def read_webhook(self, fields: dict[str, str]) -> Receipt | Reply:
        """A webhook call's fields as a receipt or a reply; raises ValueError if neither."""
        ...
