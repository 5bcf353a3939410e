"""A send before and after the wire: validate and batch first, then fold outcomes into a report.

Pure: the sync and async gateways share it and differ only in how they wait for the network.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import groupby
from time import monotonic
from typing import Final, Protocol, TypedDict, Unpack

from smsgate.core.errors import InvalidInput, InvalidText, NoRecipients
from smsgate.core.ids import new_id, new_ids
from smsgate.core.message import Message, compose_message
from smsgate.core.optout import OPTED_OUT
from smsgate.core.personalise import TO_COLUMN, Template
from smsgate.core.recipients import Recipient, RecipientList, Skipped, prepare_recipients
from smsgate.core.report import RecipientResult, RecipientStatus, RequestRecord, SendReport
from smsgate.core.schedule import check_send_time
from smsgate.core.sent import Outgoing, SentBatch
from smsgate.core.text import fit_text, segment
from smsgate.core.trial import TRIAL_LIMIT_REASON, TRIAL_MAX_RECIPIENTS, TRIAL_PREFIX
from smsgate.gateway.abilities import providers_fitting, require
from smsgate.gateway.endpoint import Endpoint, default_region
from smsgate.gateway.ratelimit import Limiter
from smsgate.gateway.routes import Member, RouteMembers, Routing
from smsgate.gateway.transport import MaybeSent, NotSent
from smsgate.providers import Batch, BatchOutcome, Capabilities

SANDBOX_WARNING: Final = "sandbox: nothing left this machine; no SMS was delivered to a phone"

Progress = Callable[[int, int], None]
"""Called after each request with (recipients done, recipients to send)."""


class SendRecorder(Protocol):
    """Keeps every message the gateway sends (the message store implements it).

    Write-ahead: ``record_outgoing`` commits the messages of the next requests (``submitting``)
    before they leave; a recorder that cannot stops the send there. ``record_batch`` then
    records what became of each (or, for batches never announced, records them outright).
    """

    def record_outgoing(self, outgoing: Sequence[Outgoing]) -> None: ...

    def record_batch(self, sent: SentBatch) -> None: ...


class Halt:
    """Ask a send in progress to stop: no new request leaves, those in flight finish and are
    recorded, and the rest are reported (and recorded) as not sent with the reason. Safe to
    set from a signal handler or another thread (a plain attribute write)."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        self.reason = reason


ANNOUNCE_RECIPIENTS: Final = 500
ANNOUNCE_BATCHES: Final = 64
"""How far ahead the write-ahead record goes in one commit: a batch of 500 recipients or
more alone, else up to 64 small ones (Messangi's one-recipient requests: one commit each
would cost more than the requests)."""


class SendOptions(TypedDict, total=False):
    """How to send, beside the recipients and the text.

    sender: 3-11 letters/digits starting with a letter; None uses the provider's short code.
    region: country of national numbers (leading 0); default the gateway's.
    strict: also skip numbers phonenumbers finds invalid.
    max_parts: allow a concatenated SMS of up to this many parts (default 1).
    truncate: cut an over-long text (default) or refuse it.
    scheduled_at: send later (the provider holds it).
    campaign_name: a label the provider keeps with the campaign.
    flash: shown at once and not stored on the handset.
    halt: a Halt the caller may set to stop the send between requests (Ctrl-C).
    opted_out: numbers (international digits) that asked for no more SMS: skipped, saying
    so (core.optout.OPTED_OUT).
    """

    sender: str | None
    region: str | None
    strict: bool
    max_parts: int
    truncate: bool
    scheduled_at: datetime | None
    campaign_name: str | None
    flash: bool
    halt: Halt | None
    opted_out: Container[str] | None


