"""The component's two processes as the platform starts them: the sailor and the service."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsgate.core.secret import Secret
from smsgate.sailor.local import running_sailor
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import inbox, inject
from tests.elasticio_platform import (
    API_KEY,
    API_USER,
    FLOW_ID,
    STEP_ID,
    Broker,
    Step,
    StepApi,
    broker_for,
    data_of,
    error_of,
)
from tests.test_elasticio_sailor import SEND, rabbitmq, settled

__all__ = ["rabbitmq"]  # a fixture this module uses


@pytest.fixture
def platform() -> Iterator[tuple[StepApi, str]]:
    with StepApi() as api:
        api.steps[(FLOW_ID, STEP_ID)] = {"config": {"login": "demo", "apiKey": "demo"}}
        yield api, api.url


def component_env(sandbox: BackgroundSandbox, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELASTICIO_", "SMSGATE_"))}
    env["SMSGATE_ALLMYSMS_URL"] = sandbox.url
    env.update(more)
    return env


def start_sailor(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smsgate.elasticio.run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_missing_variable_stops_the_sailor_with_one_line_naming_it(
    sandbox: BackgroundSandbox,
) -> None:
    env = component_env(sandbox, **Step("http://127.0.0.1:9").env())
    del env["ELASTICIO_LISTEN_MESSAGES_ON"]
    process = start_sailor(env)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().count("\n") == 0
    assert "ELASTICIO_LISTEN_MESSAGES_ON is missing" in err
    assert "Traceback" not in err


def test_sigterm_finishes_the_message_in_hand_then_exits_0(
    rabbitmq: str, platform: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    step = Step(platform[1])
    inject(sandbox, method="sendSms", when="after", delay=1.0)
    process = start_sailor(component_env(sandbox, **step.env()))

    async def scenario(broker: Broker) -> dict[str, Any]:
        for _ in range(300):  # until the sailor consumes
            if broker.queues and await _consumers(broker) > 0:
                break
            await asyncio.sleep(0.05)
        await broker.publish(SEND)
        await settled(broker)  # no longer ready in the queue: the sailor has it in hand
        process.send_signal(signal.SIGTERM)
        out = await broker.next("data", timeout=20)
        await settled(broker)
        data: dict[str, Any] = data_of(out)
        return data

    async def main() -> dict[str, Any]:
        async with broker_for(step) as broker:
            return await scenario(broker)

    try:
        data = asyncio.run(main())
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert data["body"]["status"] == "sent"
    assert len(inbox(sandbox)) == 1


def _requests(sandbox: BackgroundSandbox) -> bool:
    """True once a request took the injected fault (and is held by it)."""
    return sandbox.state.shared.faults.remaining() == 0


async def _consumers(broker: Broker) -> int:
    declared = await broker.channel.declare_queue(broker.step.key("in"), passive=True)
    return int(declared.declaration_result.consumer_count or 0)


def test_an_unreachable_platform_api_is_published_as_an_error_and_exits_1(
    rabbitmq: str, sandbox: BackgroundSandbox
) -> None:
    step = Step("http://127.0.0.1:9")

    async def main() -> tuple[dict[str, Any], int]:
        async with broker_for(step) as broker:
            env = component_env(sandbox, **step.env(ELASTICIO_API_REQUEST_RETRY_ATTEMPTS="1"))
            process = start_sailor(env)
            error, _ = error_of(await broker.next("error", timeout=30))
            return error, await asyncio.to_thread(process.wait, 30)

    error, code = asyncio.run(main())
    assert code == 1
    assert f"could not read step {STEP_ID}" in error["message"]


# -- service mode: verifyCredentials ---------------------------------------------------------


def verify(
    platform: tuple[StepApi, str], sandbox: BackgroundSandbox, cfg: str, **more: str
) -> tuple[int, str]:
    url = platform[1].replace("http://", "http://hook:s3cret@") + "/results/verify"
    settings = {
        "ELASTICIO_POST_RESULT_URL": url,
        "ELASTICIO_CFG": cfg,
        "ELASTICIO_API_URI": platform[1],
        "ELASTICIO_API_USERNAME": API_USER,
        "ELASTICIO_API_KEY": API_KEY,
    }
    env = component_env(sandbox, **{**settings, **more})
    done = subprocess.run(
        [sys.executable, "-m", "smsgate.elasticio.service", "verifyCredentials"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("cfg", "data"),
    [
        ({"login": "demo", "apiKey": "demo"}, {"verified": True}),
        ({"login": "", "apiKey": ""}, {"verified": True}),  # trial mode
        ({"login": "demo"}, {"verified": True}),  # a blank key is trial mode too
        ({"login": "demo", "ApiKey": "demo"}, {"verified": True}),  # the 2019 spelling
    ],
)
def test_verify_credentials_posts_the_result(
    platform: tuple[StepApi, str],
    sandbox: BackgroundSandbox,
    cfg: dict[str, str],
    data: dict[str, Any],
) -> None:
    code, err = verify(platform, sandbox, json.dumps(cfg))
    assert (code, err) == (0, "")
    assert platform[0].results == [{"status": "success", "data": data}]
    expected_auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    assert platform[0].result_auth == [expected_auth]


def test_credentials_allmysms_refuses_are_not_verified_with_the_reason(
    platform: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    code, _ = verify(platform, sandbox, json.dumps({"login": "demo", "apiKey": "nope-key"}))
    assert code == 0
    [result] = platform[0].results
    assert result["status"] == "success"
    assert result["data"]["verified"] is False
    assert result["data"]["reason"]
    assert "nope-key" not in json.dumps(result)


def test_unreachable_allmysms_is_not_verified(
    platform: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    cfg = json.dumps({"login": "demo", "apiKey": "demo"})
    code, _ = verify(platform, sandbox, cfg, SMSGATE_ALLMYSMS_URL="http://127.0.0.1:9")
    assert code == 0
    [result] = platform[0].results
    assert result["data"]["verified"] is False
    assert "could not connect to 127.0.0.1" in result["data"]["reason"]


def test_a_config_that_is_not_json_posts_an_error(
    platform: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    code, _ = verify(platform, sandbox, "{not json")
    assert code == 1
    [result] = platform[0].results
    assert result["status"] == "error"
    assert "ELASTICIO_CFG" in result["data"]["message"]


def test_without_a_result_url_nothing_is_posted(
    platform: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    code, err = verify(platform, sandbox, "{}", ELASTICIO_POST_RESULT_URL="")
    assert code == 2
    assert "ELASTICIO_POST_RESULT_URL is missing" in err
    assert platform[0].results == []


def test_the_local_platform_runs_one_message_through_the_component(
    rabbitmq: str, sandbox: BackgroundSandbox
) -> None:
    """The README's recipe: python -m smsgate.elasticio.local against the sandbox."""
    body = json.dumps({"nums": "06 12 34 56 78", "sender": "Demo", "message": "Hello"})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "smsgate.elasticio.local",
            "--amqp",
            rabbitmq,
            "--body",
            body,
            "--config",
            json.dumps({"login": "demo", "apiKey": "demo"}),
        ],
        env=component_env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["emitted"] == "data"
    assert printed["message"]["body"]["status"] == "sent"
    assert len(inbox(sandbox)) == 1


