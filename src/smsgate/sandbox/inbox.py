"""What the sandbox accepted, as a handset and an operator would see it."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Final

from smsgate.sandbox.chaos import CALL_FAULTS
from smsgate.sandbox.keep import Keep

MAX_PAGE: Final = 100_000
PAGE: Final = 1000
CAPACITY: Final = 100_000
"""Messages the inbox keeps; beyond it, the oldest go."""


def received_now() -> str:
    """The time a message reached the sandbox, as its inbox shows it: one value serves a
    whole request's messages."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class InboxMessage:
    id: str
    provider: str
    account: str
    campaign_id: str
    to: str
    text: str
    sender_requested: str | None
    sender_shown: str
    encoding: str
    parts: int
    credits: int
    status: str
    scheduled_at: str | None = None
    client_message_id: str | None = None
    flash: bool = False
    receipt: str | None = None
    received_at: str = field(default_factory=received_now)
    sequence: int = 0
    history: list[dict[str, str]] = field(default_factory=list)
    """Each change of its status or receipt, as the inbox page's timeline shows it."""
    faults: list[str] = field(default_factory=list)
    """What the sandbox injected into the call that sent it (chaos, an injected fault)."""
    tag: str | None = None
    """The campaign name or tag the client gave (AllMySMS CAMPAIGN_NAME, The SMS Works tag)."""

    def to_dict(self) -> dict[str, Any]:
        """Its JSON shape (a copy: dataclasses.asdict's deep copy costs 10× more)."""
        shape = dict(self.__dict__)
        shape["history"] = [dict(change) for change in self.history]
        shape["faults"] = list(self.faults)
        return shape

    def to_doc(self) -> dict[str, Any]:
        """What the sandbox keeps of it across restarts: all of it (its own fields, not a
        copy: the keep writes them out at once, on the thread that changes them)."""
        return self.__dict__

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> InboxMessage:
        return cls(**{name: doc[name] for name in _FIELDS if name in doc})


_FIELDS: Final = frozenset(f.name for f in fields(InboxMessage))
KIND: Final = "message"


@dataclass(frozen=True)
class InboxQuery:
    """Which messages a test means: every field given must match (``q``: a piece of the text,
    the number, the sender shown or the tag, any case; ``since``: received at or after)."""

    to: str | None = None
    provider: str | None = None
    account: str | None = None
    status: str | None = None
    campaign_id: str | None = None
    tag: str | None = None
    q: str | None = None
    since: str | None = None
    """ISO 8601, normalised to the inbox's own form (UTC, microseconds) to compare as text."""

    FIELDS = ("to", "provider", "account", "status", "campaign_id", "tag", "q", "since")

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> InboxQuery:
        """The query a request's parameters ask for; ValueError saying which is wrong."""
        values = {name: params[name].strip() or None for name in cls.FIELDS if name in params}
        if values.get("to"):
            values["to"] = values["to"].replace(" ", "").removeprefix("+")  # type: ignore[union-attr]
        if since := values.get("since"):
            try:
                moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"since={since!r} is not an ISO 8601 time: write e.g. 2026-12-06T10:00:00Z"
                ) from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            values["since"] = moment.astimezone(UTC).isoformat(timespec="microseconds")
        if values.get("q"):
            values["q"] = values["q"].casefold()  # type: ignore[union-attr]
        return cls(**values)

    def matches(self, m: InboxMessage) -> bool:
        return (
            (self.to is None or m.to == self.to)
            and (self.provider is None or m.provider == self.provider)
            and (self.account is None or m.account == self.account)
            and (self.status is None or m.status == self.status)
            and (self.campaign_id is None or m.campaign_id == self.campaign_id)
            and (self.tag is None or m.tag == self.tag)
            and (self.since is None or m.received_at >= self.since)
            and (
                self.q is None
                or self.q in m.text.casefold()
                or self.q in m.to
                or self.q in m.sender_shown.casefold()
                or (m.tag is not None and self.q in m.tag.casefold())
            )
        )


