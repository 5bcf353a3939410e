"""The message store on SQLite and PostgreSQL: sends recorded, receipts applied once, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from smsgate.core.ids import new_id
from smsgate.core.message import compose_message
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.report import RecipientResult, RecipientStatus
from smsgate.core.sent import SentBatch
from smsgate.core.status import MessageStatus
from smsgate.gateway import Gateway
from smsgate.providers.allmysms import ALPHANUMERIC_NAME, RECEIPT_STATUSES
from smsgate.sandbox.server import BackgroundSandbox
from smsgate.store import ReceiptOutcome, Store
from smsgate.store.recorder import _write_many
from smsgate.store.schema import Base
from tests.conftest import FAST_RETRY, modules_a_send_loads


def _ours(name: str | None, kind: str, parent: object) -> bool:
    return not (name or "").startswith("procrastinate")


def test_migrations_build_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        # The job engine's own tables (PostgreSQL) come from its schema, not from our models.
        ours = {
            "include_name": lambda name, kind, parent: not (name or "").startswith("procrastinate")
        }
        context = MigrationContext.configure(connection, opts=ours)
        assert compare_metadata(context, Base.metadata) == []
    store.migrate()  # a second run is a no-op


def send(store: Store, sandbox: BackgroundSandbox, to: str, **options: object) -> list[str]:
    with Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}, recorder=store) as gateway:
        report = gateway.send(to, "Hello", sender="Acme", campaign_name="spring", **options)  # type: ignore[arg-type]
    return [r.id or "" for r in report.recipients]


def receipt(store: Store, message_id: str, code: str, minute: int = 0) -> Receipt:
    row = store.message(message_id)
    assert row is not None
    status, final = RECEIPT_STATUSES[code]
    return Receipt(
        provider="allmysms",
        status=status,
        permanent=final,
        provider_status=code,
        provider_message_id=row.provider_message_id,
        campaign_id=row.campaign_id,
        recipient=row.recipient,
        occurred_at=datetime(2026, 11, 22, 10, minute, tzinfo=UTC),
    )


def test_a_send_is_recorded_per_recipient(store: Store, sandbox: BackgroundSandbox) -> None:
    ids = send(store, sandbox, "0612345678, 0698765432, +3361234")
    assert len(ids) == 3 and all(i.startswith("msg_") for i in ids)
    first = store.message(ids[0])
    assert first is not None
    assert (first.status, first.recipient, first.sender, first.tag) == (
        "sent",
        "33612345678",
        "Acme",
        "spring",
    )
    assert first.provider_message_id and first.campaign_id and first.cost == 15
    assert first.client_reference and first.client_reference.startswith("req_")
    assert first.created_at.tzinfo is not None
    refused = store.message(ids[2])
    assert refused is not None and refused.status == "rejected" and refused.final
    assert [e.source for e in store.events(ids[0])] == ["send"]


def test_receipts_move_forward_once_and_never_back(
    store: Store, sandbox: BackgroundSandbox
) -> None:
    (message_id,) = send(store, sandbox, "0612345678")
    assert store.apply_receipt(receipt(store, message_id, "3", 1)) is ReceiptOutcome.RECORDED
    assert store.apply_receipt(receipt(store, message_id, "1", 2)) is ReceiptOutcome.APPLIED
    assert store.apply_receipt(receipt(store, message_id, "1", 2)) is ReceiptOutcome.DUPLICATE
    assert store.apply_receipt(receipt(store, message_id, "2", 3)) is ReceiptOutcome.RECORDED
    row = store.message(message_id)
    assert row is not None and row.status == "delivered" and row.final
    assert [e.status for e in store.events(message_id)] == ["sent", "sent", "delivered", "failed"]


def test_waiting_receipts_are_claimed_when_the_message_is_recorded(
    store: Store, sandbox: BackgroundSandbox
) -> None:
    # Learn the ids the provider gives by sending once, then forget the send: the receipt
    # arrives first and the same message is recorded after it.
    (first,) = send(store, sandbox, "0612345678")
    row = store.message(first)
    assert row is not None and row.campaign_id
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM message_events")
        connection.exec_driver_sql("DELETE FROM messages")
    waiting = Receipt(
        provider="allmysms",
        status=MessageStatus.DELIVERED,
        permanent=True,
        provider_status="1",
        provider_message_id=row.provider_message_id,
        occurred_at=datetime.now(UTC),
    )
    assert store.apply_receipt(waiting) is ReceiptOutcome.WAITING
    message = compose_message("Hello", sender_rule=ALPHANUMERIC_NAME)
    result = RecipientResult(
        "33612345678", RecipientStatus.SENT, row.provider_message_id, None, "msg_again"
    )
    store.record_batch(
        SentBatch("allmysms", False, message, "req_x", [result], row.campaign_id, 15)
    )
    again = store.message("msg_again")
    assert again is not None and again.status == "delivered" and again.final
    assert [e.source for e in store.events("msg_again")] == ["webhook", "send"]  # as they came


def test_replies_are_kept_once_and_linked(store: Store, sandbox: BackgroundSandbox) -> None:
    (message_id,) = send(store, sandbox, "0612345678")
    row = store.message(message_id)
    assert row is not None
    reply = Reply("allmysms", "42", "33612345678", "Yes please", row.provider_message_id)
    assert store.add_reply(reply) is True
    assert store.add_reply(reply) is False
    (kept,) = store.replies()
    assert (kept.message_id, kept.text) == (message_id, "Yes please")


def test_listing_filters_and_pages(store: Store, sandbox: BackgroundSandbox) -> None:
    ids = send(store, sandbox, "0611111111, 0622222222, 0633333333, +3361234")
    page = store.messages(status="sent", limit=2)
    assert page.total == 3 and len(page.messages) == 2
    assert store.messages(status="sent", limit=2, offset=2).messages[0].id in ids
    assert store.messages(recipient="+33622222222").messages[0].id == ids[1]
    assert store.messages(tag="spring").total == 4
    assert store.messages(tag="autumn").total == 0
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert store.messages(since=later).total == 0 and store.messages(until=later).total == 4
    campaign = store.message(ids[0])
    assert campaign is not None and campaign.campaign_id
    assert store.open_campaigns("allmysms") == [campaign.campaign_id]


def test_cancel_marks_scheduled_messages(store: Store, sandbox: BackgroundSandbox) -> None:
    from zoneinfo import ZoneInfo

    later = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)
    (message_id,) = send(store, sandbox, "0612345678", scheduled_at=later)
    row = store.message(message_id)
    assert row is not None and row.status == "scheduled" and row.scheduled_at is not None
    assert row.campaign_id
    assert store.cancel_campaign("allmysms", row.campaign_id) == 1
    row = store.message(message_id)
    assert row is not None and row.status == "cancelled" and row.final


def test_an_empty_batch_of_receipts_is_nothing(store: Store) -> None:
    assert store.apply_receipts([]) == []


def test_the_store_knows_the_head_revision_without_alembic(store: Store) -> None:
    """An up-to-date store opens with one query; the constant must follow new migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from smsgate.store.recorder import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
    assert store._revision() == HEAD_REVISION


