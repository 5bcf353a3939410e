"""The Messangi emulator's state: users and keys, messages and callbacks;
the inbox and faults are the sandbox's, shared with every emulator."""

from __future__ import annotations

from smsgate.sandbox.emulator import Shared
from smsgate.sandbox.messangi.accounts import Users
from smsgate.sandbox.messangi.events import Events


class MessangiState:
    def __init__(self, shared: Shared) -> None:
        self.users = Users()
        self.events = Events(shared.inbox)
        self.inbox = shared.inbox
        self.faults = shared.faults
        self.calls = shared.calls
