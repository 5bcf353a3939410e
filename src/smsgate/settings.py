"""Every ``SMSGATE_*`` variable, in one place: its name, default and meaning.

The core never reads the environment; the gateway, the store, the service and the component
read their variables here, through :meth:`Variable.read`. This table is what ``--help`` shows
and what the README's table lists (a test keeps the two equal).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    """What a blank or absent variable means ("" for nothing)."""
    meaning: str
    secret: bool = False
    """Its value holds a credential: never shown."""

    def read(self, env: Mapping[str, str] | None = None) -> str:
        """The value in ``env`` (the process environment if None), stripped, else the default."""
        value = (os.environ if env is None else env).get(self.name, "").strip()
        return value or self.default


DSN: Final = Variable(
    "SMSGATE_DSN",
    "sandbox://",
    "Provider and account to send with, e.g. `allmysms://LOGIN:APIKEY@default`; "
    "`--dsn` overrides it",
    secret=True,
)
TRIAL_DSN: Final = Variable(
    "SMSGATE_TRIAL_DSN",
    "",
    "The operator's AllMySMS account that pays for trial sends (blank credentials); "
    "without it, trial mode is refused",
    secret=True,
)
DEFAULT_REGION: Final = Variable(
    "SMSGATE_DEFAULT_REGION",
    "FR",
    "Country (ISO 3166) of national numbers written with a leading 0; `--region` overrides it",
)
DATABASE_URL: Final = Variable(
    "SMSGATE_DATABASE_URL",
    "",
    "The message store's database, e.g. `postgresql://user@host/db`; "
    "blank: a SQLite file in the data directory",
    secret=True,
)
DATA_DIR: Final = Variable(
    "SMSGATE_DATA_DIR",
    "",
    "Where the embedded SQLite store lives; blank: `$XDG_DATA_HOME/smsgate` "
    "(`~/.local/share/smsgate`)",
)
API_KEYS: Final = Variable(
    "SMSGATE_API_KEYS",
    "",
    "`smsgate serve`: the API keys clients send as `Authorization: Bearer KEY`, "
    "comma-separated (at least one)",
    secret=True,
)
WEBHOOK_SECRETS: Final = Variable(
    "SMSGATE_WEBHOOK_SECRETS",
    "",
    "`smsgate serve`: the secrets of the webhook paths `/webhooks/{provider}/{secret}`, "
    "comma-separated; blank: webhooks refused",
    secret=True,
)
ALLMYSMS_URL: Final = Variable(
    "SMSGATE_ALLMYSMS_URL",
    "",
    "The elastic.io component: where to reach AllMySMS, e.g. `http://127.0.0.1:8025` for the "
    "sandbox; blank: `https://api.allmysms.com`",
)

VARIABLES: Final[tuple[Variable, ...]] = (
    DSN,
    TRIAL_DSN,
    DEFAULT_REGION,
    DATABASE_URL,
    DATA_DIR,
    API_KEYS,
    WEBHOOK_SECRETS,
    ALLMYSMS_URL,
)


def split_list(value: str) -> tuple[str, ...]:
    """A comma-separated variable's items, blanks dropped."""
    return tuple(item.strip() for item in value.split(",") if item.strip())
