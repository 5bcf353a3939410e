"""AllMySMS answers in JSON or XML (spec §2, §10.16)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from starlette.responses import Response

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

_ITEM_NAMES: Final = {"smsIds": "sms", "acks": "ack", "mos": "mo"}


def answer(body: dict[str, Any], fmt: str) -> Response:
    if fmt == "xml":
        return Response(to_xml(body), media_type="application/xml")
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
    )


def to_xml(body: dict[str, Any]) -> bytes:
    # Imported here: JSON is the usual answer, and a sandbox:// send should not pay for XML.
    import xml.etree.ElementTree as ET

    root = ET.Element("response")
    for key, value in body.items():
        _append(root, key, value)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode").encode()
    )


def _append(parent: ET.Element, name: str, value: Any) -> None:
    import xml.etree.ElementTree as ET

    element = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _append(element, _ITEM_NAMES.get(name, "entry"), item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _append(element, key, inner)
    else:
        element.text = "" if value is None else str(value)
