"""The message store: SQLite by default (a file in the data directory), PostgreSQL supported.

Every send is recorded per recipient, each with its status history. Receipts move a message's
status forward only (core.status); a receipt delivered twice is recorded once; one that comes
before its message was recorded waits, and is applied when the message arrives.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    and_,
    any_,
    create_engine,
    delete,
    event,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from smsgate import settings
from smsgate.core.errors import ConfigurationError
from smsgate.core.rates import FULL, Slot, answer_slot, take_slot
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.report import RecipientStatus
from smsgate.core.sent import Outgoing, SentBatch
from smsgate.core.status import MessageStatus, advances, is_final
from smsgate.core.text import segment
from smsgate.store.processes import gone, this_process
from smsgate.store.schema import (
    EventRow,
    IdempotencyRow,
    MessageRow,
    OptOutRow,
    RateBudgetRow,
    ReplyRow,
    SailorMessageRow,
    SubmitterRow,
    UtcDateTime,
    utcnow,
)

log = logging.getLogger("smsgate.store")
T = TypeVar("T")
DATABASE_VARIABLE: Final = settings.DATABASE_URL.name
MIGRATIONS: Final = str(Path(__file__).with_name("migrations"))
HEAD_REVISION: Final = "0008"
"""The newest migration's revision: a store already there opens without loading Alembic
(a third of a second of every command). A test keeps it equal to Alembic's head."""

ABANDONED: Final = (
    "the process sending it stopped during its request (killed or crashed): the provider may "
    "have it; check there (smsgate sync, or the provider's site) before sending it again"
)

_SEND_STATUS: Final = {
    RecipientStatus.SENT: MessageStatus.SENT,
    RecipientStatus.SCHEDULED: MessageStatus.SCHEDULED,
    RecipientStatus.REJECTED: MessageStatus.REJECTED,
    RecipientStatus.FAILED: MessageStatus.FAILED,
    RecipientStatus.UNKNOWN: MessageStatus.UNKNOWN,
}


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


def _write_many(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    where: str | None = None,
) -> None:
    """INSERT many rows (or, with ``where``, UPDATE each row found by that column) in one
    statement: on PostgreSQL one array per column (``unnest``), elsewhere the driver's
    executemany.

    A send's rows differ in a few strings only: SQLAlchemy's per-value type processing cost
    more than SQLite's own work (see bench/run.py's CLI send), and on PostgreSQL one
    parameter set per row cost a queued send's worker more than its requests (one statement
    a row, each a round of the pipeline). Each distinct value of a column that needs
    processing (the batch's datetimes) goes through the column's own SQLAlchemy type once, so
    the database holds exactly what the ORM writes and reads.
    """
    if not rows:
        return
    dialect = connection.dialect
    columns = [name for name in rows[0] if name != where] + ([where] if where else [])
    values: list[list[Any]] = []
    for name in columns:
        column = [row[name] for row in rows]
        if isinstance(table.c[name].type, UtcDateTime):
            processor = table.c[name].type._cached_bind_processor(dialect)
            if processor is not None:
                done = {value: processor(value) for value in set(column)}
                column = [done[value] for value in column]
        values.append(column)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        driver = connection.connection.driver_connection
        assert driver is not None
        # A batch's rows share most values (its status, time, campaign): those go once, as
        # one value, and only what differs goes as an array. The first column (the key, for
        # an UPDATE) is always an array: it says how many rows.
        counted = len(values) - 1 if where else 0
        same = tuple(i != counted and len(set(v)) == 1 for i, v in enumerate(values))
        statement, order = _unnest_statement(table, tuple(columns), same, where)
        params = [values[i][0] if same[i] else values[i] for i in order]
        driver.execute(statement, params, binary=True)
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # Built from our own table's column names only; every value goes as a parameter.
    if where is None:
        statement = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join([marker] * len(columns))})"
        )
    else:
        assignments = ", ".join(f"{name} = {marker}" for name in columns[:-1])
        statement = f"UPDATE {table.name} SET {assignments} WHERE {where} = {marker}"  # noqa: S608
    connection.exec_driver_sql(statement, list(zip(*values, strict=True)))


_POSTGRESQL: Final = postgresql.dialect()  # type: ignore[no-untyped-call]


def _parameter(table: Table, column: str, array: bool = False) -> str:
    """A binary parameter of one column's type (or an array of them)."""
    return f"%b::{table.c[column].type.compile(_POSTGRESQL)}{'[]' if array else ''}"


