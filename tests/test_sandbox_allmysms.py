"""The AllMySMS emulator, spoken to as the real API is (spec allmysms.md §2-§5, §10)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.sandbox.allmysms.flow import parse_flow
from smsgate.sandbox.allmysms.numbers import international
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import add_account, inbox

AUTH = {"login": "demo", "apiKey": "demo"}


def flow(message: str = "Hi", numbers: tuple[str, ...] = ("33612345678",), **extra: object) -> str:
    data: dict[str, object] = {"MESSAGE": message, **extra}
    data["SMS"] = [{"MOBILEPHONE": n} for n in numbers]
    return json.dumps({"DATA": data})


def call(sandbox: BackgroundSandbox, method: str, **params: str) -> dict[str, Any]:
    response = httpx.post(f"{sandbox.url}/http/9.0/{method}/", data={**AUTH, **params})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_json_flow_by_form_post(sandbox: BackgroundSandbox) -> None:
    body = call(sandbox, "sendSms", smsData=flow(), returnformat="json")
    assert body["status"] == 100 and body["invalidNumbers"] == ""
    assert body["campaignId"].startswith("ap_") and len(body["campaignId"]) == 13
    assert (body["credits"], body["creditsUsed"], body["nbContacts"], body["nbSms"]) == (
        "14985",
        "15",
        "1",
        "1",
    )
    assert body["smsIds"][0]["phoneNumber"] == "33612345678"


def test_xml_flow_by_get_with_the_default_xml_answer(sandbox: BackgroundSandbox) -> None:
    xml = (
        "<DATA><MESSAGE><![CDATA[Bonjour STOP au 36180]]></MESSAGE><TPOA>Acme</TPOA>"
        "<SMS><MOBILEPHONE>0612345678</MOBILEPHONE></SMS></DATA>"
    )
    response = httpx.get(f"{sandbox.url}/http/9.0/sendSms", params={**AUTH, "smsData": xml})
    root = ET.fromstring(response.text)  # noqa: S314
    assert root.tag == "response" and root.findtext("status") == "100"
    assert root.find("smsIds/sms/phoneNumber") is not None
    message = inbox(sandbox)[0]
    assert message["to"] == "33612345678" and message["sender_shown"] == "Acme"


def test_multipart_post_and_clientcode_alias(sandbox: BackgroundSandbox) -> None:
    fields = {"clientcode": "demo", "apiKey": "demo", "smsData": flow(), "returnformat": "JSON"}
    response = httpx.post(
        f"{sandbox.url}/http/9.0/sendSms", files={k: (None, v) for k, v in fields.items()}
    )
    assert response.json()["status"] == 100


def test_personalised_flow_with_placeholders(sandbox: BackgroundSandbox) -> None:
    data = {
        "DATA": {
            "message": "Hi #param_1#, code #PARAM_2#",
            "dynamic": 2,
            "SMS": {"MOBILEPHONE": "+33612345678", "PARAM_1": "Ann"},
        }
    }
    body = call(sandbox, "sendSms", smsData=json.dumps(data), returnformat="json")
    assert body["status"] == 100
    assert inbox(sandbox)[0]["text"] == "Hi Ann, code "


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"apiKey": "nope"}, 102),
        ({"smsData": "  "}, 105),
        ({"smsData": "{not json"}, 106),
        ({"smsData": "<OTHER/>"}, 106),
        ({"smsData": flow(CLIENT="SOMEONE")}, 108),
        ({"smsData": flow(message="")}, 110),
        ({"smsData": flow(message="a" * 641)}, 111),
        ({"smsData": flow(message="See https://example.com/" + "x" * 61)}, 117),
        ({"smsData": flow(DATE="tomorrow")}, 115),
        ({"smsData": flow(MASTERACCOUNT="ghost")}, 118),
        ({"smsData": flow(numbers=("123", "abc"))}, 114),
    ],
)
def test_each_refusal_code(sandbox: BackgroundSandbox, params: dict[str, str], code: int) -> None:
    body = call(sandbox, "sendSms", **{"smsData": flow(), "returnformat": "json", **params})
    assert body["status"] == code and body["statusText"]
    assert set(body) == {"status", "statusText"}
    assert inbox(sandbox) == []


def test_a_link_of_80_characters_is_fine(sandbox: BackgroundSandbox) -> None:
    link = "https://example.com/" + "x" * 60
    assert call(sandbox, "sendSms", smsData=flow(message=f"See {link}"))["status"] == 100


def test_credit_codes(sandbox: BackgroundSandbox) -> None:
    add_account(sandbox, "zero", "z", 0)
    add_account(sandbox, "low", "l", 29)
    base = f"{sandbox.url}/http/9.0/sendSms/"
    two = flow(numbers=("33612345678", "33698765432"))
    zero = httpx.post(base, data={"login": "zero", "apiKey": "z", "smsData": two}).json()
    low = httpx.post(base, data={"login": "low", "apiKey": "l", "smsData": two}).json()
    assert (zero["status"], low["status"]) == (103, 104)
    assert "to use: 30 credits, available: 29 credits" in low["statusText"]


def test_some_numbers_invalid_is_113_with_the_rest_sent(sandbox: BackgroundSandbox) -> None:
    body = call(sandbox, "sendSms", smsData=flow(numbers=("33612345678", "12")))
    assert body["status"] == 113 and body["invalidNumbers"] == "12"
    assert [s["phoneNumber"] for s in body["smsIds"]] == ["33612345678"]


def test_future_date_is_held_and_101(sandbox: BackgroundSandbox) -> None:
    later = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(hours=2)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert call(sandbox, "sendSms", smsData=flow(DATE=later))["status"] == 101
    assert call(sandbox, "sendSms", smsData=flow(DATE="2020-01-01 10:00:00"))["status"] == 100


def test_simulate_campaign_counts_with_numbers_and_charges_nothing(
    sandbox: BackgroundSandbox,
) -> None:
    body = call(sandbox, "simulateCampaign", smsData=flow("a" * 200), returnformat="json")
    assert body == {
        "status": 100,
        "statusText": body["statusText"],
        "invalidNumbers": "",
        "nbCredits": 30,
        "nbContacts": 1,
        "nbSms": 2,
    }
    assert call(sandbox, "getInfo", returnformat="json")["credits"] == "15000"
    assert inbox(sandbox) == []


def test_get_info_and_unknown_method(sandbox: BackgroundSandbox) -> None:
    info = call(sandbox, "getInfo", returnformat="json")
    assert info["status"] == "Active Account" and info["credits"] == "15000"
    assert httpx.post(f"{sandbox.url}/http/9.0/nope/", data=AUTH).status_code == 404


def test_unicode_parts_and_credits(sandbox: BackgroundSandbox) -> None:
    body = call(sandbox, "sendSms", smsData=flow("ち" * 71), returnformat="json")
    assert body["nbSms"] == "2" and body["creditsUsed"] == "30"
    assert inbox(sandbox)[0]["encoding"] == "UCS-2"


def test_the_simplified_send_at_the_method_root_answers_json(sandbox: BackgroundSandbox) -> None:
    """Spec §4.3 and §2: form fields instead of smsData; without returnformat, JSON (as the
    public clients of this method expect)."""
    params = {
        **AUTH,
        "message": "Hello from the root",
        "mobile": "33612345678;0612345679;not-a-number",
        "tpoa": "Acme",
        "campaign": "root-test",
    }
    for path in ("/http/9.0/", "/http/9.0"):
        response = httpx.post(f"{sandbox.url}{path}", data=params)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"status", "statusText", "invalidNumbers", "campaignId", "credits"}
        assert body["status"] == 113 and body["invalidNumbers"] == "not-a-number"
        assert body["campaignId"].startswith("ap_") and isinstance(body["credits"], str)
    sent = [m for m in inbox(sandbox) if m["text"] == "Hello from the root"]
    assert sorted(str(m["to"]) for m in sent) == ["33612345678"] * 2 + ["33612345679"] * 2
    refused = httpx.post(f"{sandbox.url}/http/9.0/", data={**params, "apiKey": "wrong"}).json()
    assert refused["status"] == 102
    xml = httpx.post(f"{sandbox.url}/http/9.0/", data={**params, "returnformat": "xml"})
    assert xml.text.lstrip().startswith("<")


@settings(max_examples=500)
@given(
    first=st.sampled_from("0123456789"),
    rest=st.text(alphabet="0123456789", min_size=7, max_size=9),
    prefix=st.sampled_from(["", "+", "00"]),
)
def test_the_french_shortcut_agrees_with_phonenumbers(first: str, rest: str, prefix: str) -> None:
    """The emulator spares phonenumbers' parse for 33 + 9 digits: its verdict must be the
    one the parse gives, for those numbers and the ones around them."""
    number = "33" + first + rest
    try:
        possible = phonenumbers.is_possible_number(phonenumbers.parse("+" + number, None))
    except phonenumbers.NumberParseException:
        possible = False
    assert international(prefix + number) == (number if possible else None)


def test_a_stop_reply_blacklists_the_number_for_its_account_only(
    sandbox: BackgroundSandbox,
) -> None:
    """§14: later sends of that account list the number in invalidNumbers; getBlacklist
    names it, with comment 'stop'. Another account's sends are not its business."""
    add_account(sandbox, "other", "o", 1000)
    two = flow(numbers=("33612345678", "33698765432"))
    assert call(sandbox, "sendSms", smsData=two)["status"] == 100
    reply = {"from": "33612345678", "text": "stop"}
    assert httpx.post(f"{sandbox.url}/sandbox/allmysms/replies", json=reply).status_code == 201
    again = call(sandbox, "sendSms", smsData=two)
    assert again["status"] == 113 and again["invalidNumbers"] == "33612345678"
    (listed,) = call(sandbox, "getBlacklist", returnformat="json")["blacklist"]
    assert (listed["phoneNumber"], listed["comment"]) == ("33612345678", "stop")
    base = f"{sandbox.url}/http/9.0/"
    other = {"login": "other", "apiKey": "o"}
    sent = httpx.post(base + "sendSms/", data={**other, "smsData": two}).json()
    assert sent["status"] == 100
    mine = {**other, "returnformat": "json"}
    assert httpx.post(base + "getBlacklist/", data=mine).json() == {"blacklist": []}


@given(
    key=st.sampled_from(["mobilePhone", "MOBILEPHONE", "mobilephone", "Param_1", "param_x"]),
    value=st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none()),
)
def test_an_sms_entry_reads_the_same_alone_or_with_other_keys(key: str, value: object) -> None:
    """A lone key takes a short way through the parser: it must read as the long way reads
    the same entry beside a key the parser ignores."""
    (alone,) = parse_flow(json.dumps({"DATA": {"SMS": [{key: value}]}})).sms
    (beside,) = parse_flow(json.dumps({"DATA": {"SMS": [{key: value, "comment": "x"}]}})).sms
    assert alone == beside
