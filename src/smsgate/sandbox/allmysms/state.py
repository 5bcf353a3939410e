"""The AllMySMS emulator's state: accounts, campaigns and receipts;
the inbox and faults are the sandbox's, shared with every emulator."""

from __future__ import annotations

from smsgate.sandbox.allmysms.accounts import Accounts
from smsgate.sandbox.allmysms.events import Events
from smsgate.sandbox.emulator import Shared


class AllMySmsState:
    def __init__(self, shared: Shared) -> None:
        self.accounts = Accounts.with_demo()
        self.events = Events(shared.inbox)
        self.inbox = shared.inbox
        self.faults = shared.faults
        self.calls = shared.calls
