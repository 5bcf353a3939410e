"""The registry of emulators, one line each (``docs/adding-a-provider.md``)."""

from __future__ import annotations

from typing import Final

from smsgate.sandbox import allmysms, messangi, smsworks
from smsgate.sandbox.emulator import EmulatorRegistration

EMULATORS: Final[tuple[EmulatorRegistration, ...]] = (
    allmysms.EMULATOR,
    messangi.EMULATOR,
    smsworks.EMULATOR,
)
BY_NAME: Final = {entry.name: entry for entry in EMULATORS}
