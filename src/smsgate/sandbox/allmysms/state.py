"""The AllMySMS emulator's state: accounts, campaigns and receipts;
the inbox and faults are the sandbox's, shared with every emulator."""

from __future__ import annotations

from dataclasses import asdict

from smsgate.sandbox.allmysms.accounts import Account, Accounts
from smsgate.sandbox.allmysms.events import Events
from smsgate.sandbox.emulator import Shared
from smsgate.sandbox.keep import Docs

ACCOUNT = "allmysms.account"
GIVEN = "allmysms.given"


class AllMySmsState:
    def __init__(self, shared: Shared) -> None:
        self.accounts = Accounts.with_demo()
        self.events = Events(shared.inbox, shared.keep, shared.faults)
        shared.inbox.on_drop.append(self.events.dropped)
        self.inbox = shared.inbox
        self.faults = shared.faults
        self.calls = shared.calls
        self.keep = shared.keep
        self.given: dict[str, str] = {}
        """Each account given at start-up (``--account``), as it was given."""

    def restore(self) -> None:
        """Accounts and their credits as kept (accounts given at start-up come after, and
        win), then campaigns, receipts and replies."""
        for _, doc in self.keep.docs(ACCOUNT):
            self.accounts.add(Account(**doc))
        self.given = {login: str(doc["spec"]) for login, doc in self.keep.docs(GIVEN)}
        self.keep.snapshots(self._snapshot)
        self.events.restore()

    def _snapshot(self) -> dict[str, Docs]:
        with self.accounts.lock:
            found = {a.login: asdict(a) for a in self.accounts.by_login.values()}
        return {
            ACCOUNT: found,
            GIVEN: {login: {"spec": spec} for login, spec in self.given.items()},
        }

    def resume(self) -> None:
        self.events.resume()
