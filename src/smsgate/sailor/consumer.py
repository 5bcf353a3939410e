"""The sailor: consumes the step's queue, runs the component, publishes what it emits.

The platform protocol of the Node.js sailor (spec elasticio.md §4-§13) over aio-pika: one
connection to read, one to publish on a confirm channel; manual acks with the configured
prefetch; end acks a message unless an error was emitted, which rejects it (no requeue).

De-duplication by the ``messageId`` header (with ``reboundIteration``, so a rebound is a new
delivery): a copy that arrives while the first is in hand is never processed, and is acked or
rejected with it. [E] Beyond the Node.js sailor, a ledger (smsgate.sailor.ledger) records each
message as started before it is processed and as finished before it is acked: a message
delivered again is acked (or rejected) again if it was finished, and becomes an error saying
its effect may already have happened if it was started and never finished. At most once,
never twice, across crashes when the ledger is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from collections.abc import Mapping
from typing import Any, Final

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
)

from smsgate.sailor.context import ExecutionContext, ProcessFunction, SharedResources
from smsgate.sailor.crypto import MessageCipher, MessageCryptoError
from smsgate.sailor.ledger import Ledger, MemoryLedger, Seen
from smsgate.sailor.platform import StepData
from smsgate.sailor.settings import SailorSettings
from smsgate.sailor.throttle import Throttle
from smsgate.sailor.wire import (
    ERROR_RESPONSE_HEADER,
    OBJECT_STORAGE_HEADER,
    REBOUND_LIMIT_EXCEEDED,
    base_headers,
    error_object,
    message_shape,
    new_uuid,
    now_ms,
    pop_routing_key,
    protocol_version,
    rebound_iteration,
    use_platform_field_types,
)

log = logging.getLogger("smsgate.elasticio")

DedupeKey = tuple[str, str]


REDELIVERED: Final = (
    "this message was delivered before and its first attempt is unaccounted for (the sailor "
    "restarted, or lost the broker, while handling it): its effect may already have happened "
    "(a message sent, a record written), so it is not processed again; check before sending "
    "it again"
)


class Sailor:
    def __init__(
        self,
        settings: SailorSettings,
        process: ProcessFunction,
        step: StepData,
        ledger: Ledger | None = None,
    ) -> None:
        use_platform_field_types()
        self.settings = settings
        self.process = process
        self.step = step
        self.snapshot: dict[str, Any] = dict(step.snapshot)
        self.cipher = MessageCipher(
            settings.crypto_password or None, settings.crypto_iv.reveal() or None
        )
        self.shared = SharedResources()
        rates = settings.rates
        self.throttles = {
            "data": Throttle(rates.data, rates.interval_ms),
            "error": Throttle(rates.error, rates.interval_ms),
            "snapshot": Throttle(rates.snapshot, rates.interval_ms),
        }
        self._in_flight: dict[DedupeKey, list[AbstractIncomingMessage]] = {}
        self.ledger: Ledger = ledger or MemoryLedger()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._read: AbstractConnection | None = None
        self._write: AbstractConnection | None = None
        self._write_lock = asyncio.Lock()
        self._publish_channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._stopping = False
        self._relisten_task: asyncio.Task[None] | None = None
        self.failed = asyncio.Event()
        """Set when the broker cannot be reached again: the process should exit non-zero."""

    def __repr__(self) -> str:
        queue = self.settings.listen_messages_on
        return f"Sailor(step={self.settings.identity.step_id!r}, queue={queue!r})"

    def use_step(self, step: StepData) -> None:
        """The step's configuration and snapshot, as the platform API gave them."""
        self.step = step
        self.snapshot = dict(step.snapshot)

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Separate connections to read and to write, as the reference sailors keep them.

        Plain connections, each replaced when the broker closes it (a restart, a failover, an
        operator): the read side re-declares its channel and consumes again (_relisten), the
        write side is opened again by the next publish. aio-pika's robust connections are not
        used: their restore of a channel could fail and leave the sailor alive with no
        consumer, never processing another message.
        """
        await self._open_read()
        await self._publish_channel_now()

    def _connection_name(self) -> str:
        """Shown by the broker (rabbitmqctl list_connections): which step this is."""
        identity, queue = self.settings.identity, self.settings.listen_messages_on
        return f"smsgate sailor {identity.step_id} ({queue})"

    async def _open(self) -> AbstractConnection:
        connection = await aio_pika.connect(
            self.settings.amqp_uri.reveal(),
            client_properties={"connection_name": self._connection_name()},
        )
        connection.close_callbacks.add(self._on_connection_closed)
        return connection

    async def _open_read(self) -> None:
        read = await self._open()
        self._read = read
        channel = await read.channel()
        await channel.set_qos(prefetch_count=max(self.settings.prefetch, 1))
        self._queue = await channel.get_queue(self.settings.listen_messages_on, ensure=False)

    async def _publish_channel_now(self) -> AbstractChannel:
        """The confirm channel to publish on, opened again if the broker closed it."""
        async with self._write_lock:
            channel = self._publish_channel
            if channel is None or channel.is_closed:
                if self._write is not None and not self._write.is_closed:
                    await self._write.close()
                self._write = await self._open()
                channel = self._publish_channel = await self._write.channel(publisher_confirms=True)
            return channel

    def _on_connection_closed(self, connection: Any, error: BaseException | None) -> None:
        if self._stopping or connection is not self._read or self._consumer_tag is None:
            return  # ours, or the write side (the next publish opens it again)
        log.warning("the broker closed the connection (%s): consuming again", error)
        self._consumer_tag = None
        self._relisten_task = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        """Connect and consume again, with backoff (the Node.js sailor's reconnect settings);
        when the broker stays away, the sailor fails so the platform restarts it."""
        attempts = self.settings.amqp_reconnect_attempts
        for attempt in range(attempts + 1):
            if self._stopping:
                return
            await asyncio.sleep(self.settings.amqp_reconnect_timeout_ms * 2**attempt / 1000)
            try:
                await self._open_read()
                await self.start()
                return
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as error:
                log.warning("reconnect %d/%d failed: %s", attempt + 1, attempts + 1, error)
        log.error("the broker is gone: exiting so that the platform restarts the step")
        self.failed.set()

    async def start(self) -> None:
        assert self._queue is not None, "connect() first"
        self._consumer_tag = await self._queue.consume(self._on_delivery, no_ack=False)
        log.info(
            "consuming %s (prefetch %d)", self.settings.listen_messages_on, self.settings.prefetch
        )

    async def stop(self) -> None:
        """Stop consuming, finish every message in hand, then disconnect."""
        self._stopping = True
        if self._relisten_task is not None:
            self._relisten_task.cancel()
        if self._queue is not None and self._consumer_tag is not None:
            gone = (aio_pika.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError)
            with contextlib.suppress(*gone):  # the connection is gone: nothing more comes
                await self._queue.cancel(self._consumer_tag)
            self._consumer_tag = None
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.shared.aclose()
        await self.ledger.aclose()
        for connection in (self._read, self._write):
            if connection is not None and not connection.is_closed:
                await connection.close()
        self._read = self._write = None

    @property
    def in_hand(self) -> int:
        return len(self._tasks)

    # -- one message ------------------------------------------------------------------------

    async def _on_delivery(self, message: AbstractIncomingMessage) -> None:
        """Hand the delivery to a task of our own, kept so that stop() waits for it.

        Not aio-pika's own task: aio-pika cancels that one when the broker closes the channel,
        which would abort an SMS in mid-request and lose its result. Ours goes on; the
        broker's redelivered copy joins it and is settled with its outcome.
        """
        task = asyncio.get_running_loop().create_task(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        headers: dict[str, Any] = dict(message.headers or {})
        message_id = headers.get("messageId")
        key: DedupeKey | None = None
        if message_id is not None:
            key = (str(message_id), str(headers.get("reboundIteration", "")))
            if key in self._in_flight:
                log.info("message %s is already in hand: not processed twice", message_id)
                self._in_flight[key].append(message)
                return
            self._in_flight[key] = []
        ok: bool | None = None
        try:
            ok = await self._handle_once(message, headers, key)
        except Exception:
            # The ledger could not record: the message goes back to the queue, after a pause
            # so a ledger that is down is not hammered. Its redelivery asks the ledger again.
            log.exception("could not record message %s: it goes back to the queue", message_id)
            await asyncio.sleep(1)
        finally:
            copies = [message] + (self._in_flight.pop(key, []) if key is not None else [])
        for delivery in copies:
            await _settle(delivery, ok)

    async def _handle_once(
        self, message: AbstractIncomingMessage, headers: dict[str, Any], key: DedupeKey | None
    ) -> bool:
        """Ask the ledger, process at most once, record the outcome; True means ack."""
        message_id = headers.get("messageId")
        record = self._ledger_key(key) if key is not None else None
        seen = await self.ledger.begin(record) if record is not None else None
        if seen in (Seen.ACKED, Seen.REJECTED):
            log.warning("message %s was delivered again after it was done: skipped", message_id)
            return seen is Seen.ACKED
        ok = False
        if seen is Seen.STARTED or (message.redelivered and not self.ledger.durable):
            await self._refuse_redelivered(message, headers)
        else:
            try:
                ok = await self._process(message, headers)
            except Exception:
                log.exception("the sailor failed on message %s", message_id)
        if record is not None and seen is None:
            await self.ledger.finish(record, ok)
        return ok

    def _ledger_key(self, key: DedupeKey) -> str:
        """Unique across the flows and steps that may share one durable ledger."""
        identity = self.settings.identity
        return ":".join((identity.flow_id, identity.step_id, *key))

    async def _refuse_redelivered(
        self, message: AbstractIncomingMessage, headers: dict[str, Any]
    ) -> None:
        """A message delivered before, whose first attempt cannot be accounted for."""
        run = _Run(self, message, headers, now_ms())
        try:
            run.incoming = self._decode(message.body, headers)
        except MessageCryptoError:
            run.incoming = None
        await run.emit("error", REDELIVERED)
        await run.emit("end")

    async def _process(self, message: AbstractIncomingMessage, headers: dict[str, Any]) -> bool:
        """Run the component on one message; True means ack, False reject."""
        start = now_ms()
        run = _Run(self, message, headers, start)
        if OBJECT_STORAGE_HEADER in headers:
            await run.error(
                "lightweight messages (object storage) are not supported by this sailor: "
                "turn off EMIT_LIGHTWEIGHT_MESSAGE on the previous step"
            )
            return False
        try:
            msg = self._decode(message.body, headers)
        except MessageCryptoError as error:
            log.error("message %s rejected: %s", headers.get("messageId"), error)
            return False
        run.incoming = msg
        # The component gets a body, headers and the reply address (spec §8) on a copy:
        # errorInput is the message exactly as it was sent, as the Node.js sailor gives it.
        msg = {**msg, "body": msg.get("body", {}), "headers": dict(msg.get("headers") or {})}
        if "reply_to" in headers:
            msg["headers"]["reply_to"] = headers["reply_to"]
        ctx = ExecutionContext(run.emit, self.shared, log)
        try:
            result = await self.process(
                ctx, msg, dict(self.step.config), copy.deepcopy(self.snapshot)
            )
            if result and not run.ended:
                await run.emit("data", result)
        except Exception as error:
            await run.emit("error", error)
        if not run.ended:
            await run.emit("end")
        return not run.errored

    def _decode(self, body: bytes, headers: Mapping[str, Any]) -> dict[str, Any]:
        if self.settings.input_format == "error":
            return self._decode_error_message(body)
        msg = self.cipher.decode(body, protocol_version(headers))
        if not isinstance(msg, dict):
            raise MessageCryptoError("the decrypted message is not a JSON object")
        return msg

    def _decode_error_message(self, body: bytes) -> dict[str, Any]:
        """INPUT_FORMAT=error: a step that consumes other steps' error messages (§9)."""
        try:
            outer = json.loads(body)
            decoded = {
                name: self.cipher.decode(outer[name].encode(), 1)
                for name in ("error", "errorInput")
                if isinstance(outer.get(name), str)
            }
        except (json.JSONDecodeError, AttributeError, TypeError):
            raise MessageCryptoError("the error message is not the platform's JSON") from None
        return {"id": new_uuid(), "body": decoded, "headers": {}, "attachments": {}}

    # -- publishing -------------------------------------------------------------------------

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        headers: dict[str, Any],
        *,
        expiration_ms: int | None = None,
        like: AbstractIncomingMessage | None = None,
    ) -> None:
        """Publish on the confirm channel; a failed publish is retried with backoff (§13).

        Straight to aiormq's channel under aio-pika's, without an aio_pika.Message and its
        checked attributes per publish: publishing keeps no state a reconnect must restore.
        """
        mode = aio_pika.DeliveryMode.PERSISTENT if self.settings.persistent_messages else None
        attempt = 0
        while True:
            properties = aiormq.spec.Basic.Properties(
                headers=headers,
                content_type=(like.content_type if like else None) or "application/json",
                content_encoding=(like.content_encoding if like else None) or "utf8",
                delivery_mode=(like.delivery_mode if like else None) or mode,
                expiration=str(expiration_ms) if expiration_ms else None,
            )
            try:
                opened = await self._publish_channel_now()
                channel = await opened.get_underlay_channel()
                confirmation = await channel.basic_publish(
                    body,
                    exchange=self.settings.publish_messages_to,
                    routing_key=routing_key,
                    properties=properties,
                    mandatory=True,
                )
                if isinstance(confirmation, aiormq.abc.DeliveredMessage):
                    # No queue is bound for it: the broker handed it back (aiormq answers
                    # the return itself, typed as a frame), and a confirm alone would have
                    # counted it delivered. It went nowhere: publish it again.
                    raise aiormq.exceptions.PublishError(confirmation, confirmation.delivery)
                return
            except (
                TimeoutError,
                aio_pika.exceptions.AMQPError,
                aiormq.exceptions.ChannelInvalidStateError,  # reconnecting
                ConnectionError,
            ):
                attempt += 1
                if attempt >= self.settings.publish_retry_attempts:
                    raise
                wait = min(
                    self.settings.publish_retry_delay_ms * 2**attempt,
                    self.settings.publish_max_retry_delay_ms,
                )
                log.warning("publish to %s failed; retry %d in %d ms", routing_key, attempt, wait)
                headers = {**headers, "retry": attempt}
                await asyncio.sleep(wait / 1000)

    async def publish_startup_error(self, error: BaseException) -> None:
        """A fatal startup error, published before the process exits (§7)."""
        await self.publish_error(
            error_object(error), None, None, base_headers(self.settings, {}, now_ms())
        )

    async def publish_error(
        self,
        error: dict[str, str],
        incoming: AbstractIncomingMessage | None,
        decoded: dict[str, Any] | None,
        base: dict[str, Any],
    ) -> None:
        sealed_error = self.cipher.seal_base64(error)
        outer: dict[str, Any] = {"error": sealed_error}
        if incoming is not None:
            if protocol_version(incoming.headers or {}) < 2:
                outer["errorInput"] = incoming.body.decode("utf-8", "replace")
            elif decoded is not None:
                outer["errorInput"] = self.cipher.seal_base64(decoded)
        headers = {**base, "messageId": new_uuid(), "end": now_ms()}
        await self.throttles["error"].wait()
        await self.publish(self.settings.error_routing_key, json.dumps(outer).encode(), headers)
        reply_to = base.get("reply_to")
        if reply_to and not self.settings.no_error_replies:
            reply_headers = {**headers, ERROR_RESPONSE_HEADER: True}
            await self.publish(str(reply_to), sealed_error.encode(), reply_headers)


