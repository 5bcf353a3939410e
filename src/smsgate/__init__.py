"""smsgate: send SMS through real providers, and know what happened to every one."""

from smsgate.core.errors import (
    ConfigurationError,
    InvalidInput,
    NoRecipients,
    ProviderError,
    SmsgateError,
)
from smsgate.core.report import (
    AccountInfo,
    RecipientResult,
    RecipientStatus,
    SendReport,
    SendStatus,
)
from smsgate.gateway import AsyncGateway, Gateway, RetryPolicy

__all__ = [
    "AccountInfo",
    "AsyncGateway",
    "ConfigurationError",
    "Gateway",
    "InvalidInput",
    "NoRecipients",
    "ProviderError",
    "RecipientResult",
    "RecipientStatus",
    "RetryPolicy",
    "SendReport",
    "SendStatus",
    "SmsgateError",
]
