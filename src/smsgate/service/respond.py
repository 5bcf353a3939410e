"""The bare ASGI layers' (webhooks, the API guard) reading and answering: a body read only
up to a limit, a JSON answer straight on the channel."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Send


async def answer(send: Send, status: int, payload: dict[str, Any]) -> None:
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


async def read_bounded(headers: dict[bytes, bytes], receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to be over ``limit`` bytes."""
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