@given(
    when=st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))]
        ),
    )
)
def test_the_recorder_writes_datetimes_as_sqlalchemy_does_on_sqlite(when: datetime) -> None:
    """The send path writes SQLite's datetimes itself (no SQLAlchemy): the very text the
    ORM's column type writes, so that either reads what the other wrote."""
    from sqlalchemy.dialects import sqlite

    from smsgate.store.recorder import sqlite_datetime
    from smsgate.store.schema import MessageRow

    processor = MessageRow.__table__.c.created_at.type._cached_bind_processor(sqlite.dialect())
    assert processor is not None
    assert sqlite_datetime(when) == processor(when)


def test_a_store_opens_and_records_without_sqlalchemy(tmp_path: Path) -> None:
    """``smsgate send`` on the default SQLite store loads neither SQLAlchemy nor Alembic (two
    fifths of its start-up); the rows it writes read back through the Store."""
    data = tmp_path / "data"
    loaded = modules_a_send_loads(data)
    assert not {name for name in loaded if name.split(".")[0] in {"sqlalchemy", "alembic"}}
    store = Store(f"sqlite:///{data / 'smsgate.db'}")
    try:
        page = store.messages()
        assert sorted(m.recipient for m in page.messages) == ["33612345678", "33612345679"]
        assert {m.status for m in page.messages} == {"sent"}
        assert all(m.created_at.tzinfo is UTC for m in page.messages)
        assert [e.source for e in store.events(page.messages[0].id)] == ["send"]
    finally:
        store.close()


def test_a_database_that_refuses_the_store_is_one_clear_error(postgres_url: str) -> None:
    """The recorder's statements go to psycopg itself: a refusal of the database (here a
    role with no right to read the schema's revision) is the store's one-line error, not
    the driver's traceback."""
    from smsgate.core.errors import ConfigurationError

    Store(postgres_url).close()
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'smsgate_outsider')"
            " THEN CREATE ROLE smsgate_outsider LOGIN; END IF; END $$"
        )
    admin.dispose()
    outsider = sqlalchemy.make_url(postgres_url).set(username="smsgate_outsider", password=None)
    with pytest.raises(ConfigurationError, match="permission denied for table alembic_version"):
        Store(outsider.render_as_string(hide_password=False))


