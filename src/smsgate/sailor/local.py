"""A local stand-in for the elastic.io platform: run the component against your own RabbitMQ.

    python -m smsgate.elasticio.local --config '{"login": "demo", "apiKey": "demo"}' \\
        --body '{"nums": "06 12 34 56 78", "sender": "Demo", "message": "Hello"}'

It declares one step's exchange and queues (a fresh name prefix) on the broker, serves the
step's configuration at the platform API's path on a loopback port, runs the sailor on it,
publishes the body as the platform would (encrypted), prints what the step emitted, decrypted,
and removes the queues. The tests and the benchmark play the platform with the same pieces.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from smsgate.core.secret import Secret
from smsgate.sailor.component import Component
from smsgate.sailor.consumer import Sailor
from smsgate.sailor.crypto import MessageCipher
from smsgate.sailor.errors import SailorError
from smsgate.sailor.ledger import Ledger
from smsgate.sailor.platform import fetch_step
from smsgate.sailor.settings import SailorSettings

DEFAULT_AMQP: Final = "amqp://guest:guest@127.0.0.1:5672/"
PASSWORD: Final = "local-crypto-password"  # noqa: S105 (the stand-in's own, not a secret)
IV: Final = "0123456789abcdef"
API_USER: Final = "platform-user"
API_KEY: Final = "platform-key"
FLOW_ID: Final = "flow-local"
STEP_ID: Final = "step_1"
OUTPUTS: Final = ("data", "error", "rebound", "snapshot", "reply", "rejected")
CIPHER: Final = MessageCipher(Secret(PASSWORD), IV)


class StepApi:
    """The platform API's two endpoints a component uses, on a loopback port.

    ``GET /v1/tasks/{flow}/steps/{step}`` (Basic auth) serves ``steps``; ``POST /results/...``
    keeps each JSON body in ``results`` (and its Authorization header in ``result_auth``).
    """

    def __init__(self) -> None:
        self.steps: dict[tuple[str, str], dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.result_auth: list[str | None] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> StepApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self
        expected = "Basic " + base64.b64encode(f"{API_USER}:{API_KEY}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tool prints what the step emitted, not the API's traffic."""

            def _answer(self, status: int, body: Any = None) -> None:
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if len(parts) != 5 or parts[:2] != ["v1", "tasks"] or parts[3] != "steps":
                    return self._answer(404, {"error": "Not found"})
                if self.headers.get("Authorization") != expected:
                    return self._answer(401, {"error": "Unauthorized"})
                step = api.steps.get((parts[2], parts[4]))
                return self._answer(200, step) if step is not None else self._answer(404, {})

            def do_POST(self) -> None:
                if not self.path.startswith("/results/"):
                    return self._answer(404, {"error": "Not found"})
                length = int(self.headers.get("Content-Length") or 0)
                api.results.append(json.loads(self.rfile.read(length) or b"null"))
                api.result_auth.append(self.headers.get("Authorization"))
                return self._answer(200)

        return Handler


@dataclass
class LocalStep:
    """One step's names on the broker and the sailor's environment for it."""

    api_url: str
    amqp_uri: str = DEFAULT_AMQP
    prefix: str = field(default_factory=lambda: f"smsgate-local-{secrets.token_hex(4)}")

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.exchange"

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "ELASTICIO_FLOW_ID": FLOW_ID,
            "ELASTICIO_EXEC_ID": "exec-local",
            "ELASTICIO_STEP_ID": STEP_ID,
            "ELASTICIO_CONTAINER_ID": "container-local",
            "ELASTICIO_WORKSPACE_ID": "workspace-local",
            "ELASTICIO_USER_ID": "user-local",
            "ELASTICIO_COMP_ID": "allmysms",
            "ELASTICIO_FUNCTION": "send",
            "ELASTICIO_API_URI": self.api_url,
            "ELASTICIO_API_USERNAME": API_USER,
            "ELASTICIO_API_KEY": API_KEY,
            "ELASTICIO_AMQP_URI": self.amqp_uri,
            "ELASTICIO_LISTEN_MESSAGES_ON": self.key("in"),
            "ELASTICIO_PUBLISH_MESSAGES_TO": self.exchange,
            "ELASTICIO_DATA_ROUTING_KEY": self.key("data"),
            "ELASTICIO_ERROR_ROUTING_KEY": self.key("error"),
            "ELASTICIO_REBOUND_ROUTING_KEY": self.key("rebound"),
            "ELASTICIO_SNAPSHOT_ROUTING_KEY": self.key("snapshot"),
            "ELASTICIO_MESSAGE_CRYPTO_IV": IV,
            "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": PASSWORD,
        }
        env.update(overrides)
        return env


