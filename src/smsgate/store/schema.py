"""Tables of the message store (SQLAlchemy 2). Alembic migrations build them; see migrations/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _where(index: Index, condition: str) -> Index:
    """An index of the rows that meet ``condition`` (partial, on both databases)."""
    index.dialect_options["postgresql"]["where"] = text(condition)
    index.dialect_options["sqlite"]["where"] = text(condition)
    return index


def _where_set(index: Index, column: str) -> Index:
    """An index of the rows where ``column`` has a value."""
    return _where(index, f"{column} IS NOT NULL")


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    account: Mapped[str | None] = mapped_column(String(64))
    submitted_by: Mapped[str | None] = mapped_column(String(120))
    """The process that put it on record (write-ahead), to tell a dead sender's leftovers."""
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    client_reference: Mapped[str | None] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(16), index=True)
    sender: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    parts: Mapped[int] = mapped_column(Integer)
    cost: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    """Not indexed, so that its changes are HOT updates on PostgreSQL (migration 0007)."""
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(100))
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    send_id: Mapped[str | None] = mapped_column(String(40))
    """Queued sends: the send it belongs to, and the job (chunk) of that send that sends it."""
    chunk: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[str | None] = mapped_column(Text)
    """Queued personalised sends: the recipient's values for the template (JSON list)."""
    tried: Mapped[str | None] = mapped_column(String(200))
    """Over a route: the providers that provably did not send it before ``provider``
    (comma-separated, in order)."""
    callback_url: Mapped[str | None] = mapped_column(Text)
    """Where each of its status changes is POSTed (a trigger puts it in ``callbacks``)."""

    # Indexes on columns a queued row leaves empty hold only the rows that have a value: a
    # million-recipient send's rows go in without a million entries in each (the answer to
    # its POST waits on that insert). A query for a value uses them all the same.
    __table_args__ = (
        _where_set(Index(None, "provider", "provider_message_id"), "provider_message_id"),
        _where_set(Index(None, "campaign_id"), "campaign_id"),
        _where_set(Index(None, "tag"), "tag"),
        Index(None, "send_id", "chunk"),
    )


class SubmitterRow(Base):
    """A process that may have messages ``submitting`` (it puts itself here before its first
    write-ahead and goes when it closes its store): a dead one's leftovers are looked for."""

    __tablename__ = "submitters"
    owner: Mapped[str] = mapped_column(String(120), primary_key=True)


class SubmissionRow(Base):
    """A request's write-ahead record: the messages of one batch about to leave, as one row
    (migration 0009). Its answer turns it into message rows, each written once with its
    outcome; a sender that died first leaves it for the next store to open, which makes its
    messages ``unknown``."""

    __tablename__ = "submissions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """The batch's first message id."""
    owner: Mapped[str] = mapped_column(String(120), index=True)
    """The process that wrote it (as ``submitters`` lists it)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    messages: Mapped[str] = mapped_column(Text)
    """The message rows as columns, in JSON: ``{"same": {...}, "varying": {...}}``."""


class SendRow(Base):
    """A send accepted for the queue: what its jobs need to compose its message again, and
    what its answer said (the report's head: skipped numbers, warnings, encoding, parts)."""

    __tablename__ = "sends"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    account: Mapped[str | None] = mapped_column(String(64))
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    spec: Mapped[str] = mapped_column(Text)
    """The text and options its message is composed from (JSON)."""
    head: Mapped[str] = mapped_column(Text)
    """The report's head as accepted (JSON)."""
    total: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer)
    hold_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the gateway holds it (the provider cannot schedule): not sent before."""
    stop_reason: Mapped[str | None] = mapped_column(Text)
    """A refusal that applies to the whole send (the key, the credit): its later jobs send
    nothing and say why."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EventRow(Base):
    """One status event: the send itself, a receipt, a cancel. Receipts that arrive before
    their message is recorded wait here with no message_id until it is."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str | None] = mapped_column(String(40), index=True)
    """The message's id; not a foreign key (see migration 0008): only the store writes events,
    in the transaction that holds their message."""
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    recipient: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        # Only the receipts still waiting for their message are looked up by provider id here.
        _where(Index(None, "provider", "provider_message_id"), "message_id IS NULL"),
        # Only receipts have a dedupe key; events of our own making have none.
        _where_set(Index("uq_message_events_dedupe_key", "dedupe_key", unique=True), "dedupe_key"),
    )


class CallbackRow(Base):
    """One status change (or reply) to POST to a client's callback URL, signed per Standard
    Webhooks; its id is the ``webhook-id`` of every attempt. Written by the triggers of
    migration 0006 in the transaction of the change itself."""

    __tablename__ = "callbacks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    """pending (due at next_at), delivered, or failed (dead-lettered: replay it)."""
    attempts: Mapped[int] = mapped_column(Integer)
    next_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_callbacks_state_next_at", "state", "next_at"),)


class ReplyRow(Base):
    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_reply_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"), index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    __table_args__ = (UniqueConstraint("provider", "provider_reply_id"),)


class OptOutRow(Base):
    """A number that asked for no more SMS (a STOP reply, the provider's blacklist, or by
    hand): later sends skip it, saying so, unless told to ignore opt-outs."""

    __tablename__ = "opt_outs"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    """International digits, as recipients are written (``33612345678``)."""
    source: Mapped[str] = mapped_column(String(16))
    """``reply``, ``provider`` or ``manual``."""
    provider: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    """The reply's text, the provider's comment, or the reason given."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SailorMessageRow(Base):
    """What the elastic.io sailor started and finished, where a restarted sailor finds it:
    a message redelivered after a crash is never processed twice (see smsgate.sailor.ledger)."""

    __tablename__ = "sailor_messages"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class IdempotencyRow(Base):
    """An API request's Idempotency-Key: what it sent (a fingerprint of the body) and, once
    done, its answer, so a retry gets the first answer instead of a second send."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RateBudgetRow(Base):
    """One provider account's call budget, shared by every process that sends through it:
    the times (seconds, the database's clock) of its latest calls, as a JSON list."""

    __tablename__ = "rate_budgets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    slots: Mapped[str] = mapped_column(Text)
