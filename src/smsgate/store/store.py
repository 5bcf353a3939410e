"""The message store: SQLite by default (a file in the data directory), PostgreSQL supported.

Every send is recorded per recipient, each with its status history. Receipts move a message's
status forward only (core.status); a receipt delivered twice is recorded once; one that comes
before its message was recorded waits, and is applied when the message arrives.

The send path (write-ahead, outcomes, recovery) is ``store.recorder``, which the Store
extends: what needs SQLAlchemy is here, what a send needs is there.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from smsgate.core.receipts import Receipt, Reply
from smsgate.core.status import MessageStatus, advances, is_final
from smsgate.store.postgres import table_named, unnest_statement
from smsgate.store.recorder import Recorder, Sql, _write_many, submission_columns, utcnow
from smsgate.store.schema import (
    EventRow,
    IdempotencyRow,
    MessageRow,
    OptOutRow,
    ReplyRow,
    SailorMessageRow,
    SubmissionRow,
)

KEY_LIFETIME: Final = timedelta(hours=24)
"""How long an Idempotency-Key keeps its first answer."""


class ClaimState(StrEnum):
    NEW = "new"  # this request took the key: go ahead
    DONE = "done"  # an earlier request with the same body finished: its answer is kept
    PENDING = "pending"  # an earlier request with the same body has not finished (or died)
    CONFLICT = "conflict"  # the key was used with another body


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    response: Any = None


def claim_key(connection: Connection, key: str, fingerprint: str) -> Claim:
    """Take an Idempotency-Key in the caller's transaction (see Store.claim_key)."""
    now = utcnow()
    table = cast(Table, IdempotencyRow.__table__)
    insert = _insert_ignoring_duplicates(connection.dialect.name, table)
    connection.execute(
        delete(table).where(table.c.key == key, table.c.created_at < now - KEY_LIFETIME)
    )
    values = insert.values(key=key, fingerprint=fingerprint, created_at=now)
    if connection.execute(values.returning(table.c.key)).first() is not None:
        return Claim(ClaimState.NEW)
    found, response = connection.execute(
        select(table.c.fingerprint, table.c.response).where(table.c.key == key)
    ).one()
    if found != fingerprint:
        return Claim(ClaimState.CONFLICT)
    if response is None:
        return Claim(ClaimState.PENDING)
    return Claim(ClaimState.DONE, json.loads(response))


class ReceiptOutcome(StrEnum):
    APPLIED = "applied"  # the message's status moved
    RECORDED = "recorded"  # kept in the history; the status did not move (late or stale)
    DUPLICATE = "duplicate"  # seen before: nothing recorded
    WAITING = "waiting"  # no such message yet: kept until it is recorded


def _insert_ignoring_duplicates(dialect_name: str, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, which SQLAlchemy builds per dialect."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def opt_out_number(
    connection: Connection, number: str, source: str, provider: str | None, detail: str | None
) -> bool:
    """Add a number to the opt-outs (kept as first added); True when it was not there."""
    table = cast(Table, OptOutRow.__table__)
    inserted = connection.execute(
        _insert_ignoring_duplicates(connection.dialect.name, table)
        .values(number=number, source=source, provider=provider, detail=detail, created_at=utcnow())
        .returning(table.c.number)
    ).scalar()
    return inserted is not None


def _message_key(receipt: Receipt) -> tuple[str, ...]:
    if receipt.provider_message_id:
        return (receipt.provider, "id", receipt.provider_message_id)
    return (receipt.provider, "to", receipt.campaign_id or "", receipt.recipient or "")


def _event_values(
    receipt: Receipt, source: str, now: datetime, message_id: str | None
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "provider": receipt.provider,
        "provider_message_id": receipt.provider_message_id,
        "campaign_id": receipt.campaign_id,
        "recipient": receipt.recipient,
        "status": receipt.status.value,
        "permanent": receipt.permanent,
        "provider_status": receipt.provider_status,
        "detail": receipt.detail,
        "source": source,
        "occurred_at": receipt.occurred_at,
        "received_at": now,
        "dedupe_key": receipt.key(),
    }


@dataclass
class _MessageState:
    id: str
    status: MessageStatus
    final: bool


