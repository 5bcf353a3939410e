"""A send before and after the wire: validate and batch first, then fold outcomes into a report.

Pure: the sync and async gateways share it and differ only in how they wait for the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from smsgate.core.errors import NoRecipients
from smsgate.core.message import Message, compose_message
from smsgate.core.recipients import RecipientList, prepare_recipients
from smsgate.core.report import RecipientResult, RecipientStatus, RequestRecord, SendReport
from smsgate.core.trial import TRIAL_LIMIT_REASON, TRIAL_MAX_RECIPIENTS
from smsgate.gateway.endpoint import Endpoint
from smsgate.providers import Batch, BatchOutcome

SANDBOX_WARNING: Final = "sandbox: nothing left this machine; no SMS was delivered to a phone"


@dataclass
class SendPlan:
    message: Message
    recipients: RecipientList
    batches: list[Batch]
    report: SendReport

    def remaining(self, after: int) -> Iterator[Batch]:
        return iter(self.batches[after:])


def plan_send(
    endpoint: Endpoint,
    to: str | Iterable[str],
    text: str,
    *,
    sender: str | None,
    region: str,
    strict: bool,
    max_parts: int,
    truncate: bool,
    scheduled_at: datetime | None,
    campaign_name: str | None,
) -> SendPlan:
    """Everything that can be refused is refused here, before the first request."""
    provider = endpoint.provider
    message = compose_message(
        text,
        sender=sender,
        trial=endpoint.trial,
        max_parts=max_parts,
        max_chars=provider.capabilities.max_text_chars,
        truncate=truncate,
        scheduled_at=scheduled_at,
        campaign_name=campaign_name,
    )
    recipients = prepare_recipients(to, region=region, strict=strict)
    if not recipients.recipients:
        raise NoRecipients(_no_recipient_message(recipients))
    if endpoint.trial:
        recipients.limit(TRIAL_MAX_RECIPIENTS, TRIAL_LIMIT_REASON)
    size = provider.capabilities.max_recipients_per_request
    people = recipients.recipients
    batches = [Batch(message, people[i : i + size]) for i in range(0, len(people), size)]
    seg = message.fitted.segmentation
    report = SendReport(
        provider=provider.name,
        sandbox=endpoint.sandbox,
        trial=endpoint.trial,
        text=message.text,
        truncated=message.fitted.truncated,
        encoding=seg.encoding,
        parts=seg.count,
        skipped=recipients.skipped,
        warnings=message.warnings() + ([SANDBOX_WARNING] if endpoint.sandbox else []),
    )
    return SendPlan(message, recipients, batches, report)


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
