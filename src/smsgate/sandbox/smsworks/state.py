"""The SMS Works emulator's state: customers and tokens, messages and reports;
the inbox and faults are the sandbox's, shared with every emulator."""

from __future__ import annotations

from smsgate.sandbox.emulator import Shared
from smsgate.sandbox.smsworks.accounts import Customers
from smsgate.sandbox.smsworks.messages import Messages


class SmsWorksState:
    def __init__(self, shared: Shared) -> None:
        self.customers = Customers()
        self.messages = Messages(shared.inbox)
        self.inbox = shared.inbox
        self.faults = shared.faults
        self.calls = shared.calls
