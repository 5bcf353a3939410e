"""Messangi users and their API keys (spec §2, §10.1): keys from login last 24 hours."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

KEY_LIFETIME: Final = 24 * 3600.0
DEMO_USER: Final = "demo@example.com"
DEMO_PASSWORD: Final = "demo"  # noqa: S105 (the sandbox's published demo account)
DEMO_KEY: Final = "demo-key"


@dataclass
class Key:
    value: str
    username: str
    expires_at: float | None
    """None: a key copied from the platform (no expiry here)."""


@dataclass
class Users:
    passwords: dict[str, str] = field(default_factory=lambda: {DEMO_USER: DEMO_PASSWORD})
    keys: dict[str, Key] = field(default_factory=lambda: {DEMO_KEY: Key(DEMO_KEY, DEMO_USER, None)})
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, username: str, password: str, key: str | None = None) -> None:
        with self._lock:
            self.passwords[username] = password
            if key:
                self.keys[key] = Key(key, username, None)

    def login(self, username: str, password: str) -> str | None:
        if not username or self.passwords.get(username) != password:
            return None
        key = secrets.token_hex(24)
        with self._lock:
            self.keys[key] = Key(key, username, self.clock() + KEY_LIFETIME)
        return key

    def owner(self, authorization: str | None) -> str | None:
        """The user a Bearer key belongs to, if it is known and not expired."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        key = self.keys.get(value.strip())
        if key is None or (key.expires_at is not None and key.expires_at < self.clock()):
            return None
        return key.username