@functools.cache
def _unnest_statement(
    table: Table, columns: tuple[str, ...], same: tuple[bool, ...], where: str | None
) -> tuple[str, list[int]]:
    """_write_many's PostgreSQL statement, and the order of its parameters (column indexes):
    one array per column that differs from row to row, one value for each that is ``same``
    in every row, each typed by its column, so its text is the same for every batch of a
    kind (psycopg prepares it once)."""
    varying = [i for i, one in enumerate(same) if not one]
    arrays = ", ".join(_parameter(table, columns[i], array=True) for i in varying)
    unnested = f"unnest({arrays}) AS v({', '.join(columns[i] for i in varying)})"

    def value(i: int) -> str:
        return _parameter(table, columns[i]) if same[i] else f"v.{columns[i]}"

    # Built from our own table's column names and types only; every value is a parameter.
    if where is None:
        chosen = ", ".join(value(i) for i in range(len(columns)))
        constants = [i for i, one in enumerate(same) if one]
        return (
            f"INSERT INTO {table.name} ({', '.join(columns)})"  # noqa: S608
            f" SELECT {chosen} FROM {unnested}",
            constants + varying,
        )
    updated = range(len(columns) - 1)
    assignments = ", ".join(f"{columns[i]} = {value(i)}" for i in updated)
    # The keys twice: the join alone lets PostgreSQL choose a scan of the whole table when
    # its statistics lag behind a big send's rows; "= ANY" holds it to the index.
    key = len(columns) - 1
    return (
        f"UPDATE {table.name} SET {assignments} FROM {unnested}"  # noqa: S608
        f" WHERE {table.name}.{where} = v.{where}"
        f" AND {table.name}.{where} = ANY({_parameter(table, where, array=True)})",
        [i for i in updated if same[i]] + varying + [key],
    )


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


def error_line(error: BaseException) -> str:
    """An error's first line, from the driver's own error where SQLAlchemy wraps one (its
    text goes on with the statement and its parameters)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _one_of(column: Any, values: list[str], dialect: str) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY`` of one array parameter, whose statement
    is the same whatever the count (an IN list of a batch's 2,000 values was a statement of
    its own to build and parse for every batch)."""
    if dialect == "postgresql":
        return cast(ColumnElement[bool], column == any_(literal(values, postgresql.ARRAY(String))))
    return cast(ColumnElement[bool], column.in_(values))


def _own_event(
    message_id: str,
    provider: str,
    recipient: str,
    status: str,
    now: datetime,
    source: str,
    *,
    provider_message_id: str | None = None,
    campaign_id: str | None = None,
    permanent: bool = False,
    detail: str | None = None,
) -> dict[str, Any]:
    """An event of our own making (a send, a recovery): no provider code, no dedupe key (a
    receipt's event comes from _event_values)."""
    return {
        "message_id": message_id,
        "provider": provider,
        "provider_message_id": provider_message_id,
        "campaign_id": campaign_id,
        "recipient": recipient,
        "status": status,
        "permanent": permanent,
        "provider_status": None,
        "detail": detail,
        "source": source,
        "occurred_at": now,
        "received_at": now,
        "dedupe_key": None,
    }


def settle(
    connection: Connection,
    rows: Sequence[Any],
    status: MessageStatus,
    reason: str,
    now: datetime,
    source: str,
) -> None:
    """Messages (rows with id, provider, recipient) that end at ``status`` without an answer
    to go by (abandoned, cancelled, not sent), with the reason and an event saying so."""
    if not rows:
        return
    final = is_final(status)
    outcomes = [
        {"status": status.value, "final": final, "error": reason, "updated_at": now, "id": r.id}
        for r in rows
    ]
    events = [
        _own_event(r.id, r.provider, r.recipient, status.value, now, source, detail=reason)
        for r in rows
    ]
    _write_many(connection, cast(Table, MessageRow.__table__), outcomes, where="id")
    _write_many(connection, cast(Table, EventRow.__table__), events)


def _message_values(
    batch: Outgoing | SentBatch,
    index: int,
    message_id: str,
    to: str,
    now: datetime,
    owner: str | None,
) -> dict[str, Any]:
    """What a message row holds from before its request leaves."""
    message = batch.message
    text = batch.text_of(index)
    seg = segment(text) if batch.texts else message.fitted.segmentation
    return {
        "id": message_id,
        "provider": batch.provider,
        "sandbox": batch.sandbox,
        "account": batch.account,
        "provider_message_id": None,
        "campaign_id": None,
        "client_reference": batch.reference,
        "recipient": to,
        "sender": message.sender,
        "text": text,
        "encoding": seg.encoding.value,
        "parts": seg.count,
        "cost": None,
        "error": None,
        "tag": message.campaign_name,
        "scheduled_at": (isinstance(batch, Outgoing) and batch.hold_until) or message.scheduled_at,
        "created_at": now,
        "updated_at": now,
        "submitted_by": owner,
        "tried": ",".join(batch.tried) or None,
        "callback_url": batch.callback_url,
    }


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
        _write_many(self.connection, cast(Table, MessageRow.__table__), rows, where="id")


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
        table = cast(Table, EventRow.__table__)
        insert, _ = _unnest_statement(table, _EVENT_COLUMNS, _ALL_VARY, None)
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


