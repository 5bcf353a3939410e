"""AllMySMS HTTP API v9.0 (``../shared/specs/allmysms.md``): requests out, core results back.

Every AllMySMS outcome, errors included, comes back as HTTP 200 with a numeric ``status``; the
table below turns each code into what the user needs to know and do.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ProviderError
from smsgate.core.receipts import OptOut, Receipt, Reply
from smsgate.core.report import AccountInfo, RecipientResult, RecipientStatus, RequestRecord
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
)

NAME: Final = "allmysms"
DEFAULT_ORIGIN: Final = "https://api.allmysms.com"
API_PATH: Final = "/http/9.0"
MAX_RECIPIENTS_PER_REQUEST: Final = 2000  # the component's advice; the API states no limit
# Status 111 says "longer than 640 characters"; counted in code points (spec [E]).
MAX_TEXT_CHARS: Final = 640
DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S"  # Europe/Paris wall time (spec §10.8)
PARIS: Final = ZoneInfo("Europe/Paris")

# Receipt codes (spec §7) -> our status and whether it is final.
RECEIPT_STATUSES: Final[dict[str, tuple[MessageStatus, bool]]] = {
    "1": (MessageStatus.DELIVERED, True),
    "2": (MessageStatus.FAILED, True),  # not delivered, reported by the operator
    "3": (MessageStatus.SENT, False),  # transmitted to the operator
    "4": (MessageStatus.REJECTED, True),
    # "SMS rejected (probably unknown number or absent subscriber)": the operator gave up on
    # delivering it, which our model calls expired [E: one place, here].
    "5": (MessageStatus.EXPIRED, True),
}

ALPHANUMERIC_NAME: Final = SenderRule(
    re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}"),
    "3 to 11 letters or digits starting with a letter (e.g. ACME2024)",
)
"""What handsets and French operators accept, as the component's docs state; absent, the
provider's short code (36180) is shown."""

CAPABILITIES: Final = Capabilities(
    max_recipients_per_request=MAX_RECIPIENTS_PER_REQUEST,
    max_text_chars=MAX_TEXT_CHARS,
    sender=ALPHANUMERIC_NAME,
    schedule=True,
    cancel=True,
    credits=True,
    trial=True,
    receipts_pull=True,
    replies_pull=True,
    opt_outs_pull=True,
    flash=True,
    personalised=MAX_RECIPIENTS_PER_REQUEST,
    personalised_schedule=True,
)

SENT: Final = 100
SCHEDULED: Final = 101
SOME_INVALID: Final = 113
NO_VALID_NUMBER: Final = 114

_OUR_BUG: Final = (
    "AllMySMS could not read our request ({code}: {text}): this is a bug in smsgate, "
    "please report it"
)
_REFUSALS: Final[dict[int, str]] = {
    102: "AllMySMS rejected the login and API key (102): check the credentials in the DSN",
    103: "the AllMySMS account has no credit left (103): top up the account",
    104: "not enough AllMySMS credit for this send (104: {text}): top up or send to fewer",
    105: _OUR_BUG,
    106: _OUR_BUG,
    107: _OUR_BUG,
    108: _OUR_BUG,
    109: _OUR_BUG,
    110: "AllMySMS says the message is empty (110): give a text",
    111: "AllMySMS says the message is longer than 640 characters (111): shorten it",
    112: _OUR_BUG,
    114: "AllMySMS found no valid phone number in the request (114): check the numbers",
    115: "AllMySMS refused the send date (115): give a valid date and time",
    117: "a link in the text is too long for AllMySMS (117): keep links under 80 characters",
    118: "AllMySMS does not know the master account given (118): check the account",
}
_INVALID_NUMBER: Final = "AllMySMS refused this number (113: invalid or not supported)"
_NON_STOPPING: Final = frozenset({NO_VALID_NUMBER})
_FORM_HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded"}


def _refusal(code: int, text: str) -> str:
    template = _REFUSALS.get(code, "AllMySMS refused the send ({code}: {text})")
    return template.format(code=code, text=text or "no details")


