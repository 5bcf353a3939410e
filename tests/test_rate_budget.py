"""One call budget per provider account across processes: the message store on PostgreSQL
keeps it, so three processes sending through one account never exceed it together."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest

from smsgate.core.errors import ConfigurationError
from smsgate.core.rates import Slot
from smsgate.gateway import Gateway
from smsgate.gateway.ratelimit import Limiter, RateLimiter
from smsgate.sandbox.server import BackgroundSandbox
from smsgate.store import Store
from smsgate.store.budgets import SharedBudget
from tests.conftest import inbox

SENDER = """
import sys
from smsgate.gateway import Gateway
from smsgate.store import Store

dsn, url, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store(url)
with Gateway.from_dsn(dsn, env={}, budgets=store) as gateway:
    for n in range(first, first + 8):  # one request each
        assert gateway.send(f"4477009{n:05d}", "Budget", sender="ACME").accepted == 1
"""


def test_three_processes_share_one_budget_and_never_exceed_it(
    sandbox: BackgroundSandbox, postgres_url: str
) -> None:
    dsn = sandbox.smsworks_dsn() + "?rate=6/2s"
    Store(postgres_url).close()  # migrated once, before the three start
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    processes = [
        subprocess.Popen([sys.executable, "-c", SENDER, dsn, postgres_url, str(first)], env=env)
        for first in (0, 100, 200)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    times = sorted(
        datetime.fromisoformat(str(m["received_at"])).timestamp() for m in inbox(sandbox)
    )
    assert len(times) == 24
    busiest = max(sum(1 for t in times if start <= t < start + 2.0) for start in times)
    # Strictly: a slot counts from its call's answer, so even calls that leave late (three
    # processes on a busy machine) never arrive within one period of the slot's last call.
    assert busiest <= 6, f"{busiest} calls in one 2-s window for a budget of 6"
    assert times[-1] - times[0] >= 2 * (24 / 6 - 1) - 0.5  # the budget held them back


def test_the_budget_is_shared_only_where_the_store_can_share_it(
    sandbox: BackgroundSandbox, postgres_url: str, tmp_path: object
) -> None:
    shared = Store(postgres_url)
    with Gateway.from_dsn(sandbox.smsworks_dsn(), env={}, budgets=shared) as gateway:
        assert isinstance(gateway._limiter, SharedBudget)
        assert (gateway._limiter.calls, gateway._limiter.period) == (100, 60.0)
    local = Store(f"sqlite:///{tmp_path}/store.db")
    with Gateway.from_dsn(sandbox.smsworks_dsn(), env={}, budgets=local) as gateway:
        assert isinstance(gateway._limiter, RateLimiter)  # this process's own


@pytest.mark.parametrize("rate", ["abc", "0/1s", "5/0s", "5/", "10/100ms", "5/2h"])
def test_a_rate_that_is_not_one_is_refused_with_what_to_write(
    sandbox: BackgroundSandbox, rate: str
) -> None:
    with pytest.raises(ConfigurationError, match="write it as CALLS/SECONDS"):
        Gateway.from_dsn(sandbox.smsworks_dsn() + f"?rate={rate}", env={})


class _Unreachable:
    """A budget keeper that is down: no slot can be taken."""

    def budget(self, key: str, calls: int, period: float) -> Limiter | None:
        return self

    def reserve(self) -> Slot:
        raise OSError("the store is down")


def test_a_budget_that_cannot_be_taken_stops_the_call_before_it_leaves(
    sandbox: BackgroundSandbox,
) -> None:
    """Never a call outside the budget: the batch is failed (not sent), nothing reaches the
    provider, and the report says why."""
    with Gateway.from_dsn(sandbox.smsworks_dsn(), env={}, budgets=_Unreachable()) as gateway:
        report = gateway.send("447700900001", "Budget", sender="ACME")
    assert report.recipients[0].status.value == "failed"
    assert "call budget" in (report.recipients[0].error or "") and inbox(sandbox) == []


def test_a_slot_whose_answer_cannot_be_noted_never_fails_the_call_that_went_out(
    postgres_url: str,
) -> None:
    """The call has left when its answer is noted: a store gone meanwhile only leaves the
    slot counted from its reservation; the send (and its report) goes on."""
    budget = Store(postgres_url).budget("smsworks:test-noted", 5, 1.0)
    assert budget is not None
    slot = budget.reserve()
    budget.store = Store("postgresql://postgres@127.0.0.1:1/gone", migrate=False)
    slot.done()  # no exception