class Inbox:
    """Thread-safe list of accepted messages (memory is enough: the sandbox is for tests/demo)."""

    def __init__(self, capacity: int = CAPACITY, keep: Keep | None = None) -> None:
        self.keep = keep or Keep()
        self.on_drop: list[Callable[[list[InboxMessage]], None]] = []
        """Told of the oldest messages dropped beyond the capacity: each emulator lets its own
        records of them go, so a sandbox that runs for weeks holds no more than the inbox."""
        self._messages: list[InboxMessage] = []
        self._by_id: dict[str, InboxMessage] = {}
        self.capacity = capacity
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._listeners: set[Listener] = set()

    def add(self, messages: list[InboxMessage]) -> None:
        if injected := CALL_FAULTS.get():
            for message in messages:
                message.faults = list(injected)
        keep = self.keep
        with self._lock:
            for message in messages:
                message.sequence = next(self._sequence)
                self._by_id[message.id] = message
                keep.touch(KIND, message.id, message)
            self._messages.extend(messages)
            dropped = self._messages[: max(0, len(self._messages) - self.capacity)]
            if dropped:
                for old in dropped:
                    if self._by_id.get(old.id) is old:
                        del self._by_id[old.id]
                        keep.forget(KIND, old.id)
                del self._messages[: len(dropped)]
        if dropped:
            for forget in self.on_drop:
                forget(dropped)
        self._wake()
        self._tell(added=len(messages))

    def _wake(self) -> None:
        """Every waiter looks again (a new message, or a status it may be waiting for)."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, arrived in waiters:  # a waiter may be on another thread's loop
            loop.call_soon_threadsafe(arrived.set)

    def update(self, message: InboxMessage, **changes: str) -> None:
        """An emulator changes a message's status or receipt: on its timeline, and told to
        the live inbox page."""
        self.update_many([message], **changes)

    def update_many(self, messages: list[InboxMessage], **changes: str) -> None:
        """The same change to many messages at once (a campaign's receipts): one moment, one
        wake-up of the waiters."""
        if not messages:
            return
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        keep = self.keep
        with self._lock:
            for message in messages:
                message.__dict__.update(changes)
                message.history.append({"at": at, **changes})
                keep.touch(KIND, message.id, message)
        self._wake()
        for message in messages:
            self._tell(changed=message.id)

    def note(self, message: InboxMessage, reasons: tuple[str, ...]) -> None:
        """Faults injected after its call (into its receipts): on the message, and on its
        timeline."""
        if not reasons:
            return
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            message.faults.extend(reasons)
            message.history.extend({"at": at, "fault": reason} for reason in reasons)
        self.keep.touch(KIND, message.id, message)
        self._tell(changed=message.id)

    def get(self, message_id: str) -> InboxMessage | None:
        with self._lock:
            return self._by_id.get(message_id)

    def mirror(self, message_id: str, status: str) -> None:
        """An emulator that keeps its own record of a message (Messangi, The SMS Works)
        tells the inbox its new status, in the inbox's words."""
        message = self.get(message_id)
        if message is not None and message.status != status:
            self.update(message, status=status)

    def subscribe(self) -> Listener:
        """The changes from now on, for a live page (unsubscribe when it goes)."""
        listener = Listener(asyncio.get_running_loop())
        with self._lock:
            self._listeners.add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def _tell(self, added: int = 0, changed: str | None = None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.heard(added, changed)

    def find(
        self, query: InboxQuery, *, limit: int = PAGE, offset: int = 0, newest_first: bool = False
    ) -> tuple[list[InboxMessage], int]:
        """One page of the matching messages (oldest first unless asked), and how many match."""
        with self._lock:
            found = [m for m in self._messages if query.matches(m)]
        if newest_first:
            found.reverse()
        return found[offset : offset + limit], len(found)

    def delete(self, query: InboxQuery) -> int:
        """Remove the matching messages; returns how many."""
        with self._lock:
            kept: list[InboxMessage] = []
            gone = 0
            for message in self._messages:
                if query.matches(message):
                    self.keep.forget(KIND, message.id)
                    gone += 1
                else:
                    kept.append(message)
            self._messages = kept
            self._by_id = {m.id: m for m in kept}
        return gone

    async def wait(self, query: InboxQuery, timeout: float) -> InboxMessage | None:
        """The first matching message, as soon as there is one (None after ``timeout``
        seconds): a test waits for its SMS instead of sleeping."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            arrived = asyncio.Event()
            entry = (loop, arrived)
            with self._lock:  # listening before looking: an SMS between the two still counts
                self._waiters.add(entry)
            try:
                page, _ = self.find(query, limit=1)
                if page:
                    return page[0]
                left = deadline - loop.time()
                if left <= 0:
                    return None
                try:
                    await asyncio.wait_for(arrived.wait(), left)
                except TimeoutError:
                    return None
            finally:
                with self._lock:
                    self._waiters.discard(entry)

    def list(
        self, *, to: str | None = None, campaign_id: str | None = None, provider: str | None = None
    ) -> list[InboxMessage]:
        with self._lock:
            found = list(self._messages)
        return [
            m
            for m in found
            if (to is None or m.to == to)
            and (campaign_id is None or m.campaign_id == campaign_id)
            and (provider is None or m.provider == provider)
        ]

    def clear(self) -> None:
        with self._lock:
            for message in self._messages:
                self.keep.forget(KIND, message.id)
            self._messages.clear()
            self._by_id.clear()

    def restore(self) -> None:
        """The messages its keep holds, oldest first (before anything is added)."""
        found = [InboxMessage.from_doc(doc) for _, doc in self.keep.docs(KIND)]
        found.sort(key=lambda m: m.sequence)
        for old in found[: max(0, len(found) - self.capacity)]:
            self.keep.forget(KIND, old.id)
        found = found[-self.capacity :]
        with self._lock:
            self._messages = found
            self._by_id = {m.id: m for m in found}
            self._sequence = itertools.count(found[-1].sequence + 1 if found else 1)

    def __len__(self) -> int:
        return len(self._messages)


class Listener:
    """A live page's view of the inbox's changes, gathered between two looks: however fast
    SMS arrive, it is woken once per look (one wake-up per change would cost the sandbox more
    than the SMS themselves)."""

    SHOWN: Final = 100
    """Changed ids said at most per look (beyond, ``more``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._bell = asyncio.Event()
        self._lock = threading.Lock()
        self._added = 0
        self._changed: dict[str, None] = {}
        self._more = False
        self._rung = False

    def heard(self, added: int, changed: str | None) -> None:
        """A change (from any thread)."""
        with self._lock:
            self._added += added
            if changed is not None:
                if len(self._changed) < self.SHOWN:
                    self._changed[changed] = None
                else:
                    self._more = True
            if self._rung:
                return
            self._rung = True
        self._loop.call_soon_threadsafe(self._bell.set)

    async def changes(self, timeout: float, gather: float = 0.1) -> dict[str, object] | None:
        """What changed since the last look, after ``gather`` seconds more of it (None when
        nothing did within ``timeout``)."""
        try:
            await asyncio.wait_for(self._bell.wait(), timeout)
        except TimeoutError:
            return None
        await asyncio.sleep(gather)
        with self._lock:
            said: dict[str, object] = {
                "added": self._added,
                "changed": list(self._changed),
                "more": self._more,
            }
            self._added, self._changed, self._more, self._rung = 0, {}, False, False
            self._bell.clear()
        return said
