"""The message itself: one text, one sender, fitted to the parts the user allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smsgate.core.errors import InvalidText
from smsgate.core.personalise import Template
from smsgate.core.sender import SenderRule, check_sender
from smsgate.core.text import EMPTY_TEXT, FittedText, fit_text
from smsgate.core.trial import trial_text


@dataclass(frozen=True)
class Message:
    fitted: FittedText
    sender: str | None
    trial: bool
    scheduled_at: datetime | None = None
    campaign_name: str | None = None
    flash: bool = False
    """Shown at once on the handset and not stored there."""
    template: Template | None = None
    """Personalised sends: the text with a placeholder per column (trial prefix included)."""

    @property
    def text(self) -> str:
        return self.fitted.text

    def warnings(self) -> list[str]:
        if not self.fitted.truncated:
            return []
        seg = self.fitted.segmentation
        return [
            f"text truncated from {self.fitted.original_length} to {len(self.text)} characters "
            f"to fit {seg.count} part{'s' if seg.count > 1 else ''} ({seg.encoding.value}); "
            "allow more with --max-parts or refuse with --no-truncate"
        ]


def compose_message(
    text: str,
    *,
    sender: str | None = None,
    trial: bool = False,
    max_parts: int = 1,
    max_chars: int | None = None,
    truncate: bool = True,
    scheduled_at: datetime | None = None,
    campaign_name: str | None = None,
    sender_rule: SenderRule,
    flash: bool = False,
) -> Message:
    """Validate sender and text and fit the text; raises InvalidInput before anything is sent.

    The trial prefix is part of the text, so it counts toward the length.
    """
    checked_sender = check_sender(sender, sender_rule)
    if not text.strip():
        raise InvalidText(EMPTY_TEXT)
    body = trial_text(text) if trial else text
    fitted = fit_text(body, max_parts=max_parts, max_chars=max_chars, truncate=truncate)
    return Message(fitted, checked_sender, trial, scheduled_at, campaign_name, flash)
