"""The one entry point: ``Gateway.from_dsn(dsn).send(to=..., text=..., sender=...)``.

It picks the provider from the DSN, validates and batches, drives the provider's requests with
the retry rules of :mod:`smsgate.gateway.transport`, and returns a :class:`SendReport` that
says what became of every recipient. :class:`AsyncGateway` is the same over asyncio. This
module only re-exports: the pure logic is in ``base.py`` and ``plan.py``, the I/O in
``client.py`` and ``transport.py``.
"""

from smsgate.gateway.client import AsyncGateway, Gateway
from smsgate.gateway.compose import Halt, SendOptions
from smsgate.gateway.endpoint import Endpoint, plain_endpoint, resolve_endpoint
from smsgate.gateway.plan import Progress, SendRecorder
from smsgate.gateway.transport import RetryPolicy

__all__ = [
    "AsyncGateway",
    "Endpoint",
    "Gateway",
    "Halt",
    "Progress",
    "RetryPolicy",
    "SendOptions",
    "SendRecorder",
    "plain_endpoint",
    "resolve_endpoint",
]