def test_a_closed_store_opens_again_at_its_next_use(store: Store) -> None:
    """close() lets go of every connection (the recorder's own and SQLAlchemy's); a later
    call opens what it needs again instead of reaching for a closed one."""
    store.close()
    assert store.opted_out() == frozenset()
    assert store.messages().total == 0
    store.close()


def test_the_sailor_ledger_starts_a_message_once_and_keeps_how_it_ended(store: Store) -> None:
    """begin is one atomic insert: of many sailors given the same message, one starts it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        firsts = list(pool.map(store.begin_sailor_message, ["flow:step:m-1:"] * 16))
    assert firsts.count(None) == 1
    assert set(firsts) == {None, "started"}
    store.finish_sailor_message("flow:step:m-1:", "acked")
    assert store.begin_sailor_message("flow:step:m-1:") == "acked"
    assert store.begin_sailor_message("flow:step:m-1:1") is None  # its rebound: a new delivery


_OLD_MESSAGE = (
    "INSERT INTO messages (id, provider, sandbox, recipient, text, encoding, parts, "
    "status, final, created_at, updated_at) VALUES ('msg_old', 'allmysms', 0, "
    "'33612345678', 'Hi', 'GSM-7', 1, 'sent', 0, '2026-11-30 10:00:00', "
    "'2026-11-30 10:00:00')"
)


def _upgraded_from(tmp_path: Path, revision: str, *statements: str) -> Store:
    """A SQLite store migrated only to ``revision``, holding what ``statements`` insert,
    then opened as today's code opens it (which migrates it the rest of the way)."""
    from alembic import command
    from alembic.config import Config

    from smsgate.store.recorder import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url, migrate=False)
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with old.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        for statement in statements:
            connection.exec_driver_sql(statement)
    old.close()
    return Store(url)


def test_a_store_at_the_first_revision_is_upgraded_keeping_its_messages(
    tmp_path: Path,
) -> None:
    """0001 -> 0002 on a store with messages in it: they stay, with no account on record
    (cancel then uses the DSN at hand, as before)."""
    store = _upgraded_from(tmp_path, "0001", _OLD_MESSAGE)
    row = store.message("msg_old")
    assert row is not None and row.text == "Hi" and row.account is None
    assert store.begin_sailor_message("k") is None


def test_events_keep_through_0008_and_their_dedupe_keys_stay_unique(tmp_path: Path) -> None:
    """0007 -> 0008 on SQLite copies message_events to drop its foreign key: the events stay,
    a receipt's dedupe key is still refused twice, and events without a key are many."""
    event = (
        "INSERT INTO message_events (message_id, provider, status, permanent, source, "
        "received_at, dedupe_key) VALUES ('msg_old', 'allmysms', 'sent', 0, 'send', "
        "'2026-11-30 10:00:00', {key})"
    )
    store = _upgraded_from(
        tmp_path,
        "0007",
        _OLD_MESSAGE,
        event.format(key="NULL"),
        event.format(key="'allmysms:receipt:1'"),
    )
    assert [e.dedupe_key for e in store.events("msg_old")] == [None, "allmysms:receipt:1"]
    with store.engine.begin() as connection:
        connection.exec_driver_sql(event.format(key="NULL"))
    with pytest.raises(sqlalchemy.exc.IntegrityError), store.engine.begin() as connection:
        connection.exec_driver_sql(event.format(key="'allmysms:receipt:1'"))
    assert len(store.events("msg_old")) == 3
    store.close()


_ROW_VALUES = st.fixed_dictionaries(
    {
        "sender": st.none() | st.sampled_from(["Acme", "a\tb\\c"]),
        "cost": st.none() | st.integers(0, 3),
        "final": st.booleans(),
        "error": st.none() | st.text(max_size=5).filter(lambda t: "\x00" not in t),
        "updated_at": st.sampled_from(
            [datetime(2026, 12, 6, tzinfo=UTC), datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)]
        ),
    }
)