def _lookups(receipts: Sequence[Receipt]) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Providers, provider message ids, and (campaign, recipient) pairs to find messages by."""
    providers = sorted({r.provider for r in receipts})
    ids = sorted({r.provider_message_id for r in receipts if r.provider_message_id})
    pairs = sorted(
        {
            (r.campaign_id or "", r.recipient or "")
            for r in receipts
            if not r.provider_message_id and r.campaign_id and r.recipient
        }
    )
    return providers, ids, pairs


def _keyed(rows: Any) -> dict[tuple[str, ...], _MessageState]:
    keyed: dict[tuple[str, ...], _MessageState] = {}
    for id_, provider, provider_message_id, campaign_id, recipient, status, final in rows:
        state = _MessageState(id_, MessageStatus(status), bool(final))
        if provider_message_id:
            keyed[(provider, "id", provider_message_id)] = state
        if campaign_id:
            keyed[(provider, "to", campaign_id, recipient)] = state
    return keyed


_EVENT_COLUMNS: Final = (
    "message_id",
    "provider",
    "provider_message_id",
    "campaign_id",
    "recipient",
    "status",
    "permanent",
    "provider_status",
    "detail",
    "source",
    "occurred_at",
    "received_at",
    "dedupe_key",
)


class _CoreStatements:
    """A receipt batch's three statements in SQLAlchemy Core (SQLite, and any database)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def lock_messages(self, receipts: Sequence[Receipt]) -> dict[tuple[str, ...], _MessageState]:
        """Lock the messages in id order (concurrent batches cannot deadlock)."""
        providers, ids, pairs = _lookups(receipts)
        columns = cast(Table, MessageRow.__table__).c
        conditions: list[ColumnElement[bool]] = []
        if ids:
            conditions.append(columns.provider_message_id.in_(ids))
        conditions.extend(
            and_(columns.campaign_id == campaign_id, columns.recipient == recipient)
            for campaign_id, recipient in pairs
        )
        if not conditions:
            return {}
        return _keyed(
            self.connection.execute(
                select(
                    columns.id,
                    columns.provider,
                    columns.provider_message_id,
                    columns.campaign_id,
                    columns.recipient,
                    columns.status,
                    columns.final,
                )
                .where(columns.provider.in_(providers), or_(*conditions))
                .order_by(columns.id)
                .with_for_update()
            )
        )

    def insert_events(self, values: list[dict[str, Any]]) -> set[str]:
        """Insert the events not seen before; returns their dedupe keys."""
        if not values:
            return set()
        events = cast(Table, EventRow.__table__)
        statement = _insert_ignoring_duplicates(self.connection.dialect.name, events)
        # One cached statement, many parameter sets (SQLAlchemy's insertmanyvalues).
        result = self.connection.execute(statement.returning(events.c.dedupe_key), values)
        return {key for (key,) in result}

    def write_statuses(self, states: list[_MessageState], now: datetime) -> None:
        if not states:
            return
        rows = [
            {"id": state.id, "status": state.status.value, "final": state.final, "updated_at": now}
            for state in states
        ]
        _write_many(Sql.of(self.connection), "messages", rows, where="id")


