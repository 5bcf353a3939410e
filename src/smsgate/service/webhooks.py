"""Provider webhooks as a bare ASGI app: receipts come by the thousand.

Written by hand over the ASGI messages rather than with Starlette's Router and Request: a
webhook needs its path, query and url-encoded body and nothing else, and going without those
layers takes about a quarter off the service's CPU per receipt (bench/receipts.py). The rare
multipart body still goes through Starlette's parser.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from smsgate.service.auth import basic_password

PREFIX: Final = "/webhooks/"
METHODS: Final = ("GET", "POST")

WebhookHandler = Callable[[str, str, dict[str, str]], Awaitable[tuple[int, dict[str, Any]]]]
"""(provider, secret, fields) -> (HTTP status, JSON answer)."""


class WebhookApp:
    """``GET|POST /webhooks/{provider}[/{secret}]``; without a secret in the path, the
    password of HTTP basic auth is the secret."""

    def __init__(self, handle: WebhookHandler) -> None:
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"][len(PREFIX) :].split("/")
        if not 1 <= len(parts) <= 2 or not parts[0]:
            await _answer(send, 404, {"error": "not found: use /webhooks/{provider}/{secret}"})
            return
        if scope["method"] not in METHODS:
            await _answer(send, 405, {"error": "a webhook takes GET or POST"})
            return
        headers = dict(scope["headers"])
        secret = parts[1] if len(parts) == 2 and parts[1] else ""
        if not secret:
            secret = basic_password(headers.get(b"authorization", b"").decode("latin-1"))
        fields = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        if scope["method"] == "POST":
            fields.update(await _form(scope, headers, await _body(receive)))
        status, payload = await self.handle(parts[0], secret, fields)
        await _answer(send, status, payload)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _form(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> dict[str, str]:
    kind = headers.get(b"content-type", b"").decode("latin-1")
    if kind.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if kind.startswith("application/json"):  # Messangi's callbacks
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {name: _text(value) for name, value in data.items() if value is not None}
    if kind.startswith("multipart/form-data"):

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        form = await Request(scope, replay).form()
        return {name: value for name, value in form.multi_items() if isinstance(value, str)}
    return {}


def _text(value: object) -> str:
    """JSON values as the strings a form would carry (true, 12, 1.5, [..] as JSON)."""
    return value if isinstance(value, str) else json.dumps(value)


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
