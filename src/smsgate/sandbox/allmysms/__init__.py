"""The AllMySMS v9.0 emulator at ``/http/9.0/`` (spec allmysms.md)."""

from typing import Final

from smsgate.sandbox.allmysms.emulator import NAME, AllMySmsEmulator, client_dsn
from smsgate.sandbox.emulator import EmulatorRegistration

EMULATOR: Final = EmulatorRegistration(NAME, AllMySmsEmulator, client_dsn)