class AllMySms(BaseProvider):
    """Client for one AllMySMS account."""

    name = NAME

    def __init__(
        self,
        login: str,
        api_key: Secret,
        *,
        origin: str = DEFAULT_ORIGIN,
        batch_size: int = MAX_RECIPIENTS_PER_REQUEST,
    ) -> None:
        self.login = login
        self.api_key = api_key
        self.base_url = origin.rstrip("/") + API_PATH
        self._urls: dict[str, httpx.URL] = {}
        self._account_form = Secret(
            urlencode({"login": login, "apiKey": api_key.reveal(), "returnformat": "json"})
        )
        self.capabilities = dataclasses.replace(CAPABILITIES, max_recipients_per_request=batch_size)

    @classmethod
    def from_dsn(cls, dsn: Dsn) -> AllMySms:
        """``allmysms://LOGIN:APIKEY@default`` (or @HOST[:PORT]); ``allmysms+http://`` for HTTP."""
        origin = dsn.origin(DEFAULT_ORIGIN)
        batch_size = dsn.int_option("batch_size", MAX_RECIPIENTS_PER_REQUEST)
        return cls(dsn.user, dsn.password, origin=origin, batch_size=batch_size)

    @property
    def trial(self) -> bool:
        return not self.login or not self.api_key

    def describe(self) -> str:
        return f"AllMySMS at {self.base_url} as {self.login or '(trial)'}"

    def __repr__(self) -> str:
        return f"AllMySms(login={self.login!r}, api_key={self.api_key!r}, url={self.base_url!r})"

    # -- requests ---------------------------------------------------------------------------

    def _post(self, method: str, **fields: str) -> httpx.Request:
        """A form POST: the account's fields, encoded once per client, then ``fields``."""
        url = self._urls.get(method)
        if url is None:  # parsed once per method: URL parsing is a tenth of a request's CPU
            url = self._urls[method] = httpx.URL(f"{self.base_url}/{method}/")
        form = self._account_form.reveal()
        body = (f"{form}&{urlencode(fields)}" if fields else form).encode()
        return httpx.Request("POST", url, content=body, headers=_FORM_HEADERS)

    def sms_data(self, batch: Batch) -> dict[str, Any]:
        message = batch.message
        data: dict[str, Any] = {"MESSAGE": message.text}
        if message.sender:
            data["TPOA"] = message.sender
        if message.scheduled_at:
            when = message.scheduled_at
            data["DATE"] = (when.astimezone(PARIS) if when.tzinfo else when).strftime(DATE_FORMAT)
        if message.campaign_name:
            data["CAMPAIGN_NAME"] = message.campaign_name
        if message.flash:
            data["FLASH"] = "1"
        if batch.reference:
            data["CLIMSGID"] = batch.reference
        template = message.template
        if template is None or not batch.params:
            data["SMS"] = [{"MOBILEPHONE": r.number} for r in batch.recipients]
            return {"DATA": data}
        # #param_N# (1-based) in MESSAGE, PARAM_N per SMS; DYNAMIC counts them (spec §3).
        data["MESSAGE"] = template.written(lambda i: f"#param_{i + 1}#")
        data["DYNAMIC"] = str(len(template.columns))
        data["SMS"] = [
            {"MOBILEPHONE": r.number} | {f"PARAM_{i + 1}": v for i, v in enumerate(values)}
            for r, values in zip(batch.recipients, batch.params, strict=True)
        ]
        return {"DATA": data}

    def send(self, batch: Batch) -> Exchange[BatchOutcome]:
        sms_data = json.dumps(self.sms_data(batch), ensure_ascii=False, separators=(",", ":"))
        response = yield self._post("sendSms", smsData=sms_data)
        return self._read_send(batch, response)

    def account(self) -> Exchange[AccountInfo]:
        response = yield self._post("getInfo")
        body = _json_object(response)
        if body is None:
            raise ProviderError(
                f"AllMySMS answered getInfo with HTTP {response.status_code} and no JSON: "
                "check the DSN host"
            )
        status = body.get("status")
        if isinstance(status, int) or (isinstance(status, str) and status.isdigit()):
            raise ProviderError(_refusal(int(status), str(body.get("statusText", ""))))
        if "credits" not in body and not status:
            raise ProviderError(
                f"{self.base_url} answered getInfo without an account status or credits: it does "
                "not look like AllMySMS; check the DSN host"
            )
        details: dict[str, str] = {
            k: str(body[k]) for k in ("lastName", "firstName", "society", "email") if k in body
        }
        return AccountInfo(NAME, False, str(status or ""), _int(body.get("credits")), details)

    def receipts(self, campaign_id: str) -> Exchange[list[Receipt]]:
        response = yield self._post("getAcks", campId=campaign_id)
        body = _json_object(response)
        if body is None:
            raise ProviderError(f"AllMySMS answered getAcks with HTTP {response.status_code}")
        if "acks" not in body:
            status = body.get("status")
            if _int(status) == 0:  # "No acknowledgement found"
                return []
            raise ProviderError(_refusal(_int(status) or 0, str(body.get("statusText", ""))))
        reference = str(body.get("cliMsgId") or "") or None
        found = []
        for ack in body.get("acks") or []:
            if not isinstance(ack, dict):
                continue
            code = str(ack.get("statut", ack.get("status", "")))
            if code not in RECEIPT_STATUSES:
                continue
            found.append(
                self._receipt(
                    code,
                    provider_message_id=None,
                    campaign_id=campaign_id,
                    recipient=str(ack.get("phoneNumber", "")).lstrip("+") or None,
                    client_reference=reference,
                    when=ack.get("receptionDate"),
                    detail=str(ack.get("comment", "")),
                )
            )
        return found

    def replies(self) -> Exchange[list[Reply]]:
        body = _listing((yield self._post("getPulls")), "mos")
        return [
            Reply(
                provider=NAME,
                provider_reply_id=str(mo.get("id", "")),
                sender=str(mo.get("phoneNumber", "")).lstrip("+"),
                text=str(mo.get("message", "")),
                campaign_id=str(mo.get("campaignId") or "") or None,
                received_at=_paris_time(mo.get("receptionDate")),
            )
            for mo in body.get("mos") or []
            if isinstance(mo, dict)
        ]

    def opt_outs(self) -> Exchange[list[OptOut]]:
        """getBlacklist (spec §5): numbers that answered STOP or were unsubscribed."""
        body = _listing((yield self._post("getBlacklist")), "blacklist")
        return [
            OptOut(
                number=str(entry.get("phoneNumber", "")).lstrip("+"),
                detail=str(entry.get("comment") or "") or None,
            )
            for entry in body.get("blacklist") or []
            if isinstance(entry, dict) and str(entry.get("phoneNumber", "")).lstrip("+")
        ]

    def cancel(self, campaign_id: str) -> Exchange[None]:
        response = yield self._post("deleteCampaign", campId=campaign_id)
        body = _json_object(response) or {}
        if str(body.get("status", "")).upper() != "OK":
            text = str(body.get("statusText") or "no details")
            raise ProviderError(
                f"AllMySMS did not cancel campaign {campaign_id} ({text}): "
                "only a campaign that is still scheduled can be cancelled"
            )
        return None

    def read_webhook(self, fields: dict[str, str]) -> Receipt | Reply:
        """Webhook parameters (spec §7): a reply has smsMoId, a receipt has status."""
        when = fields.get("receptionDate")
        if fields.get("smsMoId"):
            return Reply(
                provider=NAME,
                provider_reply_id=fields["smsMoId"],
                sender=fields.get("phoneNumber", "").lstrip("+"),
                text=fields.get("message", ""),
                provider_message_id=fields.get("smsId") or None,
                campaign_id=fields.get("campaignId") or None,
                received_at=_paris_time(when),
            )
        code = fields.get("status", "")
        if code not in RECEIPT_STATUSES or not (fields.get("smsId") or fields.get("campaignId")):
            raise ValueError("neither a delivery receipt nor a reply from AllMySMS")
        return self._receipt(
            code,
            provider_message_id=fields.get("smsId") or None,
            campaign_id=fields.get("campaignId") or None,
            recipient=fields.get("phoneNumber", "").lstrip("+") or None,
            client_reference=None,
            when=when,
            detail=fields.get("statusText", ""),
        )

    @staticmethod
    def _receipt(
        code: str,
        *,
        provider_message_id: str | None,
        campaign_id: str | None,
        recipient: str | None,
        client_reference: str | None,
        when: object,
        detail: str,
    ) -> Receipt:
        status, final = RECEIPT_STATUSES[code]
        return Receipt(
            provider=NAME,
            status=status,
            permanent=final,
            provider_status=code,
            provider_message_id=provider_message_id,
            campaign_id=campaign_id,
            recipient=recipient,
            client_reference=client_reference,
            occurred_at=_paris_time(when),
            detail=detail,
        )

    # -- answers ----------------------------------------------------------------------------

    def _read_send(self, batch: Batch, response: httpx.Response) -> BatchOutcome:
        numbers = [r.number for r in batch.recipients]
        body = _json_object(response)
        if response.status_code != httpx.codes.OK:
            return _everyone(
                numbers,
                RecipientStatus.REJECTED,
                f"AllMySMS answered HTTP {response.status_code}: nothing was sent; "
                "check the DSN host",
                code=None,
                stop=True,
            )
        if body is None or not _is_int(body.get("status")):
            return _everyone(
                numbers,
                RecipientStatus.UNKNOWN,
                "AllMySMS's answer could not be read: the SMS may have been sent; "
                "check the account before sending again",
                code=None,
            )
        code = int(body["status"])
        text = str(body.get("statusText", ""))
        campaign = body.get("campaignId") or None
        record = RequestRecord(campaign, code, text, len(numbers))
        if code in (SENT, SCHEDULED) or (code == SOME_INVALID and campaign):
            return self._accepted(batch, body, record)
        error = _refusal(code, text)
        results = [RecipientResult(n, RecipientStatus.REJECTED, None, error) for n in numbers]
        stop = None if code in _NON_STOPPING else error
        return BatchOutcome(results, record, stop=stop)

    def _accepted(self, batch: Batch, body: dict[str, Any], record: RequestRecord) -> BatchOutcome:
        invalid = _invalid_numbers(body.get("invalidNumbers"))
        ids: dict[str, str] = {}
        for entry in body.get("smsIds") or []:
            if isinstance(entry, dict) and "phoneNumber" in entry:
                ids[str(entry["phoneNumber"]).lstrip("+")] = str(entry.get("smsId", ""))
        scheduled = record.code == SCHEDULED or (
            record.code == SOME_INVALID and batch.message.scheduled_at is not None
        )
        ok = RecipientStatus.SCHEDULED if scheduled else RecipientStatus.SENT
        results = []
        for recipient in batch.recipients:
            number = recipient.number
            if number in invalid:
                results.append(
                    RecipientResult(number, RecipientStatus.REJECTED, None, _INVALID_NUMBER)
                )
            else:
                results.append(RecipientResult(number, ok, ids.get(number) or None, None))
        return BatchOutcome(
            results,
            record,
            credits_used=_int(body.get("creditsUsed")),
            credits_left=_int(body.get("credits")),
        )


