"""What goes on the AMQP wire besides the bodies: headers and message shapes (spec §5, §7, §9).

Pure functions, so the sailor's loop stays about ordering and acknowledgement.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any, Final

from smsgate.sailor.errors import says_what_to_do
from smsgate.sailor.settings import SailorSettings

META_PREFIX: Final = "x-eio-meta-"
ROUTING_KEY_HEADER: Final = "x-eio-routing-key"
OBJECT_STORAGE_HEADER: Final = "x-ipaas-object-storage-id"
ERROR_RESPONSE_HEADER: Final = "x-eio-error-response"
REBOUND_LIMIT_EXCEEDED: Final = "Rebound limit exceeded"


def use_platform_field_types() -> None:
    """Encode header values with the AMQP types the platform's Node.js sailors can read.

    pamqp picks unsigned types ('u', 'i') for 32768..65535 and 2^31..2^32-1, which RabbitMQ's
    own table types and amqplib (the Node.js sailor's client) do not have: the next step fails
    on every delivery ("Unexpected type tag"). And it writes a Python float as a 32-bit 'f',
    so 0.1 arrives as 0.10000000149. amqplib writes integers as b/s/I/l (signed) and numbers
    with a fraction as 'd' (64-bit); this makes pamqp do the same. pamqp's own switch gives the
    signed integers; the float rule wraps its value encoder (field tables and arrays call it by
    module name). Process-wide and idempotent: every table this process writes is one a Node.js
    step can read.
    """
    from pamqp import encode

    encode.support_deprecated_rabbitmq(True)
    if getattr(encode.encode_table_value, "_smsgate_platform", False):
        return
    pamqp_value = encode.encode_table_value

    def platform_value(value: Any) -> bytes:
        if isinstance(value, float):
            return b"d" + encode.double(value)
        return pamqp_value(value)

    platform_value._smsgate_platform = True  # type: ignore[attr-defined]
    encode.encode_table_value = platform_value


def now_ms() -> int:
    return int(time.time() * 1000)


def new_uuid() -> str:
    return str(uuid.uuid4())


def protocol_version(headers: Mapping[str, Any]) -> int:
    """The incoming protocolVersion header; absent or not a number means 1."""
    try:
        return int(headers.get("protocolVersion", 1))
    except (TypeError, ValueError):
        return 1


def rebound_iteration(headers: Mapping[str, Any]) -> int:
    """n for the next rebound: the incoming reboundIteration + 1, or 1."""
    try:
        return int(headers["reboundIteration"]) + 1
    except (KeyError, TypeError, ValueError):
        return 1


def base_headers(
    settings: SailorSettings, incoming: Mapping[str, Any], start_ms: int
) -> dict[str, Any]:
    """Headers every message published for one incoming message carries (spec §7)."""
    headers: dict[str, Any] = {
        name.lower(): value
        for name, value in incoming.items()
        if name.lower().startswith(META_PREFIX)
    }
    if "reply_to" in incoming:
        headers["reply_to"] = incoming["reply_to"]
    headers["threadId"] = (
        incoming.get("threadId") or incoming.get(f"{META_PREFIX}trace-id") or new_uuid()
    )
    if "messageId" in incoming:
        headers["parentMessageId"] = incoming["messageId"]
    headers.update(settings.identity.headers())
    headers["start"] = start_ms
    headers.update(settings.additional_headers)
    return headers


def message_shape(emitted: Any) -> dict[str, Any]:
    """An emitted data object as a platform message: id, attachments, body, headers, metadata."""
    if not isinstance(emitted, Mapping):
        emitted = {"body": emitted}
    message = dict(emitted)
    message.setdefault("id", new_uuid())
    message.setdefault("attachments", {})
    message.setdefault("body", {})
    message.setdefault("metadata", {})
    message["headers"] = dict(message.get("headers") or {})
    return message


def pop_routing_key(message: dict[str, Any]) -> str | None:
    """Take x-eio-routing-key (any case) out of the emitted message's headers."""
    headers: dict[str, Any] = message["headers"]
    for name in list(headers):
        if name.lower() == ROUTING_KEY_HEADER:
            return str(headers.pop(name))
    return None


def error_object(error: BaseException | str) -> dict[str, str]:
    """The platform's error shape: name, message, stack."""
    if isinstance(error, BaseException) and says_what_to_do(error):
        # Ours say what is wrong and what to do; a stack would only bury that line.
        stack = f"{type(error).__name__}: {error}"
        return {"name": type(error).__name__, "message": str(error), "stack": stack}
    if isinstance(error, BaseException):
        stack = "".join(traceback.format_exception(error)).strip()
        return {"name": type(error).__name__, "message": str(error), "stack": stack}
    return {"name": "Error", "message": str(error), "stack": "Not Available"}
