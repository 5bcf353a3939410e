"""The SMS Works API v1 emulator (spec smsworks.md)."""
