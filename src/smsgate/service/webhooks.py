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
from smsgate.service.respond import answer, read_bounded

PREFIX: Final = "/webhooks/"
METHODS: Final = ("GET", "POST")

WebhookHandler = Callable[[str, str, dict[str, str]], Awaitable[tuple[int, dict[str, Any]]]]
"""(provider, secret, fields) -> (HTTP status, JSON answer)."""
MAX_BODY: Final = 64 * 1024
"""A receipt or a reply is a few hundred bytes; anything over this is refused (413) unread."""


class WebhookApp:
    """``GET|POST /webhooks/{provider}[/{secret}]``; without a secret in the path, the
    password of HTTP basic auth is the secret."""

    def __init__(
        self, handle: WebhookHandler, authorise: Callable[[str], bool], max_body: int = MAX_BODY
    ) -> None:
        self.handle = handle
        self.authorise = authorise
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"][len(PREFIX) :].split("/")
        if not 1 <= len(parts) <= 2 or not parts[0]:
            await answer(send, 404, {"error": "not found: use /webhooks/{provider}/{secret}"})
            return
        if scope["method"] not in METHODS:
            await answer(send, 405, {"error": "a webhook takes GET or POST"})
            return
        headers = dict(scope["headers"])
        secret = parts[1] if len(parts) == 2 and parts[1] else ""
        if not secret:
            secret = basic_password(headers.get(b"authorization", b"").decode("latin-1"))
        if not self.authorise(secret):  # before a byte of the body is read
            await answer(send, 401, {"error": "unknown webhook secret"})
            return
        fields = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        if scope["method"] == "POST":
            body = await read_bounded(headers, receive, self.max_body)
            if body is None:
                limit = f"{self.max_body // 1024} KiB"
                await answer(send, 413, {"error": f"a webhook body is at most {limit}"})
                return
            form = await _form(scope, headers, body)
            if form is None:
                await answer(send, 400, {"error": "the body is not a readable form or JSON"})
                return
            fields.update(form)
        status, payload = await self.handle(parts[0], secret, fields)
        await answer(send, status, payload)


async def _form(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> dict[str, str] | None:
    """The body's fields; None when it cannot be read (hostile or broken), {} for none."""
    kind = headers.get(b"content-type", b"").decode("latin-1")
    if kind.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if kind.startswith("application/json"):  # Messangi's callbacks
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(data, dict):
            return {}
        return {name: _text(value) for name, value in data.items() if value is not None}
    if kind.startswith("multipart/form-data"):

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        try:  # no boundary, too many fields or parts: Starlette's parser refuses them
            form = await Request(scope, replay).form(max_files=10, max_fields=100)
        except Exception:
            return None
        return {name: value for name, value in form.multi_items() if isinstance(value, str)}
    return {}


def _text(value: object) -> str:
    """JSON values as the strings a form would carry (true, 12, 1.5, [..] as JSON)."""
    return value if isinstance(value, str) else json.dumps(value)
