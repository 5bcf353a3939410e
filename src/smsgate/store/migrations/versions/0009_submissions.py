"""submissions: a batch's write-ahead record as one row, its messages written once

A direct send put each message on record as ``submitting`` before its request left, then
updated each row with the provider's answer: every message written twice, with its indexes,
and the UPDATE cost more than the INSERT (a 100,000-recipient send on SQLite: 9.5 µs a row
against 7.6). Now the batch goes on record as one row before it leaves, and its answer
writes each message once, with its outcome, in the transaction that deletes that row. A
sender that dies leaves the row; the next store to open makes its messages ``unknown``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index(op.f("ix_submissions_owner"), "submissions", ["owner"])


def downgrade() -> None:
    op.drop_index(op.f("ix_submissions_owner"), table_name="submissions")
    op.drop_table("submissions")
