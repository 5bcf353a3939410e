"""The sailor against a real RabbitMQ, the sandbox as AllMySMS, and a stand-in platform API.

Each test plays the platform: it publishes an encrypted message to the step's queue and reads
what the sailor published (data, error, rebound, snapshot, replies), decrypting as the
platform would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from smsgate.elasticio.actions.send import COMPONENT_RETRY
from smsgate.elasticio.ledger import StoreLedger
from smsgate.sailor.consumer import Sailor
from smsgate.sailor.context import ExecutionContext
from smsgate.sailor.ledger import Ledger
from smsgate.sailor.platform import fetch_step
from smsgate.sailor.settings import SailorSettings
from smsgate.sandbox.server import BackgroundSandbox
from smsgate.store import Store
from smsgate.store.optouts import OptOuts
from tests.conftest import add_account, inbox, inject
from tests.elasticio_platform import (
    AMQP_URI,
    CIPHER,
    FLOW_ID,
    STEP_ID,
    Broker,
    Step,
    StepApi,
    broker_for,
    data_of,
    error_of,
    running_sailor,
)

SEND = {"nums": "06 12 34 56 78", "sender": "Demo", "message": "Votre code est 4821"}


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    async def probe() -> None:
        connection = await aio_pika.connect(AMQP_URI, timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as error:
        pytest.fail(
            f"RabbitMQ does not answer at {AMQP_URI} ({type(error).__name__}): run `make test`, "
            "which starts one, or set SMSGATE_TEST_AMQP_URL"
        )
    return AMQP_URI


@pytest.fixture(scope="module")
def platform_api() -> Iterator[tuple[StepApi, str]]:
    with StepApi() as api:
        yield api, api.url


@pytest.fixture
def step(
    rabbitmq: str,
    platform_api: tuple[StepApi, str],
    sandbox: BackgroundSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Step:
    api, url = platform_api
    api.steps[(FLOW_ID, STEP_ID)] = {
        "config": {"login": "demo", "apiKey": "demo"},
        "snapshot": {"seen": 1},
    }
    monkeypatch.setenv("SMSGATE_ALLMYSMS_URL", sandbox.url)
    monkeypatch.delenv("SMSGATE_TRIAL_DSN", raising=False)
    return Step(url)


def set_config(platform_api: tuple[StepApi, str], config: dict[str, Any]) -> None:
    platform_api[0].steps[(FLOW_ID, STEP_ID)]["config"] = config


Scenario = Callable[[Broker], Awaitable[None]]


def play(step: Step, scenario: Scenario, *, rebound_returns: bool = False, **env: str) -> None:
    async def main() -> None:
        async with (
            broker_for(step, rebound_returns=rebound_returns) as broker,
            running_sailor(step.env(**env)),
        ):
            await scenario(broker)

    asyncio.run(main())


async def settled(broker: Broker) -> None:
    """Wait until the step's queue holds nothing, acked or rejected."""
    for _ in range(200):
        if await broker.count("in") == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the step's message was never acked or rejected")


async def nothing_on(broker: Broker, *names: str) -> None:
    await asyncio.sleep(0.2)
    for name in names:
        assert await broker.count(name) == 0, f"unexpected message on {name}"


