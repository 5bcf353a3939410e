"""A send before and after the wire: validate and batch first, then fold outcomes into a report.

Pure: the sync and async gateways share it and differ only in how they wait for the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from time import monotonic
from typing import Final, Protocol, Unpack

from smsgate.core.errors import InvalidText, NoRecipients
from smsgate.core.ids import new_ids
from smsgate.core.optout import OPTED_OUT
from smsgate.core.personalise import TO_COLUMN, Template
from smsgate.core.recipients import Recipient, RecipientList, Skipped, prepare_recipients
from smsgate.core.report import RecipientResult, RecipientStatus, RequestRecord, SendReport
from smsgate.core.sent import Outgoing, SentBatch
from smsgate.core.text import fit_text, segment
from smsgate.core.trial import TRIAL_LIMIT_REASON, TRIAL_MAX_RECIPIENTS
from smsgate.gateway.compose import Halt, SendOptions, batch_size, cut_batches, plan_message
from smsgate.gateway.endpoint import Endpoint, default_region
from smsgate.gateway.routed import RoutedSend, Way, provably_unsent
from smsgate.gateway.routes import Routing
from smsgate.gateway.transport import MaybeSent, NotSent
from smsgate.providers import Batch, BatchOutcome

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


ANNOUNCE_RECIPIENTS: Final = 500
ANNOUNCE_BATCHES: Final = 64
"""How far ahead the write-ahead record goes in one commit: a batch of 500 recipients or
more alone, else up to 64 small ones (Messangi's one-recipient requests: one commit each
would cost more than the requests)."""


class SendRun:
    """One send in progress: yields its batches and records each outcome in the report."""

    routed: RoutedSend | None
    """Over routes: which member takes each batch (None: the one endpoint's)."""
    _callback_url: str | None

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
            self.batches = cut_batches(message, people, ids, params, texts, size)
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
        self._callback_url = options.get("callback_url")

    def _begin(self, endpoint: Endpoint, recorder: SendRecorder | None, halt: Halt | None) -> None:
        self.routed = None
        self._callback_url = None
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
                callback_url=self._callback_url,
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
                    callback_url=self._callback_url,
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
