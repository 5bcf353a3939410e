"""What happens after an AllMySMS send in the sandbox: receipts, replies, held campaigns.

[E] choices (spec §10.12-§10.17), all here:
- every accepted SMS gets statut 3 at once, then after ``receipt_delay`` seconds its outcome,
  chosen by the number's last four digits ("magic numbers"):
  9990 -> 2 not delivered, 9991 -> 4 rejected, 9992 -> 5 expired, 9993 -> no final receipt,
  anything else -> 1 delivered;
- each event is POSTed form-encoded to the receipts URL (replies to the replies URL), 5 s
  timeout, no retry;
- a held campaign (future DATE) is released at its date; deleteCampaign cancels it before;
- a reply whose text is STOP puts the number on the blacklist.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from smsgate.sandbox.faults import Faults, final_receipt, withheld
from smsgate.sandbox.inbox import Inbox, InboxMessage
from smsgate.sandbox.keep import Docs, Keep

PARIS: Final = ZoneInfo("Europe/Paris")
OUTCOME_BY_SUFFIX: Final = {"9990": "2", "9991": "4", "9992": "5", "9993": None}
DEFAULT_OUTCOME: Final = "1"
COMMENTS: Final = {
    "1": "Delivered",
    "2": "Not delivered",
    "3": "Transmitted to the operator",
    "4": "Message rejected",
    "5": "SMS rejected (unknown number or absent subscriber)",
}
WEBHOOK_TIMEOUT: Final = 5.0
STATUS_OF: Final = {"1": "delivered", "2": "failed", "3": "sent", "4": "rejected", "5": "expired"}
"""What the handset's side of the inbox shows for each receipt code."""
SETTLED_BY: Final = {"deliver": "1", "fail": "2", "expire": "5"}
BY_OUTCOME: Final[dict[str, str | None]] = {**SETTLED_BY, "reject": "4", "silent": None}
"""The final receipt of a number chaos's ``number:`` rules name."""
PROVIDER: Final = "allmysms"
CAMPAIGN: Final = "allmysms.campaign"
MO: Final = "allmysms.mo"
BLACKLIST: Final = "allmysms.blacklist"


_SECOND: list[tuple[int, str]] = [(0, "")]


def paris_now() -> str:
    """AllMySMS's clock to the second, formatted once a second: a campaign's thousands of
    receipts share it."""
    second = int(time.time())
    if _SECOND[0][0] != second:
        _SECOND[0] = (second, datetime.fromtimestamp(second, PARIS).strftime("%Y-%m-%d %H:%M:%S"))
    return _SECOND[0][1]


def _paris(at: str | None) -> str:
    """A time the inbox kept (UTC, ISO 8601) as AllMySMS dates it."""
    if at is None:
        return paris_now()
    return datetime.fromisoformat(at).astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Campaign:
    id: str
    login: str
    client_message_id: str
    messages: list[InboxMessage]
    held_until: datetime | None = None
    cancelled: bool = False
    credits: int = 0
    accepted_at: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "login": self.login,
            "client_message_id": self.client_message_id,
            "message_ids": [m.id for m in self.messages],
            "held_until": self.held_until.isoformat() if self.held_until else None,
            "cancelled": self.cancelled,
            "credits": self.credits,
            "accepted_at": self.accepted_at,
        }

    @property
    def starts_at(self) -> float:
        """When it goes to the handsets: its date if held, else when it was accepted."""
        return self.held_until.timestamp() if self.held_until else self.accepted_at


@dataclass(frozen=True)
class Blacklisted:
    login: str
    comment: str
    reception_date: str


@dataclass
class Ack:
    phone_number: str
    code: str
    reception_date: str

    def to_dict(self) -> dict[str, str]:
        return {
            "phoneNumber": self.phone_number,
            "statut": self.code,
            "status": self.code,  # [E] §5: both keys, same value
            "comment": COMMENTS[self.code],
            "receptionDate": self.reception_date,
        }