class SendRun:
    """One send in progress: yields its batches and records each outcome in the report."""

    routed: RoutedSend | None
    """Over routes: which member takes each batch (None: the one endpoint's)."""

    def __init__(
        self,
        endpoint: Endpoint,
        to: str | Iterable[str],
        text: str,
        gateway_region: str,
        progress: Progress | None,
        options: SendOptions,
        recorder: SendRecorder | None = None,
        rows: Sequence[Mapping[str, str]] | None = None,
        routing: Routing | None = None,
    ) -> None:
        """Everything that can be refused is refused here, before the first request."""
        routed = RoutedSend(routing, text, options, rows is not None) if routing else None
        if routed is not None:
            endpoint = routed.primary.endpoint
        provider = endpoint.provider
        message, template = plan_message(endpoint, text, options, personalised=rows is not None)
        personal = template is not None
        region = options.get("region")
        recipients = prepare_recipients(
            [row.get(TO_COLUMN, "") for row in rows] if rows is not None else to,
            region=default_region(region) if region else gateway_region,
            strict=options.get("strict", False),
        )
        if opted_out := options.get("opted_out"):
            recipients.exclude(opted_out, OPTED_OUT)
        if not recipients.recipients:
            raise NoRecipients(_no_recipient_message(recipients))
        if endpoint.trial:
            recipients.limit(TRIAL_MAX_RECIPIENTS, TRIAL_LIMIT_REASON)
        caps = provider.capabilities
        people = recipients.recipients
        params: list[tuple[str, ...]] = []
        texts: list[str] = []
        if template is not None and rows is not None:
            people, params, texts = _personalise(
                template, rows, people, recipients, options, caps.max_text_chars
            )
            if not people:
                raise NoRecipients(_no_recipient_message(recipients))
        ids = new_ids("msg", len(people))
        if routed is not None:
            self.batches = routed.cut(people, ids, params, texts, recipients)
            if not self.batches:
                raise NoRecipients(_no_recipient_message(recipients))
        else:
            size = batch_size(caps, message, personal=personal)
            self.batches = [
                Batch(
                    message,
                    people[i : i + size],
                    new_id("req"),
                    ids[i : i + size],
                    params[i : i + size],
                    texts[i : i + size],
                )
                for i in range(0, len(people), size)
            ]
        self.total = len(people)
        self.progress = progress
        seg = max(
            (segment(t) for t in texts), key=lambda s: s.count, default=message.fitted.segmentation
        )
        self.report = SendReport(
            provider=routing.describe() if routing else provider.name,
            sandbox=endpoint.sandbox,
            trial=endpoint.trial,
            text=message.text,
            truncated=message.fitted.truncated,
            encoding=seg.encoding,
            parts=seg.count,
            skipped=recipients.skipped,
            warnings=message.warnings() + ([SANDBOX_WARNING] if endpoint.sandbox else []),
        )
        self._begin(endpoint, recorder, options.get("halt"))
        self.routed = routed

    def _begin(self, endpoint: Endpoint, recorder: SendRecorder | None, halt: Halt | None) -> None:
        self.routed = None
        self._next = 0
        self._provider = endpoint.provider.name
        self._sandbox = endpoint.sandbox
        self._account = endpoint.account
        self._recorder = recorder
        self._done = 0
        self.halt = halt
        self._announced_to = 0
        self._announced: set[str] = set()
        self.postponable = False
        self.postponed: list[Batch] = []
        """Batches a busy provider (429/503) turned away, when the run may postpone them
        (a queued send: its job runs them again later) instead of failing them."""
        self.postpone_for = 0.0
        self.stop_reason: str | None = None
        """Why the run stopped sending, when it did (a refusal that applies to every batch)."""

    @classmethod
    def resume(
        cls,
        endpoint: Endpoint,
        batches: Sequence[Batch],
        report: SendReport,
        recorder: SendRecorder | None,
        routed: RoutedSend | None = None,
    ) -> SendRun:
        """A run of batches planned earlier and on record already (a queued send's job): no
        validation, nothing to announce. It may postpone what a busy provider turns away.
        Over routes, ``routed`` has adopted each batch for the member it was planned for."""
        run = cls.__new__(cls)
        run.batches = list(batches)
        run.total = sum(len(b.recipients) for b in batches)
        run.progress = None
        run.report = report
        run._begin(endpoint, recorder, None)
        run.routed = routed
        run._announced_to = len(run.batches)
        run._announced = {b.reference for b in run.batches}
        run.postponable = True
        return run

    def __iter__(self) -> Iterator[Batch]:
        self._next = 0
        while self._next < len(self.batches):
            index = self._next
            if self.halt is not None and self.halt.reason and self.stop_reason is None:
                self._stop(self.halt.reason)
            if self.stop_reason is None and index >= self._announced_to:
                self._announce(index)
            if self.stop_reason is not None:
                if self.postponed:
                    self.postponed.extend(self.batches[index:])
                    return
                for skipped in self.batches[index:]:
                    self._not_attempted(skipped, self.stop_reason)
                return
            if self.routed is not None and not self._route_ready(index):
                continue
            self._next = index + 1
            yield self.batches[index]

    def _not_attempted(self, batch: Batch, reason: str) -> None:
        start = len(self.report.recipients)
        record_not_attempted(self.report, [batch], reason)
        self._finish(batch, start, None, None)

    def _route_ready(self, index: int) -> bool:
        """Whether the batch at ``index`` leaves now: its route may have stopped (then it is
        not sent, and False), or its member may have failed meanwhile (then it goes to the
        next member, on record as such before it leaves)."""
        routed = self.routed
        assert routed is not None
        batch = self.batches[index]
        if (stopped := routed.stopped_reason(batch)) is not None:
            self._not_attempted(batch, stopped)
            self._next = index + 1
            return False
        if not routed.is_out(batch):
            routed.started[batch.reference] = monotonic()
            return True
        tried = routed.tried.get(batch.reference, ())
        end = routed.alike(self.batches, index, min(self._announced_to, len(self.batches)))
        pieces = routed.reroute(self.batches[index:end], tried)
        if pieces is None:
            self._not_attempted(batch, routed.stopped_reason(batch) or "no provider left")
            self._next = index + 1
            return False
        self._put(index, pieces, replace=end - index)
        return False  # the loop comes back to the first piece

    def _put(self, index: int, pieces: list[Batch], *, replace: int) -> bool:
        """Rerouted batches in the run at ``index`` (in place of the ``replace`` there),
        on record with their new member before any of them leaves (write-ahead)."""
        if not self._announce_now(pieces):
            return False
        self.batches[index : index + replace] = pieces
        self._announced_to += len(pieces) - replace
        return True

    def record(self, batch: Batch, outcome: BatchOutcome | NotSent | MaybeSent) -> None:
        if self.routed is not None and self._fell_over(batch, outcome):
            return
        report = self.report
        start = len(report.recipients)
        campaign_id = credits_used = None
        if isinstance(outcome, NotSent) and self.postponable and outcome.retry_after is not None:
            self.postponed.append(batch)  # provably not sent: its job sends it later
            self.postpone_for = max(self.postpone_for, outcome.retry_after)
            self._stop(str(outcome))
            return
        if isinstance(outcome, NotSent):
            record_transport_failure(report, batch, RecipientStatus.FAILED, str(outcome))
            self._refused(batch, str(outcome))
        elif isinstance(outcome, MaybeSent):
            record_transport_failure(report, batch, RecipientStatus.UNKNOWN, str(outcome))
        else:
            record_outcome(report, outcome)
            campaign_id, credits_used = outcome.request.campaign_id, outcome.credits_used
            if outcome.stop:
                self._refused(batch, outcome.stop)
        self._finish(batch, start, campaign_id, credits_used)
        self._done += len(batch.recipients)
        if self.progress:
            self.progress(self._done, self.total)

    def _fell_over(self, batch: Batch, outcome: BatchOutcome | NotSent | MaybeSent) -> bool:
        """Over a route: the member's health learns the outcome, and a batch its member
        provably did not send goes to the next member (True). A batch that may have been
        sent never does: it stays ``unknown`` with the member that may have it."""
        routed = self.routed
        assert routed is not None
        member = routed.member_of(batch)
        unsent = provably_unsent(outcome)
        seconds = monotonic() - routed.started.pop(batch.reference, monotonic())
        trouble = unsent or (str(outcome) if isinstance(outcome, MaybeSent) else None)
        member.health.record(trouble is None, seconds, trouble)
        if unsent is None:
            return False
        routed.out.add(member)
        tried = (*routed.tried.get(batch.reference, ()), member.label)
        pieces = routed.reroute([batch], tried)
        return pieces is not None and self._put(self._next, pieces, replace=0)

    def _refused(self, batch: Batch, reason: str) -> None:
        """A refusal that applies to every later batch: of the send, or over routes, of the
        batch's route (another route's numbers still go)."""
        if self.routed is not None:
            self.routed.stop(batch, reason)
        else:
            self._stop(reason)

    def _origin(self, batch: Batch) -> tuple[str, bool, str | None, tuple[str, ...]]:
        """Which provider and account a batch goes through, and which were tried before."""
        if self.routed is None:
            return self._provider, self._sandbox, self._account, ()
        endpoint = self.routed.member_of(batch).endpoint
        tried = self.routed.tried.get(batch.reference, ())
        return endpoint.provider.name, endpoint.sandbox, endpoint.account, tried

    def _finish(
        self, batch: Batch, start: int, campaign_id: str | None, credits_used: float | None
    ) -> None:
        """Give the batch's results our message ids and hand them to the recorder."""
        results = self.report.recipients[start:]
        provider, sandbox, account, tried = self._origin(batch)
        for result, message_id in zip(results, batch.message_ids, strict=True):
            result.id = message_id
            result.provider = provider
            result.tried = tried
        if self._recorder is not None:
            sent = SentBatch(
                provider=provider,
                sandbox=sandbox,
                message=batch.message,
                reference=batch.reference,
                results=results,
                campaign_id=campaign_id,
                credits_used=credits_used,
                texts=batch.texts,
                account=account,
                announced=batch.reference in self._announced,
                tried=tried,
            )
            try:
                self._recorder.record_batch(sent)
            except Exception as error:  # the SMS went out: never lose the report over the record
                self.report.warnings.append(
                    f"{len(results)} message(s) were not recorded in the store "
                    f"({type(error).__name__}); the report above is their only record"
                )

    def outgoing(
        self,
        start: int,
        end: int,
        *,
        send_id: str | None = None,
        chunk: int | None = None,
        hold_until: datetime | None = None,
    ) -> list[Outgoing]:
        """Batches ``start:end`` as the store records them before they leave (a queued
        send's also name their send, their job and the time the gateway holds them to)."""
        return self._outgoing(self.batches[start:end], send_id, chunk, hold_until)

    def _outgoing(
        self,
        batches: Sequence[Batch],
        send_id: str | None = None,
        chunk: int | None = None,
        hold_until: datetime | None = None,
        rerouted: bool = False,
    ) -> list[Outgoing]:
        outgoing = []
        for batch in batches:
            provider, sandbox, account, tried = self._origin(batch)
            outgoing.append(
                Outgoing(
                    provider=provider,
                    sandbox=sandbox,
                    message=batch.message,
                    reference=batch.reference,
                    ids=batch.message_ids,
                    recipients=[r.number for r in batch.recipients],
                    texts=batch.texts,
                    account=account,
                    params=batch.params,
                    send_id=send_id,
                    chunk=chunk,
                    hold_until=hold_until,
                    tried=tried,
                    rerouted=rerouted,
                )
            )
        return outgoing

    def _announce(self, index: int) -> None:
        """Put the next requests' messages on record before any of them leaves."""
        if self._recorder is None:
            self._announced_to = len(self.batches)
            return
        end = window_end(self.batches, index)
        if self._write_ahead(self._outgoing(self.batches[index:end])):
            self._announced.update(batch.reference for batch in self.batches[index:end])
            self._announced_to = end

    def _announce_now(self, batches: list[Batch]) -> bool:
        """Rerouted batches: their rows (on record already) now name their new member."""
        if self._recorder is None:
            return True
        if not self._write_ahead(self._outgoing(batches, rerouted=True)):
            return False
        self._announced.update(batch.reference for batch in batches)
        return True

    def _write_ahead(self, outgoing: list[Outgoing]) -> bool:
        assert self._recorder is not None
        try:
            self._recorder.record_outgoing(outgoing)
        except Exception as error:  # nothing leaves that is not on record
            self._stop(
                f"the message store could not record the messages before sending them "
                f"({type(error).__name__}): check the store (smsgate settings) and send again"
            )
            return False
        return True

    def way(self, batch: Batch) -> Way | None:
        """Over routes, the endpoint and call budget a batch goes through, and whether
        another member stands behind it (None: the gateway's own endpoint)."""
        if self.routed is None:
            return None
        member = self.routed.member_of(batch)
        return Way(member.endpoint, member.limiter, self.routed.has_next(batch))

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason


