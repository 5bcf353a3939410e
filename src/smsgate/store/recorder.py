"""The store's send path: every message on record before its request leaves, and what became
of it, in plain SQL over the database's own driver.

``smsgate send`` records through this alone. On SQLite it opens the file with the standard
library's sqlite3 and needs neither SQLAlchemy nor Alembic unless the schema is behind:
importing SQLAlchemy's ORM was two fifths of the command's start-up. The Store (store.py)
adds the reads, the receipts and the rest over SQLAlchemy, on the same tables and, on
PostgreSQL, the same connections.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from smsgate import settings
from smsgate.core.errors import ConfigurationError
from smsgate.core.report import RecipientStatus
from smsgate.core.sent import Outgoing, SentBatch
from smsgate.core.status import MessageStatus, advances, is_final
from smsgate.core.text import segment
from smsgate.store.processes import gone, this_process

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from smsgate.store.budgets import SharedBudget

DATABASE_VARIABLE: Final = settings.DATABASE_URL.name
MIGRATIONS: Final = str(Path(__file__).with_name("migrations"))
HEAD_REVISION: Final = "0009"
"""The newest migration's revision: a store already there opens without loading Alembic
(a third of a second of every command). A test keeps it equal to Alembic's head."""

ABANDONED: Final = (
    "the process sending it stopped during its request (killed or crashed): the provider may "
    "have it; check there (smsgate sync, or the provider's site) before sending it again"
)

SQLITE_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
)
"""Every connection to a SQLite store, whoever opens it (this module or SQLAlchemy)."""

_SEND_STATUS: Final = {
    RecipientStatus.SENT: MessageStatus.SENT,
    RecipientStatus.SCHEDULED: MessageStatus.SCHEDULED,
    RecipientStatus.REJECTED: MessageStatus.REJECTED,
    RecipientStatus.FAILED: MessageStatus.FAILED,
    RecipientStatus.UNKNOWN: MessageStatus.UNKNOWN,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


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


def sqlite_file(url: str) -> str | None:
    """The file of a plain SQLite URL (``sqlite:///PATH``), which this module opens itself;
    None for any other URL (in memory, with options, another database), left to SQLAlchemy."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix) :]
            if path and path != ":memory:" and "?" not in path:
                return path
    return None


def sqlite_datetime(value: datetime) -> str:
    """An aware datetime as a SQLite store holds it: naive UTC text, exactly as SQLAlchemy's
    SQLite DATETIME writes it (so the ORM reads back what this module wrote; a test checks)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def error_line(error: BaseException) -> str:
    """An error's first line, from the driver's own error where SQLAlchemy wraps one (its
    text goes on with the statement and its parameters)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


_DRIVER_ERRORS: Final = (("psycopg", "Error"), ("sqlalchemy.exc", "SQLAlchemyError"))
"""Errors of the database besides sqlite3's: psycopg's own (the recorder's statements go
to its driver) and SQLAlchemy's, each checked only once its module is loaded (a store that
never loaded one raised none of its errors)."""


def database_error(error: BaseException) -> bool:
    """Whether ``error`` is the database's (to tell in one line), not a bug of ours."""
    kinds: list[type[BaseException]] = [sqlite3.Error]
    for module, name in _DRIVER_ERRORS:
        if (loaded := sys.modules.get(module)) is not None:
            kinds.append(getattr(loaded, name))
    return isinstance(error, tuple(kinds))


def engine_of(url: str) -> Engine:
    """SQLAlchemy's engine for a store (loaded here, when a store first needs it)."""
    from sqlalchemy import create_engine, event

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
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

    return engine


