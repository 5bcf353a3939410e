"""What the sandbox accepted, as a handset and an operator would see it."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime


@dataclass
class InboxMessage:
    id: str
    provider: str
    account: str
    campaign_id: str
    to: str
    text: str
    sender_requested: str | None
    sender_shown: str
    encoding: str
    parts: int
    credits: int
    status: str
    scheduled_at: str | None = None
    client_message_id: str | None = None
    flash: bool = False
    receipt: str | None = None
    received_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    sequence: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Inbox:
    """Thread-safe list of accepted messages (memory is enough: the sandbox is for tests/demo)."""

    def __init__(self) -> None:
        self._messages: list[InboxMessage] = []
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)

    def add(self, messages: list[InboxMessage]) -> None:
        with self._lock:
            for message in messages:
                message.sequence = next(self._sequence)
            self._messages.extend(messages)

    def list(
        self, *, to: str | None = None, campaign_id: str | None = None, provider: str | None = None
    ) -> list[InboxMessage]:
        with self._lock:
            found = list(self._messages)
        return [
            m
            for m in found
            if (to is None or m.to == to)
            and (campaign_id is None or m.campaign_id == campaign_id)
            and (provider is None or m.provider == provider)
        ]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def __len__(self) -> int:
        return len(self._messages)