class _PsycopgStatements(_CoreStatements):
    """The same statements straight through psycopg: half the client CPU of SQLAlchemy's
    per-row processing, which is what limits receipts per second (see bench/receipts.py)."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.cursor = connection.connection.driver_connection.cursor()

    def lock_messages(self, receipts: Sequence[Receipt]) -> dict[tuple[str, ...], _MessageState]:
        providers, ids, pairs = _lookups(receipts)
        # Only the lookups this batch needs: an OR with an empty one keeps PostgreSQL off
        # the message-id index.
        found: list[str] = []
        params: list[Any] = [providers]
        if ids:
            found.append("provider_message_id = ANY(%s)")
            params.append(ids)
        if pairs:
            found.append(
                "(campaign_id, recipient) IN (SELECT * FROM unnest(%s::varchar[], %s::varchar[]))"
            )
            params += [[c for c, _ in pairs], [r for _, r in pairs]]
        if not found:
            return {}
        # Built from the fixed clauses above only; every value goes as a parameter.
        query = (
            "SELECT id, provider, provider_message_id, campaign_id, recipient, status, final"  # noqa: S608
            f" FROM messages WHERE provider = ANY(%s) AND ({' OR '.join(found)})"
            " ORDER BY id FOR UPDATE"
        )
        self.cursor.execute(query, params)
        return _keyed(self.cursor.fetchall())

    def insert_events(self, values: list[dict[str, Any]]) -> set[str]:
        if not values:
            return set()
        # _write_many's statement, every column an array (receipts differ in every field),
        # skipping the ones seen before.
        table = table_named("message_events")
        insert, _ = unnest_statement(table, _EVENT_COLUMNS, _ALL_VARY, None)
        self.cursor.execute(
            insert + " ON CONFLICT DO NOTHING RETURNING dedupe_key",
            [[v[column] for v in values] for column in _EVENT_COLUMNS],
            binary=True,
        )
        return {key for (key,) in self.cursor.fetchall()}


_ALL_VARY: Final = (False,) * len(_EVENT_COLUMNS)


def _batch_statements(connection: Any) -> _CoreStatements:
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return _PsycopgStatements(connection)
    return _CoreStatements(connection)


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageRow]
    total: int
    limit: int
    offset: int


class Store(Recorder):
    """The message store: the send path (Recorder), and the reads, receipts, replies and
    keys over SQLAlchemy; thread-safe (a session per call)."""

    @functools.cached_property
    def _sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def unidentified(
        self, provider: str, account: str | None, limit: int = 1000
    ) -> list[MessageRow]:
        """Messages of one account whose outcome is unknown and that the provider never named
        (its answer was lost, or the process died during the request): what sync asks about."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(MessageRow)
                    .where(
                        MessageRow.provider == provider,
                        MessageRow.account == account,
                        MessageRow.status == MessageStatus.UNKNOWN.value,
                        MessageRow.provider_message_id.is_(None),
                    )
                    .order_by(MessageRow.created_at)
                    .limit(limit)
                ).all()
            )

    def identify(
        self, message_id: str, provider_message_id: str, status: MessageStatus, detail: str
    ) -> bool:
        """Record what the provider says of a message we could not account for: its id, and
        its status if that moves it. False when the provider's message is another row's."""
        now = utcnow()
        with self._session() as session:
            taken = session.scalar(
                select(func.count())
                .select_from(MessageRow)
                .where(MessageRow.provider_message_id == provider_message_id)
            )
            row = session.get(MessageRow, message_id)
            if taken or row is None:
                return False
            row.provider_message_id = provider_message_id
            self._advance(row, status, False)
            session.add(
                EventRow(
                    message_id=row.id,
                    provider=row.provider,
                    provider_message_id=provider_message_id,
                    recipient=row.recipient,
                    status=status.value,
                    permanent=False,
                    detail=detail,
                    source="sync",
                    occurred_at=now,
                    received_at=now,
                )
            )
            return True

    def claim_key(self, key: str, fingerprint: str) -> Claim:
        """Take an Idempotency-Key for a request with this body fingerprint, committed before
        the request does anything; a key older than a day is free again."""
        with self.engine.begin() as connection:
            return claim_key(connection, key, fingerprint)

    def finish_key(self, key: str, response: Any) -> None:
        """Keep the answer of the request that took ``key``, for its retries."""
        table = cast(Table, IdempotencyRow.__table__)
        with self.engine.begin() as connection:
            connection.execute(
                update(table).where(table.c.key == key).values(response=json.dumps(response))
            )

    def release_key(self, key: str) -> None:
        """Free a key whose request did nothing (refused before any message left)."""
        table = cast(Table, IdempotencyRow.__table__)
        with self.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key == key))

    @staticmethod
    def _advance(row: MessageRow, status: MessageStatus, permanent: bool) -> bool:
        if not advances(MessageStatus(row.status), row.final, status, permanent):
            return False
        row.status = status.value
        row.final = is_final(status, permanent)
        row.updated_at = utcnow()
        return True

    # -- receipts and replies ---------------------------------------------------------------

    def apply_receipt(self, receipt: Receipt, source: str = "webhook") -> ReceiptOutcome:
        return self.apply_receipts([receipt], source)[0]

    def apply_receipts(
        self, receipts: Sequence[Receipt], source: str = "webhook"
    ) -> list[ReceiptOutcome]:
        """Apply receipts in arrival order, in one transaction of a few statements.

        A receipt seen before (same provider, message, code and time) is a duplicate and
        records nothing; one whose message is not recorded yet waits for it.
        """
        now = utcnow()
        outcomes: list[ReceiptOutcome] = [ReceiptOutcome.DUPLICATE] * len(receipts)
        first_of: dict[str, int] = {}
        for index, receipt in enumerate(receipts):
            first_of.setdefault(receipt.key(), index)
        with self._session() as session:
            statements = _batch_statements(session.connection())
            unique = [receipts[i] for i in first_of.values()]
            messages = statements.lock_messages(unique)
            values = []
            for receipt in unique:
                state = messages.get(_message_key(receipt))
                values.append(_event_values(receipt, source, now, state.id if state else None))
            inserted = statements.insert_events(values)
            changed: dict[str, _MessageState] = {}
            for key, index in first_of.items():
                receipt = receipts[index]
                state = messages.get(_message_key(receipt))
                if key not in inserted:
                    continue  # seen before: a duplicate
                if state is None:
                    outcomes[index] = ReceiptOutcome.WAITING
                elif advances(state.status, state.final, receipt.status, receipt.permanent):
                    state.status = receipt.status
                    state.final = is_final(receipt.status, receipt.permanent)
                    changed[state.id] = state
                    outcomes[index] = ReceiptOutcome.APPLIED
                else:
                    outcomes[index] = ReceiptOutcome.RECORDED
            if changed:
                statements.write_statuses(list(changed.values()), now)
        return outcomes

    def add_reply(self, reply: Reply, *, opt_out: bool = False) -> bool:
        """Keep a reply once; True when it is new. ``opt_out``: the reply asks for no more
        SMS, so its sender joins the opt-outs, in the same transaction."""
        with self._session() as session:
            if opt_out:
                opt_out_number(
                    session.connection(), reply.sender, "reply", reply.provider, reply.text
                )
            message_id = None
            if reply.provider_message_id:
                message_id = session.scalar(
                    select(MessageRow.id).where(
                        MessageRow.provider == reply.provider,
                        MessageRow.provider_message_id == reply.provider_message_id,
                    )
                )
            elif reply.campaign_id:
                message_id = session.scalar(
                    select(MessageRow.id).where(
                        MessageRow.campaign_id == reply.campaign_id,
                        MessageRow.recipient == reply.sender,
                    )
                )
            inserted = session.execute(
                _insert_ignoring_duplicates(self.engine.dialect.name, ReplyRow)
                .values(
                    {
                        "provider": reply.provider,
                        "provider_reply_id": reply.provider_reply_id,
                        "message_id": message_id,
                        "provider_message_id": reply.provider_message_id,
                        "campaign_id": reply.campaign_id,
                        "sender": reply.sender,
                        "text": reply.text,
                        "received_at": reply.received_at or utcnow(),
                    },
                )
                .returning(ReplyRow.id)
            ).scalar()
            return inserted is not None

    # -- reading ----------------------------------------------------------------------------

    def messages(
        self,
        *,
        status: str | None = None,
        recipient: str | None = None,
        tag: str | None = None,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> MessagePage:
        """The messages that meet every filter given, newest first; those still in their
        request (write-ahead rows, see Recorder.record_outgoing) among them, ``submitting``."""
        number = recipient.lstrip("+") if recipient else None
        conditions: list[ColumnElement[bool]] = []
        if status:
            conditions.append(MessageRow.status == status)
        if number:
            conditions.append(MessageRow.recipient == number)
        if tag:
            conditions.append(MessageRow.tag == tag)
        if campaign_id:
            conditions.append(MessageRow.campaign_id == campaign_id)
        if since:
            conditions.append(MessageRow.created_at >= since)
        if until:
            conditions.append(MessageRow.created_at < until)
        with self._session() as session:
            asked = status in (None, "", MessageStatus.SUBMITTING.value)
            flying = [
                row
                for row in (self._in_flight(session) if asked else [])
                if (not number or row.recipient == number)
                and (not tag or row.tag == tag)
                and not campaign_id  # a request not yet answered has no campaign
                and (not since or row.created_at >= since)
                and (not until or row.created_at < until)
            ]
            total = session.scalar(select(func.count()).select_from(MessageRow).where(*conditions))
            rows = session.scalars(
                select(MessageRow)
                .where(*conditions)
                .order_by(MessageRow.created_at.desc(), MessageRow.id.desc())
                .limit(limit + (offset if flying else 0))
                .offset(0 if flying else offset)
            ).all()
        if flying:  # few (a send's requests in flight): merged in order, then the page
            merged = sorted([*flying, *rows], key=lambda r: (r.created_at, r.id), reverse=True)
            rows = merged[offset : offset + limit]
        return MessagePage(list(rows), (total or 0) + len(flying), limit, offset)

    def message(self, message_id: str) -> MessageRow | None:
        with self._session() as session:
            found = session.get(MessageRow, message_id)
            if found is None:
                found = next((r for r in self._in_flight(session) if r.id == message_id), None)
            return found

    @staticmethod
    def _in_flight(session: Session) -> list[MessageRow]:
        """The messages of the write-ahead rows (``submissions``): requests out and not yet
        answered, as rows ``submitting`` that are not in the table (nor the session)."""
        rows: list[MessageRow] = []
        for text in session.scalars(select(SubmissionRow.messages)):
            varying, same = submission_columns(text)
            names = list(varying)
            for values in zip(*varying.values(), strict=True):
                rows.append(MessageRow(**same, **dict(zip(names, values, strict=True))))
        return rows

    def events(self, message_id: str) -> list[EventRow]:
        with self._session() as session:
            return list(
                session.scalars(
                    select(EventRow).where(EventRow.message_id == message_id).order_by(EventRow.id)
                ).all()
            )

    def replies(self, *, limit: int = 50, offset: int = 0) -> list[ReplyRow]:
        with self._session() as session:
            return list(
                session.scalars(
                    select(ReplyRow)
                    .order_by(ReplyRow.received_at.desc(), ReplyRow.id.desc())
                    .limit(limit)
                    .offset(offset)
                ).all()
            )

    def open_campaigns(self, provider: str) -> list[str]:
        """Campaigns with messages that are not final yet: what `smsgate sync` asks about."""
        with self._session() as session:
            found = session.scalars(
                select(MessageRow.campaign_id)
                .where(
                    MessageRow.provider == provider,
                    MessageRow.final.is_(False),
                    MessageRow.campaign_id.is_not(None),
                )
                .distinct()
            ).all()
        return [campaign for campaign in found if campaign]

    def cancel_campaign(self, provider: str, campaign_id: str) -> int:
        """Mark a campaign's scheduled messages cancelled; returns how many."""
        now = utcnow()
        with self._session() as session:
            rows = session.scalars(
                select(MessageRow).where(
                    MessageRow.provider == provider,
                    MessageRow.campaign_id == campaign_id,
                    MessageRow.status == MessageStatus.SCHEDULED.value,
                )
            ).all()
            for row in rows:
                self._advance(row, MessageStatus.CANCELLED, True)
                session.add(
                    EventRow(
                        message_id=row.id,
                        provider=provider,
                        provider_message_id=row.provider_message_id,
                        campaign_id=campaign_id,
                        recipient=row.recipient,
                        status=MessageStatus.CANCELLED.value,
                        permanent=True,
                        source="cancel",
                        occurred_at=now,
                        received_at=now,
                    )
                )
            return len(rows)

    # -- the elastic.io sailor's record of its messages -------------------------------------

    def begin_sailor_message(self, key: str) -> str | None:
        """Record that the sailor starts on ``key``, committed before it does anything.

        Returns None when this is the first time (now recorded as started), else the state an
        earlier attempt left ('started', or how it finished): the insert and the look-up are
        one atomic step, so two sailors given the same message cannot both start it.
        """
        insert = _insert_ignoring_duplicates(self.engine.dialect.name, SailorMessageRow.__table__)
        with self._session() as session:
            values = insert.values(key=key, state="started", started_at=utcnow())
            if session.execute(values.returning(SailorMessageRow.key)).first() is not None:
                return None
            state: str = session.scalars(
                select(SailorMessageRow.state).where(SailorMessageRow.key == key)
            ).one()
            return state

    def finish_sailor_message(self, key: str, state: str) -> None:
        """Record how the sailor finished ``key`` (before it acks the message)."""
        with self._session() as session:
            session.execute(
                update(SailorMessageRow)
                .where(SailorMessageRow.key == key)
                .values(state=state, finished_at=utcnow())
            )
