"""submitters: the processes that put messages on record as ``submitting``; no index on status

A message's status changes two to four times in its life (queued, submitting, sent,
delivered). With ``status`` indexed, none of those updates could be a heap-only (HOT) update on
PostgreSQL: each wrote a new entry into every index of ``messages``, which made PostgreSQL the
largest cost of a queued send (84 µs a recipient, against 45 µs for the workers). Without it,
and with room left on each page (fillfactor 70), taking a row (queued → submitting) and its
receipt (sent → delivered) are HOT updates: measured, 17-20 → 10 µs and 23-32 → 4.5 µs a row.

What the index served is kept another way: the processes that may leave rows ``submitting``
are listed in ``submitters`` (a process adds itself before its first write-ahead and removes
itself when it closes its store), so a store that opens looks for a dead process's leftovers
only when there is a dead process to look for. Listing by status walks the ``created_at``
index, newest first, as it did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submitters",
        sa.Column("owner", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_submitters")),
    )
    # Whoever an earlier version left rows submitting for is one to look at.
    op.execute(
        "INSERT INTO submitters (owner) SELECT DISTINCT submitted_by FROM messages "
        "WHERE status = 'submitting' AND submitted_by IS NOT NULL"
    )
    op.drop_index("ix_messages_status", table_name="messages")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages RESET (fillfactor)")
    op.create_index("ix_messages_status", "messages", ["status"])
    op.drop_table("submitters")
