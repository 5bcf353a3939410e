"""The SMS Works customers, their tokens and credits (spec §2, §9.1, §9.5).

Tokens are real HS256 JWTs signed with the sandbox's own secret, issued with the "JWT "
prefix; the header is accepted as issued, bare, or after "Bearer " (spec §2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Final

DEMO_CUSTOMER: Final = "5a1b2c3d-0000-4000-8000-000000000001"
DEMO_KEY: Final = "demo-key"
DEMO_SECRET: Final = "demo-secret"  # noqa: S105 (the sandbox's published demo account)
DEFAULT_CREDITS: Final = 1000.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Customer:
    customer_id: str
    key: str
    secret: str
    credits: float = DEFAULT_CREDITS


@dataclass
class Customers:
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    by_id: dict[str, Customer] = field(
        default_factory=lambda: {DEMO_CUSTOMER: Customer(DEMO_CUSTOMER, DEMO_KEY, DEMO_SECRET)}
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, customer: Customer) -> None:
        with self.lock:
            self.by_id[customer.customer_id] = customer

    def token(self, customer_id: str, key: str, secret: str) -> str | None:
        customer = self.by_id.get(customer_id)
        if customer is None or customer.key != key or customer.secret != secret:
            return None
        return "JWT " + self.sign(customer_id)

    def sign(self, customer_id: str) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"customerid": customer_id, "iat": int(time.time())}
        payload = _b64(json.dumps(claims).encode())
        mac = hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{_b64(mac.digest())}"

    def demo_token(self) -> str:
        return "JWT " + self.sign(DEMO_CUSTOMER)

    def customer_of(self, authorization: str | None) -> Customer | None:
        """The customer whose token this header carries: as issued, bare, or after Bearer."""
        value = (authorization or "").strip()
        for prefix in ("JWT ", "Bearer "):
            if value[: len(prefix)].lower() == prefix.lower():
                value = value[len(prefix) :].strip()
                break
        parts = value.split(".")
        if len(parts) != 3:
            return None
        mac = hmac.new(self.signing_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_b64(mac.digest()), parts[2]):
            return None
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
        except ValueError:
            return None
        return self.by_id.get(str(claims.get("customerid")))
