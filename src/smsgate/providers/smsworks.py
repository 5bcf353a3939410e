"""The SMS Works API v1 (spec smsworks.md): JSON with a JWT in the Authorization header.

``smsworks://TOKEN@default`` (or ``@HOST[:PORT]``, ``smsworks+http://`` for a local sandbox);
the token is the JWT as the account area issues it, with or without its ``JWT `` prefix
(URL-encode the space: ``JWT%20eyJ...``). ``?deliveryreporturl=URL`` asks for delivery
reports at that URL; ``?batch_size=N`` caps recipients per batch (5000).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ProviderError
from smsgate.core.message import Message
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.remote import MessageQuery, ProviderMessage
from smsgate.core.report import (
    AccountInfo,
    RecipientResult,
    RecipientStatus,
    RequestRecord,
    credit_amount,
)
from smsgate.core.secret import Secret
from smsgate.core.sender import SenderRule
from smsgate.core.status import MessageStatus
from smsgate.providers.base import (
    BaseProvider,
    Batch,
    BatchOutcome,
    Capabilities,
    Exchange,
    Registration,
    json_request,
)

NAME: Final = "smsworks"
DEFAULT_BASE: Final = "https://api.thesmsworks.co.uk/v1"
API_PATH: Final = "/v1"
MAX_TEXT_CHARS: Final = 1280
MAX_BATCH: Final = 5000
# The Power Automate connector's limit (spec §6): a connector limit, kept by every worker of
# one process so that a flow moved onto smsgate behaves as it did [one place, here].
RATE_LIMIT: Final = (100, 60.0)

NAME_OR_NUMBER: Final = SenderRule(
    re.compile(r"[0-9]{1,15}|(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,11}"),
    "up to 11 letters and digits, or a number of up to 15 digits, without spaces",
    required=True,
    provider="The SMS Works",
)
"""'sender' is required (spec §4)."""

CAPABILITIES: Final = Capabilities(
    max_recipients_per_request=MAX_BATCH,
    max_text_chars=MAX_TEXT_CHARS,
    sender=NAME_OR_NUMBER,
    schedule=True,
    cancel=True,
    credits=True,
    receipts_pull=True,
    lookup=True,
    flash=True,
    flash_batch=False,
    search=True,
    inbound=True,
    delete=True,
    customer_id=True,
    personalised=MAX_BATCH,
    rate_limit=RATE_LIMIT,
)

# Every status the spec names -> (our status, final).
RECEIPT_STATUSES: Final[dict[str, tuple[MessageStatus, bool]]] = {
    "SCHEDULED": (MessageStatus.SCHEDULED, False),
    "SENT": (MessageStatus.SENT, False),
    "DELIVERED": (MessageStatus.DELIVERED, True),
    "EXPIRED": (MessageStatus.EXPIRED, True),
    "UNDELIVERABLE": (MessageStatus.FAILED, True),
    "REJECTED": (MessageStatus.REJECTED, True),
    "CANCELLED": (MessageStatus.CANCELLED, True),
    "DELETED": (MessageStatus.CANCELLED, True),
    "INCOMING": (MessageStatus.DELIVERED, True),
    "PROCESSED": (MessageStatus.SENT, False),
}


class SmsWorks(BaseProvider):
    """Client for one The SMS Works account (its JWT)."""

    name = NAME

    def __init__(
        self,
        token: Secret,
        *,
        base_url: str = DEFAULT_BASE,
        batch_size: int = MAX_BATCH,
        delivery_report_url: str | None = None,
    ) -> None:
        raw = token.reveal().strip()
        self.token = Secret(raw if raw.upper().startswith("JWT ") else f"JWT {raw}")
        self.base_url = base_url.rstrip("/")
        self.delivery_report_url = delivery_report_url
        self.capabilities = dataclasses.replace(CAPABILITIES, max_recipients_per_request=batch_size)

    @classmethod
    def from_dsn(cls, dsn: Dsn) -> SmsWorks:
        token = dsn.credential("token", "JWT")
        origin = dsn.origin("")
        base = origin + API_PATH if origin else DEFAULT_BASE
        batch_size = dsn.int_option("batch_size", MAX_BATCH, MAX_BATCH)
        report_url = dsn.options.get("deliveryreporturl") or None
        return cls(
            Secret(token), base_url=base, batch_size=batch_size, delivery_report_url=report_url
        )

    @property
    def rate_key(self) -> str:
        """Which calls share one rate limit: the account's (the customer id the JWT names),
        whichever of its tokens they carry."""
        return f"{NAME}:{_customer_of(self.token.reveal())}"

    def describe(self) -> str:
        return f"The SMS Works at {self.base_url}"

    def __repr__(self) -> str:
        return f"SmsWorks(token={self.token!r}, base_url={self.base_url!r})"

    # -- requests ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> httpx.Request:
        return json_request(method, self.base_url + path, self.token.reveal(), body)

    def _message(self, message: Message) -> dict[str, Any]:
        body: dict[str, Any] = {"sender": message.sender, "content": message.text}
        if message.campaign_name:
            body["tag"] = message.campaign_name[:280]
        if self.delivery_report_url:
            body["deliveryreporturl"] = self.delivery_report_url
        if message.scheduled_at:
            body["schedule"] = _js_date(message.scheduled_at)
        return body

    def send(self, batch: Batch) -> Exchange[BatchOutcome]:
        message = batch.message
        body = self._message(message)
        if batch.texts:  # a text per recipient: /batch/any, every message written out
            messages = [
                {**body, "destination": r.number, "content": text}
                for r, text in zip(batch.recipients, batch.texts, strict=True)
            ]
            response = yield self._request("POST", "/batch/any", messages)
            return _read_batch(batch, response)
        if len(batch.recipients) == 1 or message.flash:
            if len(batch.recipients) != 1:
                raise ProviderError("The SMS Works sends a flash SMS to one number at a time")
            body["destination"] = batch.recipients[0].number
            path = "/message/schedule" if message.scheduled_at else "/message/send"
            if message.flash:
                path = "/message/flash"
            response = yield self._request("POST", path, body)
            return _read_single(batch, response)
        body["destinations"] = [r.number for r in batch.recipients]
        path = "/batch/schedule" if message.scheduled_at else "/batch/send"
        response = yield self._request("POST", path, body)
        return _read_batch(batch, response)

    def account(self) -> Exchange[AccountInfo]:
        response = yield self._request("GET", "/credits/balance")
        body = _json(response)
        if response.status_code != 200 or not isinstance(body.get("credits"), int | float):
            raise ProviderError(_refusal(response)[0])
        return AccountInfo(
            NAME, False, "active", credit_amount(body["credits"]), {"credits": str(body["credits"])}
        )

    def customer_id(self) -> Exchange[str]:
        response = yield self._request("GET", "/utils/test")
        body = _json(response)
        if response.status_code != 200 or not body.get("message"):
            raise ProviderError(_refusal(response)[0])
        return str(body["message"])

    def cancel(self, campaign_id: str) -> Exchange[None]:
        """A scheduled message or batch: the id says which only to The SMS Works, so the
        message path is tried first and the batch path when it knows no such message."""
        response = yield self._request("DELETE", f"/messages/schedule/{campaign_id}")
        if response.status_code == 404:
            response = yield self._request("DELETE", f"/batches/schedule/{campaign_id}")
        if response.status_code != 200:
            raise ProviderError(
                f"The SMS Works did not cancel {campaign_id}: {_refusal(response)[0]}"
            )

    def lookup(self, provider_message_id: str) -> Exchange[Receipt]:
        response = yield self._request("GET", f"/messages/{provider_message_id}")
        body = _json(response)
        if response.status_code != 200 or not body:
            raise ProviderError(
                f"The SMS Works has no message {provider_message_id!r}: {_refusal(response)[0]}"
            )
        return _receipt(body)

    def search(
        self, query: MessageQuery, *, failed: bool = False
    ) -> Exchange[list[ProviderMessage]]:
        path = "/messages/failed" if failed else "/messages"
        response = yield self._request("POST", path, _query(query))
        return _messages(response)

    def inbound(self, query: MessageQuery) -> Exchange[list[ProviderMessage]]:
        response = yield self._request("POST", "/messages/inbox", _query(query))
        return _messages(response)

    def scheduled(self) -> Exchange[list[ProviderMessage]]:
        """GET /messages/schedule: one object, as the official definitions type it; an array
        (what their prose describes) is read too, and an empty object is no message."""
        response = yield self._request("GET", "/messages/schedule")
        body = _json_any(response)
        if response.status_code != 200 or not isinstance(body, list | dict):
            raise ProviderError(_refusal(response)[0])
        found = []
        for item in body if isinstance(body, list) else [body]:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            raw = item.get("message")
            message: dict[str, Any] = raw if isinstance(raw, dict) else {}
            destinations = message.get("destinations") or [message.get("destination")]
            code = str(item.get("status", ""))
            found.append(
                ProviderMessage(
                    provider=NAME,
                    provider_message_id=str(item.get("id", "")),
                    status=RECEIPT_STATUSES.get(code, (MessageStatus.UNKNOWN, False))[0],
                    provider_status=code,
                    to=",".join(str(d) for d in destinations if d) or None,
                    sender=message.get("sender"),
                    text=message.get("content"),
                    batch_id=str(item.get("id")) if item.get("batch") else None,
                    created_at=_parse_date(message.get("schedule")),
                )
            )
        return found

    def batch_messages(self, batch_id: str) -> Exchange[list[ProviderMessage]]:
        response = yield self._request("GET", f"/batch/{batch_id}")
        return _messages(response)

    def delete(self, provider_message_id: str) -> Exchange[None]:
        response = yield self._request("DELETE", f"/messages/{provider_message_id}")
        if response.status_code != 200:
            raise ProviderError(
                f"The SMS Works did not delete {provider_message_id}: {_refusal(response)[0]}"
            )

    def receipts(self, campaign_id: str) -> Exchange[list[Receipt]]:
        """A batch's messages (GET /batch/{id}); a scheduled single message is its own
        campaign, read with GET /messages/{id} when no batch has that id."""
        response = yield self._request("GET", f"/batch/{campaign_id}")
        body = _json_any(response)
        if response.status_code == 404:
            response = yield self._request("GET", f"/messages/{campaign_id}")
            body = [_json(response)] if response.status_code == 200 else None
        if response.status_code != 200 or not isinstance(body, list):
            raise ProviderError(
                f"The SMS Works has no batch {campaign_id}: {_refusal(response)[0]}"
            )
        return [_receipt(item) for item in body if isinstance(item, dict)]

    def read_webhook(self, fields: dict[str, str]) -> Receipt | Reply:
        """A delivery report (spec §7): JSON with at least messageid and status."""
        if not fields.get("messageid") or fields.get("status") not in RECEIPT_STATUSES:
            raise ValueError("not an SMS Works delivery report (it needs messageid and status)")
        return _receipt(fields)


# -- answers ----------------------------------------------------------------------------------


def _customer_of(token: str) -> str:
    """The JWT's customerid claim (read, not verified: it only groups calls), else a hash."""
    parts = token.removeprefix("JWT ").strip().split(".")
    if len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, UnicodeDecodeError):
            claims = None
        if isinstance(claims, dict) and claims.get("customerid"):
            return str(claims["customerid"])
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _json_any(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    body = _json_any(response)
    return body if isinstance(body, dict) else {}


def _refusal(response: httpx.Response) -> tuple[str, str | None]:
    """The error for a refused request, and whether every later request would be refused."""
    code = response.status_code
    message = str(_json(response).get("message") or f"HTTP {code}")
    if code == 401:
        reason = f"The SMS Works refused the token (HTTP 401: {message}): check the DSN's token"
        return reason, reason
    if code == 402:
        reason = f"The SMS Works account has too few credits (HTTP 402: {message}): top it up"
        return reason, reason
    return f"The SMS Works refused it (HTTP {code}): {message}", None


def _read_single(batch: Batch, response: httpx.Response) -> BatchOutcome:
    number = batch.recipients[0].number
    body = _json_any(response)
    if not response.is_success:
        error, stop = _refusal(response)
        result = RecipientResult(number, RecipientStatus.REJECTED, None, error)
        return BatchOutcome(
            [result], RequestRecord(None, response.status_code, error, 1), stop=stop
        )
    item = body[0] if isinstance(body, list) and body else body  # schedule answers an array
    if not isinstance(item, dict) or not item.get("messageid"):
        error = "The SMS Works answered without a message id: the SMS may have been sent"
        result = RecipientResult(number, RecipientStatus.UNKNOWN, None, error)
        return BatchOutcome([result], RequestRecord(None, response.status_code, error, 1))
    scheduled = str(item.get("status")) == "SCHEDULED"
    status = RecipientStatus.SCHEDULED if scheduled else RecipientStatus.SENT
    message_id = str(item["messageid"])
    result = RecipientResult(number, status, message_id)
    record = RequestRecord(
        message_id if scheduled else None, response.status_code, str(item.get("status", "")), 1
    )
    return BatchOutcome(
        [result],
        record,
        credits_used=credit_amount(item.get("creditsUsed")),
        credits_left=credit_amount(item.get("credits")),
    )


def _read_batch(batch: Batch, response: httpx.Response) -> BatchOutcome:
    count = len(batch.recipients)
    if not response.is_success:
        error, stop = _refusal(response)
        results = [
            RecipientResult(r.number, RecipientStatus.REJECTED, None, error)
            for r in batch.recipients
        ]
        return BatchOutcome(
            results, RequestRecord(None, response.status_code, error, count), stop=stop
        )
    body = _json(response)
    batch_id = str(body.get("batchid") or "")
    if not batch_id:
        error = "The SMS Works answered without a batch id: the SMS may have been sent"
        results = [
            RecipientResult(r.number, RecipientStatus.UNKNOWN, None, error)
            for r in batch.recipients
        ]
        return BatchOutcome(results, RequestRecord(None, response.status_code, error, count))
    # The answer says SCHEDULED even for /batch/send (spec §9.8): only our request tells.
    status = RecipientStatus.SCHEDULED if batch.message.scheduled_at else RecipientStatus.SENT
    results = [RecipientResult(r.number, status, None) for r in batch.recipients]
    return BatchOutcome(
        results, RequestRecord(batch_id, response.status_code, str(body.get("status", "")), count)
    )


def _receipt(data: dict[str, Any] | dict[str, str]) -> Receipt:
    code = str(data.get("status", ""))
    status, final = RECEIPT_STATUSES.get(code, (MessageStatus.UNKNOWN, False))
    batch_id = str(data.get("batchid") or "") or None
    destination = str(data.get("destination", "")).lstrip("+") or None
    failure = data.get("failurereason")
    detail = ""
    if isinstance(failure, dict):
        detail = str(failure.get("details", ""))
    elif isinstance(failure, str):
        detail = failure
    message_id = str(data.get("messageid") or "") or None
    return Receipt(
        provider=NAME,
        status=status,
        permanent=final,
        provider_status=code,
        # A batch's messages are on record by batch and number (its send answers no ids).
        provider_message_id=None if batch_id else message_id,
        campaign_id=batch_id,
        recipient=destination,
        occurred_at=_parse_date(data.get("modified")),
        detail=detail or (f"message {message_id}" if batch_id and message_id else ""),
    )


def _messages(response: httpx.Response) -> list[ProviderMessage]:
    body = _json_any(response)
    if response.status_code != 200 or not isinstance(body, list):
        raise ProviderError(_refusal(response)[0])
    found = []
    for item in body:
        if not isinstance(item, dict):
            continue
        code = str(item.get("status", ""))
        failure = item.get("failurereason")
        found.append(
            ProviderMessage(
                provider=NAME,
                provider_message_id=str(item.get("messageid") or item.get("id") or ""),
                status=RECEIPT_STATUSES.get(code, (MessageStatus.UNKNOWN, False))[0],
                provider_status=code,
                to=str(item.get("destination", "")) or None,
                sender=item.get("sender"),
                text=item.get("content"),
                batch_id=item.get("batchid"),
                tag=item.get("tag"),
                created_at=_parse_date(item.get("created")),
                updated_at=_parse_date(item.get("modified")),
                failure=str(failure.get("details")) if isinstance(failure, dict) else None,
            )
        )
    return found


def _query(query: MessageQuery) -> dict[str, Any]:
    body: dict[str, Any] = {"limit": query.limit, "skip": query.skip}
    for name, value in (
        ("status", query.status),
        ("destination", query.to),
        ("sender", query.sender),
        ("keyword", query.keyword),
    ):
        if value:
            body[name] = value
    if query.since:
        body["from"] = query.since.astimezone(UTC).isoformat()
    if query.until:
        body["to"] = query.until.astimezone(UTC).isoformat()
    return body


def _js_date(moment: datetime) -> str:
    """JavaScript's Date text, as in the API's examples: Wed Jul 19 2017 19:53:46 GMT+0000."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


def _parse_date(value: object) -> datetime | None:
    """JavaScript date text (``Wed Jul 19 2017 20:53:46 GMT+0100 (BST)``) or ISO 8601."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        pass
    head = text.split(" (", 1)[0]
    try:
        return datetime.strptime(head, "%a %b %d %Y %H:%M:%S GMT%z")
    except ValueError:
        return None


PROVIDER: Final = Registration(
    NAME,
    CAPABILITIES,
    SmsWorks.from_dsn,
    options=frozenset({"batch_size", "deliveryreporturl"}),
    receipts_option="deliveryreporturl",
)
