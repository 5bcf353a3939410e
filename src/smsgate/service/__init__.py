"""The HTTP service (FastAPI): the CLI's send and the message store over HTTP, plus webhooks."""
