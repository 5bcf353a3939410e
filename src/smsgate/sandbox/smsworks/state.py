"""The SMS Works emulator's state: customers and tokens, messages and reports;
the inbox and faults are the sandbox's, shared with every emulator."""

from __future__ import annotations

from smsgate.sandbox.emulator import Shared
from smsgate.sandbox.keep import Docs
from smsgate.sandbox.smsworks.accounts import Customer, Customers
from smsgate.sandbox.smsworks.messages import Messages, Stored

CUSTOMER = "smsworks.customer"
SIGNING = "smsworks.signing"


class SmsWorksState:
    def __init__(self, shared: Shared) -> None:
        self.customers = Customers()
        self.messages = Messages(shared.inbox, shared.keep, self.refund, shared.faults)
        shared.inbox.on_drop.append(self.messages.dropped)
        self.inbox = shared.inbox
        self.faults = shared.faults
        self.calls = shared.calls
        self.keep = shared.keep

    def refund(self, stored: Stored) -> None:
        """A message's cost back to its customer (cancelled, or failed in the UK)."""
        customer = self.customers.by_id.get(stored.customer_id)
        if customer is not None:
            with self.customers.lock:
                customer.credits += stored.cost

    def restore(self) -> None:
        """Customers and their credits, and the key tokens are signed with (a client's token
        outlives a restart), then messages."""
        for _, doc in self.keep.docs(SIGNING):
            self.customers.signing_key = bytes.fromhex(str(doc["key"]))
        for customer_id, doc in self.keep.docs(CUSTOMER):
            self.customers.add(
                Customer(customer_id, str(doc["key"]), str(doc["secret"]), float(doc["credits"]))
            )
        self.keep.snapshots(self._snapshot)
        self.messages.restore()

    def _snapshot(self) -> dict[str, Docs]:
        customers = self.customers
        with customers.lock:
            found = {
                c.customer_id: {"key": c.key, "secret": c.secret, "credits": c.credits}
                for c in customers.by_id.values()
            }
        return {CUSTOMER: found, SIGNING: {"key": {"key": customers.signing_key.hex()}}}

    def resume(self) -> None:
        self.messages.resume()