@pytest.mark.parametrize("version", [1, 2])
def test_a_send_emits_its_report_as_data_with_the_platform_headers(
    step: Step, sandbox: BackgroundSandbox, version: int
) -> None:
    async def scenario(broker: Broker) -> None:
        message_id = await broker.publish(
            SEND,
            protocol_version=version,
            headers={"x-eio-meta-trace-id": "trace-42", "X-EIO-META-Tenant": "acme"},
        )
        out = await broker.next("data")
        report = data_of(out)["body"]
        assert report["status"] == "sent"
        assert [r["to"] for r in report["recipients"]] == ["33612345678"]
        assert report["sandbox"] is False  # the sandbox plays AllMySMS over the network
        headers = out.headers or {}
        assert headers["parentMessageId"] == message_id
        assert headers["threadId"] == "trace-42"
        assert headers["x-eio-meta-trace-id"] == "trace-42"
        assert headers["x-eio-meta-tenant"] == "acme"
        assert headers["messageId"] == data_of(out)["id"]
        assert headers["protocolVersion"] == version
        env = step.env()
        expected = {
            "execId": env["ELASTICIO_EXEC_ID"],
            "taskId": FLOW_ID,
            "stepId": STEP_ID,
            "compId": env["ELASTICIO_COMP_ID"],
            "function": "send",
            "workspaceId": env["ELASTICIO_WORKSPACE_ID"],
            "containerId": env["ELASTICIO_CONTAINER_ID"],
            "userId": env["ELASTICIO_USER_ID"],
        }
        assert {name: headers[name] for name in expected} == expected
        assert int(str(headers["start"])) <= int(str(headers["end"]))
        assert out.content_type == "application/json"
        assert out.content_encoding == "utf8"
        if persistent:
            assert out.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        await settled(broker)
        await nothing_on(broker, "error", "rebound", "rejected")  # acked

    persistent = version == 2  # AMQP_PERSISTENT_MESSAGES on one of the two runs
    play(
        step,
        scenario,
        ELASTICIO_PROTOCOL_VERSION=str(version),
        ELASTICIO_AMQP_PERSISTENT_MESSAGES=str(persistent).lower(),
    )
    assert [m["to"] for m in inbox(sandbox)] == ["33612345678"]


def test_bad_input_is_an_error_with_its_input_and_nothing_is_sent(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    async def scenario(broker: Broker) -> None:
        message_id = await broker.publish({**SEND, "sender": "1-bad sender"})
        out = await broker.next("error")
        error, error_input = error_of(out)
        assert error["name"] == "InvalidSender"
        assert "sender" in error["message"]
        assert "Traceback" not in error["stack"]
        # Protocol version 1: the input travels back exactly as it came.
        assert data_of_text(error_input)["body"]["sender"] == "1-bad sender"
        rejected = await broker.next("rejected")  # rejected, not acked
        assert (rejected.headers or {})["messageId"] == message_id
        await nothing_on(broker, "data", "rebound")

    play(step, scenario)
    assert inbox(sandbox) == []


def data_of_text(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = CIPHER.decode(text.encode(), 1)
    return decoded


def test_some_bad_numbers_are_skipped_and_the_rest_sent(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    async def scenario(broker: Broker) -> None:
        await broker.publish({**SEND, "nums": "0612345678, not-a-number, +44 7911 123456"})
        report = data_of(await broker.next("data"))["body"]
        assert report["status"] == "partial"
        assert len(report["recipients"]) == 2
        assert [s["input"] for s in report["skipped"]] == ["not-a-number"]

    play(step, scenario)
    assert len(inbox(sandbox)) == 2


def test_credentials_allmysms_refuses_are_an_error_never_a_rebound(
    step: Step, platform_api: tuple[StepApi, str], sandbox: BackgroundSandbox
) -> None:
    set_config(platform_api, {"login": "demo", "apiKey": "wrong-key"})

    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND)
        error, _ = error_of(await broker.next("error"))
        assert "AllMySMS refused" in error["message"]
        assert "wrong-key" not in json.dumps(error)
        await nothing_on(broker, "data", "rebound")

    play(step, scenario)
    assert inbox(sandbox) == []


def test_a_busy_provider_rebounds_the_message_unchanged(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    inject(sandbox, method="sendSms", when="before", status=503, retry_after="0", times=10)

    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND, headers={"reboundIteration": 2})
        out = await broker.next("rebound")
        headers = out.headers or {}
        assert headers["reboundIteration"] == 3
        assert "nothing was sent" in str(headers["reboundReason"])
        assert out.expiration == pytest.approx(0.04 * 2**2)  # 40 ms x 2^(3-1)
        assert data_of(out)["body"] == SEND  # the incoming bytes, republished
        await settled(broker)
        await nothing_on(broker, "data", "error", "rejected")  # a rebound is not an error

    play(step, scenario)
    assert inbox(sandbox) == []


def test_a_rebound_comes_back_and_is_sent_once(step: Step, sandbox: BackgroundSandbox) -> None:
    # 503s use up every try of the first delivery, so only a rebound can bring the data.
    tries = COMPONENT_RETRY.attempts
    inject(sandbox, method="sendSms", when="before", status=503, retry_after="0", times=tries)

    async def scenario(broker: Broker) -> None:
        message_id = await broker.publish(SEND)
        out = await broker.next("data")
        assert data_of(out)["body"]["status"] == "sent"
        assert (out.headers or {})["parentMessageId"] == message_id
        await settled(broker)

    play(step, scenario, rebound_returns=True)
    assert len(inbox(sandbox)) == 1


def test_past_the_rebound_limit_the_message_is_an_error(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    inject(sandbox, method="sendSms", when="before", status=503, retry_after="0", times=10)

    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND, headers={"reboundIteration": 3})
        error, _ = error_of(await broker.next("error"))
        assert error["message"] == "Rebound limit exceeded"
        await nothing_on(broker, "rebound", "data")

    play(step, scenario, ELASTICIO_REBOUND_LIMIT="3")


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 502}])
def test_an_sms_that_may_have_gone_out_is_an_error_and_never_rebounds(
    step: Step, sandbox: BackgroundSandbox, fault: dict[str, Any]
) -> None:
    inject(sandbox, method="sendSms", when="after", **fault)

    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND)
        error, _ = error_of(await broker.next("error"))
        assert "may have reached AllMySMS" in error["message"]
        assert "Not retried" in error["message"]
        await settled(broker)
        await nothing_on(broker, "rebound", "data")

    play(step, scenario)
    assert len(inbox(sandbox)) == 1  # it did go out, once


