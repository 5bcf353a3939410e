"""The AllMySMS v9.0 methods: sendSms, simulateCampaign, getInfo at ``/http/9.0/<method>[/]``.

Validation order, codes and shapes follow spec §4-§5 and §10; every [E] choice is here.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgate.core.text import Segmentation, segment
from smsgate.sandbox.allmysms import numbers
from smsgate.sandbox.allmysms.accounts import Account
from smsgate.sandbox.allmysms.events import Campaign
from smsgate.sandbox.allmysms.flow import Flow, FlowError, looks_like_json, parse_flow
from smsgate.sandbox.allmysms.ids import new_sms_ids
from smsgate.sandbox.allmysms.render import answer
from smsgate.sandbox.allmysms.state import AllMySmsState
from smsgate.sandbox.faults import around
from smsgate.sandbox.inbox import InboxMessage, received_now

PROVIDER: Final = "allmysms"
FORM_URLENCODED: Final = "application/x-www-form-urlencoded"
CREDITS_PER_PART: Final = 15  # spec §6, every destination [E]
MAX_TEXT_CHARS: Final = 640  # status 111; counted in code points [E]
SHORT_CODE: Final = "36180"
PARIS: Final = ZoneInfo("Europe/Paris")
_SENDER: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}")
_STOP_MENTION: Final = re.compile(r"stop au 36180", re.IGNORECASE)
_PLACEHOLDER: Final = re.compile(r"#param_(\d+)#", re.IGNORECASE)
# [E] 117 "link too long": any http(s):// or www. link over 80 characters, checked with the
# text (§4.5 gives the limit; §10.4 of the spec predates our issue asking for this code).
_LINK: Final = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MAX_LINK_CHARS: Final = 80

STATUS_TEXT: Final = {
    100: "Le message a été envoyé",
    101: "Le message a été programmé pour un envoi différé",
    102: "No account matches this login and API key",
    103: "Crédit SMS épuisé. Veuillez recharger votre compte sur AllMySMS.com",
    104: "Crédit insuffisant pour traiter cet envoi",
    105: "Flux vide",
    106: "Flux invalide ou incomplet",
    108: "Le code CLIENT du flux n'est pas le bon",
    110: "Message non défini (vide) dans le flux",
    111: "Le message dépasse 640 caractères",
    113: "Certains numéros de téléphone sont invalides ou non pris en charge",
    114: "Aucun numéro de téléphone valide dans le flux",
    115: "Flux invalide ou date mal formatée",
    117: "Le lien est trop long (plus de 80 caractères)",
    118: "Le compte maître spécifié n'existe pas",
}


class Refusal(Exception):
    def __init__(self, code: int, text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or STATUS_TEXT[code]

    def body(self) -> dict[str, Any]:
        return {"status": self.code, "statusText": self.text}


@dataclass
class Call:
    """One API call: its merged parameters, the account it authenticated, its answer format."""

    params: dict[str, str]
    fmt: str
    method: str = ""
    """The API method called (what faults and the account view name it)."""

    def get(self, name: str) -> str:
        return self.params.get(name, "")


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method != "POST":
        return params
    if request.headers.get("content-type", "").startswith(FORM_URLENCODED):
        # The form every client sends, read by the standard library: Starlette's streaming
        # parser (made for multipart) was a fifth of the emulator's CPU per request.
        body = (await request.body()).decode("utf-8", "replace")
        params.update(parse_qsl(body, keep_blank_values=True))
        return params
    form: FormData = await request.form()
    params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _format(params: dict[str, str], simple: bool = False) -> str:
    """[E] returnformat wins (any case); without it JSON smsData, or the simplified send
    (§2: its public clients read JSON), answers JSON, else XML."""
    fmt = params.get("returnformat", "").strip().lower()
    if fmt in ("json", "xml"):
        return fmt
    return "json" if simple or looks_like_json(params.get("smsData", "")) else "xml"


def _authenticate(state: AllMySmsState, call: Call) -> Account:
    login = call.get("login") or call.get("clientcode")
    account = state.accounts.authenticate(login, call.get("apiKey"))
    if account is None:
        raise Refusal(102)
    state.calls.record(PROVIDER, account.login, call.method)
    return account


@dataclass
class Prepared:
    """A validated flow: each recipient with its personalised text and cost."""

    valid: list[tuple[str, str, int, str]]  # number, text, parts, encoding
    invalid: list[str]
    scheduled_at: datetime | None
    cost: int


def _personalise(message: str, params: dict[int, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: params.get(int(m.group(1)), ""), message)


def _parse_date(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=PARIS)
    except ValueError:
        raise Refusal(115) from None


def _prepare(state: AllMySmsState, account: Account, call: Call) -> tuple[Flow, Prepared]:
    raw = call.get("smsData")
    if not raw.strip():
        raise Refusal(105)
    try:
        flow = parse_flow(raw)
    except FlowError:
        raise Refusal(106) from None
    client = flow.get("CLIENT")
    if client and client != account.login.upper():
        raise Refusal(108)
    message = flow.get("MESSAGE")
    if not message.strip():
        raise Refusal(110)
    texts = [_personalise(message, sms.params) for sms in flow.sms]
    if any(len(text) > MAX_TEXT_CHARS for text in texts):
        raise Refusal(111)
    if any(len(link) > MAX_LINK_CHARS for text in texts for link in _LINK.findall(text)):
        raise Refusal(117)
    scheduled_at = _parse_date(flow.get("DATE"))
    master = flow.get("MASTERACCOUNT")
    if master and not state.accounts.exists(master):
        raise Refusal(118)
    valid: list[tuple[str, str, int, str]] = []
    invalid: list[str] = []
    blacklist = state.events.blacklist
    segments: dict[str, Segmentation] = {}  # a campaign's texts are mostly one text
    for sms, text in zip(flow.sms, texts, strict=True):
        number = numbers.international(sms.mobile)
        stopped = blacklist.get(number) if number else None  # each account's own blacklist
        if number is None or (stopped is not None and stopped.login == account.login):
            invalid.append(sms.mobile)
            continue
        seg = segments.get(text) or segments.setdefault(text, segment(text))
        valid.append((number, text, seg.count, seg.encoding.value))
    if not valid:
        raise Refusal(114)
    cost = CREDITS_PER_PART * sum(parts for _, _, parts, _ in valid)
    if account.credits <= 0:
        raise Refusal(103)
    if account.credits < cost:
        raise Refusal(
            104,
            f"{STATUS_TEXT[104]} (to use: {cost} credits, available: {account.credits} credits)",
        )
    return flow, Prepared(valid, invalid, scheduled_at, cost)


def _sender_shown(requested: str, number: str, text: str) -> str:
    """[E] §10.9: a valid TPOA shows, except to French numbers without 'STOP au 36180'."""
    if not _SENDER.fullmatch(requested):
        return SHORT_CODE
    if numbers.is_french(number) and not _STOP_MENTION.search(text):
        return SHORT_CODE
    return requested


def _campaign_id() -> str:
    return f"ap_{secrets.randbelow(10**10):010d}"


def send_sms(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    flow, prepared = _prepare(state, account, call)
    now = datetime.now(PARIS)
    held = prepared.scheduled_at is not None and prepared.scheduled_at > now
    with state.accounts.lock:
        if account.credits < prepared.cost:  # a concurrent send spent it meanwhile
            raise Refusal(104)
        account.credits -= prepared.cost
        balance = account.credits
    campaign = _campaign_id()
    requested = flow.get("TPOA")
    ids = iter(new_sms_ids(len(prepared.valid)))
    received = received_now()
    records = [
        InboxMessage(
            id=next(ids),
            received_at=received,
            provider=PROVIDER,
            account=account.login,
            campaign_id=campaign,
            to=number,
            text=text,
            sender_requested=requested or None,
            sender_shown=_sender_shown(requested, number, text),
            encoding=encoding,
            parts=parts,
            credits=CREDITS_PER_PART * parts,
            status="scheduled" if held else "sent",
            scheduled_at=prepared.scheduled_at.isoformat() if prepared.scheduled_at else None,
            client_message_id=flow.get("CLIMSGID") or None,
            flash=flow.get("FLASH") == "1",
            tag=flow.get("CAMPAIGN_NAME") or None,
        )
        for number, text, parts, encoding in prepared.valid
    ]
    state.inbox.add(records)
    state.events.accepted(
        Campaign(
            id=campaign,
            login=account.login,
            client_message_id=flow.get("CLIMSGID"),
            messages=records,
            held_until=prepared.scheduled_at if held else None,
            credits=prepared.cost,
        )
    )
    code = 113 if prepared.invalid else (101 if held else 100)
    return {
        "status": code,
        "statusText": STATUS_TEXT[code],
        "invalidNumbers": ";".join(prepared.invalid),
        "campaignId": campaign,
        "credits": str(balance),
        "creditsUsed": str(prepared.cost),
        "nbContacts": str(len(records)),
        "nbSms": str(sum(r.parts for r in records)),
        "smsIds": [{"phoneNumber": r.to, "smsId": r.id} for r in records],
    }


SIMPLE_FIELDS: Final = {"message": "MESSAGE", "tpoa": "TPOA", "date": "DATE", "flash": "FLASH"}


def simple_send(state: AllMySmsState, call: Call) -> dict[str, Any]:
    """The simplified send at the method root (spec §4.3): form fields instead of smsData,
    the same validation, charging, inbox and receipts as sendSms [E], a shorter answer."""
    data: dict[str, Any] = {key: call.get(name) for name, key in SIMPLE_FIELDS.items()}
    if call.get("campaign"):
        data["CAMPAIGN_NAME"] = call.get("campaign")
    mobiles = [m for m in call.get("mobile").split(";") if m.strip()]
    data["SMS"] = [{"MOBILEPHONE": m.strip()} for m in mobiles]
    flow = Call({**call.params, "smsData": json.dumps({"DATA": data})}, call.fmt, call.method)
    answer = send_sms(state, flow)
    keys = ("status", "statusText", "invalidNumbers", "campaignId", "credits")
    return {key: answer[key] for key in keys}


def simulate_campaign(state: AllMySmsState, call: Call) -> dict[str, Any]:
    """[E] the same validation as sendSms, credit included; nothing is sent or charged."""
    account = _authenticate(state, call)
    _, prepared = _prepare(state, account, call)
    code = 113 if prepared.invalid else 100
    return {
        "status": code,
        "statusText": STATUS_TEXT[code],
        "invalidNumbers": ";".join(prepared.invalid),
        "nbCredits": prepared.cost,
        "nbContacts": len(prepared.valid),
        "nbSms": sum(parts for _, _, parts, _ in prepared.valid),
    }


def get_info(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    return {
        "status": "Active Account",
        "credits": str(account.credits),
        "apiKey": account.api_key,
        "lastName": account.last_name,
        "firstName": account.first_name,
        "society": account.society,
        "email": account.email,
    }


def get_acks(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    return state.events.acks_of(account.login, call.get("campId"))


def get_ack_by_sms_id(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    return state.events.ack_by_sms_id(account.login, call.get("smsId"))


def get_pulls(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    limit = call.get("limit")
    return state.events.pulls(account.login, int(limit) if limit.isdigit() else 1000)


def get_blacklist(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    return state.events.blacklist_of(account.login)


def get_pull(state: AllMySmsState, call: Call) -> dict[str, Any]:
    account = _authenticate(state, call)
    return state.events.pull_of(account.login, call.get("campId"))


def delete_campaign(state: AllMySmsState, call: Call) -> dict[str, Any]:
    """[E] §10.15: a held campaign is cancelled and its credits refunded."""
    account = _authenticate(state, call)
    campaign = state.events.cancel(account.login, call.get("campId"))
    if campaign is None:
        return {"status": "KO", "statusText": "Campaign not found or already sent"}
    with state.accounts.lock:
        account.credits += campaign.credits
    return {"status": "OK"}


METHODS: Final[dict[str, Callable[[AllMySmsState, Call], dict[str, Any]]]] = {
    "sendSms": send_sms,
    "simulateCampaign": simulate_campaign,
    "getInfo": get_info,
    "getAcks": get_acks,
    "getAckBySmsId": get_ack_by_sms_id,
    "getPulls": get_pulls,
    "getPull": get_pull,
    "deleteCampaign": delete_campaign,
    "getBlacklist": get_blacklist,
}


SIMPLE_SEND: Final = "simpleSend"
"""What faults call the simplified send at the method root (§4.3)."""


def routes(state: AllMySmsState) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        method = request.path_params.get("method")  # none: the method root, §4.3
        handler = simple_send if method is None else METHODS.get(method)
        if handler is None:
            return Response(status_code=404)  # [E] §10.2
        name = method or SIMPLE_SEND
        params = await _params(request)
        call = Call(params, _format(params, simple=method is None), name)

        async def handle() -> Response:
            try:
                body = handler(state, call)
            except Refusal as refusal:
                body = refusal.body()
            return answer(body, call.fmt)

        def canned(body: dict[str, object]) -> Response:
            return answer(body, call.fmt)

        login = call.get("login")  # as claimed: chaos comes before the check
        return await around(
            state.faults, name, handle, _fault_response, canned, provider=PROVIDER, account=login
        )

    methods = ["GET", "POST"]
    return [
        Route(path, endpoint, methods=methods)
        for path in ("/http/9.0", "/http/9.0/", "/http/9.0/{method}", "/http/9.0/{method}/")
    ]


def _fault_response(status: int, retry_after: str | None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    return Response(f"sandbox fault: HTTP {status}", status_code=status, headers=headers)
