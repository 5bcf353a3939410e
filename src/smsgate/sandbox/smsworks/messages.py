"""The SMS Works messages in the sandbox and what becomes of them (spec §9.5, §9.7, §7).

[E] choices, all here: a sent message is SENT, then after ``receipt_delay`` seconds final by
the number's last four digits: 9990 UNDELIVERABLE, 9991 REJECTED, 9992 EXPIRED, 9993 none
(stays SENT), anything else DELIVERED. A final status is POSTed as JSON (MessageResponse) to
the message's deliveryreporturl, else the account-wide URL, 5 s timeout, no retry. Failed UK
messages are refunded. A scheduled message waits as SCHEDULED until due, then goes as a send.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

import httpx

from smsgate.sandbox.faults import Faults, final_receipt, withheld
from smsgate.sandbox.inbox import Inbox, InboxMessage
from smsgate.sandbox.keep import Keep

Ending = tuple[str, int, str, bool]
"""A final status: its name, failure code and details, and whether the failure is permanent."""
DELIVERED: Final[Ending] = ("DELIVERED", 0, "", False)
UNDELIVERABLE: Final[Ending] = ("UNDELIVERABLE", 34, "Handset error", False)
REJECTED: Final[Ending] = ("REJECTED", 21, "Rejected by the operator", True)
EXPIRED: Final[Ending] = ("EXPIRED", 27, "Validity period expired", False)

FINAL_BY_SUFFIX: Final[dict[str, Ending | None]] = {
    "9990": UNDELIVERABLE,
    "9991": REJECTED,
    "9992": EXPIRED,
    "9993": None,
}
REPORT_TIMEOUT: Final = 5.0
FAILED: Final = frozenset({"EXPIRED", "UNDELIVERABLE", "REJECTED"})
INBOX_STATUS: Final = {"UNDELIVERABLE": "failed"}
"""The inbox's word where it differs from The SMS Works' (lowercased)."""
SETTLED_BY: Final = {"deliver": DELIVERED, "fail": UNDELIVERABLE, "expire": EXPIRED}
BY_OUTCOME: Final[dict[str, Ending | None]] = {**SETTLED_BY, "reject": REJECTED, "silent": None}
"""The final status of a number chaos's ``number:`` rules name."""
NAME: Final = "smsworks"
UNDER_WAY: Final = frozenset({"SCHEDULED", "SENT"})
"""Statuses a sent message leaves (for a final one, or CANCELLED)."""
MESSAGE: Final = "smsworks.message"


