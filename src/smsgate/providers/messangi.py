"""Messangi's Outbound SMS API (spec messangi.md): a JSON API with a Bearer key.

``messangi://APIKEY@default`` (or ``@HOST[:PORT]``, ``messangi+http://`` for a local sandbox).
One recipient per request (``POST /raven/v2/messages``), pipelined by the gateway; with
``?batch_size=N`` the batch endpoint (``POST /raven/v3/messages/batch``, path inferred [I])
takes N recipients per request. ``?callbacks=URL`` asks for delivery receipts at that URL.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ProviderError
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.report import RecipientResult, RecipientStatus, RequestRecord
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

NAME: Final = "messangi"
DEFAULT_ORIGIN: Final = "https://elastic.messangi.me"
SINGLE_PATH: Final = "/raven/v2/messages"
BATCH_PATH: Final = "/raven/v3/messages/batch"
LOGIN_PATH: Final = "/kingslanding/login"
KEY_LIFETIME: Final = 24 * 3600.0
KEY_MARGIN: Final = 600.0  # log in again ten minutes before the key would expire
MAX_TEXT_CHARS: Final = 1600  # "Text exceeds the limit of allowed segments" beyond (spec §8)
MAX_BATCH: Final = 1000  # [E] the docs state no limit; a request stays a sane size
PIPELINE: Final = 16  # single sends in flight at once

CODE_OR_NAME: Final = SenderRule(
    re.compile(r"[0-9]{1,15}|(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,11}"),
    "a short code (1-6 digits), a long code (7-15 digits) or a name of up to 11 letters and digits",
    required=True,
    provider="Messangi",
)
"""Short code, long code or alphanumeric code; there is no default sender."""

CAPABILITIES: Final = Capabilities(
    max_recipients_per_request=1,
    max_text_chars=MAX_TEXT_CHARS,
    sender=CODE_OR_NAME,
    concurrency=PIPELINE,
    lookup=True,
    personalised=MAX_BATCH,
)

# Every status of spec §6 -> (our status, final). ENROUTE and ACCEPTD are in transit: a
# carrier receipt may still follow (the spec's phase column) [E: one place, here].
RECEIPT_STATUSES: Final[dict[str, tuple[MessageStatus, bool]]] = {
    "QUEUE": (MessageStatus.QUEUED, False),
    "ACCEPTED": (MessageStatus.QUEUED, False),  # third-party synonym of QUEUE (spec §3.2)
    "DEQUEUED": (MessageStatus.SENT, False),
    "SENT": (MessageStatus.SENT, False),
    "ENROUTE": (MessageStatus.SENT, False),
    "ACCEPTD": (MessageStatus.SENT, False),
    "INCOMPLETE": (MessageStatus.SENT, False),
    "DELIVRD": (MessageStatus.DELIVERED, True),
    "EXPIRED": (MessageStatus.EXPIRED, True),
    "UNDELIV": (MessageStatus.FAILED, True),
    "REJECTD": (MessageStatus.REJECTED, True),
    "DELETED": (MessageStatus.CANCELLED, True),
    "UNKNOWN": (MessageStatus.UNKNOWN, True),
    "INVALID_ROUTING": (MessageStatus.REJECTED, True),
    "CODE_NOT_ALLOWED": (MessageStatus.REJECTED, True),
    "BLACKLISTED": (MessageStatus.REJECTED, True),
    "SEGMENTS_EXCEEDED": (MessageStatus.REJECTED, True),
    "EXHAUSTED": (MessageStatus.FAILED, True),
    "ERROR": (MessageStatus.FAILED, True),
}
ACCEPTED: Final = frozenset({"QUEUE", "ACCEPTED", "DEQUEUED", "SENT", "ENROUTE", "ACCEPTD"})


class Messangi(BaseProvider):
    """Client for one Messangi API key, or for a user whose key it gets by logging in."""

    name = NAME

    def __init__(
        self,
        api_key: Secret,
        *,
        origin: str = DEFAULT_ORIGIN,
        batch_size: int = 1,
        callbacks: str | None = None,
        login: tuple[str, Secret] | None = None,
    ) -> None:
        self.api_key = api_key
        self.login = login
        self._key_until = 0.0
        self.origin = origin.rstrip("/")
        self.callbacks = callbacks
        self.capabilities = dataclasses.replace(
            CAPABILITIES,
            max_recipients_per_request=batch_size,
            concurrency=PIPELINE if batch_size == 1 else 1,
        )
        self._urls = {path: httpx.URL(self.origin + path) for path in (SINGLE_PATH, BATCH_PATH)}

    @classmethod
    def from_dsn(cls, dsn: Dsn) -> Messangi:
        """``messangi://APIKEY@default``, or ``messangi://USER:PASSWORD@default`` (the e-mail's
        @ written %40) to log in for a key, and again when it nears its 24 hours."""
        origin = dsn.origin(DEFAULT_ORIGIN)
        batch_size = dsn.int_option("batch_size", 1, MAX_BATCH)
        callbacks = dsn.options.get("callbacks") or None
        if dsn.user and dsn.password:
            return cls(
                Secret(""),
                origin=origin,
                batch_size=batch_size,
                callbacks=callbacks,
                login=(dsn.user, dsn.password),
            )
        key = dsn.credential("API key", "APIKEY")
        return cls(Secret(key), origin=origin, batch_size=batch_size, callbacks=callbacks)

    def describe(self) -> str:
        return f"Messangi at {self.origin}"

    def __repr__(self) -> str:
        who = f"login={self.login[0]!r}, " if self.login else ""
        return f"Messangi({who}api_key={self.api_key!r}, origin={self.origin!r})"

    # -- requests ---------------------------------------------------------------------------

    def _sign_in(self) -> Exchange[str | None]:
        """With a user and password, a key from POST /kingslanding/login (spec §2), kept
        until shortly before its 24 hours end. Returns why it failed, or None."""
        if self.login is None or (self.api_key and time.monotonic() < self._key_until):
            return None
        user, password = self.login
        body = {"username": user, "password": password.reveal()}
        response = yield httpx.Request("POST", f"{self.origin}{LOGIN_PATH}", json=body)
        header = response.headers.get("authorization", "")
        if response.status_code != 200 or not header.lower().startswith("bearer "):
            return (
                f"Messangi refused the login of {user} (HTTP {response.status_code}): "
                "check the user and password in the DSN"
            )
        self.api_key = Secret(header[len("bearer ") :].strip())
        self._key_until = time.monotonic() + KEY_LIFETIME - KEY_MARGIN
        return None

    def _request(self, method: str, url: httpx.URL | str, body: Any = None) -> httpx.Request:
        return json_request(method, url, f"Bearer {self.api_key.reveal()}", body)

    def _common(self, batch: Batch) -> dict[str, Any]:
        body: dict[str, Any] = {"from": batch.message.sender, "text": batch.message.text}
        if self.callbacks:
            body["requestDR"] = True
            body["callbacks"] = self.callbacks
        return body

    def send(self, batch: Batch) -> Exchange[BatchOutcome]:
        refusal = yield from self._sign_in()
        if refusal is not None:
            results = [
                RecipientResult(r.number, RecipientStatus.REJECTED, None, refusal)
                for r in batch.recipients
            ]
            record = RequestRecord(None, None, refusal, len(batch.recipients))
            return BatchOutcome(results, record, stop=refusal)
        template = batch.message.template
        if template is not None and batch.params:
            # {0}, {1}... in the text, each recipient's params in order (spec §4).
            body = self._common(batch)
            body["text"] = template.written(lambda i: "{" + str(i) + "}")
            body["to"] = [
                {"to": "+" + r.number, "params": list(values)}
                for r, values in zip(batch.recipients, batch.params, strict=True)
            ]
            if batch.reference:
                body["externalId"] = batch.reference
            response = yield self._request("POST", self._urls[BATCH_PATH], body)
            return _read_batch(batch, response)
        if len(batch.recipients) == 1:
            body = self._common(batch)
            body["to"] = "+" + batch.recipients[0].number
            if batch.message_ids:
                body["externalId"] = batch.message_ids[0]
            response = yield self._request("POST", self._urls[SINGLE_PATH], body)
            return _read_single(batch, response)
        body = self._common(batch)
        body["to"] = [{"to": "+" + r.number} for r in batch.recipients]
        if batch.reference:
            body["externalId"] = batch.reference
        response = yield self._request("POST", self._urls[BATCH_PATH], body)
        return _read_batch(batch, response)

    def lookup(self, provider_message_id: str) -> Exchange[Receipt]:
        """GET /raven/v2/messages/{id} (spec §5, our choice where the docs are silent)."""
        refusal = yield from self._sign_in()
        if refusal is not None:
            raise ProviderError(refusal)
        url = f"{self.origin}{SINGLE_PATH}/{provider_message_id}"
        response = yield self._request("GET", url)
        data = _envelope(response).get("data")
        if response.status_code != 200 or not isinstance(data, dict):
            raise ProviderError(
                f"Messangi has no message {provider_message_id!r}: {_explain(response)}"
            )
        return _receipt(data)

    def read_webhook(self, fields: dict[str, str]) -> Receipt | Reply:
        """A delivery callback (spec §7): JSON with id, status, date, externalId, to."""
        if fields.get("status") not in RECEIPT_STATUSES or not fields.get("id"):
            raise ValueError("not a Messangi delivery callback (it needs id and status)")
        return _receipt(fields)


# -- answers ----------------------------------------------------------------------------------


def _envelope(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _explain(response: httpx.Response) -> str:
    meta = _envelope(response).get("meta")
    explain = meta.get("explain") if isinstance(meta, dict) else None
    return str(explain) if explain else f"HTTP {response.status_code}"


def _refusal(response: httpx.Response) -> tuple[str, str | None]:
    """The error for every recipient of a refused request, and whether later ones stop too."""
    code, explain = response.status_code, _explain(response)
    if code in (401, 403):
        reason = f"Messangi refused the API key (HTTP {code}: {explain}): check the key in the DSN"
        return reason, reason
    if code == 404:
        reason = "Messangi has no such endpoint (HTTP 404): check the DSN host"
        return reason, reason
    if code == 402:  # no balance: every later request would be refused the same way
        reason = (
            f"Messangi refused it for lack of balance (HTTP 402: {explain}): top up the account"
        )
        return reason, reason
    return f"Messangi refused it (HTTP {code}): {explain}", None


def _record(response: httpx.Response, text: str, recipients: int) -> RequestRecord:
    return RequestRecord(None, response.status_code, text, recipients)


def _read_single(batch: Batch, response: httpx.Response) -> BatchOutcome:
    number = batch.recipients[0].number
    if not response.is_success:
        error, stop = _refusal(response)
        result = RecipientResult(number, RecipientStatus.REJECTED, None, error)
        return BatchOutcome([result], _record(response, error, 1), stop=stop)
    data = _envelope(response).get("data")
    status = str(data.get("status", "")) if isinstance(data, dict) else ""
    if isinstance(data, dict) and status in ACCEPTED and data.get("id"):
        result = RecipientResult(number, RecipientStatus.SENT, str(data["id"]))
        return BatchOutcome([result], _record(response, status, 1))
    if status == "ERROR":
        error = f"Messangi refused it: {_explain(response)}"
        result = RecipientResult(number, RecipientStatus.REJECTED, None, error)
        return BatchOutcome([result], _record(response, error, 1))
    error = "Messangi answered without a message id: the SMS may have been sent"
    result = RecipientResult(number, RecipientStatus.UNKNOWN, None, error)
    return BatchOutcome([result], _record(response, error, 1))


def _read_batch(batch: Batch, response: httpx.Response) -> BatchOutcome:
    count = len(batch.recipients)
    if not response.is_success:
        error, stop = _refusal(response)
        results = [
            RecipientResult(r.number, RecipientStatus.REJECTED, None, error)
            for r in batch.recipients
        ]
        return BatchOutcome(results, _record(response, error, count), stop=stop)
    data = _envelope(response).get("data")
    ids = data.get("ids") if isinstance(data, dict) else None
    if not isinstance(ids, list):
        error = "Messangi answered without message ids: the SMS may have been sent"
        results = [
            RecipientResult(r.number, RecipientStatus.UNKNOWN, None, error)
            for r in batch.recipients
        ]
        return BatchOutcome(results, _record(response, error, count))
    by_number = {
        str(item.get("mobile", "")).lstrip("+"): str(item.get("id"))
        for item in ids
        if isinstance(item, dict) and item.get("id")
    }
    invalid = {str(n).lstrip("+") for n in (data or {}).get("invalidNumber") or []}
    results = []
    for recipient in batch.recipients:
        provider_id = by_number.get(recipient.number)
        if provider_id:
            results.append(RecipientResult(recipient.number, RecipientStatus.SENT, provider_id))
        elif recipient.number in invalid:
            error = "Messangi refused the number as invalid"
            results.append(RecipientResult(recipient.number, RecipientStatus.REJECTED, None, error))
        else:
            error = "Messangi's answer does not mention this number: it may have been sent"
            results.append(RecipientResult(recipient.number, RecipientStatus.UNKNOWN, None, error))
    status = str((data or {}).get("status", ""))
    return BatchOutcome(results, _record(response, status, count))


def _receipt(data: dict[str, Any] | dict[str, str]) -> Receipt:
    code = str(data.get("status", ""))
    status, final = RECEIPT_STATUSES.get(code, (MessageStatus.UNKNOWN, False))
    return Receipt(
        provider=NAME,
        status=status,
        permanent=final,
        provider_status=code,
        provider_message_id=str(data.get("id")) if data.get("id") else None,
        recipient=str(data.get("to", "")).lstrip("+") or None,
        client_reference=str(data.get("externalId")) if data.get("externalId") else None,
        occurred_at=_utc_time(data.get("date")),
        detail=str(data.get("message", "") or "")[:200],
    )


def _utc_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python 3.11 reads at most six fraction digits; Messangi sends nine
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


PROVIDER: Final = Registration(
    NAME,
    CAPABILITIES,
    Messangi.from_dsn,
    options=frozenset({"batch_size", "callbacks"}),
    receipts_option="callbacks",
)
