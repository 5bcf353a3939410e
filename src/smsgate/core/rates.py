"""A call's turn in a provider account's call budget: what a budget hands out, whichever keeps
it (this process's memory, or the message store for every process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """One call's turn in a budget."""

    wait: float
    """Seconds to wait before making the call."""
    done: Callable[[], None]
    """Called once the call has its answer (or failed). The slot then counts from that
    moment: a provider counts a call when it arrives, which is never after its answer, so a
    call that left late (a busy machine) cannot bunch up with the next calls at the provider."""
