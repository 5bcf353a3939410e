"""The benchmark's no-op action: the sailor's own cost is all that remains."""

from __future__ import annotations

from typing import Any

from smsgate.sailor.context import ExecutionContext


async def process(
    ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
) -> dict[str, Any]:
    return {"body": msg["body"]}