class Sql:
    """One transaction's statements on a DB-API connection (sqlite3's or psycopg's), written
    once with ``?`` markers for both."""

    def __init__(self, driver: Any, dialect: str, arrays: bool = False) -> None:
        self.driver = driver
        self.dialect = dialect
        self.arrays = arrays
        """Whether the driver takes a list as one array parameter (psycopg)."""
        self._cursor = driver.cursor()

    @classmethod
    def of(cls, connection: Connection) -> Sql:
        """The statements of a SQLAlchemy connection's transaction, on its own driver."""
        dialect = connection.dialect
        arrays = dialect.name == "postgresql" and dialect.driver == "psycopg"
        return cls(connection.connection.driver_connection, dialect.name, arrays)

    def _text(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def _value(self, value: Any) -> Any:
        if self.dialect == "sqlite" and isinstance(value, datetime):
            return sqlite_datetime(value)
        return value

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._text(statement), [self._value(p) for p in params])
        return list(self._cursor.fetchall())

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Returns how many rows the statement changed."""
        self._cursor.execute(self._text(statement), [self._value(p) for p in params])
        return int(self._cursor.rowcount)

    def many(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        self._cursor.executemany(self._text(statement), rows)

    def one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column IN values``: on psycopg ``= ANY`` of one array parameter, whose statement
        is the same whatever the count (an IN list of a batch's 2,000 values was a
        statement of its own to parse for every batch)."""
        if self.arrays:
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def _write_many(
    sql: Sql, table: str, rows: Sequence[dict[str, Any]], *, where: str | None = None
) -> None:
    """INSERT many rows (or, with ``where``, UPDATE each row found by that column), given
    as dicts: :func:`_write_columns` of their columns."""
    if rows:
        _write_columns(
            sql, table, {name: [row[name] for row in rows] for name in rows[0]}, {}, where=where
        )


def _shared(column: list[Any]) -> bool:
    """Whether every row holds the same value, of the same type (1 and True are not)."""
    return column.count(column[0]) == len(column) and len(set(map(type, column))) == 1


def _write_columns(
    sql: Sql,
    table: str,
    varying: dict[str, list[Any]],
    same: Mapping[str, Any],
    *,
    where: str | None = None,
) -> None:
    """INSERT rows (or, with ``where``, UPDATE each row found by that column, one of
    ``varying``) in one statement: ``varying`` holds one list per column, a value per row;
    ``same`` the values every row shares, sent once (so is any list that holds one value).
    On PostgreSQL one array per column (``unnest``, store.postgres), on SQLite one JSON
    document (``json_each``, store.sqlite), else the driver's executemany.

    A send's rows differ in a few strings only (the id and the number): binding every value
    of every row from Python cost more than the database's own work (bench/run.py's CLI
    send). Each distinct datetime is converted once.
    """
    key = where or next(iter(varying))  # always a list: it says how many rows there are
    count = len(varying[key])
    if not count:
        return
    # An UPDATE's keys are distinct: with one statement for all rows (UPDATE ... FROM, on
    # SQLite and PostgreSQL alike) which of two rows with the same key wins is not defined.
    assert where is None or len(set(varying[key])) == count, "an UPDATE's keys must differ"
    found = {n: c[0] for n, c in varying.items() if n != key and _shared(c)}
    if found:  # a column the same in every row goes once, whoever built it
        same = {**same, **found}
        varying = {n: c for n, c in varying.items() if n not in found}
    columns = [*same, *(n for n in varying if n != where), *([where] if where else [])]
    shared = [name in same for name in columns]  # the key is a list, never in same
    values: list[list[Any]] = []
    for name, one in zip(columns, shared, strict=True):
        column = [same[name]] if one else varying[name]
        if sql.dialect == "sqlite" and any(issubclass(t, datetime) for t in set(map(type, column))):
            done = {v: sqlite_datetime(v) if v is not None else None for v in set(column)}
            column = [done[value] for value in column]
        values.append(column)
    if sql.arrays:
        from smsgate.store.postgres import write_unnested

        write_unnested(sql.driver, table, columns, values, tuple(shared), where)
        return
    if sql.dialect == "sqlite":
        from smsgate.store.sqlite import json_statement

        in_json = json_statement(table, columns, values, shared, where)
        if in_json is not None:
            sql.run(*in_json)
            return
    # Built from our own table's column names only; every value goes as a parameter.
    if where is None:
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(columns))})"
        )
    else:
        assignments = ", ".join(f"{name} = ?" for name in columns[:-1])
        statement = f"UPDATE {table} SET {assignments} WHERE {where} = ?"  # noqa: S608
    full = [column * count if one else column for column, one in zip(values, shared, strict=True)]
    sql.many(statement, list(zip(*full, strict=True)))