class _Run:
    """The emits of one incoming message, in the order the component makes them."""

    def __init__(
        self,
        sailor: Sailor,
        message: AbstractIncomingMessage,
        headers: dict[str, Any],
        start: int,
    ) -> None:
        self.sailor = sailor
        self.settings = sailor.settings
        self.message = message
        self.headers = headers
        self.base = base_headers(sailor.settings, headers, start)
        self.incoming: dict[str, Any] | None = None
        self.errored = False
        self.ended = False

    async def emit(self, event: str, payload: Any = None) -> None:
        if event == "end":
            if self.ended:
                log.warning("end emitted twice for message %s", self.headers.get("messageId"))
            self.ended = True
        elif event == "data":
            await self.data(payload)
        elif event == "error":
            await self.error(payload)
        elif event == "rebound":
            await self.rebound(payload)
        elif event in ("snapshot", "updateSnapshot"):
            await self.snapshot(event, payload)
        elif event == "httpReply":
            await self.http_reply(payload)
        else:
            await self.error(f"the sailor does not support the event {event!r}")

    async def data(self, payload: Any) -> None:
        message = message_shape(payload)
        routing_key = pop_routing_key(message) or self.settings.data_routing_key
        if self.sailor.step.is_passthrough:
            passthrough = dict((self.incoming or {}).get("passthrough") or {})
            if not self.settings.no_self_passthrough:
                own = {k: v for k, v in message.items() if k != "passthrough"}
                passthrough[self.settings.identity.step_id] = own
            message["passthrough"] = passthrough
        body = self.sailor.cipher.encode(message, self.settings.protocol_version)
        limit = self.settings.outgoing_message_size_limit
        if len(body) > limit:
            await self.error(f"Outgoing message size {len(body)} exceeds limit of {limit}.")
            return
        headers = {
            **self.base,
            "messageId": message["id"],
            "end": now_ms(),
            "protocolVersion": self.settings.protocol_version,
        }
        await self.sailor.throttles["data"].wait()
        await self.sailor.publish(routing_key, body, headers)

    async def error(self, payload: Any) -> None:
        self.errored = True
        error = error_object(payload if isinstance(payload, BaseException) else str(payload))
        log.warning("message %s: %s", self.headers.get("messageId"), error["message"])
        await self.sailor.publish_error(error, self.message, self.incoming, self.base)

    async def rebound(self, payload: Any) -> None:
        """Republish the incoming bytes to come back later: 2^(n-1) x the first delay (§11)."""
        reason = str(payload)
        iteration = rebound_iteration(self.headers)
        if iteration > self.settings.rebound_limit:
            error = error_object(REBOUND_LIMIT_EXCEEDED)
            await self.sailor.publish_error(error, self.message, self.incoming, self.base)
            return
        expiration = self.settings.rebound_initial_expiration_ms * 2 ** (iteration - 1)
        headers = {
            **self.headers,
            "reboundIteration": iteration,
            "reboundReason": reason,
            "end": now_ms(),
        }
        log.info(
            "message %s rebounds (%d, %d ms): %s",
            headers.get("messageId"),
            iteration,
            expiration,
            reason,
        )
        await self.sailor.publish(
            self.settings.rebound_routing_key,
            self.message.body,
            headers,
            expiration_ms=expiration,
            like=self.message,
        )

    async def snapshot(self, event: str, payload: Any) -> None:
        sailor = self.sailor
        if event == "updateSnapshot":
            if not isinstance(payload, dict) or "$set" in payload:
                log.warning("updateSnapshot needs a plain object without $set: ignored")
                return
            sailor.snapshot.update(payload)
        else:
            sailor.snapshot = dict(payload) if isinstance(payload, dict) else {}
        headers = {**self.base, "messageId": new_uuid(), "snapshotEvent": event, "end": now_ms()}
        await sailor.throttles["snapshot"].wait()
        body = json.dumps(payload).encode()
        await sailor.publish(self.settings.snapshot_routing_key, body, headers)

    async def http_reply(self, payload: Any) -> None:
        reply_to = self.headers.get("reply_to")
        if not reply_to:
            await self.error(
                "Component emitted 'httpReply' event but 'reply_to' was not found in AMQP headers"
            )
            return
        headers = {**self.base, "messageId": new_uuid(), "protocolVersion": 1, "end": now_ms()}
        body = self.sailor.cipher.encode(payload, 1)
        await self.sailor.publish(str(reply_to), body, headers)


async def _settle(message: AbstractIncomingMessage, ok: bool | None) -> None:
    """Ack, reject (no requeue), or with None put back in the queue; a copy from a closed
    channel can no longer be settled."""
    try:
        if ok is None:
            await message.nack(requeue=True)
        elif ok:
            await message.ack()
        else:
            await message.reject(requeue=False)
    except Exception as error:  # a delivery of a channel that closed meanwhile
        log.info("could not settle a delivery: %s", error)
