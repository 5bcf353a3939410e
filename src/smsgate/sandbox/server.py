"""Serving the sandbox over real sockets: in the foreground (CLI) or a background thread."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import Self

import httpx
import uvicorn
from starlette.types import ASGIApp

from smsgate.sandbox.allmysms.accounts import DEMO_API_KEY, DEMO_LOGIN
from smsgate.sandbox.allmysms.emulator import AllMySmsEmulator
from smsgate.sandbox.app import build_app
from smsgate.sandbox.emulators import BY_NAME
from smsgate.sandbox.keep import Keep
from smsgate.sandbox.state import SandboxState


def serve(state: SandboxState, host: str = "127.0.0.1", port: int = 8025) -> None:
    uvicorn.run(build_app(state), host=host, port=port, log_level="warning", access_log=False)


def sandbox_state(
    receipt_delay: float,
    allmysms_accounts: list[str] | None = None,
    receipts_url: str | None = None,
    replies_url: str | None = None,
    keep: Keep | None = None,
) -> SandboxState:
    """A sandbox as ``smsgate sandbox`` configures it, its state restored from ``keep``
    (the accounts given here win over the kept ones); ValueError for a malformed account."""
    state = SandboxState(keep)
    state.set_receipt_delay(receipt_delay)
    state.emulator(AllMySmsEmulator).configure(allmysms_accounts or [], receipts_url, replies_url)
    return state


def demo_dsns(state: SandboxState, host: str, port: int) -> list[str]:
    """The demo account of each emulator, as the DSN to use it with."""
    return [emulator.demo_dsn(host, port) for emulator in state.emulators.values()]


class _Address:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def dsn_for(self, provider: str, **options: str) -> str:
        """A DSN for the demo account of one emulator here (options as the DSN takes them)."""
        return BY_NAME[provider].client_dsn(self.host, self.port, **options)

    def dsn(self, login: str = DEMO_LOGIN, api_key: str = DEMO_API_KEY) -> str:
        """The DSN of an AllMySMS account on this sandbox."""
        return self.dsn_for("allmysms", login=login, api_key=api_key)

    def messangi_dsn(self, **options: str) -> str:
        """The DSN of a Messangi API key on this sandbox (options: api_key, batch_size, ...)."""
        return self.dsn_for("messangi", **options)

    def smsworks_dsn(self, **options: str) -> str:
        """The DSN of the demo SMS Works customer here, with a token the sandbox issues."""
        return self.dsn_for("smsworks", **options)


class BackgroundApp(_Address):
    """Any ASGI app served by uvicorn on a free loopback port in a thread (tests, benchmarks)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the server did not start")
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


class BackgroundSandbox(BackgroundApp):
    """A sandbox on a free loopback port, for tests and benchmarks: ``with BackgroundSandbox():``"""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1") -> None:
        self.state = state or SandboxState()
        super().__init__(build_app(self.state), host)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


class SandboxProcess(_Address):
    """``smsgate sandbox`` in a process of its own on a free loopback port, so that what it
    spends is not counted as the client's (benchmarks) and the CLI is what runs (tests)."""

    def __init__(
        self,
        accounts: list[str] | None = None,
        host: str = "127.0.0.1",
        state: str | None = None,
        *,
        reset: bool = False,
    ) -> None:
        """``state``: the file it keeps its state in (None: it keeps nothing, ``--ephemeral``);
        ``reset``: forget what that file held."""
        self.host = host
        self.port = free_port(host)
        self.accounts = accounts or []
        self.state = state
        self.reset = reset
        self.stderr = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        command = [
            sys.executable,
            "-m",
            "smsgate.cli",
            "sandbox",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        for account in self.accounts:
            command += ["--account", account]
        command += ["--ephemeral"] if self.state is None else ["--state", self.state]
        command += ["--reset"] if self.reset else []
        self._process = subprocess.Popen(  # noqa: S603 (our own CLI, argument list)
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.url}/sandbox/health", timeout=2)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"the sandbox did not start: {self.stderr}") from None
                time.sleep(0.1)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            _, self.stderr = self._process.communicate(timeout=10)
            self._process = None
