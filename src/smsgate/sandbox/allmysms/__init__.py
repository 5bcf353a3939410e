"""Emulator of the AllMySMS HTTP API v9.0 (spec ``allmysms.md``, choices of §10 marked [E])."""
