"""The sandbox inside the caller's process, for ``sandbox://``: real HTTP semantics, no socket.

The gateway loads this module by name. A synchronous httpx client cannot call an ASGI app by
itself (httpx ships only an async ASGI transport), so :class:`BlockingASGITransport` runs the
app on an event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import httpx
from starlette.applications import Starlette

from smsgate.sandbox.allmysms.accounts import DEMO_API_KEY, DEMO_LOGIN
from smsgate.sandbox.app import build_app
from smsgate.sandbox.state import SandboxState

DSN: Final = f"allmysms+http://{DEMO_LOGIN}:{DEMO_API_KEY}@sandbox.smsgate.invalid"

T = TypeVar("T")
_lock = threading.Lock()
_app: Starlette | None = None


def app() -> Starlette:
    """The process's one embedded sandbox, so repeated sends share accounts and inbox."""
    global _app
    with _lock:
        if _app is None:
            _app = build_app(SandboxState())
        return _app


def state() -> SandboxState:
    sandbox: SandboxState = app().state.sandbox
    return sandbox


class _LoopThread:
    """An event loop on a daemon thread, so an unclosed client never keeps a process alive."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self.loop.run_forever, name="smsgate-embedded-sandbox", daemon=True
        )
        thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


_loop_thread: _LoopThread | None = None


def _loop() -> _LoopThread:
    global _loop_thread
    with _lock:
        if _loop_thread is None:
            _loop_thread = _LoopThread()
        return _loop_thread


class BlockingASGITransport(httpx.BaseTransport):
    def __init__(self, asgi_app: Starlette) -> None:
        self._asgi = httpx.ASGITransport(app=asgi_app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(inner)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return _loop().call(call())


def transport() -> httpx.BaseTransport:
    return BlockingASGITransport(app())


def async_transport() -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=app())