@dataclass(frozen=True)
class Way:
    """How one batch of a routed send travels."""

    endpoint: Endpoint
    limiter: Limiter | None
    fallback: bool
    """Another member of its route can take it if this one provably does not: a refused
    connection is not tried again (the next member takes the batch at once)."""


def provably_unsent(outcome: BatchOutcome | NotSent | MaybeSent) -> str | None:
    """Why a batch provably did not leave (so another provider may take it), or None: the
    request never arrived (connection refused, busy past the wait), or the provider refused
    the whole batch for a reason that holds for every batch (credentials, credit)."""
    if isinstance(outcome, NotSent):
        return str(outcome)
    if (
        isinstance(outcome, BatchOutcome)
        and outcome.stop
        and all(r.status in _NOTHING_LEFT for r in outcome.results)
    ):
        return outcome.stop
    return None


_NOTHING_LEFT: Final = frozenset({RecipientStatus.REJECTED, RecipientStatus.FAILED})
NO_ROUTE: Final = "no route takes this number: add its prefix, or a default (*), to the routes"


def batch_size(caps: Capabilities, message: Message, *, personal: bool) -> int:
    """Recipients per request of this provider for this message."""
    if message.flash and not caps.flash_batch:
        return 1
    return caps.personalised if personal else caps.max_recipients_per_request


