"""What a send carries, for one provider: its options, the message composed for that
provider's limits and rules, and its batches cut to that provider's size.

Pure, and written once: a plain send, a queued send's job and each member of a route
compose the same way (:mod:`smsgate.gateway.plan`, :mod:`smsgate.gateway.routed`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import groupby
from typing import TypedDict

from smsgate.core.errors import InvalidText
from smsgate.core.ids import new_id
from smsgate.core.message import Message, compose_message
from smsgate.core.personalise import Template
from smsgate.core.recipients import Recipient
from smsgate.core.schedule import check_send_time
from smsgate.core.trial import TRIAL_PREFIX
from smsgate.gateway.abilities import providers_fitting, require
from smsgate.gateway.endpoint import Endpoint
from smsgate.providers import Batch, Capabilities


class Halt:
    """Ask a send in progress to stop: no new request leaves, those in flight finish and are
    recorded, and the rest are reported (and recorded) as not sent with the reason. Safe to
    set from a signal handler or another thread (a plain attribute write)."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        self.reason = reason


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
    callback_url: where each status change of each message is POSTed (the recorder keeps it;
    the message store's outbox delivers).
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
    callback_url: str | None


def batch_size(caps: Capabilities, message: Message, *, personal: bool) -> int:
    """Recipients per request of this provider for this message."""
    if message.flash and not caps.flash_batch:
        return 1
    return caps.personalised if personal else caps.max_recipients_per_request


def cut_batches(
    message: Message,
    recipients: Sequence[Recipient],
    ids: Sequence[str],
    params: Sequence[tuple[str, ...]],
    texts: Sequence[str],
    size: int,
) -> list[Batch]:
    """Recipients (with their message ids, and for personalised sends their values and
    texts) in requests of ``size``, each with a reference of its own."""
    return [
        Batch(
            message,
            recipients[i : i + size],
            new_id("req"),
            ids[i : i + size],
            params[i : i + size],
            texts[i : i + size],
        )
        for i in range(0, len(recipients), size)
    ]


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
