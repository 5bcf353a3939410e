"""What happens after a Messangi send in the sandbox (spec §10.8, §10.10, §10.11).

[E] choices, all here: QUEUE -> DEQUEUED -> SENT -> final after ``receipt_delay`` seconds; the
final status by the number's last four digits: 9990 UNDELIV, 9991 REJECTD, 9992 EXPIRED,
9993 none (stays SENT), anything else DELIVRD. Numbers on the block list go straight to
BLACKLISTED, senders marked not allowed to CODE_NOT_ALLOWED, texts over 1600 characters to
SEGMENTS_EXCEEDED. Callbacks (requestDR and URLs only) for SENT and the final status, in order,
one JSON POST per URL, 5 s timeout, no retry.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

import httpx

from smsgate.sandbox.faults import Faults, final_receipt, withheld
from smsgate.sandbox.inbox import Inbox, InboxMessage
from smsgate.sandbox.keep import Keep

FINAL_BY_SUFFIX: Final = {"9990": "UNDELIV", "9991": "REJECTD", "9992": "EXPIRED", "9993": None}
DEFAULT_FINAL: Final = "DELIVRD"
CALLBACK_TIMEOUT: Final = 5.0


INBOX_STATUS: Final = {
    "SENT": "sent",
    "DELIVRD": "delivered",
    "UNDELIV": "failed",
    "REJECTD": "rejected",
    "EXPIRED": "expired",
}


SETTLED_BY: Final = {"deliver": "DELIVRD", "fail": "UNDELIV", "expire": "EXPIRED"}
BY_OUTCOME: Final[dict[str, str | None]] = {**SETTLED_BY, "reject": "REJECTD", "silent": None}
"""The final status of a number chaos's ``number:`` rules name."""
NAME: Final = "messangi"
UNDER_WAY: Final = frozenset({"QUEUE", "DEQUEUED", "SENT"})
"""Statuses a message leaves for a final one."""
MESSAGE: Final = "messangi.message"


def messangi_time() -> str:
    """UTC, RFC 3339 with microseconds and Z (spec §10.7)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Stored:
    """A message as ``GET /raven/v2/messages/{id}`` shows it."""

    data: dict[str, Any]
    callbacks: list[str]
    request_dr: bool
    accepted_at: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "callbacks": self.callbacks,
            "request_dr": self.request_dr,
            "accepted_at": self.accepted_at,
        }


@dataclass
class Settings:
    receipt_delay: float = 1.0
    blacklist: set[str] = field(default_factory=set)
    senders_not_allowed: set[str] = field(default_factory=set)


@dataclass
class Events:
    inbox: Inbox | None = None
    """The sandbox's inbox: each status, in its words, for the inbox page."""
    keep: Keep = field(default_factory=Keep)
    faults: Faults = field(default_factory=Faults)
    settings: Settings = field(default_factory=Settings)
    messages: dict[str, Stored] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    """Messages with a final status (or one the inbox page gave them)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def store(self, stored: Stored) -> None:
        with self._lock:
            self.messages[stored.data["id"]] = stored
        self.keep.touch(MESSAGE, str(stored.data["id"]), stored)

    def get(self, message_id: str) -> Stored | None:
        with self._lock:
            return self.messages.get(message_id)

    def accepted(self, stored: Stored, immediate_final: str | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self._lifecycle(stored, immediate_final))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lifecycle(self, stored: Stored, immediate_final: str | None) -> None:
        """A message's life from wherever it is, by the clock (a restarted sandbox resumes
        it here: a final status that fell due while it was down comes at once)."""
        if immediate_final is not None:
            await self._status(stored, immediate_final)
            return
        if stored.data.get("status") in ("QUEUE", "DEQUEUED"):
            await asyncio.sleep(0)
            self._set(stored, "DEQUEUED")
            await self._status(stored, "SENT")
        message_id = str(stored.data["id"])
        owner = str(stored.data.get("owner", ""))
        final = self._final_status(owner, str(stored.data["to"]))
        if final is None:
            return
        wait = stored.accepted_at + self.settings.receipt_delay - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        message = self.inbox.get(message_id) if self.inbox is not None else None
        if message_id in self.settled or withheld(message):
            return

        async def give() -> None:
            self.settled.add(message_id)
            await self._status(stored, final)

        await final_receipt(
            self.faults,
            self.inbox,
            NAME,
            owner,
            message,
            give,
            partial(self._notify, stored, final),
            partial(self._notify, stored, "SENT"),
        )

    def _final_status(self, owner: str, to: str) -> str | None:
        """Its final status: as chaos's ``number:`` rules say, else by its magic ending."""
        outcome = self.faults.chaos.outcome(NAME, owner, to)
        if outcome is not None:
            return BY_OUTCOME[outcome]
        return FINAL_BY_SUFFIX.get(to[-4:], DEFAULT_FINAL)

    async def settle(self, message_id: str, outcome: str) -> bool:
        """The inbox page's buttons: its final status now, with its callbacks."""
        stored = self.get(message_id)
        status = SETTLED_BY.get(outcome)
        if stored is None or status is None or message_id in self.settled:
            return False
        self.settled.add(message_id)
        await self._status(stored, status)
        return True

    def restore(self) -> None:
        """Messages as the keep holds them (one that left the inbox is let go)."""
        for key, doc in self.keep.docs(MESSAGE):
            if self.inbox is not None and self.inbox.get(key) is None:
                self.keep.forget(MESSAGE, key)
                continue
            self.messages[key] = Stored(
                doc["data"], doc["callbacks"], doc["request_dr"], doc["accepted_at"]
            )
            if doc["data"].get("status") not in UNDER_WAY:
                self.settled.add(key)

    def dropped(self, messages: list[InboxMessage]) -> None:
        """The inbox let these go (its oldest): so does the platform's record of them."""
        with self._lock:
            gone = [m.id for m in messages if self.messages.pop(m.id, None) is not None]
            self.settled.difference_update(gone)
        for message_id in gone:
            self.keep.forget(MESSAGE, message_id)

    def resume(self) -> None:
        """On the event loop: every message still under way goes on."""
        for key, stored in list(self.messages.items()):
            if key not in self.settled and stored.data.get("status") in UNDER_WAY:
                self.accepted(stored)  # chaos withholding its receipt: skipped in time

    def _set(self, stored: Stored, status: str) -> None:
        with self._lock:
            stored.data["status"] = status
            stored.data["date"] = messangi_time()
        self.keep.touch(MESSAGE, str(stored.data["id"]), stored)
        if self.inbox is not None and status in INBOX_STATUS:
            self.inbox.mirror(str(stored.data["id"]), INBOX_STATUS[status])

    async def _status(self, stored: Stored, status: str) -> None:
        self._set(stored, status)
        await self._notify(stored, status)

    async def _notify(self, stored: Stored, status: str) -> None:
        """Its callbacks for that status (spec §10.8)."""
        if not stored.request_dr:
            return
        data = stored.data
        for url in stored.callbacks:
            body = {
                "id": data["id"],
                "from": data["from"],
                "to": data["to"],
                "message": data["text"],
                "status": status,
                "date": data["date"],
                "timestamp": int(datetime.now(UTC).timestamp() * 1000),
                "callback": url,
                "username": data["owner"],
            }
            for name in ("externalId", "clientId"):
                if data.get(name):
                    body[name] = data[name]
            try:
                async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT) as client:
                    await client.post(url, json=body)
            except httpx.HTTPError:
                pass  # no retry (spec §10.8)