def database_url(env: Mapping[str, str] | None = None) -> str:
    """$SMSGATE_DATABASE_URL, else a SQLite file in the data directory."""
    env = os.environ if env is None else env
    url = settings.DATABASE_URL.read(env)
    if url:
        return url
    folder = settings.data_dir(env)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"cannot create the data directory {str(folder)!r} ({error.strerror or error}): "
            f"set {settings.DATA_DIR.name} to a folder you can write to"
        ) from None
    return f"sqlite:///{folder / 'smsgate.db'}"


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except Exception as error:  # bad URL, missing driver
        raise ConfigurationError(
            f"cannot use the database {url.split('@')[-1]!r}: {error}; check {DATABASE_VARIABLE}"
        ) from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageRow]
    total: int
    limit: int
    offset: int


_SUBMITTING: Final[Counter[str]] = Counter()
"""This process's stores that put it in ``submitters``, by database: it leaves the list when
the last of them closes (another may still have a request in flight)."""
_SUBMITTING_LOCK: Final = threading.Lock()


class Store:
    """Implements the gateway's SendRecorder; thread-safe (a session per call)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or database_url()
        self.engine = _engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.owner = this_process()
        self._submitter = False
        """Whether this process is in ``submitters`` (from its first write-ahead on)."""
        if migrate:
            self.migrate()
            self.settle_abandoned()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def migrate(self) -> None:
        """Bring the schema to the latest migration (a no-op when it is there already)."""
        try:
            if self._revision() == HEAD_REVISION:
                return
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", MIGRATIONS)
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as error:
            where = self.engine.url.render_as_string(hide_password=True)
            reason = error_line(error)
            raise ConfigurationError(
                f"cannot open the message store at {where} ({reason}): check {DATABASE_VARIABLE}"
            ) from None

    def _revision(self) -> str | None:
        """The schema's Alembic revision, read with one query; None for a new database."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar()

    def close(self) -> None:
        """Let go of the database. A process closes its store after its sends have ended,
        so none of its rows is left ``submitting``: with its last store on that database
        closed, it leaves ``submitters`` too."""
        with _SUBMITTING_LOCK:
            last = self._submitter and _SUBMITTING[self.url] == 1
            if self._submitter:
                self._submitter = False
                _SUBMITTING[self.url] -= 1
        if last:
            submitters = cast(Table, SubmitterRow.__table__)
            try:
                with self.engine.begin() as connection:
                    connection.execute(delete(submitters).where(submitters.c.owner == self.owner))
            except SQLAlchemyError:
                pass  # it stays listed: the next store to open looks once, finds nothing
        self.engine.dispose()

    def submitting(self, connection: Connection) -> None:
        """On record as a process that may leave rows ``submitting``, in the transaction of
        its first write-ahead (a row of ours is never there without us in ``submitters``)."""
        if self._submitter:
            return
        submitters = cast(Table, SubmitterRow.__table__)
        insert = _insert_ignoring_duplicates(connection.dialect.name, submitters)
        connection.execute(insert.values(owner=self.owner))
        with _SUBMITTING_LOCK:
            if not self._submitter:
                self._submitter = True
                _SUBMITTING[self.url] += 1

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- recording sends --------------------------------------------------------------------

    def settle_abandoned(self) -> int:
        """Messages left ``submitting`` by a process of this host that runs no more become
        ``unknown``, saying why: their request may have reached the provider. Returns how many.
        (Run whenever a store opens: a look at the few ``submitters``, and at the messages
        only when one of them is dead.)"""
        table = cast(Table, MessageRow.__table__)
        submitters = cast(Table, SubmitterRow.__table__)
        with self.engine.begin() as connection:
            owners = connection.execute(select(submitters.c.owner)).scalars()
            dead = [owner for owner in owners if gone(owner)]
            if not dead:
                return 0
            left = connection.execute(
                select(table.c.id, table.c.provider, table.c.recipient).where(
                    table.c.status == MessageStatus.SUBMITTING.value,
                    table.c.submitted_by.in_(dead),
                )
            ).all()
            settle(connection, left, MessageStatus.UNKNOWN, ABANDONED, utcnow(), "recovery")
            connection.execute(delete(submitters).where(submitters.c.owner.in_(dead)))
            return len(left)

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

    def budget(self, key: str, calls: int, period: float) -> SharedBudget | None:
        """A provider account's call budget shared by every process on this database
        (PostgreSQL); None on SQLite, where the process's own budget serves."""
        if self.engine.dialect.name != "postgresql":
            return None
        return SharedBudget(self, key, calls, period)

    def record_outgoing(self, outgoing: Sequence[Outgoing]) -> None:
        """Write-ahead: the messages of the next requests, committed as ``submitting`` before
        any of them leaves, each marked with this process (see abandoned_submissions).
        Rerouted ones (another provider of the route provably did not send them) are on
        record already: their rows now name the provider about to take them."""
        now = utcnow()
        rows = [
            {
                **_message_values(
                    batch, index, batch.ids[index], batch.recipients[index], now, self.owner
                ),
                "status": MessageStatus.SUBMITTING.value,
                "final": False,
            }
            for batch in outgoing
            for index in range(len(batch.ids))
        ]
        if not rows:
            return
        messages = cast(Table, MessageRow.__table__)
        with self.engine.begin() as connection:
            self.submitting(connection)
            if any(batch.rerouted for batch in outgoing):
                for row in rows:  # a new provider: its own reference, text and account
                    del row["created_at"], row["scheduled_at"], row["callback_url"]
                _write_many(connection, messages, rows, where="id")
            else:
                _write_many(connection, messages, rows)

    def record_batch(self, sent: SentBatch) -> None:
        """What became of each message of one request, and its "send" event, in one
        transaction: the rows written ahead are updated; a batch never announced (not sent
        after a refusal) is recorded outright.

        SQLAlchemy Core with one statement per table and many parameter sets: no ORM object
        per row (building 200,000 of them was 90% of a 100,000-recipient CLI send's CPU).
        """
        now = utcnow()
        accepted = [r for r in sent.results if r.status.accepted]
        cost = int(sent.credits_used) // len(accepted) if sent.credits_used and accepted else None
        outcomes: list[dict[str, Any]] = []
        for result in sent.results:
            assert result.id is not None
            status = _SEND_STATUS[result.status]
            taken = result.status.accepted
            outcomes.append(
                {
                    "id": result.id,
                    "provider_message_id": result.provider_message_id,
                    "campaign_id": sent.campaign_id if taken else None,
                    "cost": cost if taken else None,
                    "status": status.value,
                    "final": is_final(status),
                    "error": result.error,
                    "updated_at": now,
                }
            )
        if not outcomes:
            return
        rows = [
            {**o, "provider": sent.provider, "recipient": r.to}
            for o, r in zip(outcomes, sent.results, strict=True)
        ]
        events = [
            _own_event(
                row["id"],
                sent.provider,
                row["recipient"],
                row["status"],
                now,
                "send",
                provider_message_id=row["provider_message_id"],
                campaign_id=row["campaign_id"],
                permanent=row["final"],
                detail=row["error"],
            )
            for row in rows
        ]
        messages = cast(Table, MessageRow.__table__)
        with self.engine.begin() as connection:
            if sent.announced:
                _write_many(connection, messages, outcomes, where="id")
            else:
                whole = [
                    {**_message_values(sent, i, o["id"], r.to, now, self.owner), **o}
                    for i, (o, r) in enumerate(zip(outcomes, sent.results, strict=True))
                ]
                _write_many(connection, messages, whole)
            _write_many(connection, cast(Table, EventRow.__table__), events)
            self._claim_waiting(connection, sent.provider, sent.campaign_id, rows, now)

    def _claim_waiting(
        self,
        connection: Connection,
        provider: str,
        campaign_id: str | None,
        rows: Sequence[dict[str, Any]],
        now: datetime,
    ) -> None:
        """Receipts that arrived before these messages were recorded: attach and apply them."""
        by_id = {r["provider_message_id"]: r for r in rows if r["provider_message_id"]}
        by_number = {r["recipient"]: r for r in rows if r["campaign_id"]}
        events = cast(Table, EventRow.__table__).c
        conditions: list[ColumnElement[bool]] = []
        dialect = connection.dialect.name
        if by_id:
            conditions.append(_one_of(events.provider_message_id, list(by_id), dialect))
        if campaign_id and by_number:
            conditions.append(
                and_(
                    events.campaign_id == campaign_id,
                    _one_of(events.recipient, list(by_number), dialect),
                )
            )
        if not conditions:
            return
        # Most batches find none: one look at the index of waiting receipts (it holds only
        # those) spares sending every id of the batch to the database for nothing.
        anything = connection.execute(
            select(events.id)
            .where(events.message_id.is_(None), events.provider == provider)
            .limit(1)
        ).first()
        if anything is None:
            return
        waiting = connection.execute(
            select(
                events.id,
                events.provider_message_id,
                events.recipient,
                events.status,
                events.permanent,
            )
            .where(events.message_id.is_(None), events.provider == provider, or_(*conditions))
            .order_by(events.id)
        ).all()
        claimed: list[dict[str, Any]] = []
        moved: dict[str, dict[str, Any]] = {}
        for event_id, provider_message_id, recipient, status, permanent in waiting:
            row = by_id.get(provider_message_id or "") or by_number.get(recipient or "")
            if row is None:
                continue
            claimed.append({"id": event_id, "message_id": row["id"]})
            current = MessageStatus(row["status"])
            if advances(current, row["final"], MessageStatus(status), permanent):
                row["status"] = status
                row["final"] = is_final(MessageStatus(status), permanent)
                moved[row["id"]] = row
        if claimed:
            _write_many(connection, cast(Table, EventRow.__table__), claimed, where="id")
        if moved:
            statuses = [
                {"id": r["id"], "status": r["status"], "final": r["final"], "updated_at": now}
                for r in moved.values()
            ]
            _write_many(connection, cast(Table, MessageRow.__table__), statuses, where="id")

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
        conditions: list[ColumnElement[bool]] = []
        if status:
            conditions.append(MessageRow.status == status)
        if recipient:
            conditions.append(MessageRow.recipient == recipient.lstrip("+"))
        if tag:
            conditions.append(MessageRow.tag == tag)
        if campaign_id:
            conditions.append(MessageRow.campaign_id == campaign_id)
        if since:
            conditions.append(MessageRow.created_at >= since)
        if until:
            conditions.append(MessageRow.created_at < until)
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(MessageRow).where(*conditions))
            rows = session.scalars(
                select(MessageRow)
                .where(*conditions)
                .order_by(MessageRow.created_at.desc(), MessageRow.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
        return MessagePage(list(rows), total or 0, limit, offset)

    def message(self, message_id: str) -> MessageRow | None:
        with self._session() as session:
            return session.get(MessageRow, message_id)

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


class SharedBudget:
    """At most ``calls`` per ``period`` seconds for one account, across processes and
    machines, on the database's clock: the account's row is locked (SELECT ... FOR UPDATE)
    while a caller takes the slot whose last call is oldest, and again when its call has
    its answer, so that the slot counts from then (see ``gateway.ratelimit.Slot``)."""

    def __init__(self, store: Store, key: str, calls: int, period: float) -> None:
        self.store, self.key, self.calls, self.period = store, key, calls, period

    def __repr__(self) -> str:
        return f"SharedBudget({self.calls}/{self.period:g}s)"

    def _update(self, change: Callable[[list[list[Any]], float], T]) -> T:
        """Run ``change`` on the locked row's slots ([id, seconds]) and the database's now."""
        table = cast(Table, RateBudgetRow.__table__)
        with self.store.engine.begin() as connection:
            connection.execute(
                postgresql.insert(table).values(key=self.key, slots="[]").on_conflict_do_nothing()
            )
            slots_text, now = connection.execute(
                select(table.c.slots, func.extract("epoch", func.clock_timestamp()))
                .where(table.c.key == self.key)
                .with_for_update()
            ).one()
            slots: list[list[Any]] = json.loads(slots_text)
            result = change(slots, float(now))
            connection.execute(
                update(table).where(table.c.key == self.key).values(slots=json.dumps(slots))
            )
        return result

    def reserve(self) -> Slot:
        """The next call's slot (see core.rates.take_slot); the row keeps each slot as
        [when its call last counted, in flight, the token of its latest call]."""
        token = secrets.token_hex(6)

        def take(slots: list[list[Any]], now: float) -> float | None:
            slots[:] = [slot for slot in slots if not isinstance(slot[0], str)]  # older format
            taken = take_slot(slots, self.calls, self.period, now)
            if taken is None:
                return None
            slot, wait = taken
            slot[2:] = [token]
            return wait

        def answered(slots: list[list[Any]], now: float) -> None:
            for slot in slots:
                if slot[2:] == [token]:
                    answer_slot(slot, now)

        wait = self._update(take)
        if wait is None:
            return FULL

        def done() -> None:
            # The call went out whatever happens here: a store that cannot note its answer
            # leaves the slot in flight until it is stale, and the send goes on.
            try:
                self._update(answered)
            except SQLAlchemyError as error:
                log.warning("could not note a call's answer in its budget: %s", error)

        return Slot(wait, done)
