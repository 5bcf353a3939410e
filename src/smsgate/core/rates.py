"""A call's turn in a provider account's call budget: what a budget hands out, whichever keeps
it (this process's memory, or the message store for every process)."""

from __future__ import annotations

from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Slot:
    """One call's turn in a budget."""

    wait: float
    """Seconds to wait before making the call."""
    done: Callable[[], None]
    """Called once the call has its answer (or failed). The slot then counts from that
    moment: a provider counts a call when it arrives, which is never after its answer, so a
    call that left late (a busy machine) cannot bunch up with the next calls at the provider."""

    full: bool = False
    """Every slot holds a call still in flight: nothing can be promised until one has its
    answer. The caller asks again shortly (``RECHECK``) and calls nothing meanwhile."""


def _nothing() -> None:
    pass


FULL: Final = Slot(0.0, _nothing, full=True)
"""What a budget hands out while every slot holds a call in flight."""

RECHECK: Final = 0.02
"""Seconds before asking a full budget again."""
STALE: Final = 300.0
"""A call in flight this long (its process died before noting the answer) counts as
answered then: no timeout of ours lets a request run longer."""


def take_slot(
    slots: MutableSequence[list[Any]], calls: int, period: float, now: float
) -> tuple[list[Any], float] | None:
    """The pure rule of a budget of ``calls`` per ``period``, shared by every keeper (this
    process's memory, the store's row). Each slot is [when its call last counted, in flight
    (1.0) or answered (0.0), whatever else its keeper adds]. A new call takes the answered
    slot whose call counted first and waits until a period after it; while every slot is in
    flight, None (ask again): a call in flight counts when its answer comes, which no one
    can know before.

    Returns the slot taken (now in flight, at the time the call may leave) and the wait."""
    for slot in slots:
        if slot[1] and now - slot[0] > STALE:
            slot[1] = 0.0
    if len(slots) < calls:
        new: list[Any] = [now, 1.0]
        slots.append(new)
        return new, 0.0
    answered = [slot for slot in slots if not slot[1]]
    if not answered:
        return None
    oldest = min(answered, key=lambda slot: slot[0])
    at = max(now, oldest[0] + period)
    oldest[0], oldest[1] = at, 1.0
    return oldest, at - now


def answer_slot(slot: list[Any], now: float) -> None:
    """The slot's call has its answer: it counts from now (or its start, if later)."""
    slot[0], slot[1] = max(slot[0], now), 0.0
