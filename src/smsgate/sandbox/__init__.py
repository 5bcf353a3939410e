"""Local emulators of the providers' APIs at their real paths, with an inbox of what they took.

It shares nothing with ``smsgate.providers`` beyond the core: it stands in for the real
service, so it reads the wire format on its own and a client bug cannot be mirrored here.
"""
