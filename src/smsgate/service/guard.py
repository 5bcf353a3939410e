"""What every API call passes before FastAPI reads a byte of it: the key, then the size.

FastAPI parses a request's body before its dependencies run, so a wrong key with a broken
body was a 422 and a huge body was read in full before anyone asked who sent it. Here the key
is checked first (401), then the size (413, from Content-Length or while reading, never
buffering more than the limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsgate.service.auth import matches_any
from smsgate.service.respond import answer, read_bounded

GUARDED: Final = "/v1/"


class ApiGuard:
    def __init__(self, app: ASGIApp, api_keys: Sequence[str], max_body: int) -> None:
        self.app = app
        self.api_keys = api_keys
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(GUARDED):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not matches_any(token.strip(), self.api_keys):
            await answer(
                send, 401, {"error": "a valid API key is required: Authorization: Bearer KEY"}
            )
            return
        body = await read_bounded(headers, receive, self.max_body)
        if body is None:
            await answer(send, 413, {"error": self._too_large()})
            return
        # JSON too deeply nested to parse is FastAPI's own 400 ("error parsing the body").
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # what comes after the body: a disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the body is over {self.max_body // 2**20} MiB: send fewer recipients per request"
