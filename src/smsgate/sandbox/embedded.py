"""The sandbox inside the caller's process, for ``sandbox://``: real HTTP semantics, no socket.

The gateway loads this module by name. A synchronous httpx client cannot call an ASGI app by
itself (httpx ships only an async ASGI transport), so :class:`BlockingASGITransport` runs the
app on an event loop in a daemon thread. It emulates AllMySMS only, the provider its DSN
names, so no other emulator is loaded.

Its state lasts in ``sandbox-embedded.db`` in the folder the gateway names (:func:`keep_in`),
so a later command finds what an earlier one sent: a held send to cancel, receipts that fell
due meanwhile. It is written after every request, since the process may end right after one.
"""

from __future__ import annotations

import asyncio
import atexit
import sqlite3
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from starlette.applications import Starlette

from smsgate.core.errors import ConfigurationError
from smsgate.sandbox import allmysms
from smsgate.sandbox.allmysms.accounts import DEMO_API_KEY, DEMO_LOGIN
from smsgate.sandbox.app import build_app
from smsgate.sandbox.keep import EMBEDDED_FILE, Keep, SqliteKeep
from smsgate.sandbox.state import SandboxState

DSN: Final = f"allmysms+http://{DEMO_LOGIN}:{DEMO_API_KEY}@sandbox.smsgate.invalid"

T = TypeVar("T")
_lock = threading.RLock()
_app: Starlette | None = None
_folder: Path | None = None


def keep_in(folder: Path | None) -> None:
    """Where the embedded sandbox keeps its state (None: in memory only). Said before its
    first use; the process's one sandbox keeps the place it started with."""
    global _folder
    with _lock:
        if _app is None:
            _folder = folder


def _keep() -> Keep:
    if _folder is None:
        return Keep()
    path = _folder / EMBEDDED_FILE
    try:
        return SqliteKeep(path)
    except (OSError, sqlite3.Error) as error:
        raise ConfigurationError(
            f"the embedded sandbox cannot keep its state in {str(path)!r} ({error}): set "
            "SMSGATE_DATA_DIR to a folder you can write to, or use sandbox://?ephemeral=true"
        ) from None


def app() -> Starlette:
    """The process's one embedded sandbox, so repeated sends share accounts and inbox; what
    an earlier process left pending goes on from here."""
    global _app
    with _lock:
        if _app is None:
            state = SandboxState(_keep(), emulators=(allmysms.EMULATOR,))
            _app = build_app(state)
            _loop().call(_resume(state))
            atexit.register(_close, state)
        return _app


async def _resume(state: SandboxState) -> None:
    state.resume()


async def _flush(state: SandboxState) -> None:
    state.keep.flush()


def _close(state: SandboxState) -> None:
    """At exit: what the receipts changed since the last request is written too."""
    try:
        _loop().call(_flush(state), timeout=5)
    except (RuntimeError, TimeoutError):
        state.keep.flush()


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

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


_loop_thread: _LoopThread | None = None


def _loop() -> _LoopThread:
    global _loop_thread
    with _lock:
        if _loop_thread is None:
            _loop_thread = _LoopThread()
        return _loop_thread


class _KeepingASGITransport(httpx.ASGITransport):
    """httpx's ASGI transport, writing what the request changed before it answers."""

    def __init__(self, asgi_app: Starlette) -> None:
        super().__init__(app=asgi_app)
        self._keep: Keep = asgi_app.state.sandbox.keep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self._keep.flush()
        return response


class BlockingASGITransport(httpx.BaseTransport):
    def __init__(self, asgi_app: Starlette) -> None:
        self._asgi = _KeepingASGITransport(asgi_app)

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
    return _KeepingASGITransport(app())