_ROW_VALUES_KEYS = ("sender", "cost", "final", "error", "updated_at")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW_VALUES, min_size=1, max_size=6))
def test_rows_written_many_at_once_read_back_as_written(
    store: Store, rows: list[dict[str, object]]
) -> None:
    """_write_many sends a batch's shared values once and the rest as arrays (PostgreSQL):
    whatever mix of shared and differing values, each row holds its own, by INSERT and by
    UPDATE alike."""
    ids = [new_id("msg") for _ in rows]
    base = {
        "provider": "allmysms",
        "sandbox": True,
        "recipient": "33600000000",
        "text": "Hi",
        "encoding": "gsm7",
        "parts": 1,
        "status": "queued",
        "created_at": datetime(2026, 12, 6, tzinfo=UTC),
    }
    first = [{"id": i, **base, **row} for i, row in zip(ids, rows, strict=True)]
    again = [{**row, "id": i} for i, row in zip(ids, reversed(rows), strict=True)]
    for written, where in ((first, None), (again, "id")):
        with store._transaction() as sql:
            _write_many(sql, "messages", written, where=where)
        for row in written:
            found = store.message(str(row["id"]))
            assert found is not None
            assert {k: getattr(found, k) for k in _ROW_VALUES_KEYS} == {
                k: row[k] for k in _ROW_VALUES_KEYS
            }


def test_no_index_holds_what_a_message_changes_on_its_way(store: Store) -> None:
    """Taking a row (queued -> submitting) and its receipt (sent -> delivered) change only
    columns no index holds, so on PostgreSQL they are heap-only (HOT) updates, with room left
    on each page for them (migration 0007): an index on status made PostgreSQL the largest
    cost of a queued send."""
    changing = {"status", "submitted_by", "updated_at", "final", "error"}
    inspector = inspect(store.engine)
    for index in inspector.get_indexes("messages"):
        held = set(index["column_names"])
        dialect = index.get("dialect_options", {})  # a partial index's predicate, any dialect
        where = " ".join(str(v) for k, v in dialect.items() if k.endswith("_where"))
        assert not held & changing and not any(c in where for c in changing), index
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as connection:
            options = connection.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE relname = 'messages'"
            ).scalar()
        assert options == ["fillfactor=70"]


_ANY_VALUE = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=4)
    | st.sampled_from(["", "\x00", "a\x00b", "😀", "\\u0000", '"[]"', "NULL"])
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1, 5).flatmap(
        lambda width: st.lists(st.lists(_ANY_VALUE, min_size=width, max_size=width), min_size=1)
    ),
    update=st.booleans(),
)
def test_sqlite_json_rows_store_what_row_by_row_binding_stores(
    rows: list[list[object]], update: bool
) -> None:
    """On SQLite a batch's rows go as one JSON document (store.sqlite): whatever the values
    (text with NUL or emoji, integers past 64 bits, floats, bytes, 1 against True), each row
    holds exactly what sqlite3 binding it row by row stores, type included, by INSERT and by
    UPDATE alike (or the statement goes row by row)."""
    import sqlite3

    from smsgate.store.recorder import Sql, _write_many

    names = [f"c{i}" for i in range(len(rows[0]))]

    def stored(json_rows: bool) -> list[tuple[object, ...]]:
        connection = sqlite3.connect(":memory:", isolation_level=None)
        connection.execute(f"CREATE TABLE t (k INTEGER PRIMARY KEY, {', '.join(names)})")
        keyed = [{"k": n, **dict(zip(names, row, strict=True))} for n, row in enumerate(rows)]
        if update:  # the rows exist, empty: the UPDATE fills them in
            connection.executemany("INSERT INTO t (k) VALUES (?)", [(n,) for n in range(len(rows))])
            keyed = [{**dict(list(r.items())[1:]), "k": r["k"]} for r in keyed]
        sql = Sql(connection, "sqlite")
        try:
            if json_rows:
                _write_many(sql, "t", keyed, where="k" if update else None)
            else:
                # The test's own column names (c0, c1...); every value is a parameter.
                columns = list(keyed[0])
                marks = ", ".join("?" * len(columns))
                sets = ", ".join(f"{c} = ?" for c in columns[:-1])
                statement = (
                    f"UPDATE t SET {sets} WHERE k = ?"  # noqa: S608
                    if update
                    else f"INSERT INTO t ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                )
                connection.executemany(statement, [tuple(r.values()) for r in keyed])
        except OverflowError:  # an integer sqlite3 cannot bind, either way
            return [("OverflowError",)]
        typed = ", ".join(f"{c}, typeof({c})" for c in names)
        return connection.execute(f"SELECT k, {typed} FROM t ORDER BY k").fetchall()  # noqa: S608

    assert stored(json_rows=True) == stored(json_rows=False)
