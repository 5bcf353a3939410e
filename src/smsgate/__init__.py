"""smsgate: send SMS through real providers, and know what happened to every one.

The public names load on first use (PEP 562), so that ``smsgate segments`` does not pay for
the gateway's HTTP stack: start-up time is a feature of a command-line tool.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "AccountInfo": "smsgate.core.report",
    "AsyncGateway": "smsgate.gateway",
    "ConfigurationError": "smsgate.core.errors",
    "Gateway": "smsgate.gateway",
    "InvalidInput": "smsgate.core.errors",
    "NoRecipients": "smsgate.core.errors",
    "ProviderError": "smsgate.core.errors",
    "RecipientResult": "smsgate.core.report",
    "RecipientStatus": "smsgate.core.report",
    "RetryPolicy": "smsgate.gateway",
    "SendReport": "smsgate.core.report",
    "SendStatus": "smsgate.core.report",
    "SmsgateError": "smsgate.core.errors",
}

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'smsgate' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
