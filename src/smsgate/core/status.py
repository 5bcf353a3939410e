"""One status model for every provider, and the rule that a final status never goes back.

queued -> submitting -> scheduled -> sent -> delivered | failed (permanent) | rejected |
expired | cancelled. ``submitting`` is on record before the request that carries the message
leaves (write-ahead), so a crash at any instant leaves the message accounted for. ``failed``
may be temporary (not final: the operator may still deliver, or we never reached the
provider); ``unknown`` means we cannot tell whether the provider has it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTING = "submitting"
    SCHEDULED = "scheduled"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


_RANK: Final = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SUBMITTING: 0,
    MessageStatus.UNKNOWN: 0,
    MessageStatus.SCHEDULED: 1,
    MessageStatus.SENT: 2,
    MessageStatus.FAILED: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.REJECTED: 4,
    MessageStatus.EXPIRED: 4,
    MessageStatus.CANCELLED: 4,
}
ALWAYS_FINAL: Final = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.REJECTED,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELLED,
    }
)


def is_final(status: MessageStatus, permanent: bool = False) -> bool:
    return status in ALWAYS_FINAL or (status is MessageStatus.FAILED and permanent)


def advances(
    current: MessageStatus, current_final: bool, new: MessageStatus, new_permanent: bool = False
) -> bool:
    """Whether an event with status ``new`` moves a message that is at ``current``.

    Final statuses never change; otherwise a status only moves forward (a late 'sent' after
    'delivered', or 'scheduled' after 'sent', is history, not news). A temporary failure may
    still become permanent.
    """
    if current_final:
        return False
    if _RANK[new] > _RANK[current]:
        return True
    return new is current is MessageStatus.FAILED and new_permanent