@dataclass
class Mo:
    id: str
    login: str
    phone_number: str
    campaign_id: str
    sms_id: str
    message: str
    reception_date: str
    returned: bool = False

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    def to_dict(self) -> dict[str, str]:
        return {
            "phoneNumber": self.phone_number,
            "id": self.id,
            "campaignId": self.campaign_id,
            "message": self.message,
            "receptionDate": self.reception_date,
        }


@dataclass
class Settings:
    receipt_delay: float = 1.0
    receipts_url: str | None = None
    replies_url: str | None = None


@dataclass
class Events:
    inbox: Inbox
    """The sandbox's inbox, where the handset's side of each change is shown."""
    keep: Keep = field(default_factory=Keep)
    faults: Faults = field(default_factory=Faults)
    settings: Settings = field(default_factory=Settings)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    acks: dict[str, Ack] = field(default_factory=dict)  # smsId -> latest
    mos: list[Mo] = field(default_factory=list)
    blacklist: dict[str, Blacklisted] = field(default_factory=dict)
    """Numbers that answered STOP: later sends list them in invalidNumbers (§14)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    settled: set[str] = field(default_factory=set)
    """Messages with their final receipt (or one the inbox page gave them)."""
    _mo_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- after a send -------------------------------------------------------------------------

    def accepted(self, campaign: Campaign) -> None:
        """Called in the event loop once a campaign is accepted."""
        with self.lock:
            self.campaigns[campaign.id] = campaign
        self.keep.touch(CAMPAIGN, campaign.id, campaign)
        self._spawn(self._deliver(campaign))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, campaign: Campaign) -> None:
        """A campaign's life from wherever it is, by the clock (a sandbox restarted resumes
        it here: what fell due while it was down comes at once)."""
        if campaign.held_until is not None:
            hold = campaign.starts_at - time.time()
            if hold > 0:
                await asyncio.sleep(hold)
            if campaign.cancelled:
                return
            held = [m for m in campaign.messages if m.status == "scheduled"]
            self.inbox.update_many(held, status="sent")
        fresh = [m for m in campaign.messages if m.id not in self.acks]
        await self._receipts(campaign, fresh, "3")
        wait = campaign.starts_at + self.settings.receipt_delay - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        due: dict[str, list[InboxMessage]] = {}
        for message in campaign.messages:
            code = self._final_code(campaign, message)
            if code is not None and message.id not in self.settled and not withheld(message):
                due.setdefault(code, []).append(message)
        for code, messages in due.items():
            if not self.faults.chaos.has("receipts"):  # the campaign's receipts at once
                await self._receipts(campaign, messages, code)
                continue
            for message in messages:
                await final_receipt(
                    self.faults,
                    self.inbox,
                    PROVIDER,
                    campaign.login,
                    message,
                    partial(self._receipts, campaign, [message], code),
                    partial(self._post_receipt, campaign, message, code),
                    partial(self._post_receipt, campaign, message, "3"),
                )

    def _final_code(self, campaign: Campaign, message: InboxMessage) -> str | None:
        """Its final receipt: as chaos's ``number:`` rules say, else by its magic ending."""
        outcome = self.faults.chaos.outcome(PROVIDER, campaign.login, message.to)
        if outcome is not None:
            return BY_OUTCOME[outcome]
        return OUTCOME_BY_SUFFIX.get(message.to[-4:], DEFAULT_OUTCOME)

    # -- across restarts ----------------------------------------------------------------------

    def restore(self) -> None:
        """Campaigns, receipts, replies and the block list as the keep holds them (a
        campaign whose messages all left the inbox is let go)."""
        for message in self.inbox.list(provider=PROVIDER):
            if message.receipt is not None:  # its latest receipt, as the inbox kept it
                at = next((c["at"] for c in reversed(message.history) if "receipt" in c), None)
                self.acks[message.id] = Ack(message.to, message.receipt, _paris(at))
        self.settled = {key for key, ack in self.acks.items() if ack.code != "3"}
        for key, doc in self.keep.docs(CAMPAIGN):
            messages = [m for m in map(self.inbox.get, doc["message_ids"]) if m is not None]
            if not messages:
                self.keep.forget(CAMPAIGN, key)
                continue
            held = doc.get("held_until")
            self.campaigns[key] = Campaign(
                id=key,
                login=doc["login"],
                client_message_id=doc.get("client_message_id") or "",
                messages=messages,
                held_until=datetime.fromisoformat(held) if held else None,
                cancelled=bool(doc.get("cancelled")),
                credits=int(doc.get("credits", 0)),
                accepted_at=float(doc["accepted_at"]),
            )
        self.mos = [Mo(**doc) for _, doc in self.keep.docs(MO)]
        self._mo_ids = itertools.count(max((int(mo.id) for mo in self.mos), default=0) + 1)
        for number, doc in self.keep.docs(BLACKLIST):
            self.blacklist[number] = Blacklisted(**doc)
        self.keep.snapshots(self._snapshot)

    def _snapshot(self) -> dict[str, Docs]:
        with self.lock:
            return {BLACKLIST: {n: asdict(b) for n, b in self.blacklist.items()}}

    def dropped(self, messages: list[InboxMessage]) -> None:
        """The inbox let these go (its oldest): so do their receipts, and each campaign left
        with none of its messages."""
        gone = {m.id for m in messages}
        changed: list[Campaign] = []
        with self.lock:
            for message_id in gone:
                self.acks.pop(message_id, None)
                self.settled.discard(message_id)
            for campaign_id in {m.campaign_id for m in messages}:
                campaign = self.campaigns.get(campaign_id)
                if campaign is not None:
                    campaign.messages = [m for m in campaign.messages if m.id not in gone]
                    changed.append(campaign)
                    if not campaign.messages:
                        del self.campaigns[campaign_id]
        for campaign in changed:  # the keep's lock is never taken under ours
            if campaign.messages:
                self.keep.touch(CAMPAIGN, campaign.id, campaign)
            else:
                self.keep.forget(CAMPAIGN, campaign.id)

    def resume(self) -> None:
        """On the event loop: every campaign not cancelled whose receipts are not all in
        (one that chaos withholds is skipped when its time comes, as it was the first time)."""
        for campaign in list(self.campaigns.values()):
            pending = any(m.id not in self.settled for m in campaign.messages)
            if not campaign.cancelled and pending:
                self._spawn(self._deliver(campaign))

    async def settle(self, message: InboxMessage, outcome: str) -> bool:
        """The inbox page's buttons: its final receipt now (delivered, failed, expired),
        sent to the client as the real one would be; False when it has one already."""
        campaign = self.campaigns.get(message.campaign_id)
        code = SETTLED_BY.get(outcome)
        if campaign is None or code is None or message.id in self.settled:
            return False
        self.settled.add(message.id)
        await self._receipts(campaign, [message], code)
        return True

    async def _receipts(self, campaign: Campaign, messages: list[InboxMessage], code: str) -> None:
        """One receipt code for these messages of a campaign: on record (getAcks), on the
        handsets' side of the inbox, and POSTed to the receipts URL, one POST each."""
        at = paris_now()
        with self.lock:
            for message in messages:
                self.acks[message.id] = Ack(message.to, code, at)
            if code != "3":
                self.settled.update(m.id for m in messages)
        self.inbox.update_many(messages, receipt=code, status=STATUS_OF[code])
        if self.settings.receipts_url:
            for message in messages:
                await self._post_receipt(campaign, message, code, at)

    async def _post_receipt(
        self, campaign: Campaign, message: InboxMessage, code: str, at: str | None = None
    ) -> None:
        """The receipts webhook's POST (spec §10.17)."""
        await self._post(
            self.settings.receipts_url,
            {
                "smsId": message.id,
                "campaignId": campaign.id,
                "phoneNumber": message.to,
                "receptionDate": at or paris_now(),
                "status": code,
                "statusText": COMMENTS[code],
            },
        )

    async def _post(self, url: str | None, fields: dict[str, str]) -> None:
        if not url:
            return
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as client:
                await client.post(url, data=fields)
        except httpx.HTTPError:
            pass  # [E] §10.17: no retry; `smsgate sync` is the client's fallback

    # -- the API's report methods -----------------------------------------------------------

    def blacklist_of(self, login: str) -> dict[str, Any]:
        """getBlacklist: the account's unsubscribed numbers (spec §5)."""
        with self.lock:
            found = [(n, b) for n, b in self.blacklist.items() if b.login == login]
        return {
            "blacklist": [
                {"phoneNumber": n, "comment": b.comment, "receptionDate": b.reception_date}
                for n, b in found
            ]
        }

    def acks_of(self, login: str, campaign_id: str) -> dict[str, Any]:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None or campaign.login != login:
            return {"status": 0, "statusText": "No acknowledgement found"}
        with self.lock:
            acks = [self.acks[m.id].to_dict() for m in campaign.messages if m.id in self.acks]
        return {"acks": acks, "cliMsgId": campaign.client_message_id}

    def ack_by_sms_id(self, login: str, sms_id: str) -> dict[str, Any]:
        for campaign in self.campaigns.values():
            if campaign.login == login and any(m.id == sms_id for m in campaign.messages):
                ack = self.acks.get(sms_id)
                if ack:
                    return ack.to_dict()
        return {"status": 0, "statusText": "No acknowledgement found"}

    def pulls(self, login: str, limit: int) -> dict[str, Any]:
        """Replies not returned by an earlier getPulls, oldest first; marks them returned."""
        with self.lock:
            fresh = [mo for mo in self.mos if mo.login == login and not mo.returned][:limit]
            for mo in fresh:
                mo.returned = True
        for mo in fresh:  # the keep's lock is never taken under ours
            self.keep.touch(MO, mo.id, mo)
        return {"mos": [mo.to_dict() for mo in fresh]}

    def pull_of(self, login: str, campaign_id: str) -> dict[str, Any]:
        with self.lock:
            found = [m for m in self.mos if m.login == login and m.campaign_id == campaign_id]
        return {"mos": [mo.to_dict() for mo in found]}

    def cancel(self, login: str, campaign_id: str) -> Campaign | None:
        """A held campaign of this account, now cancelled; None when not found or sent."""
        campaign = self.campaigns.get(campaign_id)
        now = datetime.now(PARIS)
        with self.lock:
            if (
                campaign is None
                or campaign.login != login
                or campaign.cancelled
                or campaign.held_until is None
                or campaign.held_until <= now
            ):
                return None
            campaign.cancelled = True
        self.keep.touch(CAMPAIGN, campaign.id, campaign)
        for message in campaign.messages:
            self.inbox.update(message, status="cancelled")
        return campaign

    # -- replies ------------------------------------------------------------------------------

    def reply(self, inbox: Inbox, sender: str, text: str, sms_id: str | None) -> Mo | None:
        """A recipient answers: to ``sms_id``, or to the latest SMS sent to them."""
        sent = [m for m in inbox.list(to=sender, provider="allmysms") if sms_id in (None, m.id)]
        if not sent:
            return None
        original = sent[-1]
        mo = Mo(
            id=str(next(self._mo_ids)),
            login=original.account,
            phone_number=sender,
            campaign_id=original.campaign_id,
            sms_id=original.id,
            message=text,
            reception_date=paris_now(),
        )
        with self.lock:
            self.mos.append(mo)
            if text.strip().upper() == "STOP":
                self.blacklist.setdefault(
                    sender, Blacklisted(original.account, "stop", mo.reception_date)
                )
        self.keep.touch(MO, mo.id, mo)
        self._spawn(
            self._post(
                self.settings.replies_url,
                {
                    "smsId": mo.sms_id,
                    "campaignId": mo.campaign_id,
                    "phoneNumber": sender,
                    "receptionDate": mo.reception_date,
                    "smsMoId": mo.id,
                    "message": text,
                },
            )
        )
        return mo
