"""Everything one sandbox holds: the inbox, the pending faults, and each emulator's own state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from smsgate.sandbox.emulator import Emulator, EmulatorRegistration, Shared
from smsgate.sandbox.inbox import Inbox
from smsgate.sandbox.keep import Keep

E = TypeVar("E", bound=Emulator)


class SandboxState:
    def __init__(
        self, keep: Keep | None = None, emulators: Sequence[EmulatorRegistration] | None = None
    ) -> None:
        """``keep``: where its state lasts (none by default: memory only); what it holds is
        restored here, and goes on at :meth:`resume`. ``emulators``: the providers it
        emulates, every registered one by default (the embedded sandbox, which only AllMySMS
        reaches, loads just that one: a ``sandbox://`` send starts faster)."""
        if emulators is None:
            from smsgate.sandbox import emulators as registry

            emulators = registry.EMULATORS
        self.shared = Shared(keep or Keep())
        self.emulators: dict[str, Emulator] = {
            entry.name: entry.build(self.shared) for entry in emulators
        }
        self.inbox.restore()
        self.shared.calls.restore(self.keep)
        for emulator in self.emulators.values():
            emulator.restore()
        self._resumed = False

    @property
    def keep(self) -> Keep:
        return self.shared.keep

    def resume(self) -> None:
        """On the event loop that serves it, once: each emulator's pending receipts and held
        sends go on."""
        if self._resumed:
            return
        self._resumed = True
        for emulator in self.emulators.values():
            emulator.resume()

    @property
    def inbox(self) -> Inbox:
        return self.shared.inbox

    def emulator(self, kind: type[E]) -> E:
        """The emulator of that class (its accounts, events and settings)."""
        for emulator in self.emulators.values():
            if isinstance(emulator, kind):
                return emulator
        raise KeyError(kind.__name__)

    def set_receipt_delay(self, seconds: float) -> None:
        """Seconds between an accepted SMS and its final receipt, in every emulator."""
        for emulator in self.emulators.values():
            emulator.set_receipt_delay(seconds)
