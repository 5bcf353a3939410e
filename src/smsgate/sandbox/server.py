"""Serving the sandbox over real sockets: in the foreground (CLI) or a background thread."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from smsgate.sandbox.app import build_app
from smsgate.sandbox.state import SandboxState


def _config(state: SandboxState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        build_app(state),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
    )


def serve(state: SandboxState, host: str = "127.0.0.1", port: int = 8025) -> None:
    uvicorn.Server(_config(state, host, port)).run()


class BackgroundSandbox:
    """A sandbox on a free loopback port, for tests and benchmarks: ``with BackgroundSandbox():``"""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1") -> None:
        self.state = state or SandboxState()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(_config(self.state, self.host, self.port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def dsn(self, login: str = "demo", api_key: str = "demo") -> str:
        return f"allmysms+http://{login}:{api_key}@{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
