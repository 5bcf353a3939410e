"""A send over routes: which member of its route takes each batch, and which takes it
next when one provably did not send it (:mod:`smsgate.gateway.routes` holds the members
and their health; this is one send's use of them). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from smsgate.core.errors import InvalidInput
from smsgate.core.message import Message
from smsgate.core.recipients import Recipient, RecipientList, Skipped
from smsgate.core.report import RecipientStatus
from smsgate.gateway.compose import (
    SendOptions,
    batch_size,
    batches_again,
    cut_batches,
    plan_message,
)
from smsgate.gateway.endpoint import Endpoint
from smsgate.gateway.ratelimit import Limiter
from smsgate.gateway.routes import Member, RouteMembers, Routing
from smsgate.gateway.transport import MaybeSent, NotSent
from smsgate.providers import Batch, BatchOutcome


@dataclass(frozen=True)
class Way:
    """How one batch of a routed send travels."""

    endpoint: Endpoint
    limiter: Limiter | None
    fallback: bool
    """Another member of its route can take it if this one provably does not: a refused
    connection is not tried again (the next member takes the batch at once)."""


def provably_unsent(outcome: BatchOutcome | NotSent | MaybeSent) -> str | None:
    """Why a batch provably did not leave (so another provider may take it), or None: the
    request never arrived (connection refused, busy past the wait), or the provider refused
    the whole batch for a reason that holds for every batch (credentials, credit)."""
    if isinstance(outcome, NotSent):
        return str(outcome)
    if (
        isinstance(outcome, BatchOutcome)
        and outcome.stop
        and all(r.status in _NOTHING_LEFT for r in outcome.results)
    ):
        return outcome.stop
    return None


_NOTHING_LEFT: Final = frozenset({RecipientStatus.REJECTED, RecipientStatus.FAILED})
NO_ROUTE: Final = "no route takes this number: add its prefix, or a default (*), to the routes"


class RoutedSend:
    """A send over routes: the message each member can take it as, which member takes
    each batch, and which is next when one provably did not send it."""

    def __init__(
        self, routing: Routing, text: str, options: SendOptions, personalised: bool
    ) -> None:
        self.routing = routing
        self.messages: dict[int, Message] = {}
        self.refusals: dict[int, InvalidInput] = {}
        for member in routing.members():
            try:
                message, _ = plan_message(member.endpoint, text, options, personalised=personalised)
            except InvalidInput as error:
                self.refusals[id(member)] = error
            else:
                self.messages[id(member)] = message
        if not self.messages:  # no member can: the first one's refusal names those that can
            first = next(routing.members())
            raise self.refusals[id(first)]
        self.primary = next(m for m in routing.members() if id(m) in self.messages)
        self.assigned: dict[str, tuple[RouteMembers, Member]] = {}
        self.tried: dict[str, tuple[str, ...]] = {}
        self.started: dict[str, float] = {}
        self.out: set[Member] = set()
        """Members that sent nothing more in this run (one provably did not send a batch)."""
        self._stopped: dict[int, str] = {}

    def cut(
        self,
        people: list[Recipient],
        ids: list[str],
        params: list[tuple[str, ...]],
        texts: list[str],
        recipients: RecipientList,
    ) -> list[Batch]:
        """The send's batches: each route's numbers, cut for the member that takes them
        (failover: the first healthy one; round robin: each in turn)."""
        routes = self.routing.routes
        groups: dict[str, list[int]] = {}  # by prefix, in the order numbers first take one
        if len(routes) == 1 and routes[0][0] == "":
            groups[""] = list(range(len(people)))
        else:
            for i, person in enumerate(people):
                found = self.routing.route_for(person.number)
                if found is None:
                    recipients.skipped.append(Skipped(person.input, NO_ROUTE))
                else:
                    groups.setdefault(found[0], []).append(i)
        by_prefix = dict(routes)
        batches: list[Batch] = []
        for prefix, indexes in groups.items():
            route = by_prefix[prefix]
            able = [m for m in route.members if id(m) in self.messages]
            if not able:
                raise self.refusals[id(route.members[0])]
            position = 0
            while position < len(indexes):
                member = self._pick(route, ())
                assert member is not None
                message = self.messages[id(member)]
                chunk = indexes[position : position + self._size(member, message)]
                (batch,) = cut_batches(
                    message,
                    [people[i] for i in chunk],
                    [ids[i] for i in chunk],
                    [params[i] for i in chunk] if params else (),
                    [texts[i] for i in chunk] if texts else (),
                    len(chunk),
                )
                self.assigned[batch.reference] = (route, member)
                batches.append(batch)
                position += len(chunk)
        return batches

    def _pick(
        self, route: RouteMembers, tried: Sequence[str], *, turn: bool = True
    ) -> Member | None:
        """The member to take a batch: able to take this send, not out, not tried on it
        (``turn``: a new batch takes its round-robin turn; a retry or a question does not)."""
        for member in route.order(turn=turn):
            if id(member) in self.messages and member not in self.out and member.label not in tried:
                return member
        return None

    @staticmethod
    def _size(member: Member, message: Message) -> int:
        caps = member.endpoint.provider.capabilities
        return batch_size(caps, message, personal=message.template is not None)

    def members(self) -> Iterator[Member]:
        return self.routing.members()

    def batches_again(
        self, rows: Iterable[tuple[str | None, str, str, str, tuple[str, ...], str]]
    ) -> tuple[list[Batch], list[str]]:
        """A queued send's rows back in batches, each with the member it was planned for:
        (account, reference, message id, number, values, text). Returns the batches and the
        ids of rows whose account or prefix the routes no longer have (never sent elsewhere:
        their plan was that account's)."""
        by_account: dict[str | None, list[tuple[str, str, str, tuple[str, ...], str]]] = {}
        for account, reference, message_id, number, values, text in rows:
            by_account.setdefault(account, []).append((reference, message_id, number, values, text))
        batches: list[Batch] = []
        lost: list[str] = []
        for account, group in by_account.items():
            member = next(
                (
                    m
                    for m in self.members()
                    if m.endpoint.account == account and id(m) in self.messages
                ),
                None,
            )
            if member is None:
                lost += [row[1] for row in group]
                continue
            for batch in batches_again(self.messages[id(member)], sorted(group)):
                found = self.routing.route_for(batch.recipients[0].number)
                if found is None or member not in found[1].members:
                    lost += list(batch.message_ids)
                    continue
                self.assigned[batch.reference] = (found[1], member)
                batches.append(batch)
        return batches, lost

    def member_of(self, batch: Batch) -> Member:
        return self.assigned[batch.reference][1]

    def has_next(self, batch: Batch) -> bool:
        """Whether another member could take this batch if its own provably does not."""
        route, member = self.assigned[batch.reference]
        tried = (*self.tried.get(batch.reference, ()), member.label)
        return self._pick(route, tried, turn=False) is not None

    def is_out(self, batch: Batch) -> bool:
        return self.member_of(batch) in self.out

    def stop(self, batch: Batch, reason: str) -> None:
        self._stopped.setdefault(id(self.assigned[batch.reference][0]), reason)

    def stopped_reason(self, batch: Batch) -> str | None:
        return self._stopped.get(id(self.assigned[batch.reference][0]))

    def alike(self, batches: Sequence[Batch], index: int, end: int) -> int:
        """Where the run of batches from ``index`` that reroute together ends: the same
        route, member, message and providers tried (a pipelining provider's one-recipient
        batches become the next member's full ones, not a request each)."""
        first = batches[index]
        route, member = self.assigned[first.reference]
        tried = self.tried.get(first.reference, ())
        stop = index + 1
        limit = max(len(first.recipients), 1000)
        count = len(first.recipients)
        while stop < end and count < limit:
            other = batches[stop]
            if (
                self.assigned[other.reference] != (route, member)
                or self.tried.get(other.reference, ()) != tried
                or other.message is not first.message
            ):
                break
            count += len(other.recipients)
            stop += 1
        return stop

    def reroute(self, batches: Sequence[Batch], tried: tuple[str, ...]) -> list[Batch] | None:
        """Batches (of one route, member and message) cut for the next member of their
        route that has not tried them (None: no member is left)."""
        route = self.assigned[batches[0].reference][0]
        member = self._pick(route, tried, turn=False)
        if member is None:
            return None
        message = self.messages[id(member)]
        pieces = cut_batches(
            message,
            [r for b in batches for r in b.recipients],
            [i for b in batches for i in b.message_ids],
            [p for b in batches for p in b.params],
            [t for b in batches for t in b.texts],
            self._size(member, message),
        )
        for piece in pieces:
            self.assigned[piece.reference] = (route, member)
            if tried:
                self.tried[piece.reference] = tried
        return pieces