class RoutedSend:
    """A send over routes: the message each member can take it as, which member takes
    each batch, and which is next when one provably did not send it."""

    def __init__(
        self, routing: Routing, text: str, options: SendOptions, personalised: bool
    ) -> None:
        self.routing = routing
        self.messages: dict[int, Message] = {}
        self.refusals: dict[int, InvalidInput] = {}
        for member in routing.members():
            try:
                message, _ = plan_message(member.endpoint, text, options, personalised=personalised)
            except InvalidInput as error:
                self.refusals[id(member)] = error
            else:
                self.messages[id(member)] = message
        if not self.messages:  # no member can: the first one's refusal names those that can
            first = next(routing.members())
            raise self.refusals[id(first)]
        self.primary = next(m for m in routing.members() if id(m) in self.messages)
        self.assigned: dict[str, tuple[RouteMembers, Member]] = {}
        self.tried: dict[str, tuple[str, ...]] = {}
        self.started: dict[str, float] = {}
        self.out: set[Member] = set()
        """Members that sent nothing more in this run (one provably did not send a batch)."""
        self._stopped: dict[int, str] = {}

    def cut(
        self,
        people: list[Recipient],
        ids: list[str],
        params: list[tuple[str, ...]],
        texts: list[str],
        recipients: RecipientList,
    ) -> list[Batch]:
        """The send's batches: each route's numbers, cut for the member that takes them
        (failover: the first healthy one; round robin: each in turn)."""
        routes = self.routing.routes
        groups: dict[int, list[int]] = {}
        if len(routes) == 1 and routes[0][0] == "":
            groups[0] = list(range(len(people)))
        else:
            for i, person in enumerate(people):
                found = next(
                    (n for n, (p, _) in enumerate(routes) if person.number.startswith(p)), None
                )
                if found is None:
                    recipients.skipped.append(Skipped(person.input, NO_ROUTE))
                else:
                    groups.setdefault(found, []).append(i)
        batches: list[Batch] = []
        for number, indexes in sorted(groups.items()):
            route = routes[number][1]
            able = [m for m in route.members if id(m) in self.messages]
            if not able:
                raise self.refusals[id(route.members[0])]
            position = 0
            while position < len(indexes):
                member = self._pick(route, ())
                assert member is not None
                message = self.messages[id(member)]
                size = self._size(member, message)
                chunk = indexes[position : position + size]
                batch = Batch(
                    message,
                    [people[i] for i in chunk],
                    new_id("req"),
                    [ids[i] for i in chunk],
                    [params[i] for i in chunk] if params else (),
                    [texts[i] for i in chunk] if texts else (),
                )
                self.assigned[batch.reference] = (route, member)
                batches.append(batch)
                position += size
        return batches

    def _pick(self, route: RouteMembers, tried: Sequence[str]) -> Member | None:
        for member in route.order():
            if id(member) in self.messages and member not in self.out and member.label not in tried:
                return member
        return None

    @staticmethod
    def _size(member: Member, message: Message) -> int:
        caps = member.endpoint.provider.capabilities
        return batch_size(caps, message, personal=message.template is not None)

    def members(self) -> Iterator[Member]:
        return self.routing.members()

    def batches_again(
        self, rows: Iterable[tuple[str | None, str, str, str, tuple[str, ...], str]]
    ) -> tuple[list[Batch], list[str]]:
        """A queued send's rows back in batches, each with the member it was planned for:
        (account, reference, message id, number, values, text). Returns the batches and the
        ids of rows whose account or prefix the routes no longer have (never sent elsewhere:
        their plan was that account's)."""
        by_account: dict[str | None, list[tuple[str, str, str, tuple[str, ...], str]]] = {}
        for account, reference, message_id, number, values, text in rows:
            by_account.setdefault(account, []).append((reference, message_id, number, values, text))
        batches: list[Batch] = []
        lost: list[str] = []
        for account, group in by_account.items():
            member = next(
                (
                    m
                    for m in self.members()
                    if m.endpoint.account == account and id(m) in self.messages
                ),
                None,
            )
            if member is None:
                lost += [row[1] for row in group]
                continue
            for batch in batches_again(self.messages[id(member)], sorted(group)):
                found = self.routing.route_for(batch.recipients[0].number)
                if found is None or member not in found[1].members:
                    lost += list(batch.message_ids)
                    continue
                self.assigned[batch.reference] = (found[1], member)
                batches.append(batch)
        return batches, lost

    def member_of(self, batch: Batch) -> Member:
        return self.assigned[batch.reference][1]

    def has_next(self, batch: Batch) -> bool:
        """Whether another member could take this batch if its own provably does not."""
        route, member = self.assigned[batch.reference]
        tried = (*self.tried.get(batch.reference, ()), member.label)
        return self._pick(route, tried) is not None

    def is_out(self, batch: Batch) -> bool:
        return self.member_of(batch) in self.out

    def stop(self, batch: Batch, reason: str) -> None:
        self._stopped.setdefault(id(self.assigned[batch.reference][0]), reason)

    def stopped_reason(self, batch: Batch) -> str | None:
        return self._stopped.get(id(self.assigned[batch.reference][0]))

    def alike(self, batches: Sequence[Batch], index: int, end: int) -> int:
        """Where the run of batches from ``index`` that reroute together ends: the same
        route, member, message and providers tried (a pipelining provider's one-recipient
        batches become the next member's full ones, not a request each)."""
        first = batches[index]
        route, member = self.assigned[first.reference]
        tried = self.tried.get(first.reference, ())
        stop = index + 1
        limit = max(len(first.recipients), 1000)
        count = len(first.recipients)
        while stop < end and count < limit:
            other = batches[stop]
            if (
                self.assigned[other.reference] != (route, member)
                or self.tried.get(other.reference, ()) != tried
                or other.message is not first.message
            ):
                break
            count += len(other.recipients)
            stop += 1
        return stop

    def reroute(self, batches: Sequence[Batch], tried: tuple[str, ...]) -> list[Batch] | None:
        """Batches (of one route, member and message) cut for the next member of their
        route that has not tried them (None: no member is left)."""
        route = self.assigned[batches[0].reference][0]
        member = self._pick(route, tried)
        if member is None:
            return None
        message = self.messages[id(member)]
        size = self._size(member, message)
        recipients = [r for b in batches for r in b.recipients]
        ids = [i for b in batches for i in b.message_ids]
        params = [p for b in batches for p in b.params]
        texts = [t for b in batches for t in b.texts]
        pieces = []
        for i in range(0, len(recipients), size):
            piece = Batch(
                message,
                recipients[i : i + size],
                new_id("req"),
                ids[i : i + size],
                params[i : i + size],
                texts[i : i + size],
            )
            self.assigned[piece.reference] = (route, member)
            if tried:
                self.tried[piece.reference] = tried
            pieces.append(piece)
        return pieces


