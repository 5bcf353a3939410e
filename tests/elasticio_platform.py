"""A test plays the elastic.io platform: the broker's topology for one step, and its HTTP API.

Every test works on exchange and queues named after a fresh random prefix on the RabbitMQ at
127.0.0.1:5672, and deletes them afterwards. The platform API is a tiny Starlette app on a
loopback socket that serves the step and takes service results.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsgate.core.secret import Secret
from smsgate.elasticio.component import Component
from smsgate.elasticio.crypto import MessageCipher
from smsgate.elasticio.platform import fetch_step
from smsgate.elasticio.sailor import Sailor
from smsgate.elasticio.settings import SailorSettings
from smsgate.sandbox.server import BackgroundApp

AMQP_URI = os.environ.get("SMSGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PASSWORD = "testCryptoPassword"
IV = "0123456789abcdef"
API_USER = "platform-user"
API_KEY = "platform-key"
FLOW_ID = "flow-5f1a"
STEP_ID = "step_2"


class PlatformApi:
    """GET /v1/tasks/{flow}/steps/{step} (Basic auth) and POST /results/{name}."""

    def __init__(self) -> None:
        self.steps: dict[tuple[str, str], dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.result_auth: list[str | None] = []
        self.result_status = 200

    def app(self) -> Starlette:
        expected = "Basic " + base64.b64encode(f"{API_USER}:{API_KEY}".encode()).decode()

        async def step(request: Request) -> Response:
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
            key = (request.path_params["flow"], request.path_params["step"])
            if key not in self.steps:
                return JSONResponse({"error": "Not found"}, status_code=404)
            return JSONResponse(self.steps[key])

        async def result(request: Request) -> Response:
            self.results.append(await request.json())
            self.result_auth.append(request.headers.get("authorization"))
            return Response(status_code=self.result_status)

        return Starlette(
            routes=[
                Route("/v1/tasks/{flow}/steps/{step}", step),
                Route("/results/{name}", result, methods=["POST"]),
            ]
        )


@dataclass
class Step:
    """One step's names on the broker and the sailor's environment for it."""

    api_url: str
    prefix: str = field(default_factory=lambda: f"smsgate-test-{secrets.token_hex(4)}")

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.exchange"

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "ELASTICIO_FLOW_ID": FLOW_ID,
            "ELASTICIO_EXEC_ID": "exec-77",
            "ELASTICIO_STEP_ID": STEP_ID,
            "ELASTICIO_CONTAINER_ID": "container-3",
            "ELASTICIO_WORKSPACE_ID": "workspace-9",
            "ELASTICIO_USER_ID": "user-1",
            "ELASTICIO_COMP_ID": "comp-allmysms",
            "ELASTICIO_FUNCTION": "send",
            "ELASTICIO_API_URI": self.api_url,
            "ELASTICIO_API_USERNAME": API_USER,
            "ELASTICIO_API_KEY": API_KEY,
            "ELASTICIO_AMQP_URI": AMQP_URI,
            "ELASTICIO_LISTEN_MESSAGES_ON": self.key("in"),
            "ELASTICIO_PUBLISH_MESSAGES_TO": self.exchange,
            "ELASTICIO_DATA_ROUTING_KEY": self.key("data"),
            "ELASTICIO_ERROR_ROUTING_KEY": self.key("error"),
            "ELASTICIO_REBOUND_ROUTING_KEY": self.key("rebound"),
            "ELASTICIO_SNAPSHOT_ROUTING_KEY": self.key("snapshot"),
            "ELASTICIO_MESSAGE_CRYPTO_IV": IV,
            "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": PASSWORD,
            "ELASTICIO_REBOUND_INITIAL_EXPIRATION": "40",
            "ELASTICIO_DATA_RATE_LIMIT": "1000",
        }
        env.update(overrides)
        return env


CIPHER = MessageCipher(Secret(PASSWORD), IV)
OUTPUTS = ("data", "error", "rebound", "snapshot", "reply")


class Broker:
    """The platform's side of the step's exchange: publish to the step, read what it emits."""

    def __init__(self, channel: AbstractChannel, step: Step) -> None:
        self.channel = channel
        self.step = step
        self.queues: dict[str, AbstractQueue] = {}

    async def declare(self, rebound_returns: bool) -> None:
        exchange = await self.channel.declare_exchange(
            self.step.exchange, aio_pika.ExchangeType.DIRECT, auto_delete=False
        )
        for name in ("in", *OUTPUTS):
            arguments: dict[str, Any] = {}
            if name == "rebound" and rebound_returns:
                # The platform's delay queue: expired rebounds go back to the step's queue.
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
        body: dict[str, Any],
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
            "execId": "exec-77",
            "taskId": FLOW_ID,
            **(headers or {}),
        }
        payload = raw if raw is not None else CIPHER.encode(msg, protocol_version)
        exchange = await self.channel.get_exchange(self.step.exchange, ensure=False)
        await exchange.publish(
            aio_pika.Message(payload, headers=all_headers, content_type="application/json"),
            self.step.key("in"),
        )
        return message_id

    async def next(self, name: str, timeout: float = 10.0) -> AbstractIncomingMessage:
        queue = self.queues[name]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                return message
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing arrived on {name} within {timeout} s")
            await asyncio.sleep(0.01)

    async def count(self, name: str) -> int:
        declared = await self.channel.declare_queue(self.step.key(name), passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)


def data_of(message: AbstractIncomingMessage) -> dict[str, Any]:
    version = int(str((message.headers or {}).get("protocolVersion", 1)))
    decoded: dict[str, Any] = CIPHER.decode(message.body, version)
    return decoded


def error_of(message: AbstractIncomingMessage) -> tuple[dict[str, Any], Any]:
    outer = json.loads(message.body)
    error = CIPHER.decode(base64.b64decode(outer["error"]), 2)
    return error, outer.get("errorInput")


@contextlib.asynccontextmanager
async def broker_for(step: Step, *, rebound_returns: bool = False) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(AMQP_URI)
    try:
        channel = await connection.channel()
        broker = Broker(channel, step)
        await broker.declare(rebound_returns)
        try:
            yield broker
        finally:
            await broker.delete()
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def running_sailor(env: dict[str, str]) -> AsyncIterator[Sailor]:
    """The sailor in this event loop, as run.py starts it."""
    settings = SailorSettings.from_env(env)
    process = Component.load().process_function(settings.identity.function)
    step = await fetch_step(settings.api, settings.identity.flow_id, settings.identity.step_id)
    sailor = Sailor(settings, process, step)
    await sailor.connect()
    await sailor.start()
    try:
        yield sailor
    finally:
        await sailor.stop()


def api_server(api: PlatformApi) -> BackgroundApp:
    return BackgroundApp(api.app()).start()
