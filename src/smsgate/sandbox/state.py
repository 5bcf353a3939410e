"""Everything one sandbox holds: provider accounts, the inbox and pending faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from smsgate.sandbox.allmysms.accounts import Accounts
from smsgate.sandbox.allmysms.events import Events
from smsgate.sandbox.faults import Faults
from smsgate.sandbox.inbox import Inbox
from smsgate.sandbox.messangi.accounts import Users
from smsgate.sandbox.messangi.events import Events as MessangiEvents
from smsgate.sandbox.smsworks.accounts import Customers
from smsgate.sandbox.smsworks.messages import Messages


@dataclass
class SandboxState:
    allmysms: Accounts = field(default_factory=Accounts.with_demo)
    allmysms_events: Events = field(default_factory=Events)
    messangi_users: Users = field(default_factory=Users)
    messangi_events: MessangiEvents = field(default_factory=MessangiEvents)
    smsworks_customers: Customers = field(default_factory=Customers)
    smsworks_messages: Messages = field(default_factory=Messages)
    inbox: Inbox = field(default_factory=Inbox)
    faults: Faults = field(default_factory=Faults)

    def set_receipt_delay(self, seconds: float) -> None:
        """Seconds between an accepted SMS and its final receipt, in every emulator."""
        self.allmysms_events.settings.receipt_delay = seconds
        self.messangi_events.settings.receipt_delay = seconds
        self.smsworks_messages.settings.receipt_delay = seconds