def batches_again(
    message: Message, rows: Iterable[tuple[str, str, str, tuple[str, ...], str]]
) -> list[Batch]:
    """A queued send's requests as they were planned, from its rows on record: (reference,
    message id, number, the template's values, text), in reference order, one batch per
    reference (AllMySMS CLIMSGID)."""
    personal = message.template is not None
    batches = []
    for reference, grouped in groupby(rows, key=lambda row: row[0]):
        group = list(grouped)
        batches.append(
            Batch(
                message,
                [Recipient(row[2], row[2]) for row in group],
                reference,
                [row[1] for row in group],
                [row[3] for row in group] if personal else (),
                [row[4] for row in group] if personal else (),
            )
        )
    return batches


def window_end(batches: Sequence[Batch], index: int) -> int:
    """Where the window of batches starting at ``index`` ends: the batches put on record in
    one commit (write-ahead), and the batches of one queued job."""
    end, count = index, 0
    while end < len(batches) and end - index < ANNOUNCE_BATCHES:
        count += len(batches[end].recipients)
        end += 1
        if count >= ANNOUNCE_RECIPIENTS:
            break
    return end


def plan_message(
    endpoint: Endpoint, text: str, options: SendOptions, *, personalised: bool
) -> tuple[Message, Template | None]:
    """The message a send carries, with its template when each recipient gets a text of
    their own; refuses (InvalidInput) what the provider cannot do or the text that cannot fit.
    A queued send's job composes its message again from the same values."""
    provider = endpoint.provider
    if scheduled := options.get("scheduled_at"):
        require(provider, "schedule", "schedule a send")
        check_send_time(scheduled, datetime.now(UTC))
    if options.get("flash"):
        require(provider, "flash", "send a flash SMS")
    template = Template.parse(text) if personalised else None
    personal = template is not None and template.personal
    if personal:
        require(provider, "personalised", "send a personalised text per recipient")
        if options.get("scheduled_at") and not provider.capabilities.personalised_schedule:
            require(provider, "personalised_schedule", "schedule personalised texts")
    limit = provider.capabilities.max_text_chars
    try:
        message = compose_message(
            text,
            sender=options.get("sender") or endpoint.default_sender,
            trial=endpoint.trial,
            max_parts=options.get("max_parts", 1) if not personal else 255,
            max_chars=limit if not personal else None,
            truncate=options.get("truncate", True) if not personal else False,
            scheduled_at=options.get("scheduled_at"),
            campaign_name=options.get("campaign_name"),
            sender_rule=provider.capabilities.sender,
            flash=options.get("flash", False),
        )
    except InvalidText as error:
        if limit is None or len(text) <= limit or personal:
            raise
        raise InvalidText(
            f"{error}; {provider.name} takes up to {limit} characters, "
            f"{providers_fitting(len(text), provider.name)}"
        ) from None
    if template is None or not personal:
        return message, None
    template = template.prefixed(TRIAL_PREFIX) if endpoint.trial else template
    return replace(message, template=template), template


