"""Every ``SMSGATE_*`` variable, in one place: its name, default and meaning.

The core never reads the environment; the gateway, the store, the service and the component
read their variables here, through :meth:`Variable.read`. This table is what ``--help`` shows
and what the README's table lists (a test keeps the two equal).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from smsgate.core.optout import DEFAULT_KEYWORDS, OptOutKeywords


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    """What a blank or absent variable means ("" for nothing)."""
    meaning: str
    secret: bool = False
    """Its value holds a credential: never shown."""
    check: Callable[[str], object] | None = None
    """Raises an error (one line, no secret) when a value is unusable."""

    def read(self, env: Mapping[str, str] | None = None) -> str:
        """The value in ``env`` (the process environment if None), stripped, else the default."""
        value = (os.environ if env is None else env).get(self.name, "").strip()
        return value or self.default

    def problem(self, value: str) -> str | None:
        """What is wrong with a value (one line, a secret masked), or None."""
        if not value or self.check is None:
            return None
        try:
            self.check(value)
        except Exception as error:  # a check's error is one line for a person
            problem = str(error) or type(error).__name__
            return problem.replace(value, "***") if self.secret else problem
        return None

    def validate(self, value: str) -> str:
        """The value, or ConfigurationError naming this variable and what is wrong."""
        if (problem := self.problem(value)) is not None:
            from smsgate.core.errors import ConfigurationError

            raise ConfigurationError(f"{self.name}: {problem}")
        return value


def _dsn(value: str) -> object:
    from smsgate.core.route import Route  # lazily: most commands never check settings

    return Route.parse(value)


def _routes(value: str) -> object:
    if "=" not in value and value.endswith(".toml"):
        return value  # a file: read (and checked) when a send needs it
    from smsgate.core.route import RouteTable

    return RouteTable.parse(value)


def _region(value: str) -> object:
    from smsgate.core.recipients import check_region  # lazily: phonenumbers is slow to load

    return check_region(value)


def _http_url(value: str) -> object:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        from smsgate.core.errors import ConfigurationError

        raise ConfigurationError(
            f"{value!r} is not an http(s) URL: write e.g. http://127.0.0.1:8025"
        )
    return value


DSN: Final = Variable(
    "SMSGATE_DSN",
    "sandbox://",
    "Provider and account to send with, e.g. `allmysms://LOGIN:APIKEY@default`, or a route of "
    "several (failover or round robin, see Routes); `--dsn` overrides it",
    secret=True,
    check=_dsn,
)
ROUTES: Final = Variable(
    "SMSGATE_ROUTES",
    "",
    "Routes by number prefix, `+33 = DSN; +44 = DSN; * = ROUTE` (or a `routes.toml` path); "
    "set, it replaces `SMSGATE_DSN` for sends; `--dsn` overrides it",
    secret=True,
    check=_routes,
)
TRIAL_DSN: Final = Variable(
    "SMSGATE_TRIAL_DSN",
    "",
    "The operator's AllMySMS account that pays for trial sends (blank credentials); "
    "without it, trial mode is refused",
    secret=True,
    check=_dsn,
)
DEFAULT_REGION: Final = Variable(
    "SMSGATE_DEFAULT_REGION",
    "FR",
    "Country (ISO 3166) of national numbers written with a leading 0; `--region` overrides it",
    check=_region,
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


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The data directory: ``SMSGATE_DATA_DIR``, else ``$XDG_DATA_HOME/smsgate``
    (the embedded store's SQLite file, and the sandbox's state, live there)."""
    env = os.environ if env is None else env
    if folder := DATA_DIR.read(env):
        return Path(folder)
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "smsgate"


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


def _webhook_secret(value: str) -> object:
    import base64
    import binascii

    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        key = b""
    if len(key) < 24:
        raise ValueError(
            "not a Standard Webhooks secret: write whsec_ followed by base64 of 24 to 64 "
            "random bytes, e.g. whsec_$(head -c 32 /dev/urandom | base64)"
        )
    return value


def callback_secret(env: Mapping[str, str] | None = None) -> str | None:
    """The callbacks' signing secret, checked; None when callbacks go unsigned."""
    return CALLBACK_SECRET.validate(CALLBACK_SECRET.read(env)) or None


CALLBACK_URL: Final = Variable(
    "SMSGATE_CALLBACK_URL",
    "",
    "`smsgate serve`: where every status change of a message is POSTed when its send names "
    "no `callback_url`; blank: only sends that name one",
    check=_http_url,
)
CALLBACK_SECRET: Final = Variable(
    "SMSGATE_CALLBACK_SECRET",
    "",
    "The Standard Webhooks secret (`whsec_...`) callbacks are signed with "
    "(`webhook-signature`); blank: unsigned",
    secret=True,
    check=_webhook_secret,
)
PUBLIC_URL: Final = Variable(
    "SMSGATE_PUBLIC_URL",
    "",
    "Where providers reach this service, e.g. `https://sms.example.com`: sends ask Messangi "
    "and The SMS Works to POST receipts to `/webhooks/{provider}/{secret}` there",
    check=_http_url,
)
ALLMYSMS_URL: Final = Variable(
    "SMSGATE_ALLMYSMS_URL",
    "",
    "The elastic.io component: where to reach AllMySMS, e.g. `http://127.0.0.1:8025` for the "
    "sandbox; blank: `https://api.allmysms.com`",
    check=_http_url,
)


def _keywords(value: str) -> object:
    if not split_list(value):
        raise ValueError("no keyword: list them comma-separated, e.g. STOP,ARRET")
    return value


OPT_OUT_KEYWORDS: Final = Variable(
    "SMSGATE_OPT_OUT_KEYWORDS",
    ",".join(DEFAULT_KEYWORDS),
    "Replies that opt their sender out of later sends (the whole reply, any case, accents "
    "and punctuation around it ignored), comma-separated",
    check=_keywords,
)

VARIABLES: Final[tuple[Variable, ...]] = (
    DSN,
    ROUTES,
    TRIAL_DSN,
    DEFAULT_REGION,
    DATABASE_URL,
    DATA_DIR,
    API_KEYS,
    WEBHOOK_SECRETS,
    CALLBACK_URL,
    CALLBACK_SECRET,
    PUBLIC_URL,
    ALLMYSMS_URL,
    OPT_OUT_KEYWORDS,
)


@dataclass(frozen=True)
class Setting:
    """One variable as it is now: shown masked when it holds a secret."""

    variable: Variable
    value: str
    explicit: bool
    problem: str | None

    @property
    def shown(self) -> str:
        if self.variable.secret and self.explicit:
            return "(set, hidden)"
        return self.value


def current(env: Mapping[str, str] | None = None) -> list[Setting]:
    """Every variable's value now, and what is wrong with it (its own check)."""
    env = os.environ if env is None else env
    found = []
    for variable in VARIABLES:
        value = variable.read(env)
        explicit = bool(env.get(variable.name, "").strip())
        found.append(Setting(variable, value, explicit, variable.problem(value)))
    return found


def split_list(value: str) -> tuple[str, ...]:
    """A comma-separated variable's items, blanks dropped."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def opt_out_keywords(env: Mapping[str, str] | None = None) -> OptOutKeywords:
    """The opt-out keywords in force; ConfigurationError when the variable is unusable."""
    return OptOutKeywords.parse(OPT_OUT_KEYWORDS.validate(OPT_OUT_KEYWORDS.read(env)))
