"""messages, their status events, and replies

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("provider_message_id", sa.String(64), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("client_reference", sa.String(40), nullable=True),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tag", sa.String(100), nullable=True),
        sa.Column("scheduled_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_campaign_id", "messages", ["campaign_id"])
    op.create_index("ix_messages_recipient", "messages", ["recipient"])
    op.create_index("ix_messages_status", "messages", ["status"])
    op.create_index("ix_messages_tag", "messages", ["tag"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index(
        "ix_messages_provider_provider_message_id", "messages", ["provider", "provider_message_id"]
    )
    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(40), nullable=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_message_id", sa.String(64), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("recipient", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("provider_status", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=True),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_events_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_events"),
        sa.UniqueConstraint("dedupe_key", name="uq_message_events_dedupe_key"),
    )
    op.create_index("ix_message_events_message_id", "message_events", ["message_id"])
    op.create_index(
        "ix_message_events_provider_provider_message_id",
        "message_events",
        ["provider", "provider_message_id"],
    )
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_reply_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=True),
        sa.Column("provider_message_id", sa.String(64), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_replies_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
        sa.UniqueConstraint(
            "provider", "provider_reply_id", name="uq_replies_provider_provider_reply_id"
        ),
    )
    op.create_index("ix_replies_message_id", "replies", ["message_id"])
    op.create_index("ix_replies_sender", "replies", ["sender"])
    op.create_index("ix_replies_received_at", "replies", ["received_at"])


def downgrade() -> None:
    op.drop_table("replies")
    op.drop_table("message_events")
    op.drop_table("messages")
