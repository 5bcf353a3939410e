"""the account each message went through and the process that wrote it ahead; the elastic.io
sailor's record of its messages; each provider account's call budget, shared by processes;
the API's idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.add_column(sa.Column("account", sa.String(64), nullable=True))
        table.add_column(sa.Column("submitted_by", sa.String(120), nullable=True))
    op.create_table(
        "sailor_messages",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sailor_messages")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "rate_budgets",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("slots", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_budgets")),
    )


def downgrade() -> None:
    op.drop_table("rate_budgets")
    op.drop_table("idempotency_keys")
    op.drop_table("sailor_messages")
    with op.batch_alter_table("messages") as table:
        table.drop_column("submitted_by")
        table.drop_column("account")
