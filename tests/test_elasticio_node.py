"""smsgate's step between two steps on the official Node.js sailor (elasticio-sailor-nodejs).

The flow is Node.js -> smsgate -> Node.js, each a real process on one RabbitMQ, as the platform
runs a flow whose other steps are other vendors' components. The Node.js steps pass the body on
(tests/node, installed by `make test` with npm ci); what matters is the official sailor around
them: amqplib reads the headers we publish, and it and we read each other's bodies in both
protocol versions. A header type amqplib does not know ("Unexpected type tag") never arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from smsgate.sailor.wire import use_platform_field_types
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import inbox
from tests.elasticio_platform import CIPHER, FLOW_ID, STEP_ID, Broker, Step, StepApi, broker_for
from tests.test_elasticio_processes import component_env
from tests.test_elasticio_sailor import rabbitmq

__all__ = ["rabbitmq"]  # a fixture this module uses

NODE_STEP = Path(__file__).parent / "node"
NODE_SAILOR = NODE_STEP / "node_modules" / "elasticio-sailor-nodejs" / "run.js"

# Every header type a step upstream may set, at the edges of each integer width amqplib writes.
META: dict[str, Any] = {
    "x-eio-meta-small": 100,
    "x-eio-meta-short": 32767,
    "x-eio-meta-unsigned-short": 40000,
    "x-eio-meta-int": -2147483648,
    "x-eio-meta-unsigned-int": 3000000000,
    "x-eio-meta-long": 2**53 - 1,
    "x-eio-meta-float": 0.1,
    "x-eio-meta-flag": True,
    "x-eio-meta-text": "Répondez STOP",
    "x-eio-meta-trace-id": "trace-1",
}


@pytest.fixture(scope="module")
def node() -> str:
    """The Node.js binary; make test installs the official sailor beside tests/node."""
    binary = shutil.which("node")
    if binary is None or not NODE_SAILOR.exists():
        pytest.fail("the official Node.js sailor is not installed: run make test (npm ci)")
    return binary


def node_step(node: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ELASTICIO_")}
    return subprocess.Popen(
        [node, str(NODE_SAILOR)],
        cwd=NODE_STEP,
        env={**clean, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def node_env(step: Step, step_id: str, listen: str, data_to: str, version: int) -> dict[str, str]:
    return step.env(
        ELASTICIO_STEP_ID=step_id,
        ELASTICIO_COMP_ID="node-neighbour",
        ELASTICIO_FUNCTION="pass",
        ELASTICIO_LISTEN_MESSAGES_ON=step.key(listen),
        ELASTICIO_DATA_ROUTING_KEY=step.key(data_to),
        ELASTICIO_PROTOCOL_VERSION=str(version),
        ELASTICIO_COMPONENT_PATH="",
        LOG_LEVEL="warn",
    )


async def queue_for(broker: Broker, name: str) -> aio_pika.abc.AbstractQueue:
    exchange = await broker.channel.get_exchange(broker.step.exchange, ensure=False)
    queue = await broker.channel.declare_queue(broker.step.key(name))
    await queue.bind(exchange, broker.step.key(name))
    broker.queues[name] = queue
    return queue


@pytest.fixture
def flow(rabbitmq: str) -> Iterator[tuple[StepApi, Step]]:
    with StepApi() as api:
        for step_id in ("step_node_before", "step_node_after"):
            api.steps[(FLOW_ID, step_id)] = {"id": step_id, "config": {}, "snapshot": {}}
        api.steps[(FLOW_ID, STEP_ID)] = {"config": {"login": "demo", "apiKey": "demo"}}
        yield api, Step(api.url)


@pytest.mark.parametrize("version", [1, 2])
def test_a_flow_node_smsgate_node_carries_every_header_type_and_body(
    node: str, flow: tuple[StepApi, Step], sandbox: BackgroundSandbox, version: int
) -> None:
    use_platform_field_types()  # this test plays a Node.js step publishing to the first one
    _, step = flow
    before = node_env(step, "step_node_before", "node-before", "in", version)
    after = node_env(step, "step_node_after", "node-after", "data", version)
    ours = component_env(
        sandbox,
        **step.env(
            ELASTICIO_DATA_ROUTING_KEY=step.key("node-after"),
            ELASTICIO_PROTOCOL_VERSION=str(version),
        ),
    )
    body = {"nums": "06 12 34 56 78", "sender": "Demo", "message": "Bonjour"}

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with broker_for(step) as broker:
            first = await queue_for(broker, "node-before")
            await queue_for(broker, "node-after")
            processes = [
                node_step(node, before),
                subprocess.Popen([sys.executable, "-m", "smsgate.elasticio.run"], env=ours),
                node_step(node, after),
            ]
            try:
                message = {"id": "m-1", "body": body, "headers": {}, "attachments": {}}
                headers = {**META, "messageId": "m-1", "protocolVersion": version}
                exchange = await broker.channel.get_exchange(step.exchange, ensure=False)
                await exchange.publish(
                    aio_pika.Message(CIPHER.encode(message, version), headers=headers),
                    step.key("node-before"),
                )
                out = await broker.next("data", timeout=60)
                assert await first.declare() is not None
                assert await broker.count("error") == 0
                assert await broker.count("rejected") == 0
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
            out_version = int(str((out.headers or {}).get("protocolVersion", 1)))
            return dict(out.headers or {}), CIPHER.decode(out.body, out_version)

    headers, data = asyncio.run(scenario())
    assert data["body"]["status"] == "sent"
    assert [sms["to"] for sms in inbox(sandbox)] == ["33612345678"]
    for name, value in META.items():
        assert headers[name] == value, name
        assert type(headers[name]) is type(value), name
    assert headers["threadId"] == "trace-1"
    assert json.dumps(headers["x-eio-meta-float"]) == "0.1"
