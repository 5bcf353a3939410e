"""The durable send queue: a send's rows and jobs committed together (``accept``), jobs that
send one chunk each and are idempotent by our message ids (``job``), and the workers that run
them (``worker``), on procrastinate in the message store's PostgreSQL."""