def test_a_duplicated_message_id_is_processed_once(step: Step, sandbox: BackgroundSandbox) -> None:
    inject(sandbox, method="sendSms", when="after", delay=0.5)

    async def scenario(broker: Broker) -> None:
        first = await broker.publish(SEND)
        await broker.publish(SEND, message_id=first)
        await broker.next("data")
        await settled(broker)
        await nothing_on(broker, "data", "error", "rejected")  # both copies acked

    play(step, scenario, ELASTICIO_RABBITMQ_PREFETCH_SAILOR="10")
    assert len(inbox(sandbox)) == 1


def published_once_when_routable(
    step: Step, sandbox: BackgroundSandbox, exchange_name: str, *, declared_first: bool
) -> None:
    """Data published to ``exchange_name`` that cannot reach the data queue for 0.5 s (the
    exchange missing, or there and unbound, as ``declared_first`` says) arrives once, with
    a ``retry`` header, after the queue is bound; the SMS was sent once."""
    declare = aio_pika.ExchangeType.DIRECT

    async def scenario(broker: Broker) -> None:
        exchange = None
        try:
            if declared_first:
                exchange = await broker.channel.declare_exchange(exchange_name, declare)
            await broker.publish(SEND)
            await asyncio.sleep(0.5)
            assert await broker.count("data") == 0
            if exchange is None:
                exchange = await broker.channel.declare_exchange(exchange_name, declare)
            queue = await broker.channel.get_queue(step.key("data"))
            await queue.bind(exchange, step.key("data"))
            data = await broker.next("data")
            assert int(str((data.headers or {})["retry"])) >= 1
            assert data_of(data)["body"]["status"] == "sent"
            await settled(broker)
            await nothing_on(broker, "data", "error", "rejected")
        finally:
            if exchange is not None:
                await broker.channel.exchange_delete(exchange_name)

    play(
        step,
        scenario,
        ELASTICIO_PUBLISH_MESSAGES_TO=exchange_name,
        ELASTICIO_AMQP_PUBLISH_RETRY_DELAY="20",
        ELASTICIO_AMQP_PUBLISH_MAX_RETRY_DELAY="100",
    )
    assert len(inbox(sandbox)) == 1


