"""From the component's credentials to an AllMySMS DSN (spec §1; the issue names the fields).

Credentials ``login`` and ``apiKey`` (``ApiKey``, the 2019 component's spelling, is read too).
Either one blank means trial mode: the gateway then sends through the operator's trial account
($SMSGATE_TRIAL_DSN), with "TRIAL USE: " and two recipients at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, urlsplit

from smsgate import settings

LOGIN_FIELD: Final = "login"
API_KEY_FIELD: Final = "apiKey"
LEGACY_API_KEY_FIELD: Final = "ApiKey"
# Where the component sends: AllMySMS itself unless the operator points it elsewhere (a sandbox).
ENDPOINT_VARIABLE: Final = settings.ALLMYSMS_URL.name


def credential(cfg: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = cfg.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def is_trial(cfg: Mapping[str, Any]) -> bool:
    login = credential(cfg, LOGIN_FIELD)
    return not login or not credential(cfg, API_KEY_FIELD, LEGACY_API_KEY_FIELD)


def allmysms_dsn(cfg: Mapping[str, Any], env: Mapping[str, str] | None = None) -> str:
    """The DSN for these credentials; blank ones give a DSN the gateway treats as trial."""
    login = credential(cfg, LOGIN_FIELD)
    key = credential(cfg, API_KEY_FIELD, LEGACY_API_KEY_FIELD)
    return _dsn(login, key, settings.ALLMYSMS_URL.read(env))


@lru_cache(maxsize=256)  # once per account and endpoint, not once per message
def _dsn(login: str, key: str, url: str) -> str:
    user = f"{quote(login, safe='')}:{quote(key, safe='')}"
    if not url:
        return f"allmysms://{user}@default"
    parts = urlsplit(settings.ALLMYSMS_URL.validate(url))
    port = f":{parts.port}" if parts.port else ""
    return f"allmysms+{parts.scheme}://{user}@{parts.hostname}{port}"
