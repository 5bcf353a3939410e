"""Queued sends in the message store: a send's rows committed with its jobs, and what its
jobs take, give back and report.

A job is idempotent by our message ids: it takes only rows still ``queued`` (locked, so two
attempts never take the same row), marks them ``submitting`` before its requests leave, and a
later attempt of the same job finds rows a dead attempt left ``submitting`` and makes them
``unknown``: they may have reached the provider, so they are never sent again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select, update

from smsgate.core.optout import OPTED_OUT
from smsgate.core.sent import Outgoing
from smsgate.core.status import MessageStatus
from smsgate.store.recorder import ABANDONED, Sql, _message_values, _write_many, settle, utcnow
from smsgate.store.schema import IdempotencyRow, MessageRow, OptOutRow, SendRow
from smsgate.store.store import Claim, ClaimState, Store, claim_key

_MESSAGES = cast(Table, MessageRow.__table__)
OPTED_OUT_SINCE = f"{OPTED_OUT} after the send was accepted: not sent"
QUEUED = MessageStatus.QUEUED.value
SUBMITTING = MessageStatus.SUBMITTING.value
_SENDS = cast(Table, SendRow.__table__)


@dataclass(frozen=True)
class NewSend:
    """A send about to be queued: its row, and the rows of its messages (``outgoing``)."""

    id: str
    provider: str
    account: str | None
    sandbox: bool
    spec: dict[str, Any]
    head: dict[str, Any]
    total: int
    chunks: int
    hold_until: datetime | None
    outgoing: Sequence[Outgoing]


@dataclass(frozen=True)
class QueuedSend:
    id: str
    provider: str
    account: str | None
    spec: dict[str, Any]
    head: dict[str, Any]
    total: int
    hold_until: datetime | None
    stop_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Taken:
    """One row a job took to send."""

    id: str
    recipient: str
    reference: str
    text: str
    params: tuple[str, ...]
    account: str | None = None
    """The account it was planned to go through (over a route, one member's)."""


Enqueue = Callable[[Any], None]
"""Defers a send's jobs on the driver connection it is given, inside the send's transaction."""


def _queued_values(batch: Outgoing, index: int, now: datetime) -> dict[str, Any]:
    return {
        **_message_values(batch, index, batch.ids[index], batch.recipients[index], now, None),
        "status": QUEUED,
        "final": False,
        "send_id": batch.send_id,
        "chunk": batch.chunk,
        "params": json.dumps(batch.params[index]) if batch.params else None,
    }


def _copy_queued(driver: Any, outgoing: Sequence[Outgoing], now: datetime) -> None:
    """A send's rows, ``queued``, by PostgreSQL's COPY: a million rows in seconds, where one
    INSERT per row (even pipelined) took half a minute. A row holds what every row of the
    store holds (_message_values); within a batch only the id and the number differ, and for
    personalised sends the text and its values.

    The COPY lines are written here, not by psycopg's write_row, which adapts every value of
    every row (6 µs a row, most of a million-recipient send's time to its answer): a batch's
    common values are formatted once, and the id and number (letters and digits) need no
    escaping."""
    batches = [batch for batch in outgoing if batch.ids]
    if not batches:
        return
    columns = [c for c in _queued_values(batches[0], 0, now) if c not in ("id", "recipient")]
    statement = f"COPY messages (id, recipient, {', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in batches:
            if batch.texts:  # personalised: each row its own text
                lines = [
                    f"{message_id}\t{number}\t"
                    + _copy_line(_queued_values(batch, index, now), columns)
                    for index, (message_id, number) in enumerate(
                        zip(batch.ids, batch.recipients, strict=True)
                    )
                ]
            else:
                common = _copy_line(_queued_values(batch, 0, now), columns)
                lines = [
                    f"{message_id}\t{number}\t{common}"
                    for message_id, number in zip(batch.ids, batch.recipients, strict=True)
                ]
            copy.write("".join(lines))


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_line(values: dict[str, Any], columns: Sequence[str]) -> str:
    """The rest of a row in COPY's text format (PostgreSQL's documented escapes), newline
    included."""
    fields = []
    for name in columns:
        value = values[name]
        if value is None:
            fields.append("\\N")
        elif isinstance(value, bool):
            fields.append("t" if value else "f")
        elif isinstance(value, datetime):
            fields.append(value.isoformat())
        else:
            fields.append(str(value).translate(_ESCAPES))
    return "\t".join(fields) + "\n"


class Sends:
    """The queued sends of one store (PostgreSQL: jobs live beside the rows)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def accept(
        self,
        send: NewSend,
        enqueue: Enqueue,
        answer: dict[str, Any],
        key: tuple[str, str] | None = None,
    ) -> Claim:
        """Commit the send, its ``queued`` rows, its jobs (``enqueue``) and, with an
        Idempotency-Key (key, body fingerprint), its answer, in one transaction: a crash at
        any instant leaves all of them or none. Returns the key's claim: NEW when this call
        queued the send, else what an earlier request with the key left (nothing is queued)."""
        now = utcnow()
        with self.engine.begin() as connection:
            if key is not None:
                claim = claim_key(connection, *key)
                if claim.state is not ClaimState.NEW:
                    return claim
            connection.execute(
                _SENDS.insert().values(
                    id=send.id,
                    provider=send.provider,
                    account=send.account,
                    sandbox=send.sandbox,
                    spec=json.dumps(send.spec),
                    head=json.dumps(send.head),
                    total=send.total,
                    chunks=send.chunks,
                    hold_until=send.hold_until,
                    created_at=now,
                )
            )
            driver = connection.connection.driver_connection
            _copy_queued(driver, send.outgoing, now)
            enqueue(driver)
            if key is not None:
                keys = cast(Table, IdempotencyRow.__table__)
                connection.execute(
                    update(keys).where(keys.c.key == key[0]).values(response=json.dumps(answer))
                )
        return Claim(ClaimState.NEW)

    def get(self, send_id: str) -> QueuedSend | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(_SENDS).where(_SENDS.c.id == send_id)).first()
        if row is None:
            return None
        return QueuedSend(
            id=row.id,
            provider=row.provider,
            account=row.account,
            spec=json.loads(row.spec),
            head=json.loads(row.head),
            total=row.total,
            hold_until=row.hold_until,
            stop_reason=row.stop_reason,
            created_at=row.created_at,
        )

    def take(
        self, send_id: str, chunk: int, owner: str, *, skip_opted_out: bool = False
    ) -> list[Taken]:
        """A job's rows: those still ``queued`` become ``submitting`` (this worker's), and
        those an earlier attempt left ``submitting`` become ``unknown`` (it died mid-request:
        never sent again). Locked, so two attempts of one job never take the same row; each
        step is a transaction of its own that a crash leaves whole or undone.

        With ``skip_opted_out``, a queued row whose number has opted out since the send was
        accepted is cancelled instead, saying so: a STOP reply counts from when it comes."""
        m = _MESSAGES.c
        self._end(send_id, chunk, SUBMITTING, MessageStatus.UNKNOWN, ABANDONED, "recovery")
        if skip_opted_out:
            opted_out = m.recipient.in_(select(OptOutRow.number))
            self._end(
                send_id, chunk, QUEUED, MessageStatus.CANCELLED, OPTED_OUT_SINCE, "queue", opted_out
            )
        now = utcnow()
        with self.engine.begin() as connection:
            self.store.submitting(Sql.of(connection))
            # One statement, whatever the chunk's size: a second attempt waits on the rows'
            # locks, then finds them no longer queued and takes nothing.
            taken = list(
                connection.execute(
                    update(_MESSAGES)
                    .where(m.send_id == send_id, m.chunk == chunk, m.status == QUEUED)
                    .values(status=SUBMITTING, submitted_by=owner, updated_at=now)
                    .returning(m.id, m.recipient, m.client_reference, m.text, m.params, m.account)
                )
            )
        taken.sort(key=lambda r: (r.client_reference or "", r.id))
        return [
            Taken(
                r.id,
                r.recipient,
                r.client_reference or "",
                r.text,
                tuple(json.loads(r.params)) if r.params else (),
                r.account,
            )
            for r in taken
        ]

    def give_back(self, ids: Sequence[str], enqueue: Enqueue) -> None:
        """Rows a job took but provably did not send (a busy provider turned them away):
        ``queued`` again, with the job that sends them later (``enqueue``), in one
        transaction, so they are never left queued without a job."""
        now = utcnow()
        rows = [{"status": QUEUED, "submitted_by": None, "updated_at": now, "id": i} for i in ids]
        with self.engine.begin() as connection:
            if rows:
                _write_many(Sql.of(connection), "messages", rows, where="id")
            enqueue(connection.connection.driver_connection)

    def fail_queued(self, send_id: str, chunk: int | None, reason: str) -> int:
        """A job that sends nothing (its send was stopped): its rows still ``queued`` fail,
        saying why. Returns how many."""
        return self._end(send_id, chunk, QUEUED, MessageStatus.FAILED, f"not sent: {reason}")

    def fail_taken(self, send_id: str, ids: Sequence[str], reason: str) -> int:
        """Rows a job took (``submitting``) and will not send, whose request never left:
        failed, saying why. Returns how many."""
        m = _MESSAGES.c
        status, why = MessageStatus.FAILED, f"not sent: {reason}"
        return self._end(send_id, None, SUBMITTING, status, why, "queue", m.id.in_(list(ids)))

    def cancel(self, send_id: str) -> int:
        """Cancel what of a send the gateway still holds (rows ``queued``). Returns how many."""
        return self._end(send_id, None, QUEUED, MessageStatus.CANCELLED, "cancelled before sending")

    def abandon(self, send_id: str, chunk: int, reason: str) -> tuple[int, int]:
        """A job the queue will not run again (it failed its last attempt): its rows still
        ``queued`` fail, and those it had ``submitting`` become ``unknown`` (their request may
        have left), each saying why, so that none is left waiting for a job that will never
        come. Returns (failed, unknown)."""
        failed = self.fail_queued(send_id, chunk, reason)
        maybe = f"{reason}; its request may have reached the provider: check there"
        unknown = self._end(send_id, chunk, SUBMITTING, MessageStatus.UNKNOWN, maybe)
        return failed, unknown

    def stop(self, send_id: str, reason: str) -> None:
        """A refusal that applies to every later job of the send (kept once: the first)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(_SENDS)
                .where(_SENDS.c.id == send_id, _SENDS.c.stop_reason.is_(None))
                .values(stop_reason=reason)
            )

    def counts(self, send_id: str) -> dict[str, int]:
        """How many of a send's messages are at each status."""
        m = _MESSAGES.c
        with self.engine.connect() as connection:
            found = connection.execute(
                select(m.status, func.count()).where(m.send_id == send_id).group_by(m.status)
            ).all()
        return {status: count for status, count in found}

    def messages(self, send_id: str, limit: int, offset: int) -> list[MessageRow]:
        with self.store._session() as session:
            return list(
                session.scalars(
                    select(MessageRow)
                    .where(MessageRow.send_id == send_id)
                    .order_by(MessageRow.chunk, MessageRow.client_reference, MessageRow.id)
                    .limit(limit)
                    .offset(offset)
                ).all()
            )

    def _end(
        self,
        send_id: str,
        chunk: int | None,
        was: str,
        status: MessageStatus,
        reason: str,
        source: str = "queue",
        *more: ColumnElement[bool],
    ) -> int:
        """A send's rows (a chunk's, with ``chunk``) still at ``was`` (and meeting ``more``)
        end at ``status`` without a request, saying why; locked in id order, so that two
        transactions never deadlock on them. Returns how many."""
        m = _MESSAGES.c
        conditions = [m.send_id == send_id, m.status == was, *more]
        if chunk is not None:
            conditions.append(m.chunk == chunk)
        with self.engine.begin() as connection:
            found = connection.execute(
                select(m.id, m.provider, m.recipient)
                .where(*conditions)
                .order_by(m.id)
                .with_for_update()
            ).all()
            settle(Sql.of(connection), found, status, reason, utcnow(), source)
        return len(found)