class Broker:
    """The platform's side of a step's exchange: publish to the step, read what it emits."""

    def __init__(self, channel: AbstractChannel, step: LocalStep) -> None:
        self.channel = channel
        self.step = step
        self.queues: dict[str, AbstractQueue] = {}

    async def declare(self, rebound_returns: bool) -> None:
        exchange = await self.channel.declare_exchange(
            self.step.exchange, aio_pika.ExchangeType.DIRECT
        )
        for name in ("in", *OUTPUTS):
            arguments: dict[str, Any] = {}
            if name == "in":
                # What the sailor rejects is kept aside, where a test or a person can see it.
                arguments = {
                    "x-dead-letter-exchange": self.step.exchange,
                    "x-dead-letter-routing-key": self.step.key("rejected"),
                }
            if name == "rebound" and rebound_returns:
                # The platform's delay queue: an expired rebound goes back to the step.
                arguments = {
                    "x-dead-letter-exchange": self.step.exchange,
                    "x-dead-letter-routing-key": self.step.key("in"),
                }
            queue = await self.channel.declare_queue(self.step.key(name), arguments=arguments)
            await queue.bind(exchange, self.step.key(name))
            self.queues[name] = queue

    async def delete(self) -> None:
        for queue in self.queues.values():
            await queue.delete(if_unused=False, if_empty=False)
        await self.channel.exchange_delete(self.step.exchange)

    async def publish(
        self,
        body: Any,
        *,
        protocol_version: int = 1,
        message_id: str | None = None,
        headers: dict[str, Any] | None = None,
        raw: bytes | None = None,
    ) -> str:
        """Publish a platform message to the step's queue; returns its messageId."""
        message_id = message_id or str(uuid.uuid4())
        msg = {"id": str(uuid.uuid4()), "body": body, "attachments": {}, "headers": {}}
        all_headers: dict[str, Any] = {
            "messageId": message_id,
            "protocolVersion": protocol_version,
            "execId": "exec-previous-step",
            "taskId": FLOW_ID,
            **(headers or {}),
        }
        payload = raw if raw is not None else CIPHER.encode(msg, protocol_version)
        exchange = await self.channel.get_exchange(self.step.exchange, ensure=False)
        message = aio_pika.Message(payload, headers=all_headers, content_type="application/json")
        await exchange.publish(message, self.step.key("in"))
        return message_id

    async def next(self, name: str, timeout: float = 10.0) -> AbstractIncomingMessage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.queues[name].get(no_ack=True, fail=False)
            if message is not None:
                return message
            if loop.time() > deadline:
                raise TimeoutError(f"nothing arrived on {name} within {timeout} s")
            await asyncio.sleep(0.01)

    async def first_of(self, names: tuple[str, ...], timeout: float) -> tuple[str, Any]:
        """The first message on any of these queues, as (queue, readable form)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for name in names:
                message = await self.queues[name].get(no_ack=True, fail=False)
                if message is not None:
                    return name, readable(name, message)
            await asyncio.sleep(0.01)
        raise TimeoutError(f"the step emitted nothing within {timeout} s")

    async def count(self, name: str) -> int:
        declared = await self.channel.declare_queue(self.step.key(name), passive=True)
        return int(declared.declaration_result.message_count or 0)


def data_of(message: AbstractIncomingMessage) -> Any:
    version = int(str((message.headers or {}).get("protocolVersion", 1)))
    return CIPHER.decode(message.body, version)


def error_of(message: AbstractIncomingMessage) -> tuple[dict[str, Any], Any]:
    """The error object and the errorInput (still sealed) of an error message."""
    outer = json.loads(message.body)
    error: dict[str, Any] = CIPHER.decode(base64.b64decode(outer["error"]), 2)
    return error, outer.get("errorInput")


def readable(name: str, message: AbstractIncomingMessage) -> Any:
    if name == "error":
        return error_of(message)[0]
    if name == "rebound":
        headers = message.headers or {}
        return {
            "reboundIteration": headers.get("reboundIteration"),
            "reboundReason": headers.get("reboundReason"),
            "expiration_s": message.expiration,
        }
    if name == "snapshot":
        return json.loads(message.body)
    return data_of(message)


@asynccontextmanager
async def broker_for(step: LocalStep, *, rebound_returns: bool = False) -> AsyncIterator[Broker]:
    """The step's exchange and queues on the broker, deleted afterwards."""
    connection = await aio_pika.connect(step.amqp_uri)
    try:
        broker = Broker(await connection.channel(), step)
        await broker.declare(rebound_returns)
        try:
            yield broker
        finally:
            await broker.delete()
    finally:
        await connection.close()


@asynccontextmanager
async def running_sailor(
    env: dict[str, str], ledger: Ledger | None = None
) -> AsyncIterator[Sailor]:
    """The sailor in this event loop, started as run.py starts it."""
    settings = SailorSettings.from_env(env)
    process = Component.load(settings.component_path).process_function(settings.identity.function)
    step = await fetch_step(settings.api, settings.identity.flow_id, settings.identity.step_id)
    sailor = Sailor(settings, process, step, ledger)
    await sailor.connect()
    await sailor.start()
    try:
        yield sailor
    finally:
        await sailor.stop()


async def _once(amqp: str, config: dict[str, Any], body: Any, timeout: float) -> tuple[str, Any]:
    with StepApi() as api:
        api.steps[(FLOW_ID, STEP_ID)] = {"config": config, "snapshot": {}}
        step = LocalStep(api.url, amqp)
        async with broker_for(step) as broker, running_sailor(step.env()):
            await broker.publish(body)
            return await broker.first_of(("data", "error", "rebound"), timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m smsgate.elasticio.local",
        description="Play the elastic.io platform for one message of the component's Send.",
    )
    parser.add_argument("--amqp", default=DEFAULT_AMQP, help="the RabbitMQ to use")
    parser.add_argument("--config", default="{}", help="the step's credentials, as JSON")
    parser.add_argument("--body", required=True, help="the incoming message's body, as JSON")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    try:
        config, body = json.loads(args.config), json.loads(args.body)
    except json.JSONDecodeError as error:
        print(f"--config and --body must be JSON ({error}): quote them for the shell")
        return 2
    try:
        kind, payload = asyncio.run(_once(args.amqp, config, body, args.timeout))
    except (SailorError, TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
        print(f"smsgate local platform: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"emitted": kind, "message": payload}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
