"""status callbacks: every status change of a message with a callback URL, on record in the
same transaction as the change (an outbox), and on PostgreSQL a job to deliver it

Triggers, not Python, so that no path that changes a status (a send, a receipt, a cancel,
a recovery, a queued send's job) can forget its callback: the change and its callback commit
together or not at all. On PostgreSQL each transaction that records callbacks also defers one
``smsgate.deliver_callbacks`` job (procrastinate's own table, as its defer function writes
it); on SQLite the service delivers them itself.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The statuses a client hears of (``submitting`` is our own step between queued and sent).
_TOLD = (
    "('queued', 'sent', 'scheduled', 'delivered', 'failed', 'rejected', 'expired', "
    "'cancelled', 'unknown')"
)

_PG_FUNCTION = f"""
CREATE FUNCTION smsgate_status_callback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status NOT IN {_TOLD} THEN
        RETURN NULL;
    END IF;
    INSERT INTO callbacks (id, message_id, kind, status, url, payload, state, attempts,
                           next_at, created_at)
    VALUES (
        'cb_' || replace(gen_random_uuid()::text, '-', ''), NEW.id, 'status', NEW.status,
        NEW.callback_url,
        json_build_object(
            'type', 'message.' || NEW.status,
            'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'data', json_build_object(
                'id', NEW.id, 'to', NEW.recipient, 'status', NEW.status,
                'provider', NEW.provider, 'provider_message_id', NEW.provider_message_id,
                'error', NEW.error, 'send_id', NEW.send_id, 'tag', NEW.tag,
                'parts', NEW.parts, 'tried', NEW.tried
            )
        )::text,
        'pending', 0, now(), now()
    );
    PERFORM smsgate_defer_callbacks();
    RETURN NULL;
END $$;
"""  # noqa: S608 (our own constant: no input goes in)

_PG_DEFER = """
CREATE FUNCTION smsgate_defer_callbacks() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- One delivery job per transaction: it commits with the callbacks it is for.
    IF current_setting('smsgate.callback_job', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('smsgate.callback_job', txid_current()::text, true);
        INSERT INTO procrastinate_jobs (queue_name, task_name, args)
        VALUES ('callbacks', 'smsgate.deliver_callbacks', '{}'::jsonb);
    END IF;
END $$;
"""

_PG_REPLY = """
CREATE FUNCTION smsgate_reply_callback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO callbacks (id, message_id, kind, status, url, payload, state, attempts,
                           next_at, created_at)
    SELECT 'cb_' || replace(gen_random_uuid()::text, '-', ''), m.id, 'reply', NULL,
        m.callback_url,
        json_build_object(
            'type', 'message.reply',
            'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'data', json_build_object(
                'message_id', m.id, 'from', NEW.sender, 'text', NEW.text,
                'provider', NEW.provider, 'reply_id', NEW.provider_reply_id
            )
        )::text,
        'pending', 0, now(), now()
    FROM messages m WHERE m.id = NEW.message_id AND m.callback_url IS NOT NULL;
    IF FOUND THEN
        PERFORM smsgate_defer_callbacks();
    END IF;
    RETURN NULL;
END $$;
"""

_SQLITE_REPLY = """
CREATE TRIGGER smsgate_reply_callback AFTER INSERT ON replies
FOR EACH ROW WHEN NEW.message_id IS NOT NULL
BEGIN
    INSERT INTO callbacks (id, message_id, kind, status, url, payload, state, attempts,
                           next_at, created_at)
    SELECT 'cb_' || lower(hex(randomblob(16))), m.id, 'reply', NULL, m.callback_url,
        json_object(
            'type', 'message.reply',
            'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            'data', json_object(
                'message_id', m.id, 'from', NEW.sender, 'text', NEW.text,
                'provider', NEW.provider, 'reply_id', NEW.provider_reply_id
            )
        ),
        'pending', 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
        strftime('%Y-%m-%d %H:%M:%f', 'now')
    FROM messages m WHERE m.id = NEW.message_id AND m.callback_url IS NOT NULL;
END
"""

_SQLITE_BODY = """
BEGIN
    INSERT INTO callbacks (id, message_id, kind, status, url, payload, state, attempts,
                           next_at, created_at)
    VALUES (
        'cb_' || lower(hex(randomblob(16))), NEW.id, 'status', NEW.status, NEW.callback_url,
        json_object(
            'type', 'message.' || NEW.status,
            'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            'data', json_object(
                'id', NEW.id, 'to', NEW.recipient, 'status', NEW.status,
                'provider', NEW.provider, 'provider_message_id', NEW.provider_message_id,
                'error', NEW.error, 'send_id', NEW.send_id, 'tag', NEW.tag,
                'parts', NEW.parts, 'tried', NEW.tried
            )
        ),
        'pending', 0, strftime('%Y-%m-%d %H:%M:%f', 'now'),
        strftime('%Y-%m-%d %H:%M:%f', 'now')
    );
END
"""


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("callback_url", sa.Text(), nullable=True))
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index("ix_callbacks_state_next_at", "callbacks", ["state", "next_at"])
    op.create_index("ix_callbacks_message_id", "callbacks", ["message_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_DEFER)
        op.execute(_PG_FUNCTION)
        op.execute(_PG_REPLY)
        op.execute(
            "CREATE TRIGGER smsgate_reply_callback AFTER INSERT ON replies "
            "FOR EACH ROW WHEN (NEW.message_id IS NOT NULL) "
            "EXECUTE FUNCTION smsgate_reply_callback()"
        )
        op.execute(
            "CREATE TRIGGER smsgate_status_callback_insert AFTER INSERT ON messages "
            "FOR EACH ROW WHEN (NEW.callback_url IS NOT NULL) "
            "EXECUTE FUNCTION smsgate_status_callback()"
        )
        op.execute(
            "CREATE TRIGGER smsgate_status_callback_update AFTER UPDATE OF status ON messages "
            "FOR EACH ROW WHEN (NEW.callback_url IS NOT NULL "
            "AND NEW.status IS DISTINCT FROM OLD.status) "
            "EXECUTE FUNCTION smsgate_status_callback()"
        )
    else:
        op.execute(
            "CREATE TRIGGER smsgate_status_callback_insert AFTER INSERT ON messages "
            f"FOR EACH ROW WHEN NEW.callback_url IS NOT NULL AND NEW.status IN {_TOLD} "
            + _SQLITE_BODY
        )
        op.execute(
            "CREATE TRIGGER smsgate_status_callback_update AFTER UPDATE OF status ON messages "
            "FOR EACH ROW WHEN NEW.callback_url IS NOT NULL AND NEW.status IS NOT OLD.status "
            f"AND NEW.status IN {_TOLD} " + _SQLITE_BODY
        )
        op.execute(_SQLITE_REPLY)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in (
        ("smsgate_status_callback_insert", "messages"),
        ("smsgate_status_callback_update", "messages"),
        ("smsgate_reply_callback", "replies"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        for function in ("smsgate_status_callback", "smsgate_reply_callback"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
        op.execute("DROP FUNCTION IF EXISTS smsgate_defer_callbacks()")
    op.drop_table("callbacks")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("callback_url")