def _paris_time(value: object) -> datetime | None:
    """AllMySMS's 'YYYY-MM-DD HH:MM:SS', Paris time. fromisoformat reads that shape in C, a
    tenth of strptime's cost per receipt; the shape check keeps it from taking anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) != 19 or text[10] != " ":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else None


def _everyone(
    numbers: list[str], status: RecipientStatus, error: str, *, code: int | None, stop: bool = False
) -> BatchOutcome:
    results = [RecipientResult(n, status, None, error) for n in numbers]
    record = RequestRecord(None, code, error, len(numbers))
    return BatchOutcome(results, record, stop=error if stop else None)


def _listing(response: httpx.Response, key: str) -> dict[str, Any]:
    """A listing method's body (getPulls, getBlacklist), or the refusal it holds instead."""
    body = _json_object(response)
    if body is None or key not in body:
        status = body.get("status") if body else None
        raise ProviderError(
            _refusal(_int(status) or 0, str(body.get("statusText", "")) if body else "")
        )
    return body


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    if isinstance(value, float):
        return int(value)
    return None


def _invalid_numbers(raw: object) -> set[str]:
    """``invalidNumbers``: a string joined by ';' or ',' (spec §10.5); a list is tolerated."""
    if isinstance(raw, list):
        items = [str(x) for x in raw]
    elif isinstance(raw, str):
        items = raw.replace(",", ";").split(";")
    else:
        return set()
    return {item.strip().lstrip("+") for item in items if item.strip()}


PROVIDER: Final = Registration(
    NAME, CAPABILITIES, AllMySms.from_dsn, options=frozenset({"batch_size"})
)
