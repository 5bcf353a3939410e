"""Chaos on demand: faults that happen with a probability, on every call, until cleared.

A spec is comma-separated rules, ``[METHOD:]ACTION[@PERCENT%]``; METHOD is an API method as
the faults name it (``sendSms``, ``smsworks.batch``, ``messangi.send``…; none or ``*``: every
method), ACTION one of:

- ``503`` (any status): answered before the call is processed (nothing was taken);
- ``500-after``: the call is processed (the SMS taken), then answered with that status;
- ``timeout``: processed, then no answer for ``TIMEOUT`` seconds (the client gives up);
- ``drop``: processed, then the connection is dropped mid-answer;
- ``latency:200ms`` or ``latency:100-500ms``: a fixed or random wait before the call;
- ``rate:10/1s``: a token bucket (10 calls a second per method), answering 429 with
  ``Retry-After`` beyond it.

e.g. ``smsgate sandbox --chaos 'sendSms:500@5%,timeout@2%,latency:50-150ms'``. The rules are
written out here: no library parses this little language.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final, Literal

TIMEOUT: Final = 120.0
"""Seconds a ``timeout`` stalls: longer than any client waits."""

Kind = Literal["status", "timeout", "drop", "latency", "rate"]

CALL_FAULTS: ContextVar[tuple[str, ...]] = ContextVar("sandbox_call_faults", default=())
"""The faults injected into the call in progress: the messages it accepts carry them, so
the inbox page says why a client saw what it saw."""


def note_faults(*reasons: str) -> None:
    """Add to the faults of the call in progress (its task's context)."""
    if reasons:
        CALL_FAULTS.set(CALL_FAULTS.get() + reasons)


_RULE: Final = re.compile(
    r"^(?:(?P<method>[A-Za-z*][\w.*]*):)?"
    r"(?P<action>\d{3}(?:-after)?|timeout|drop|latency:\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?m?s"
    r"|rate:\d+/\d+(?:\.\d+)?s)"
    r"(?:@(?P<percent>\d+(?:\.\d+)?)%)?$"
)


@dataclass
class Rule:
    method: str
    """``*``: every method."""
    kind: Kind
    probability: float = 1.0
    status: int | None = None
    after: bool = False
    delay: tuple[float, float] = (0.0, 0.0)
    rate: tuple[int, float] | None = None
    _tokens: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def applies(self, method: str) -> bool:
        return self.method in ("*", method)

    def take_token(self, method: str, now: float) -> float | None:
        """A token bucket per method: None when a call may go, else seconds to wait."""
        assert self.rate is not None
        calls, period = self.rate
        refill = calls / period
        with self._lock:
            tokens, at = self._tokens.get(method, (float(calls), now))
            tokens = min(float(calls), tokens + (now - at) * refill)
            if tokens >= 1:
                self._tokens[method] = (tokens - 1, now)
                return None
            self._tokens[method] = (tokens, now)
            return (1 - tokens) / refill


@dataclass(frozen=True)
class Effect:
    """What chaos does to one call (all zero: nothing)."""

    wait_before: float = 0.0
    status_before: int | None = None
    retry_after: str | None = None
    status_after: int | None = None
    stall_after: float = 0.0
    drop: bool = False
    reasons: tuple[str, ...] = ()
    """Each injected fault, said so a developer sees why their code saw what it saw."""


def parse_chaos(spec: str) -> list[Rule]:
    """The rules of a spec; ValueError naming the rule that does not read."""
    rules = []
    for raw in spec.split(","):
        text = raw.strip()
        if not text:
            continue
        found = _RULE.match(text)
        if found is None:
            raise ValueError(
                f"chaos rule {text!r} does not read: write [METHOD:]ACTION[@PERCENT%], "
                "ACTION one of 503, 500-after, timeout, drop, latency:200ms, "
                "latency:100-500ms, rate:10/1s"
            )
        percent = float(found["percent"]) if found["percent"] else 100.0
        if percent > 100:
            raise ValueError(f"chaos rule {text!r}: a probability is at most 100%")
        rules.append(_rule(found["method"] or "*", found["action"], percent / 100))
    return rules


def _rule(method: str, action: str, probability: float) -> Rule:
    if action in ("timeout", "drop"):
        return Rule(method, action, probability)  # type: ignore[arg-type]
    if action.startswith("latency:"):
        amount = action.removeprefix("latency:")
        scale = 0.001 if amount.endswith("ms") else 1.0
        low, _, high = amount.removesuffix("ms").removesuffix("s").partition("-")
        delay = (float(low) * scale, float(high or low) * scale)
        if delay[1] < delay[0]:
            raise ValueError(f"chaos latency {amount!r}: write the smaller time first")
        return Rule(method, "latency", probability, delay=delay)
    if action.startswith("rate:"):
        calls, _, period = action.removeprefix("rate:").partition("/")
        if int(calls) < 1 or float(period.removesuffix("s")) <= 0:
            raise ValueError(f"chaos rate {action!r}: at least 1 call in a positive time")
        return Rule(method, "rate", probability, rate=(int(calls), float(period.removesuffix("s"))))
    status = int(action[:3])
    if not 400 <= status <= 599:
        raise ValueError(f"chaos status {status}: use an HTTP error, 400 to 599")
    return Rule(method, "status", probability, status=status, after=action.endswith("-after"))


class Chaos:
    """The rules in force (thread-safe), and what they do to each call."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[Rule] = []
        self._spec = ""
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def spec(self) -> str:
        return self._spec

    def set(self, spec: str) -> None:
        rules = parse_chaos(spec)  # refused whole: nothing changes on a bad rule
        with self._lock:
            self._rules, self._spec = rules, spec.strip()

    def effect(self, method: str) -> Effect:
        with self._lock:
            rules = [r for r in self._rules if r.applies(method)]
            rolls = [self._random.random() for _ in rules]
            waits = [self._random.uniform(*r.delay) for r in rules]
        wait = 0.0
        status_before = status_after = None
        retry_after = None
        stall = 0.0
        drop = False
        reasons: list[str] = []
        now = time.monotonic()
        for rule, roll, delay in zip(rules, rolls, waits, strict=True):
            if roll >= rule.probability:
                continue
            if rule.kind == "latency":
                wait += delay
                reasons.append(f"latency {delay * 1000:.0f} ms")
            elif rule.kind == "rate":
                late = rule.take_token(method, now)
                if late is not None and status_before is None:
                    status_before, retry_after = 429, str(max(1, math.ceil(late)))
                    reasons.append(f"rate limit: 429, retry after {retry_after} s")
            elif rule.kind == "status" and not rule.after and status_before is None:
                status_before = rule.status
                reasons.append(f"HTTP {rule.status} before processing")
            elif rule.kind == "status" and rule.after and status_after is None:
                status_after = rule.status
                reasons.append(f"HTTP {rule.status} after processing")
            elif rule.kind == "timeout":
                stall = TIMEOUT
                reasons.append("no answer (timeout) after processing")
            elif rule.kind == "drop":
                drop = True
                reasons.append("connection dropped after processing")
        return Effect(wait, status_before, retry_after, status_after, stall, drop, tuple(reasons))
