"""queued sends: the sends table, each message's send and job (chunk), and on PostgreSQL the
job engine's own tables (procrastinate's schema, applied as its version ships it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
PARTIAL = [
    (
        "messages",
        "ix_messages_provider_provider_message_id",
        ["provider", "provider_message_id"],
        "provider_message_id IS NOT NULL",
    ),
    ("messages", "ix_messages_campaign_id", ["campaign_id"], "campaign_id IS NOT NULL"),
    ("messages", "ix_messages_tag", ["tag"], "tag IS NOT NULL"),
    (
        "message_events",
        "ix_message_events_provider_provider_message_id",
        ["provider", "provider_message_id"],
        "message_id IS NULL",
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.add_column(sa.Column("send_id", sa.String(40), nullable=True))
        table.add_column(sa.Column("chunk", sa.Integer(), nullable=True))
        table.add_column(sa.Column("params", sa.Text(), nullable=True))
        table.create_index("ix_messages_send_id_chunk", ["send_id", "chunk"])
    # Partial (see schema.py): the rows of a queued send have none of these values yet, and
    # only receipts waiting for their message are looked up by provider id among events.
    for table_name, name, columns, condition in PARTIAL:
        op.drop_index(name, table_name)
        where = sa.text(condition)
        op.create_index(name, table_name, columns, postgresql_where=where, sqlite_where=where)
    op.create_table(
        "sends",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("head", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("hold_until", WHEN, nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sends")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and not sa.inspect(bind).has_table("procrastinate_jobs"):
        # The job engine keeps its jobs beside our rows, so a send's rows and its jobs commit
        # together. Its schema is its own file, run as is on the migration's connection.
        schema = resources.files("procrastinate.sql").joinpath("schema.sql").read_text()
        driver = bind.connection.driver_connection
        assert driver is not None
        driver.execute(schema)


def downgrade() -> None:
    op.drop_table("sends")
    for table_name, name, columns, _ in PARTIAL:
        op.drop_index(name, table_name)
        op.create_index(name, table_name, columns)
    with op.batch_alter_table("messages") as table:
        table.drop_index("ix_messages_send_id_chunk")
        table.drop_column("params")
        table.drop_column("chunk")
        table.drop_column("send_id")