_OWN_EVENT: Final[dict[str, Any]] = {
    "provider_message_id": None,
    "campaign_id": None,
    "permanent": False,
    "provider_status": None,
    "detail": None,
    "dedupe_key": None,
}


def _write_own_events(
    sql: Sql, now: datetime, source: str, varying: dict[str, list[Any]], **same: Any
) -> None:
    """Events of our own making (a send, a recovery): no provider code, no dedupe key (a
    receipt's event comes from store._event_values). ``varying`` holds the message ids and
    whatever else differs from event to event; ``same`` what they share."""
    shared = {**_OWN_EVENT, "source": source, "occurred_at": now, "received_at": now, **same}
    for name in varying:
        shared.pop(name, None)
    _write_columns(sql, "message_events", varying, shared)


def settle(
    sql: Sql,
    rows: Sequence[Sequence[Any]],
    status: MessageStatus,
    reason: str,
    now: datetime,
    source: str,
) -> None:
    """Messages (rows of id, provider, recipient) that end at ``status`` without an answer
    to go by (abandoned, cancelled, not sent), with the reason and an event saying so."""
    if not rows:
        return
    ids = [r[0] for r in rows]
    outcome = {"status": status.value, "final": is_final(status), "error": reason}
    _write_columns(sql, "messages", {"id": ids}, {**outcome, "updated_at": now}, where="id")
    events = {
        "message_id": ids,
        "provider": [r[1] for r in rows],
        "recipient": [r[2] for r in rows],
    }
    _write_own_events(sql, now, source, events, status=status.value, detail=reason)


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