def js_date(moment: datetime | None = None) -> str:
    """JavaScript's Date text in UTC (spec §9.9)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


@dataclass
class Settings:
    receipt_delay: float = 1.0
    delivery_report_url: str | None = None
    """The account-wide URL, used when a message names none."""
    throttle: bool = False
    """Enforce 100 calls per token per 60 s with 429 (spec §9.13); off by default."""


@dataclass
class Stored:
    data: dict[str, Any]
    customer_id: str
    cost: float
    unread: bool = False
    due: datetime | None = None
    accepted_at: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "customer_id": self.customer_id,
            "cost": self.cost,
            "unread": self.unread,
            "due": self.due.isoformat() if self.due else None,
            "accepted_at": self.accepted_at,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Stored:
        due = doc.get("due")
        return cls(
            doc["data"],
            doc["customer_id"],
            float(doc["cost"]),
            bool(doc.get("unread")),
            datetime.fromisoformat(due) if due else None,
            float(doc["accepted_at"]),
        )

    @property
    def starts_at(self) -> float:
        """When it goes to the handset: its schedule, else when it was accepted."""
        return self.due.timestamp() if self.due else self.accepted_at


@dataclass
class Messages:
    inbox: Inbox | None = None
    """The sandbox's inbox: each status, in its words, for the inbox page."""
    keep: Keep = field(default_factory=Keep)
    refund: Callable[[Stored], None] = field(default=lambda stored: None)
    """Gives a message's cost back to its customer (the emulator's state sets it)."""
    faults: Faults = field(default_factory=Faults)
    settings: Settings = field(default_factory=Settings)
    by_id: dict[str, Stored] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    batch_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(2586749))
    calls: dict[str, list[float]] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    """Messages with a final status (or one the inbox page gave them)."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def new_batch_id(self) -> str:
        return str(next(self.batch_ids))

    def add(self, customer_id: str, fields: dict[str, Any], cost: float, **extra: Any) -> Stored:
        now = js_date()
        message_id = str(uuid.uuid4())
        data = {
            "messageid": message_id,
            "id": message_id,
            "customerid": customer_id,
            "created": now,
            "modified": now,
            "schedule": fields.get("schedule", ""),
            "tag": fields.get("tag", ""),
            **fields,
        }
        destination = str(fields.get("destination", ""))
        if destination.isdigit():
            data["destination"] = int(destination)  # a JSON number in responses (spec §4)
            data["identifier"] = destination[2:] if destination.startswith("44") else destination
        stored = Stored(data, customer_id, cost, **extra)
        with self.lock:
            self.by_id[message_id] = stored
        self.keep.touch(MESSAGE, message_id, stored)
        return stored

    def get(self, customer_id: str, message_id: str) -> Stored | None:
        with self.lock:
            stored = self.by_id.get(message_id)
        return stored if stored is not None and stored.customer_id == customer_id else None

    def of(self, customer_id: str) -> list[Stored]:
        with self.lock:
            return [m for m in self.by_id.values() if m.customer_id == customer_id]

    def delete(self, customer_id: str, message_id: str) -> bool:
        with self.lock:
            stored = self.by_id.get(message_id)
            if stored is None or stored.customer_id != customer_id:
                return False
            del self.by_id[message_id]
        self.keep.forget(MESSAGE, message_id)
        return True

    def set_status(
        self, stored: Stored, status: str, failure: dict[str, Any] | None = None
    ) -> None:
        with self.lock:
            stored.data["status"] = status
            stored.data["modified"] = js_date()
            if failure:
                stored.data["failurereason"] = failure
        self.keep.touch(MESSAGE, str(stored.data["messageid"]), stored)
        if self.inbox is not None:
            self.inbox.mirror(
                str(stored.data["messageid"]), INBOX_STATUS.get(status, status.lower())
            )

    def start(self, stored: Stored) -> None:
        """The message's life from now: sent now or at its schedule, then its final status."""
        task = asyncio.get_running_loop().create_task(self._life(stored))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _life(self, stored: Stored) -> None:
        """By the clock, from wherever it is (a restarted sandbox resumes it here: what fell
        due while it was down comes at once)."""
        if stored.data.get("status") == "SCHEDULED":
            wait = stored.starts_at - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if stored.data.get("status") != "SCHEDULED":
                return  # cancelled meanwhile
            self.set_status(stored, "SENT")
        destination = str(stored.data.get("destination", ""))
        final = self._final_status(stored.customer_id, destination)
        if final is None:
            return
        wait = stored.starts_at + self.settings.receipt_delay - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        message_id = str(stored.data["messageid"])
        message = self.inbox.get(message_id) if self.inbox is not None else None
        if message_id in self.settled or withheld(message):
            return
        await final_receipt(
            self.faults,
            self.inbox,
            NAME,
            stored.customer_id,
            message,
            partial(self._final, stored, final),
            partial(self._report, stored),
        )

    def _final_status(self, customer_id: str, destination: str) -> Ending | None:
        """Its final status: as chaos's ``number:`` rules say, else by its magic ending."""
        outcome = self.faults.chaos.outcome(NAME, customer_id, destination)
        if outcome is not None:
            return BY_OUTCOME[outcome]
        return FINAL_BY_SUFFIX.get(destination[-4:], DELIVERED)

    def restore(self) -> None:
        """Messages as the keep holds them (a sent one that left the inbox is let go)."""
        highest = 0
        for key, doc in self.keep.docs(MESSAGE):
            stored = Stored.from_doc(doc)
            status = stored.data.get("status")
            if status != "INCOMING" and self.inbox is not None and self.inbox.get(key) is None:
                self.keep.forget(MESSAGE, key)
                continue
            self.by_id[key] = stored
            if status not in UNDER_WAY:
                self.settled.add(key)
            batch = str(stored.data.get("batchid") or "")
            highest = max(highest, int(batch) if batch.isdigit() else 0)
        if highest:
            self.batch_ids = itertools.count(highest + 1)

    def dropped(self, messages: list[InboxMessage]) -> None:
        """The inbox let these go (its oldest): so does the account's record of them."""
        with self.lock:
            gone = [m.id for m in messages if self.by_id.pop(m.id, None) is not None]
            self.settled.difference_update(gone)
        for message_id in gone:
            self.keep.forget(MESSAGE, message_id)

    def resume(self) -> None:
        """On the event loop: every message scheduled or sent, without its final status."""
        for key, stored in list(self.by_id.items()):
            if key not in self.settled and stored.data.get("status") in UNDER_WAY:
                self.start(stored)  # chaos withholding its receipt: skipped in time

    async def settle(self, message_id: str, outcome: str) -> bool:
        """The inbox page's buttons: the final status of a message out now, with its
        delivery report (a scheduled one is not out yet)."""
        stored = self.by_id.get(message_id)
        final = SETTLED_BY.get(outcome)
        if stored is None or final is None or stored.data.get("status") != "SENT":
            return False
        return await self._final(stored, final)

    async def _final(self, stored: Stored, final: Ending) -> bool:
        """Its final status once (the automatic one, or the inbox page's), with its report."""
        message_id = str(stored.data["messageid"])
        with self.lock:
            if message_id in self.settled:
                return False
            self.settled.add(message_id)
        status, code, details, permanent = final
        failure = {"code": code, "details": details, "permanent": permanent} if code else None
        self.set_status(stored, status, failure)
        destination = str(stored.data.get("destination", ""))
        if status in FAILED and destination.startswith("44"):
            self.refund(stored)
        await self._report(stored)
        return True

    async def _report(self, stored: Stored) -> None:
        """Its delivery report, POSTed as a MessageResponse (spec §7)."""
        url = stored.data.get("deliveryreporturl") or self.settings.delivery_report_url
        if url:
            try:
                async with httpx.AsyncClient(timeout=REPORT_TIMEOUT) as client:
                    await client.post(str(url), json=dict(stored.data))
            except httpx.HTTPError:
                pass  # no retry (spec §7)
