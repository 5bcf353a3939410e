"""The Messangi Outbound SMS API emulator (spec messangi.md)."""
