"""Faults a test injects to see what a client does when the network or the provider misbehaves.

``before``: stall ``delay`` seconds first (the request has arrived, nothing is taken yet), then
answer with ``status`` without processing (429/503 are retry-safe for a client), or with a
canned API ``answer`` (e.g. an AllMySMS status code the emulator never produces).
``after``: process the request (the SMS is accepted), then answer ``status`` or stall ``delay``
seconds, the cases where a client cannot know whether its SMS went out.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from smsgate.sandbox.chaos import NEVER, NO_FATE, Chaos, Effect, note_faults
from smsgate.sandbox.inbox import Inbox, InboxMessage


@dataclass
class Fault:
    method: str
    when: Literal["before", "after"] = "before"
    status: int | None = None
    delay: float = 0.0
    retry_after: str | None = None
    times: int = 1
    answer: dict[str, object] | None = None

    def describe(self) -> str:
        what = [f"HTTP {self.status}"] if self.status else []
        what += [f"{self.delay:g} s stall"] if self.delay else []
        what += ["a canned answer"] if self.answer else []
        return f"injected fault {self.when} processing: {', '.join(what) or 'nothing'}"

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Fault:
        when = str(data.get("when", "before"))
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        status = data.get("status")
        retry_after = data.get("retry_after")
        answer = data.get("answer")
        if answer is not None and not isinstance(answer, dict):
            raise ValueError("answer must be a JSON object")
        return cls(
            method=str(data["method"]),
            when="before" if when == "before" else "after",
            status=int(str(status)) if status is not None else None,
            delay=float(str(data.get("delay", 0.0))),
            retry_after=str(retry_after) if retry_after is not None else None,
            times=int(str(data.get("times", 1))),
            answer=answer,
        )


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.chaos = Chaos()
        """Faults with a probability, on every call until cleared (``--chaos``)."""
        self.injected: deque[dict[str, object]] = deque(maxlen=1000)
        """The chaos injected lately (when, which method, what), newest last."""

    def effect(self, method: str, provider: str = "*", account: str = "*") -> Effect:
        """What chaos does to this call, on record when it does anything."""
        effect = self.chaos.effect(method, provider, account)
        note_faults(*effect.reasons)
        self.note(method, account, effect.reasons)
        return effect

    def note(self, what: str, account: str, reasons: tuple[str, ...]) -> None:
        """On record among what chaos injected lately (a call's faults, a receipt's)."""
        if reasons:
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            self.injected.append(
                {"at": at, "method": what, "account": account, "faults": list(reasons)}
            )

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, when: str) -> Fault | None:
        """The next fault for this method and moment, used up once per request. A fault
        for before the call is noted on the messages it would accept; one for after is noted
        by ``expect_after``, before the call runs (its messages exist by then)."""
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.when == when and fault.times > 0:
                    fault.times -= 1
                    break
            else:
                return None
        if when == "before":
            note_faults(fault.describe())
        return fault

    def expect_after(self, method: str) -> None:
        """Note the fault that will follow this call, if any, before the call runs."""
        with self._lock:
            fault = next(
                (
                    f
                    for f in self._faults
                    if f.method == method and f.when == "after" and f.times > 0
                ),
                None,
            )
        if fault is not None:
            note_faults(fault.describe())

    def remaining(self) -> int:
        """How many faults are still to be used (a test waits for a request to take one)."""
        with self._lock:
            return sum(fault.times for fault in self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class DroppedResponse(Response):
    """Headers that promise a body, half of it, then nothing: the connection is closed under
    the client, which cannot tell whether its call was processed (it was)."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status":', "more_body": True})
        raise ConnectionResetError("sandbox chaos: connection dropped")


