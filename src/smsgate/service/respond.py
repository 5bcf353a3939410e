"""A JSON answer straight on the ASGI channel, for the bare layers (webhooks, the guard)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send


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
