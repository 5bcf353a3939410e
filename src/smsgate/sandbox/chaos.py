"""Chaos on demand: faults that happen with a probability, on every call, until cleared.

A spec is comma-separated rules, ``[SCOPE/][METHOD:]ACTION[@PERCENT%]``. SCOPE is a provider
(``allmysms``, ``messangi``, ``smsworks``), optionally with one account in brackets
(``allmysms[bench]``, ``messangi[demo@example.com]``); none: every provider and account.
METHOD is an API method as the faults name it (``sendSms``, ``smsworks.batch``, ``send``…;
none or ``*``: every method). ACTION is one of:

- ``503`` (any status): answered before the call is processed (nothing was taken);
- ``500-after``: the call is processed (the SMS taken), then answered with that status;
- ``timeout`` or ``timeout:3s``: processed, then no answer for that long (default ``TIMEOUT``
  seconds: the client gives up first);
- ``drop``: processed, then the connection is dropped mid-answer;
- ``latency:200ms`` or ``latency:100-500ms``: a fixed or random wait before the call;
- ``rate:10/1s``: a token bucket per account (and per method when one is named), answering
  429 with ``Retry-After`` beyond it;
- ``receipts:delay:30s`` or ``receipts:delay:5-60s``: a message's final receipt comes that
  much later; ``receipts:duplicate``: it comes twice; ``receipts:reorder``: the intermediate
  one (AllMySMS 3, Messangi SENT) comes again after it, late; ``receipts:never``: no final
  receipt at all;
- ``number:PATTERN=OUTCOME``: every SMS to a number matching PATTERN (international digits,
  ``*`` and ``?`` as wildcards, e.g. ``number:4477009*=fail``) ends so, over the magic
  endings: ``deliver``, ``fail``, ``reject``, ``expire`` or ``silent`` (no final receipt).

e.g. ``smsgate sandbox --chaos 'sendSms:500@5%,timeout@2%,latency:50-150ms'``. The rules are
written out here: no library parses this little language.
"""

from __future__ import annotations

import fnmatch
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

Kind = Literal["status", "timeout", "drop", "latency", "rate", "receipts", "number"]
OUTCOMES: Final = ("deliver", "fail", "reject", "expire", "silent")
"""How a number's SMS may be made to end (each emulator says it in its own codes)."""
RECEIPT_FAULTS: Final = ("delay", "duplicate", "reorder", "never")
NEVER: Final = "final receipt never sent (chaos)"
"""The note on a message whose final receipt chaos withheld: a restarted sandbox keeps
withholding it."""

CALL_FAULTS: ContextVar[tuple[str, ...]] = ContextVar("sandbox_call_faults", default=())
"""The faults injected into the call in progress: the messages it accepts carry them, so
the inbox page says why a client saw what it saw."""


def note_faults(*reasons: str) -> None:
    """Add to the faults of the call in progress (its task's context)."""
    if reasons:
        CALL_FAULTS.set(CALL_FAULTS.get() + reasons)