async def chaos_before(
    faults: Faults,
    method: str,
    refuse: Callable[[int, str | None], Response],
    provider: str = "*",
    account: str = "*",
) -> tuple[Effect, Response | None]:
    """Chaos before a call: its latency, and a refusal that stops it (else None)."""
    effect = faults.effect(method, provider, account)
    if effect.wait_before:
        await asyncio.sleep(effect.wait_before)
    if effect.status_before is not None:
        return effect, refuse(effect.status_before, effect.retry_after)
    return effect, None


async def chaos_after(
    effect: Effect, response: Response, refuse: Callable[[int, str | None], Response]
) -> Response:
    """Chaos after a processed call: a stall, another status, or a dropped connection."""
    if effect.stall_after:
        await asyncio.sleep(effect.stall_after)
    if effect.status_after is not None:
        return refuse(effect.status_after, None)
    if effect.drop:
        return DroppedResponse()
    return response


Canned = Callable[[dict[str, object]], Response]
"""How an emulator answers with a fault's canned API answer (its own format)."""


async def around(
    faults: Faults,
    method: str,
    handle: Callable[[], Awaitable[Response]],
    refuse: Callable[[int, str | None], Response],
    canned: Canned | None = None,
    *,
    provider: str = "*",
    account: str = "*",
) -> Response:
    """Run one API call between its injected faults: ``before`` answers ``refuse(status)``
    without running it, or with its canned ``answer`` instead of the call (``canned``
    renders it); ``after`` runs it, then stalls and/or answers ``refuse(status)``.
    Chaos (probabilities, latency, rate) comes around both, as its rules for the call's
    provider and account say."""
    effect, refused = await chaos_before(faults, method, refuse, provider, account)
    if refused is not None:
        return refused
    faulted = await _faulted(faults, method, handle, refuse, canned)
    return await chaos_after(effect, faulted, refuse)


async def _faulted(
    faults: Faults,
    method: str,
    handle: Callable[[], Awaitable[Response]],
    refuse: Callable[[int, str | None], Response],
    canned: Canned | None,
) -> Response:
    fault = faults.take(method, "before")
    if fault and fault.delay:
        await asyncio.sleep(fault.delay)
    if fault and fault.status:
        return refuse(fault.status, fault.retry_after)
    faults.expect_after(method)
    if fault and fault.answer and canned is not None:
        response = canned(fault.answer)
    else:
        response = await handle()
    fault = faults.take(method, "after")
    if fault:
        await asyncio.sleep(fault.delay)
        if fault.status:
            return refuse(fault.status, fault.retry_after)
    return response


Step = Callable[[], Awaitable[object]]
_LATE: set[asyncio.Task[None]] = set()
"""Receipts chaos delayed, held here until they are out (a task nobody holds may vanish)."""


def withheld(message: InboxMessage | None) -> bool:
    """Whether chaos withheld its final receipt for good (kept across restarts)."""
    return message is not None and NEVER in message.faults


async def final_receipt(
    faults: Faults,
    inbox: Inbox | None,
    provider: str,
    account: str,
    message: InboxMessage | None,
    final: Step,
    again: Step,
    stale: Step | None = None,
) -> None:
    """A message's final receipt, as the ``receipts:`` chaos rules have it: never, later,
    twice, or followed by a stale intermediate one; each fault noted on the message. Every
    emulator's final receipt goes through here: ``final`` gives it (its state and its
    webhook), ``again`` posts its webhook once more, ``stale`` posts the intermediate one."""
    fate = faults.chaos.receipt_fate(provider, account)
    if fate is NO_FATE:
        await final()
        return
    if inbox is not None and message is not None:
        inbox.note(message, fate.reasons)
    faults.note("receipt", account, fate.reasons)
    if fate.never:
        return

    async def out() -> None:
        if fate.delay:
            await asyncio.sleep(fate.delay)
        await final()
        if fate.duplicate:
            await again()
        if fate.reorder and stale is not None:
            await stale()

    if not fate.delay:
        await out()
        return
    task = asyncio.get_running_loop().create_task(out())  # the campaign's others go on
    _LATE.add(task)
    task.add_done_callback(_LATE.discard)
