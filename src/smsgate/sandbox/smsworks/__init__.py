"""The SMS Works API v1 emulator (spec smsworks.md)."""

from typing import Final

from smsgate.sandbox.emulator import EmulatorRegistration
from smsgate.sandbox.smsworks.emulator import SmsWorksEmulator, client_dsn
from smsgate.sandbox.smsworks.messages import NAME

EMULATOR: Final = EmulatorRegistration(NAME, SmsWorksEmulator, client_dsn)