_TIME: Final = r"\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?m?s"
# Compiled at the first rule read (re caches it), not by every process that loads the sandbox.
_RULE: Final = (
    r"^(?:(?P<provider>[a-z]+)(?:\[(?P<account>[^\[\],]+)\])?/)?"
    r"(?:(?P<method>[A-Za-z*][\w.*]*):)?"
    rf"(?P<action>\d{{3}}(?:-after)?|timeout(?::{_TIME})?|drop|latency:{_TIME}"
    r"|rate:\d+/\d+(?:\.\d+)?s"
    rf"|receipts:(?:delay:{_TIME}|duplicate|reorder|never)"
    r"|number:[0-9*?]+=[a-z]+)"
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
    provider: str = "*"
    account: str = "*"
    fault: str = ""
    """``receipts``: which of RECEIPT_FAULTS; ``number``: the outcome."""
    pattern: str = ""
    """``number``: the numbers it applies to (fnmatch, international digits)."""
    _tokens: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def scoped(self, provider: str, account: str) -> bool:
        return self.provider in ("*", provider) and self.account in ("*", account)

    def applies(self, method: str, provider: str = "*", account: str = "*") -> bool:
        """To a call of that method (named in full, ``messangi.send``, or short, ``send``)."""
        short = method.rpartition(".")[2]
        return self.method in ("*", method, short) and self.scoped(provider, account)

    def take_token(self, method: str, account: str, now: float) -> float | None:
        """A token bucket per account (and per method when the rule names one): None when
        a call may go, else seconds to wait."""
        assert self.rate is not None
        calls, period = self.rate
        refill = calls / period
        key = (account, method if self.method != "*" else "*")
        with self._lock:
            tokens, at = self._tokens.get(key, (float(calls), now))
            tokens = min(float(calls), tokens + (now - at) * refill)
            if tokens >= 1:
                self._tokens[key] = (tokens - 1, now)
                return None
            self._tokens[key] = (tokens, now)
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


@dataclass(frozen=True)
class ReceiptFate:
    """What chaos does to one message's final receipt (all false: nothing)."""

    delay: float = 0.0
    duplicate: bool = False
    reorder: bool = False
    never: bool = False
    reasons: tuple[str, ...] = ()


NO_FATE: Final = ReceiptFate()


def parse_chaos(spec: str) -> list[Rule]:
    """The rules of a spec; ValueError naming the rule that does not read."""
    rules = []
    for raw in spec.split(","):
        text = raw.strip()
        if not text:
            continue
        found = re.match(_RULE, text)
        if found is None:
            raise ValueError(
                f"chaos rule {text!r} does not read: write [SCOPE/][METHOD:]ACTION[@PERCENT%], "
                "ACTION one of 503, 500-after, timeout, timeout:3s, drop, latency:200ms, "
                "latency:100-500ms, rate:10/1s, receipts:delay:30s, receipts:duplicate, "
                "receipts:reorder, receipts:never, number:PATTERN=OUTCOME"
            )
        percent = float(found["percent"]) if found["percent"] else 100.0
        if percent > 100:
            raise ValueError(f"chaos rule {text!r}: a probability is at most 100%")
        rule = _rule(found["method"] or "*", found["action"], percent / 100)
        if rule.kind == "number" and found["percent"]:
            raise ValueError(f"chaos rule {text!r}: a number's outcome is certain, no @%")
        rule.provider = found["provider"] or "*"
        rule.account = found["account"] or "*"
        rules.append(rule)
    return rules


def _span(amount: str, what: str) -> tuple[float, float]:
    """``200ms``, ``3s`` or ``100-500ms`` in seconds, (low, high)."""
    scale = 0.001 if amount.endswith("ms") else 1.0
    low, _, high = amount.removesuffix("ms").removesuffix("s").partition("-")
    span = (float(low) * scale, float(high or low) * scale)
    if span[1] < span[0]:
        raise ValueError(f"chaos {what} {amount!r}: write the smaller time first")
    return span


def _rule(method: str, action: str, probability: float) -> Rule:
    if action == "drop":
        return Rule(method, "drop", probability)
    if action.startswith("timeout"):
        amount = action.removeprefix("timeout").removeprefix(":")
        stall = _span(amount, "timeout")[0] if amount else TIMEOUT
        return Rule(method, "timeout", probability, delay=(stall, stall))
    if action.startswith("latency:"):
        delay = _span(action.removeprefix("latency:"), "latency")
        return Rule(method, "latency", probability, delay=delay)
    if action.startswith("receipts:"):
        fault = action.removeprefix("receipts:")
        if fault.startswith("delay:"):
            delay = _span(fault.removeprefix("delay:"), "receipt delay")
            return Rule(method, "receipts", probability, delay=delay, fault="delay")
        return Rule(method, "receipts", probability, fault=fault)
    if action.startswith("number:"):
        pattern, _, outcome = action.removeprefix("number:").partition("=")
        if outcome not in OUTCOMES:
            raise ValueError(
                f"chaos number outcome {outcome!r}: write one of {', '.join(OUTCOMES)}"
            )
        return Rule(method, "number", fault=outcome, pattern=pattern)
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
        self._kinds: frozenset[str] = frozenset()
        """The kinds of rule in force: a message's receipt or number asks nothing of the
        rules when none of its kind is there (every SMS of a campaign asks)."""
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
            self._kinds = frozenset(rule.kind for rule in rules)

    def effect(self, method: str, provider: str = "*", account: str = "*") -> Effect:
        """What the rules do to one call (of that method, provider and account)."""
        with self._lock:
            rules = [
                r
                for r in self._rules
                if r.kind not in ("receipts", "number") and r.applies(method, provider, account)
            ]
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
                late = rule.take_token(method, account, now)
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
                stall = rule.delay[0]
                reasons.append(f"no answer for {stall:g} s (timeout) after processing")
            elif rule.kind == "drop":
                drop = True
                reasons.append("connection dropped after processing")
        return Effect(wait, status_before, retry_after, status_after, stall, drop, tuple(reasons))

    def has(self, kind: Kind) -> bool:
        """Whether any rule of that kind is in force."""
        return kind in self._kinds

    def _of(self, kind: Kind, provider: str, account: str) -> list[Rule]:
        """The rules of one kind for that provider and account (the lock held)."""
        return [r for r in self._rules if r.kind == kind and r.scoped(provider, account)]

    def receipt_fate(self, provider: str, account: str) -> ReceiptFate:
        """What the ``receipts:`` rules do to one message's final receipt."""
        if not self.has("receipts"):
            return NO_FATE
        with self._lock:
            rules = self._of("receipts", provider, account)
            rolls = [(self._random.random(), self._random.uniform(*r.delay)) for r in rules]
        delay = 0.0
        duplicate = reorder = never = False
        reasons: list[str] = []
        for rule, (roll, wait) in zip(rules, rolls, strict=True):
            if roll >= rule.probability:
                continue
            if rule.fault == "delay":
                delay += wait
                reasons.append(f"final receipt delayed {wait:g} s (chaos)")
            elif rule.fault == "duplicate":
                duplicate = True
                reasons.append("final receipt sent twice (chaos)")
            elif rule.fault == "reorder":
                reorder = True
                reasons.append("intermediate receipt sent again after the final one (chaos)")
            elif rule.fault == "never":
                never = True
                reasons.append(NEVER)
        if never:
            return ReceiptFate(never=True, reasons=(NEVER,))
        return ReceiptFate(delay, duplicate, reorder, False, tuple(reasons))

    def outcome(self, provider: str, account: str, number: str) -> str | None:
        """How an SMS to ``number`` is made to end (``number:`` rules, first match), else
        None: the emulator's own magic endings decide."""
        if not self.has("number"):
            return None
        with self._lock:
            rules = self._of("number", provider, account)
        digits = number.lstrip("+")
        for rule in rules:
            if fnmatch.fnmatchcase(digits, rule.pattern):
                return rule.fault
        return None
