"""The Messangi emulator's state: users and keys, messages and callbacks;
the inbox and faults are the sandbox's, shared with every emulator."""

from __future__ import annotations

from smsgate.sandbox.emulator import Shared
from smsgate.sandbox.keep import Docs
from smsgate.sandbox.messangi.accounts import Key, Users
from smsgate.sandbox.messangi.events import Events

USER = "messangi.user"
KEY = "messangi.key"


class MessangiState:
    def __init__(self, shared: Shared) -> None:
        self.users = Users()
        self.events = Events(shared.inbox, shared.keep, shared.faults)
        shared.inbox.on_drop.append(self.events.dropped)
        self.inbox = shared.inbox
        self.faults = shared.faults
        self.calls = shared.calls
        self.keep = shared.keep

    def restore(self) -> None:
        """Users and the keys they logged in for (a client's key outlives a restart, as it
        would the real platform's), then messages."""
        for username, doc in self.keep.docs(USER):
            self.users.passwords[username] = str(doc["password"])
        for value, doc in self.keep.docs(KEY):
            self.users.keys[value] = Key(value, str(doc["username"]), doc.get("expires_at"))
        self.keep.snapshots(self._snapshot)
        self.events.restore()

    def _snapshot(self) -> dict[str, Docs]:
        users = self.users
        now = users.clock()
        return {
            USER: {name: {"password": password} for name, password in users.passwords.items()},
            KEY: {
                key.value: {"username": key.username, "expires_at": key.expires_at}
                for key in list(users.keys.values())
                if key.expires_at is None or key.expires_at > now
            },
        }

    def resume(self) -> None:
        self.events.resume()