def _no_recipient_message(recipients: RecipientList) -> str:
    if not recipients.skipped:
        return "no recipient given: pass one or more phone numbers"
    shown = "; ".join(f"{s.input!r}: {s.reason}" for s in recipients.skipped[:3])
    more = len(recipients.skipped) - 3
    tail = f" (and {more} more)" if more > 0 else ""
    return f"no valid recipient, nothing was sent: {shown}{tail}"


def record_outcome(report: SendReport, outcome: BatchOutcome) -> None:
    report.recipients.extend(outcome.results)
    report.requests.append(outcome.request)
    if outcome.credits_used is not None:
        report.credits_used = (report.credits_used or 0) + outcome.credits_used
    if outcome.credits_left is not None:
        report.credits_left = outcome.credits_left


def record_transport_failure(
    report: SendReport, batch: Batch, status: RecipientStatus, error: str
) -> None:
    """A batch whose request never got an answer: not sent (failed) or maybe sent (unknown)."""
    report.recipients.extend(
        RecipientResult(r.number, status, None, error) for r in batch.recipients
    )
    report.requests.append(RequestRecord(None, None, error, len(batch.recipients)))


def record_not_attempted(report: SendReport, batches: Iterable[Batch], reason: str) -> None:
    """Batches we chose not to send after a refusal that applies to them too."""
    error = f"not sent: {reason}"
    for batch in batches:
        report.recipients.extend(
            RecipientResult(r.number, RecipientStatus.FAILED, None, error) for r in batch.recipients
        )


