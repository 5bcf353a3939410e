"""Reading ``smsData`` as AllMySMS does: a JSON or XML flow with a DATA root.

Keys are matched case-insensitively; SMS may be one object or a list (spec §10.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class FlowError(ValueError):
    """Unreadable flow (status 106)."""


@dataclass
class FlowSms:
    mobile: str
    params: dict[int, str] = field(default_factory=dict)


@dataclass
class Flow:
    fields: dict[str, str]
    sms: list[FlowSms]

    def get(self, key: str) -> str:
        return self.fields.get(key, "")


def looks_like_json(raw: str) -> bool:
    return raw.lstrip().startswith("{")


def parse_flow(raw: str) -> Flow:
    return _parse_json(raw) if looks_like_json(raw) else _parse_xml(raw)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _sms_entry(entry: dict[str, Any]) -> FlowSms:
    if len(entry) == 1:  # a number alone, as a campaign without parameters gives each
        ((key, value),) = entry.items()
        if str(key).upper() == "MOBILEPHONE":
            return FlowSms(_scalar(value), {})
    upper = {str(k).upper(): v for k, v in entry.items()}
    params = {
        int(k[6:]): _scalar(v)
        for k, v in upper.items()
        if k.startswith("PARAM_") and k[6:].isdigit()
    }
    return FlowSms(_scalar(upper.get("MOBILEPHONE")), params)


def _parse_json(raw: str) -> Flow:
    try:
        doc = json.loads(raw)
    except ValueError as error:
        raise FlowError(f"JSON: {error}") from None
    if not isinstance(doc, dict):
        raise FlowError("no DATA root")
    data = next((v for k, v in doc.items() if str(k).upper() == "DATA"), None)
    if not isinstance(data, dict):
        raise FlowError("no DATA root")
    fields: dict[str, str] = {}
    sms: list[FlowSms] = []
    for key, value in data.items():
        name = str(key).upper()
        if name == "SMS":
            entries = value if isinstance(value, list) else [value]
            sms.extend(_sms_entry(e) for e in entries if isinstance(e, dict))
        else:
            fields[name] = _scalar(value)
    return Flow(fields, sms)


def _parse_xml(raw: str) -> Flow:
    # The sandbox listens on loopback for its own tests; ElementTree rejects external entities.
    # Imported here: JSON is the usual body, and a sandbox:// send should not pay for XML.
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(raw.strip())  # noqa: S314
    except ET.ParseError as error:
        raise FlowError(f"XML: {error}") from None
    if root.tag.upper() != "DATA":
        raise FlowError("no DATA root")
    fields: dict[str, str] = {}
    sms: list[FlowSms] = []
    for child in root:
        name = child.tag.upper()
        if name == "SMS":
            sms.append(_sms_entry({c.tag: (c.text or "").strip() for c in child}))
        else:
            fields[name] = child.text or ""
    return Flow(fields, sms)