def _message_columns(
    batch: Outgoing | SentBatch,
    ids: Sequence[str],
    recipients: Sequence[str],
    now: datetime,
    owner: str | None,
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """A batch's message rows (_message_values) as columns: the id and number of each (and,
    personalised, its text), and what they all share, taken once."""
    same = _message_values(batch, 0, ids[0], recipients[0], now, owner)
    varying: dict[str, list[Any]] = {"id": list(ids), "recipient": list(recipients)}
    if batch.texts:
        texts = [batch.text_of(index) for index in range(len(ids))]
        parts = [segment(text) for text in texts]
        varying["text"] = texts
        varying["encoding"] = [seg.encoding.value for seg in parts]
        varying["parts"] = [seg.count for seg in parts]
    for name in varying:
        del same[name]
    return varying, same


_DATETIMES: Final = frozenset({"created_at", "updated_at", "scheduled_at"})
"""The message columns a write-ahead row keeps as ISO text."""


def _submission_text(varying: dict[str, list[Any]], same: dict[str, Any]) -> str:
    """A batch's message columns as its write-ahead row holds them (JSON)."""
    shared = {n: v.isoformat() if isinstance(v, datetime) else v for n, v in same.items()}
    return json.dumps({"same": shared, "varying": varying}, ensure_ascii=False)


def submission_columns(text: str) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The message columns a write-ahead row holds: (varying, same), as _message_columns."""
    found = json.loads(text)
    same = {
        n: datetime.fromisoformat(v) if n in _DATETIMES and v is not None else v
        for n, v in found["same"].items()
    }
    return found["varying"], same


def _unfold_submissions(sql: Sql, whose: str, params: list[Any]) -> None:
    """The write-ahead rows found by ``whose`` become their messages' rows, as written ahead
    (``submitting``, with the process that wrote them), and go."""
    found = sql.rows(f"SELECT id, messages FROM submissions WHERE {whose}", params)  # noqa: S608
    for key, text in found:
        _write_columns(sql, "messages", *submission_columns(text))
        sql.run("DELETE FROM submissions WHERE id = ?", [key])


_WAITING: Final = "FROM message_events WHERE message_id IS NULL AND provider = ?"
"""Receipts that came before their message was on record."""

_SUBMITTING: Final[Counter[str]] = Counter()
"""This process's stores that put it in ``submitters``, by database: it leaves the list when
the last of them closes (another may still have a request in flight)."""
_SUBMITTING_LOCK: Final = threading.Lock()


class Recorder:
    """Implements the gateway's SendRecorder (and its budgets); thread-safe (a connection
    per call)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or database_url()
        self.dialect = self.url.partition(":")[0].partition("+")[0]
        self.owner = this_process()
        self._file = sqlite_file(self.url)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._submitter = False
        """Whether this process is in ``submitters`` (from its first write-ahead on)."""
        self._ahead: dict[str, tuple[dict[str, list[Any]], dict[str, Any]]] = {}
        """The message columns of this store's write-ahead rows (``submissions``) by key,
        kept so that a batch's answer does not read back what it wrote."""
        if migrate:
            self.migrate()
            self.settle_abandoned()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.where()!r})"

    def where(self) -> str:
        """The database, with any password hidden."""
        if self._file is not None:
            return self.url
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # not a URL at all: only what follows any credentials
            return self.url.split("@")[-1]

    @property
    def engine(self) -> Engine:
        """SQLAlchemy's engine, made at its first use (a send on SQLite never needs it)."""
        with self._lock:
            if self._engine is None:
                self._engine = engine_of(self.url)
            return self._engine

    def _connection(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        assert self._file is not None
        driver = sqlite3.connect(self._file, isolation_level=None, check_same_thread=False)
        with self._lock:
            self._opened.append(driver)
        for pragma in SQLITE_PRAGMAS:
            driver.execute(pragma)
        return driver

    @contextmanager
    def _transaction(self, *, writes: bool = True) -> Iterator[Sql]:
        """One transaction: on a SQLite file, a connection of this store's own (one that
        ``writes`` takes the write lock at once, so that it waits its turn rather than fail
        half-way; a reader never waits in WAL mode); elsewhere, SQLAlchemy's, on its
        driver."""
        if self._file is None:
            with self.engine.begin() as connection:
                yield Sql.of(connection)
            return
        driver = self._connection()
        try:
            driver.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
            try:
                yield Sql(driver, "sqlite")
                driver.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
        finally:
            self._idle.put(driver)

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
        except Exception as error:
            if not database_error(error):
                raise
            raise ConfigurationError(
                f"cannot open the message store at {self.where()} ({error_line(error)}): "
                f"check {DATABASE_VARIABLE}"
            ) from None

    def _revision(self) -> str | None:
        """The schema's Alembic revision, read with one query; None for a new database."""
        found = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            if self.dialect == "sqlite"
            else "SELECT to_regclass('alembic_version')"
        )
        with self._transaction(writes=False) as sql:
            if not [row for row in sql.rows(found) if row[0]]:
                return None
            versions = sql.rows("SELECT version_num FROM alembic_version")
            return str(versions[0][0]) if versions else None

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
            try:
                with self._transaction() as sql:
                    sql.run("DELETE FROM submitters WHERE owner = ?", [self.owner])
            except Exception as error:
                if not database_error(error):
                    raise
                # it stays listed: the next store to open looks once, finds nothing
        with self._lock:
            opened, self._opened = self._opened, []
            self._idle = queue.SimpleQueue()
            engine, self._engine = self._engine, None
        for driver in opened:
            driver.close()
        if engine is not None:
            engine.dispose()

    def submitting(self, sql: Sql) -> None:
        """On record as a process that may leave rows ``submitting``, in the transaction of
        its first write-ahead (a row of ours is never there without us in ``submitters``)."""
        if self._submitter:
            return
        sql.run("INSERT INTO submitters (owner) VALUES (?) ON CONFLICT DO NOTHING", [self.owner])
        with _SUBMITTING_LOCK:
            if not self._submitter:
                self._submitter = True
                _SUBMITTING[self.url] += 1

    def budget(self, key: str, calls: int, period: float) -> SharedBudget | None:
        """A provider account's call budget shared by every process on this database
        (PostgreSQL); None on SQLite, where the process's own budget serves."""
        if self.dialect != "postgresql":
            return None
        from smsgate.store.budgets import SharedBudget

        return SharedBudget(self, key, calls, period)

    def opted_out(self) -> frozenset[str]:
        """Every opted-out number, for a send to skip (a suppression list is small beside a
        campaign: one read per send)."""
        with self._transaction(writes=False) as sql:
            return frozenset(number for (number,) in sql.rows("SELECT number FROM opt_outs"))

    # -- recording sends --------------------------------------------------------------------

    def settle_abandoned(self) -> int:
        """Messages left ``submitting`` by a process of this host that runs no more become
        ``unknown``, saying why: their request may have reached the provider. So do the
        messages of its write-ahead rows (``submissions``), each written then. Returns how
        many. (Run whenever a store opens: a look at the few ``submitters``, and at the
        messages only when one of them is dead.)"""
        listed = "SELECT owner FROM submitters"
        with self._transaction(writes=False) as sql:  # almost always: nobody dead, no lock
            if not any(gone(owner) for (owner,) in sql.rows(listed)):
                return 0
        with self._transaction() as sql:
            dead = [owner for (owner,) in sql.rows(listed) if gone(owner)]
            if not dead:
                return 0
            # A dead sender's write-ahead rows first: their messages, as written, are then
            # among the rows it left submitting.
            _unfold_submissions(sql, *sql.one_of("owner", dead))
            whose, params = sql.one_of("submitted_by", dead)
            left = sql.rows(
                f"SELECT id, provider, recipient FROM messages WHERE status = ? AND {whose}",  # noqa: S608
                [MessageStatus.SUBMITTING.value, *params],
            )
            settle(sql, left, MessageStatus.UNKNOWN, ABANDONED, utcnow(), "recovery")
            whose, params = sql.one_of("owner", dead)
            sql.run(f"DELETE FROM submitters WHERE {whose}", params)  # noqa: S608
            return len(left)

    def record_outgoing(self, outgoing: Sequence[Outgoing]) -> None:
        """Write-ahead: the messages of the next requests, committed before any of them
        leaves, marked with this process (see settle_abandoned): each batch as one row of
        ``submissions``, which its answer turns into its messages' rows (record_batch).
        Rerouted ones (another provider of the route provably did not send them) are on
        record already: their rows now name the provider about to take them."""
        batches = [batch for batch in outgoing if batch.ids]
        if not batches:
            return
        now = utcnow()
        submitting = {"status": MessageStatus.SUBMITTING.value, "final": False}
        rerouted = any(batch.rerouted for batch in batches)
        ahead: dict[str, tuple[dict[str, list[Any]], dict[str, Any]]] = {}
        with self._transaction() as sql:
            self.submitting(sql)
            if rerouted:  # its messages may be in write-ahead rows still: rows of their own
                _unfold_submissions(sql, "owner = ?", [self.owner])
            for batch in batches:
                varying, same = _message_columns(
                    batch, batch.ids, batch.recipients, now, self.owner
                )
                same |= submitting
                if rerouted:  # a new provider: its own reference, text and account
                    del same["created_at"], same["scheduled_at"], same["callback_url"]
                    _write_columns(sql, "messages", varying, same, where="id")
                else:
                    ahead[batch.ids[0]] = (varying, same)
            stamp = sqlite_datetime(now) if sql.dialect == "sqlite" else now
            sql.many(
                "INSERT INTO submissions (id, owner, created_at, messages) VALUES (?, ?, ?, ?)",
                [(key, self.owner, stamp, _submission_text(*a)) for key, a in ahead.items()],
            )
        self._ahead.update(ahead)

    def _take_submission(
        self, sql: Sql, key: str
    ) -> tuple[dict[str, list[Any]], dict[str, Any]] | None:
        """A batch's write-ahead row, deleted in this transaction: its message columns. None
        when it has none (its messages are rows already: a queued send's, a rerouted one's)."""
        ahead = self._ahead.pop(key, None)
        if ahead is None:
            found = sql.rows("SELECT messages FROM submissions WHERE id = ?", [key])
            if not found:
                return None
            ahead = submission_columns(found[0][0])
        if sql.run("DELETE FROM submissions WHERE id = ?", [key]) != 1:
            return None  # a reroute wrote its messages as rows meanwhile
        return ahead

    def record_batch(self, sent: SentBatch) -> None:
        """What became of each message of one request, and its "send" event, in one
        transaction: a batch written ahead has its messages written now, each once, with its
        outcome; messages on record already as rows are updated; a batch never announced
        (not sent after a refusal) is recorded outright.

        Columns, not rows: a batch's 2,000 messages share most values (its status, time and
        campaign), and one dict per row and table was more of a 100,000-recipient CLI send's
        CPU than SQLite's own work.
        """
        results = sent.results
        if not results:
            return
        now = utcnow()
        taken = [result.status.accepted for result in results]
        accepted = taken.count(True)
        cost = int(sent.credits_used) // accepted if sent.credits_used and accepted else None
        statuses = [_SEND_STATUS[result.status] for result in results]
        ids = cast(list[str], [result.id for result in results])
        assert None not in ids  # every message has its id before it is sent
        outcome: dict[str, list[Any]] = {
            "id": ids,
            "provider_message_id": [result.provider_message_id for result in results],
            "campaign_id": [sent.campaign_id if t else None for t in taken],
            "cost": [cost if t else None for t in taken],
            "status": [status.value for status in statuses],
            "final": [is_final(status) for status in statuses],
            "error": [result.error for result in results],
        }
        recipients = [result.to for result in results]
        with self._transaction() as sql:
            ahead = self._take_submission(sql, ids[0]) if sent.announced else None
            if ahead is not None:
                varying, same = ahead
                assert varying["id"] == ids  # the batch written ahead, in its order
                same = {n: v for n, v in same.items() if n not in outcome}
                _write_columns(sql, "messages", varying | outcome, same | {"updated_at": now})
            elif sent.announced:
                _write_columns(sql, "messages", outcome, {"updated_at": now}, where="id")
            else:
                varying, same = _message_columns(sent, ids, recipients, now, self.owner)
                for name in outcome:
                    same.pop(name, None)
                _write_columns(sql, "messages", varying | outcome, same)
            events: dict[str, list[Any]] = {
                "message_id": ids,
                "recipient": recipients,
                "provider_message_id": outcome["provider_message_id"],
                "campaign_id": outcome["campaign_id"],
                "status": outcome["status"],
                "permanent": outcome["final"],
                "detail": outcome["error"],
            }
            _write_own_events(sql, now, "send", events, provider=sent.provider)
            self._claim_waiting(
                sql, sent.provider, sent.campaign_id, {**outcome, "recipient": recipients}, now
            )

    def _claim_waiting(
        self,
        sql: Sql,
        provider: str,
        campaign_id: str | None,
        columns: dict[str, list[Any]],
        now: datetime,
    ) -> None:
        """Receipts that arrived before these messages were recorded: attach and apply them.
        ``columns``: the messages' ids, numbers, provider ids, campaigns and statuses."""
        # Most batches find none: one look at the index of waiting receipts (it holds only
        # those) spares building rows and sending every id of the batch for nothing.
        if not sql.rows(f"SELECT id {_WAITING} LIMIT 1", [provider]):
            return
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        by_id = {r["provider_message_id"]: r for r in rows if r["provider_message_id"]}
        by_number = {r["recipient"]: r for r in rows if r["campaign_id"]}
        conditions: list[str] = []
        params: list[Any] = [provider]
        if by_id:
            condition, values = sql.one_of("provider_message_id", list(by_id))
            conditions.append(condition)
            params += values
        if campaign_id and by_number:
            condition, values = sql.one_of("recipient", list(by_number))
            conditions.append(f"(campaign_id = ? AND {condition})")
            params += [campaign_id, *values]
        if not conditions:
            return
        found = sql.rows(
            "SELECT id, provider_message_id, recipient, status, permanent"
            f" {_WAITING} AND ({' OR '.join(conditions)}) ORDER BY id",
            params,
        )
        claimed: list[dict[str, Any]] = []
        moved: dict[str, dict[str, Any]] = {}
        for event_id, provider_message_id, recipient, status, permanent in found:
            row = by_id.get(provider_message_id or "") or by_number.get(recipient or "")
            if row is None:
                continue
            claimed.append({"message_id": row["id"], "id": event_id})
            current = MessageStatus(row["status"])
            if advances(current, row["final"], MessageStatus(status), bool(permanent)):
                row["status"] = status
                row["final"] = is_final(MessageStatus(status), bool(permanent))
                moved[row["id"]] = row
        if claimed:
            _write_many(sql, "message_events", claimed, where="id")
        if moved:
            statuses = [
                {"status": r["status"], "final": r["final"], "updated_at": now, "id": r["id"]}
                for r in moved.values()
            ]
            _write_many(sql, "messages", statuses, where="id")