def _personalise(
    template: Template,
    rows: Sequence[Mapping[str, str]],
    people: list[Recipient],
    recipients: RecipientList,
    options: SendOptions,
    max_chars: int | None,
) -> tuple[list[Recipient], list[tuple[str, ...]], list[str]]:
    """Each recipient's values and text. A row without a value the template uses, or whose
    text is too long for the parts allowed, is that recipient's alone to miss (skipped with
    the reason): never 'Hi !', never truncated."""
    row_by_input: dict[str, Mapping[str, str]] = {}
    for row in rows:
        row_by_input.setdefault(row.get(TO_COLUMN, "").strip(), row)
    kept: list[Recipient] = []
    params: list[tuple[str, ...]] = []
    texts: list[str] = []
    for person in people:
        row = row_by_input.get(person.input.strip(), {})
        missing = [column for column in template.columns if column not in row]
        if missing:
            reason = f"its row has no {missing[0]!r} value: fill it in (an empty value is kept)"
            recipients.skipped.append(Skipped(person.input, reason))
            continue
        values = template.values_of(row)
        text = template.render(values)
        try:
            fit_text(
                text, max_parts=options.get("max_parts", 1), max_chars=max_chars, truncate=False
            )
        except InvalidText as error:
            recipients.skipped.append(Skipped(person.input, f"its text: {error}"))
            continue
        kept.append(person)
        params.append(values)
        texts.append(text)
    return kept, params, texts


def start_send(
    endpoint: Endpoint,
    to: str | Iterable[str],
    text: str,
    *,
    gateway_region: str,
    progress: Progress | None = None,
    recorder: SendRecorder | None = None,
    rows: Sequence[Mapping[str, str]] | None = None,
    routing: Routing | None = None,
    **options: Unpack[SendOptions],
) -> SendRun:
    return SendRun(endpoint, to, text, gateway_region, progress, options, recorder, rows, routing)