def test_a_publish_no_queue_takes_is_retried_until_one_does(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    """The exchange is there but nothing is bound for the data yet: the broker hands the
    mandatory publish back. That is not a delivery: the sailor publishes again until a queue
    takes it (before, the return counted as sent: lost)."""
    published_once_when_routable(step, sandbox, f"{step.exchange}.unbound", declared_first=True)


def test_a_publish_the_broker_refuses_is_retried_until_it_goes_through(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    """§13: the exchange is missing at first, so the broker closes the publishing channel
    (404); the sailor retries on the restored channel."""
    published_once_when_routable(step, sandbox, f"{step.exchange}.late", declared_first=False)


def test_a_redelivery_of_a_finished_message_is_acked_not_sent_again(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    """A copy the broker redelivers (its ack was lost with a channel) after the work was done."""

    async def main() -> None:
        async with broker_for(step) as broker:
            message_id = await broker.publish(SEND)
            connection = await aio_pika.connect(AMQP_URI)
            held_by = await connection.channel()
            queue = await held_by.get_queue(step.key("in"))
            held = await queue.get(no_ack=False)  # taken, never acked: a consumer that dies
            assert held is not None
            async with running_sailor(step.env()):
                await broker.publish(SEND, message_id=message_id)
                await broker.next("data")
                await held_by.close()  # the broker redelivers the held copy, flagged
                await asyncio.sleep(0.3)
                await settled(broker)
                await nothing_on(broker, "data", "error", "rejected")
            await connection.close()

    asyncio.run(main())
    assert len(inbox(sandbox)) == 1


def test_with_a_message_store_every_sms_of_the_component_is_on_record(
    step: Step, sandbox: BackgroundSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SMSGATE_DATABASE_URL: the Send action records its SMS (written ahead, then with their
    outcome) in the message store the CLI and the API use."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("SMSGATE_DATABASE_URL", url)

    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND)
        data = data_of(await broker.next("data"))
        assert data["body"]["status"] == "sent"

    play(step, scenario)
    [row] = Store(url).messages(limit=5).messages
    assert (row.recipient, row.status, row.provider) == ("33612345678", "sent", "allmysms")
    assert row.account is not None and row.submitted_by is not None
    assert len(inbox(sandbox)) == 1


def test_with_a_message_store_numbers_that_opted_out_are_skipped_unless_told(
    step: Step, sandbox: BackgroundSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A STOP reply (here: by hand) keeps a number from the component's sends as from the
    CLI's and the API's; ignoreOptOut is for a one-time code."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("SMSGATE_DATABASE_URL", url)
    store = Store(url)
    OptOuts(store).add("33612345678", "manual")
    store.close()
    two = {**SEND, "nums": "06 12 34 56 78, 06 98 76 54 32"}

    async def scenario(broker: Broker) -> None:
        await broker.publish(two)
        body = data_of(await broker.next("data"))["body"]
        assert body["skipped"] == [{"input": "06 12 34 56 78", "reason": "opted out"}]
        assert [r["to"] for r in body["recipients"]] == ["33698765432"]
        await broker.publish({**two, "ignoreOptOut": True})
        again = data_of(await broker.next("data"))["body"]
        assert len(again["recipients"]) == 2 and again["skipped"] == []

    play(step, scenario)
    assert sorted(str(m["to"]) for m in inbox(sandbox)) == [
        "33612345678",
        "33698765432",
        "33698765432",
    ]


class _HeldBy:
    """A consumer that takes the step's next message and dies without acking it: the broker
    redelivers it, flagged, to the next consumer."""

    def __init__(self, step: Step) -> None:
        self.step = step

    async def __aenter__(self) -> _HeldBy:
        self.connection = await aio_pika.connect(AMQP_URI)
        channel = await self.connection.channel()
        queue = await channel.get_queue(self.step.key("in"))
        for _ in range(100):
            if await queue.get(no_ack=False, fail=False) is not None:
                return self
            await asyncio.sleep(0.02)
        raise AssertionError("nothing to hold")

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()


def test_with_a_durable_ledger_a_redelivered_message_never_started_is_sent(
    step: Step, sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """A message a dead consumer held but never started (nothing on record) is processed
    when it comes back; the memory ledger cannot tell, and says it may have been sent."""

    async def main(ledger: Ledger | None) -> str:
        async with broker_for(step) as broker:
            await broker.publish(SEND)
            async with _HeldBy(step):
                pass  # closed: the message goes back to the queue, redelivered
            async with running_sailor(step.env(), ledger):
                kind, _ = await broker.first_of(("data", "error"), timeout=10)
                await settled(broker)
            return kind

    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert asyncio.run(main(StoreLedger(store))) == "data"
    assert len(inbox(sandbox)) == 1
    assert asyncio.run(main(None)) == "error"
    assert len(inbox(sandbox)) == 1


@pytest.mark.parametrize("state", ["acked", "rejected", "started"])
def test_with_a_durable_ledger_a_message_on_record_is_never_processed_again(
    step: Step, sandbox: BackgroundSandbox, tmp_path: Path, state: str
) -> None:
    """What a crashed sailor left on record decides, whatever the broker's flag says: done
    (acked or rejected) is settled the same way again, silently; started is an error."""
    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    message_id = "m-on-record"
    assert store.begin_sailor_message(f"{FLOW_ID}:{STEP_ID}:{message_id}:") is None
    if state != "started":
        store.finish_sailor_message(f"{FLOW_ID}:{STEP_ID}:{message_id}:", state)

    async def main() -> None:
        async with broker_for(step) as broker, running_sailor(step.env(), StoreLedger(store)):
            await broker.publish(SEND, message_id=message_id)
            await settled(broker)
            if state == "started":
                error, _ = error_of(await broker.next("error"))
                assert "not processed again" in error["message"]
                await broker.next("rejected")
            else:
                await nothing_on(broker, "data", "error")
                assert await broker.count("rejected") == (1 if state == "rejected" else 0)

    asyncio.run(main())
    assert inbox(sandbox) == []


def test_trial_mode_prefixes_the_text_and_sends_to_two_at_most(
    step: Step,
    platform_api: tuple[StepApi, str],
    sandbox: BackgroundSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_config(platform_api, {"login": "", "apiKey": ""})
    monkeypatch.setenv("SMSGATE_TRIAL_DSN", add_account(sandbox, "operator", "op-key", 100))

    async def scenario(broker: Broker) -> None:
        await broker.publish({**SEND, "nums": "0612345678,0612345679,0612345670"})
        report = data_of(await broker.next("data"))["body"]
        assert report["trial"] is True
        assert report["text"].startswith("TRIAL USE: ")
        assert [r["status"] for r in report["recipients"]] == ["sent", "sent"]
        assert [s["reason"] for s in report["skipped"]] == ["trial limit"]

    play(step, scenario)
    sent = inbox(sandbox)
    assert len(sent) == 2
    assert all(str(m["text"]).startswith("TRIAL USE: ") for m in sent)


def test_trial_mode_without_the_operators_account_is_an_error(
    step: Step, platform_api: tuple[StepApi, str]
) -> None:
    set_config(platform_api, {})

    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND)
        error, _ = error_of(await broker.next("error"))
        assert "SMSGATE_TRIAL_DSN" in error["message"]

    play(step, scenario)


def test_a_message_that_does_not_decrypt_is_rejected_unprocessed(
    step: Step, sandbox: BackgroundSandbox
) -> None:
    async def scenario(broker: Broker) -> None:
        await broker.publish(SEND, raw=b"bm90IGVuY3J5cHRlZA==")
        await broker.next("rejected")
        await nothing_on(broker, "data", "error", "rebound")

    play(step, scenario)
    assert inbox(sandbox) == []


# -- the emit contract, with small components of the test's own ------------------------------


def run_component(step: Step, process: Any, scenario: Scenario, **env: str) -> None:
    async def main() -> None:
        async with broker_for(step) as broker:
            settings = SailorSettings.from_env(step.env(**env))
            found = await fetch_step(settings.api, FLOW_ID, STEP_ID)
            sailor = Sailor(settings, process, found)
            await sailor.connect()
            await sailor.start()
            try:
                await scenario(broker)
            finally:
                await sailor.stop()

    asyncio.run(main())


def test_snapshots_and_http_reply(step: Step) -> None:
    async def process(
        ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
    ) -> Any:
        await ctx.emit("snapshot", {"seen": snapshot["seen"] + 1})
        await ctx.emit("updateSnapshot", {"last": msg["body"]["n"]})
        await ctx.emit("httpReply", {"statusCode": 202, "body": "ok", "headers": {}})
        return None

    async def scenario(broker: Broker) -> None:
        await broker.publish({"n": 7}, headers={"reply_to": step.key("reply")})
        snapshot = await broker.next("snapshot")
        assert json.loads(snapshot.body) == {"seen": 2}
        assert (snapshot.headers or {})["snapshotEvent"] == "snapshot"
        update = await broker.next("snapshot")
        assert json.loads(update.body) == {"last": 7}
        assert (update.headers or {})["snapshotEvent"] == "updateSnapshot"
        reply = await broker.next("reply")
        assert data_of(reply) == {"statusCode": 202, "body": "ok", "headers": {}}
        assert (reply.headers or {})["protocolVersion"] == 1
        await settled(broker)
        await nothing_on(broker, "data", "rejected")  # a falsy result: end only

    run_component(step, process, scenario)


def test_data_goes_where_x_eio_routing_key_says(step: Step) -> None:
    async def process(
        ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
    ) -> Any:
        return {
            "body": {"n": msg["body"]["n"]},
            "headers": {"X-EIO-Routing-Key": step.key("reply")},
        }

    async def scenario(broker: Broker) -> None:
        await broker.publish({"n": 7})
        data = data_of(await broker.next("reply"))
        assert data["body"] == {"n": 7}
        assert data["headers"] == {}  # the routing header is taken out
        await nothing_on(broker, "data")

    run_component(step, process, scenario)


def test_an_error_goes_to_reply_to_too_and_rejects_the_message(step: Step) -> None:
    seen: list[dict[str, Any]] = []

    async def process(
        ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
    ) -> Any:
        seen.append(msg["headers"])
        raise RuntimeError("boom")

    async def scenario(broker: Broker) -> None:
        await broker.publish({"n": 1}, protocol_version=2, headers={"reply_to": step.key("reply")})
        error, error_input = error_of(await broker.next("error"))
        assert error["name"] == "RuntimeError"
        assert error["message"] == "boom"
        assert "Traceback" in error["stack"]
        # Protocol version 2: the input is re-encrypted, always as base64.
        # errorInput is the message exactly as it was sent: no reply_to added to its headers.
        sent = data_of_text(error_input)
        assert sent == {"id": sent["id"], "body": {"n": 1}, "attachments": {}, "headers": {}}
        assert seen == [{"reply_to": step.key("reply")}]  # the component did see it
        reply = await broker.next("reply")
        assert (reply.headers or {})["x-eio-error-response"] is True
        await broker.next("rejected")

    run_component(step, process, scenario)


def test_emits_are_throttled_per_kind(step: Step) -> None:
    async def process(
        ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
    ) -> Any:
        loop = asyncio.get_running_loop()
        began = loop.time()
        for n in range(4):
            await ctx.emit("data", {"body": {"n": n}})
        return {"body": {"elapsed": loop.time() - began}}

    async def scenario(broker: Broker) -> None:
        await broker.publish({})
        for _ in range(5):
            last = data_of(await broker.next("data"))
        # 2 per 100 ms: the 3rd emit waited for the next window.
        assert last["body"]["elapsed"] >= 0.09

    run_component(step, process, scenario, ELASTICIO_DATA_RATE_LIMIT="2")


def test_a_passthrough_step_carries_what_came_before_and_adds_its_own(
    step: Step, platform_api: tuple[StepApi, str]
) -> None:
    platform_api[0].steps[(FLOW_ID, STEP_ID)]["is_passthrough"] = True

    async def process(
        ctx: ExecutionContext, msg: dict[str, Any], cfg: dict[str, Any], snapshot: Any
    ) -> Any:
        return {"body": {"sent": True}}

    async def scenario(broker: Broker) -> None:
        earlier = {"step_0": {"body": {"from": "trigger"}}}
        msg = {"id": "m1", "body": {"n": 1}, "headers": {}, "passthrough": earlier}
        await broker.publish({}, raw=CIPHER.encode(msg, 1))
        data = data_of(await broker.next("data"))
        assert data["passthrough"]["step_0"] == earlier["step_0"]
        assert data["passthrough"][STEP_ID]["body"] == {"sent": True}
        assert "passthrough" not in data["passthrough"][STEP_ID]

    run_component(step, process, scenario)
