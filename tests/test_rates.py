"""The budget rule every keeper shares (core.rates): however calls overlap and however long
their answers take, no window of one period can hold more calls than the budget."""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.core.rates import RECHECK, answer_slot, take_slot


@settings(max_examples=200, deadline=None)
@given(
    calls=st.integers(1, 6),
    period=st.floats(0.5, 5.0),
    starts=st.lists(st.floats(0, 10), min_size=1, max_size=40),
    latencies=st.lists(st.floats(0, 3), min_size=40, max_size=40),
)
def test_no_period_ever_holds_more_calls_than_the_budget(
    calls: int, period: float, starts: list[float], latencies: list[float]
) -> None:
    slots: list[list[Any]] = []
    events: list[tuple[float, int, int]] = [(t, 0, i) for i, t in enumerate(starts)]
    heapq.heapify(events)
    spans: list[tuple[int, float, float]] = []  # each call: (slot, left, answered)
    held: dict[int, list[Any]] = {}
    while events:
        now, kind, caller = heapq.heappop(events)
        if kind == 0:  # wants to call
            taken = take_slot(slots, calls, period, now)
            if taken is None:
                heapq.heappush(events, (now + RECHECK, 0, caller))
                continue
            slot, wait = taken
            held[caller] = slot
            left = now + wait
            answered = left + latencies[caller]
            spans.append((id(slot), left, answered))
            heapq.heappush(events, (answered, 1, caller))
        else:  # its answer
            answer_slot(held.pop(caller), now)
    assert len(spans) == len(starts)
    # A call reaches the provider at some instant between leaving and its answer. At most
    # ``calls`` slots exist, and a slot's next call leaves a full period after the previous
    # one's answer: so no period, wherever it falls, can hold more than ``calls`` arrivals.
    assert len(slots) <= calls
    for key in {span[0] for span in spans}:
        mine = sorted(span[1:] for span in spans if span[0] == key)
        for (_, answered), (left, _) in itertools.pairwise(mine):
            assert left >= answered + period - 1e-9
