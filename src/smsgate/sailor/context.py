"""What a component function sees: ``process(ctx, msg, cfg, snapshot)`` and ``ctx.emit``.

The JS contract (spec §4) in Python. A function returns its result: a truthy value is emitted
as data, then the sailor emits end; raising emits error, then end. Python cannot tell "returned
nothing" from "returned None", so [E] the sailor always ends the message after ``process``
returns unless the function emitted end itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, TypeVar

EVENTS: Final = frozenset(
    {"data", "error", "rebound", "snapshot", "updateSnapshot", "updateKeys", "httpReply", "end"}
)

T = TypeVar("T")


class SharedResources:
    """Things a component keeps across messages of one process (HTTP clients, say).

    The sailor closes them on shutdown: anything with an ``aclose`` coroutine is awaited.
    """

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}

    def get(self, key: str, factory: Callable[[], T]) -> T:
        if key not in self._items:
            self._items[key] = factory()
        item: T = self._items[key]
        return item

    async def aclose(self) -> None:
        items, self._items = list(self._items.values()), {}
        for item in items:
            close = getattr(item, "aclose", None)
            if close is not None:
                await close()


class ExecutionContext:
    """One incoming message's context: emit events, log, reach shared resources."""

    def __init__(
        self,
        emit: Callable[[str, Any], Awaitable[None]],
        shared: SharedResources,
        logger: logging.Logger,
    ) -> None:
        self._emit = emit
        self.shared = shared
        self.logger = logger

    async def emit(self, event: str, payload: Any = None) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: emit one of {', '.join(sorted(EVENTS))}")
        await self._emit(event, payload)


class ProcessFunction(Protocol):
    def __call__(
        self, ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
    ) -> Awaitable[Any]: ...
