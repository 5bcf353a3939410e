"""AllMySMS accounts of the emulator and their credit balances."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Final

DEMO_LOGIN: Final = "demo"
DEMO_API_KEY: Final = "demo"
DEMO_CREDITS: Final = 15000
DEFAULT_CREDITS: Final = 1500  # spec §10.1


@dataclass
class Account:
    login: str
    api_key: str
    credits: int = DEFAULT_CREDITS
    first_name: str = "Sandbox"
    last_name: str = "User"
    society: str = "smsgate sandbox"
    email: str = "sandbox@example.invalid"

    def __repr__(self) -> str:
        return f"Account(login={self.login!r}, credits={self.credits})"


@dataclass
class Accounts:
    by_login: dict[str, Account] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def with_demo(cls) -> Accounts:
        accounts = cls()
        accounts.add(Account(DEMO_LOGIN, DEMO_API_KEY, DEMO_CREDITS))
        return accounts

    def add(self, account: Account) -> None:
        self.by_login[account.login] = account

    def authenticate(self, login: str, api_key: str) -> Account | None:
        account = self.by_login.get(login)
        if account is None or not secrets.compare_digest(account.api_key, api_key):
            return None
        return account

    def exists(self, login: str) -> bool:
        return login in self.by_login


def parse_account(spec: str) -> Account:
    """``LOGIN:APIKEY[:CREDITS]`` as given to ``smsgate sandbox --account``."""
    login, sep, rest = spec.partition(":")
    if not sep or not login:
        raise ValueError(f"account {login or spec!r}: write it as LOGIN:APIKEY[:CREDITS]")
    api_key, _, credits = rest.partition(":")
    if not api_key:
        raise ValueError(f"account {login!r}: the API key is empty; write LOGIN:APIKEY[:CREDITS]")
    if credits and not credits.isdigit():
        raise ValueError(f"account {login!r}: credits must be a whole number")
    return Account(login, api_key, int(credits) if credits else DEFAULT_CREDITS)