@pytest.mark.parametrize("ledger", ["memory", "store"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_sailor_killed_while_the_sms_is_leaving_never_sends_it_again(
    rabbitmq: str,
    platform: tuple[StepApi, str],
    sandbox: BackgroundSandbox,
    tmp_path: Path,
    ledger: str,
    when: str,
) -> None:
    """SIGKILL while the request is at AllMySMS, before or after it took the SMS: the broker
    redelivers the message to the restarted sailor, which knows (from memory: because it is
    redelivered; from the store: because it was recorded as started) that the first attempt
    may have had its effect. It becomes an error that says so; the SMS is never sent twice."""
    step = Step(platform[1])
    inject(sandbox, method="sendSms", when=when, delay=30.0)  # no answer while we kill
    more = {"SMSGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"}
    env = component_env(sandbox, **step.env(), **(more if ledger == "store" else {}))
    first = start_sailor(env)

    async def scenario(broker: Broker) -> tuple[dict[str, Any], Any]:
        for _ in range(300):
            if broker.queues and await _consumers(broker) > 0:
                break
            await asyncio.sleep(0.05)
        await broker.publish(SEND)
        for _ in range(300):  # until AllMySMS has the SMS, or the request
            if inbox(sandbox) or (when == "before" and _requests(sandbox)):
                break
            await asyncio.sleep(0.05)
        first.kill()  # SIGKILL: no ack, no goodbye
        first.wait(timeout=30)
        second = start_sailor(env)
        try:
            out = await broker.next("error", timeout=30)
            await settled(broker)
        finally:
            second.terminate()
            second.wait(timeout=30)
        return error_of(out)

    async def main() -> tuple[dict[str, Any], Any]:
        async with broker_for(step) as broker:
            return await scenario(broker)

    try:
        error, error_input = asyncio.run(main())
    finally:
        first.kill()
    assert "delivered before" in error["message"] and "not processed again" in error["message"]
    assert error_input is not None  # the platform can show what it was
    assert len(inbox(sandbox)) == (1 if when == "after" else 0)  # never twice


def close_connections_of(marker: str) -> int:
    """Close, from the broker's side, every connection whose name contains ``marker``: what a
    broker restart, a failover or an operator does to the sailor. Returns how many."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "--no-table-headers", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    closed = 0
    for line in listed.stdout.splitlines():
        pid, _, properties = line.partition("\t")
        if marker in properties:
            subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", pid, "test: broker gone"],
                capture_output=True,
                timeout=60,
                check=True,
            )
            closed += 1
    return closed


@pytest.mark.parametrize("moment", ["idle", "mid-message"])
def test_the_sailor_survives_the_broker_closing_its_connections(
    rabbitmq: str, platform: tuple[StepApi, str], sandbox: BackgroundSandbox, moment: str
) -> None:
    """The broker closes both of the sailor's connections, while it waits or while an SMS is
    at AllMySMS: it reconnects, consumes again, and the result in hand is published once."""
    step = Step(platform[1])
    if moment == "mid-message":
        inject(sandbox, method="sendSms", when="after", delay=3.0)
    process = start_sailor(component_env(sandbox, **step.env()))

    async def scenario(broker: Broker) -> list[dict[str, Any]]:
        for _ in range(300):
            if broker.queues and await _consumers(broker) > 0:
                break
            await asyncio.sleep(0.05)
        if moment == "mid-message":
            await broker.publish(SEND)
            for _ in range(300):  # until AllMySMS has the SMS, its answer held back
                if inbox(sandbox):
                    break
                await asyncio.sleep(0.05)
        assert close_connections_of(step.prefix) == 2
        if moment == "idle":
            await asyncio.sleep(1.0)
            await broker.publish(SEND)
        data = [data_of(await broker.next("data", timeout=60))]
        await settled(broker)
        for _ in range(300):  # consuming again
            if await _consumers(broker) > 0:
                break
            await asyncio.sleep(0.05)
        await broker.publish(SEND)  # and the next message goes through as usual
        data.append(data_of(await broker.next("data", timeout=60)))
        await settled(broker)
        assert await broker.count("data") == 0  # once, never twice
        assert await broker.count("error") == 0
        return data

    async def main() -> list[dict[str, Any]]:
        async with broker_for(step) as broker:
            return await scenario(broker)

    try:
        data = asyncio.run(main())
        assert process.poll() is None  # alive
        process.terminate()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        _, err = process.communicate(timeout=30)
        print(err)  # shown when the test fails
    assert [d["body"]["status"] for d in data] == ["sent", "sent"]
    assert len(inbox(sandbox)) == 2


def test_when_the_broker_stays_away_the_sailor_exits_non_zero(
    rabbitmq: str, platform: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    """Reconnects fail (here: the broker's address no longer answers): the sailor gives up after
    the Node.js sailor's reconnect attempts and fails, so that the platform restarts it."""
    step = Step(platform[1])

    async def main() -> bool:
        async with broker_for(step), running_sailor(step.env()) as sailor:
            sailor.settings = dataclasses.replace(
                sailor.settings, amqp_uri=Secret("amqp://guest:guest@127.0.0.1:1/")
            )
            assert close_connections_of(step.prefix) == 2
            await asyncio.wait_for(sailor.failed.wait(), timeout=30)
            return sailor.failed.is_set()

    assert asyncio.run(main())
