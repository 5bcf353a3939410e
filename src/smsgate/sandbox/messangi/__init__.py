"""The Messangi Outbound SMS API emulator (spec messangi.md)."""

from typing import Final

from smsgate.sandbox.emulator import EmulatorRegistration
from smsgate.sandbox.messangi.emulator import MessangiEmulator, client_dsn
from smsgate.sandbox.messangi.events import NAME

EMULATOR: Final = EmulatorRegistration(NAME, MessangiEmulator, client_dsn)
