"""The SMS Works paths under /v1 (spec §3, §9), with the status codes and error bodies there.

Faults a test injects name the operation: ``smsworks.send``, ``.flash``, ``.schedule``,
``.batch``, ``.any``, ``.batch_schedule``, ``.search``, ``.inbox``, ``.failed``, ``.get``,
``.delete``, ``.cancel``, ``.cancel_batch``, ``.scheduled``, ``.batch_get``, ``.credits``,
``.test``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsgate.core.text import segment
from smsgate.sandbox.faults import around
from smsgate.sandbox.inbox import InboxMessage
from smsgate.sandbox.smsworks.accounts import Customer
from smsgate.sandbox.smsworks.messages import FAILED, NAME, Stored, js_date
from smsgate.sandbox.smsworks.state import SmsWorksState

PREFIX: Final = "/v1"
MAX_CONTENT: Final = 1280
MAX_BATCH: Final = 5000
SENDER: Final = re.compile(r"[0-9]{1,15}|[A-Za-z0-9]{1,11}")
THROTTLE: Final = (100, 60.0)


def extended(status: int, message: str) -> JSONResponse:
    """ExtendedErrorModel with the emulator's code rules (spec §9.2)."""
    body = {
        "message": message,
        "errorCode": status,
        "status": "REJECTED" if status in (400, 402) else "ERROR",
        "permanent": status == 400,
    }
    return JSONResponse(body, status_code=status)


def plain(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


class Invalid(Exception):
    """400 with this message."""


def _destination(raw: object) -> str | None:
    """Digits with an optional +; a UK national 07... becomes 447... (spec §9.4)."""
    text = str(raw).strip() if isinstance(raw, str | int) else ""
    text = text.removeprefix("+")
    if text.startswith("07"):
        text = "44" + text[1:]
    return text if text.isdigit() and 7 <= len(text) <= 15 else None


def _when(raw: object) -> datetime:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("'schedule' is required to schedule a message")
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.strptime(text.split(" (", 1)[0], "%a %b %d %Y %H:%M:%S GMT%z")
    except ValueError:
        raise Invalid(f"'schedule' is not a date: {text!r}") from None


def _common(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a Message's fields but the destination(s); return what is stored."""
    for name in ("sender", "content"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise Invalid(f"'{name}' is required")
    if not SENDER.fullmatch(body["sender"]):
        raise Invalid("'sender' must be up to 11 letters and digits, or up to 15 digits")
    if len(body["content"]) > MAX_CONTENT:
        raise Invalid(f"'content' is over {MAX_CONTENT} characters")
    validity = body.get("validity")
    if validity is not None and (not isinstance(validity, int) or not 1 <= validity <= 2880):
        raise Invalid("'validity' must be 1 to 2880 minutes")
    tag = body.get("tag")
    if tag is not None and (not isinstance(tag, str) or len(tag) > 280):
        raise Invalid("'tag' must be text of up to 280 characters")
    kept = {"sender": body["sender"], "content": body["content"]}
    for name in ("tag", "deliveryreporturl", "metadata", "validity", "ttl"):
        if body.get(name) is not None:
            kept[name] = body[name]
    return kept


def _cost(content: str, destination: str) -> float:
    return float(segment(content).count * (1 if destination.startswith("44") else 2))


def routes(state: SmsWorksState) -> list[Route]:
    customers = state.customers
    messages = state.messages

    def operation(
        handler: Callable[[Request, Customer], Awaitable[Response]], name: str
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            customer = customers.customer_of(request.headers.get("authorization"))
            if customer is None:
                return plain(401, "Unauthorized")
            state.calls.record(NAME, customer.customer_id, f"smsworks.{name}")
            if messages.settings.throttle and (wait := _throttled(customer.customer_id)):
                busy = plain(429, "Too many requests: 100 calls per 60 seconds")
                busy.headers["Retry-After"] = str(wait)
                return busy

            async def handle() -> Response:
                try:
                    return await handler(request, customer)
                except Invalid as invalid:
                    return extended(400, str(invalid))

            return await around(
                state.faults,
                f"smsworks.{name}",
                handle,
                _fault,
                provider=NAME,
                account=customer.customer_id,
            )

        return endpoint

    def _throttled(customer_id: str) -> int:
        calls, period = THROTTLE
        now = time.monotonic()
        recent = [t for t in messages.calls.get(customer_id, []) if now - t < period]
        if len(recent) >= calls:
            messages.calls[customer_id] = recent
            return max(1, int(recent[0] + period - now) + 1)
        recent.append(now)
        messages.calls[customer_id] = recent
        return 0

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise Invalid("the body must be JSON") from None

    def charge(customer: Customer, cost: float) -> bool:
        with customers.lock:
            if customer.credits < cost:
                return False
            customer.credits -= cost
            return True

    def to_inbox(customer: Customer, stored: Stored, flash: bool) -> None:
        data = stored.data
        seg = segment(str(data["content"]))
        state.inbox.add(
            [
                InboxMessage(
                    id=str(data["messageid"]),
                    provider=NAME,
                    account=customer.customer_id,
                    campaign_id=str(data.get("batchid") or ""),
                    to=str(data["destination"]),
                    text=str(data["content"]),
                    sender_requested=str(data["sender"]),
                    sender_shown=str(data["sender"]),
                    encoding=seg.encoding.value,
                    parts=seg.count,
                    credits=int(stored.cost),
                    status=str(data["status"]).lower(),
                    scheduled_at=str(data.get("schedule") or "") or None,
                    flash=flash,
                    tag=str(data.get("tag") or "") or None,
                )
            ]
        )

    def place(
        customer: Customer,
        items: list[tuple[dict[str, Any], str]],
        *,
        due: datetime | None,
        batch_id: str | None = None,
        flash: bool = False,
    ) -> list[Stored] | None:
        """Charge and store messages ((fields, destination) each); None if credit is short."""
        costs = [_cost(fields["content"], destination) for fields, destination in items]
        if not charge(customer, sum(costs)):
            return None
        placed = []
        for (fields, destination), cost in zip(items, costs, strict=True):
            data = {**fields, "destination": destination, "status": "SCHEDULED" if due else "SENT"}
            if batch_id:
                data["batchid"] = batch_id
            if due:
                data["schedule"] = js_date(due)
            stored = messages.add(customer.customer_id, data, cost, due=due)
            to_inbox(customer, stored, flash)
            messages.start(stored)
            placed.append(stored)
        return placed

    async def single(
        request: Request, customer: Customer, *, flash: bool = False, scheduled: bool = False
    ) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise Invalid("the body must be a Message object")
        fields = _common(body)
        destination = _destination(body.get("destination"))
        if destination is None:
            raise Invalid(f"'destination' is not a phone number: {body.get('destination')!r}")
        due = _when(body.get("schedule")) if scheduled else None
        placed = place(customer, [(fields, destination)], due=due, flash=flash)
        if placed is None:
            return _insufficient()
        data = placed[0].data
        if scheduled:
            return JSONResponse([{"messageid": data["messageid"], "status": "SCHEDULED"}])
        answer = {
            "messageid": data["messageid"],
            "status": "SENT",
            "credits": customer.credits,
            "creditsUsed": placed[0].cost,
        }
        return JSONResponse(answer, status_code=201)

    async def send(request: Request, customer: Customer) -> Response:
        return await single(request, customer)

    async def flash(request: Request, customer: Customer) -> Response:
        return await single(request, customer, flash=True)

    async def schedule(request: Request, customer: Customer) -> Response:
        return await single(request, customer, scheduled=True)

    async def batch(request: Request, customer: Customer, *, scheduled: bool = False) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise Invalid("the body must be a BatchMessage object")
        fields = _common(body)
        raw = body.get("destinations")
        if not isinstance(raw, list) or not raw:
            raise Invalid("'destinations' is required: an array of numbers")
        if len(raw) > MAX_BATCH:
            raise Invalid(f"more than {MAX_BATCH} destinations")
        valid = [d for d in (_destination(item) for item in raw) if d]
        if not valid:
            raise Invalid(f"no valid destination among {raw[:5]!r}")
        due = _when(body.get("schedule")) if scheduled else None
        batch_id = messages.new_batch_id()
        if place(customer, [(fields, d) for d in valid], due=due, batch_id=batch_id) is None:
            return _insufficient()
        return JSONResponse({"batchid": batch_id, "status": "SCHEDULED"}, status_code=201)

    async def batch_send(request: Request, customer: Customer) -> Response:
        return await batch(request, customer)

    async def batch_schedule(request: Request, customer: Customer) -> Response:
        return await batch(request, customer, scheduled=True)

    async def batch_any(request: Request, customer: Customer) -> Response:
        body = await json_body(request)
        if not isinstance(body, list) or not body:
            raise Invalid("the body must be a non-empty array of Message objects")
        if len(body) > MAX_BATCH:
            raise Invalid(f"more than {MAX_BATCH} messages")
        items = []
        for item in body:
            if not isinstance(item, dict):
                raise Invalid("each message must be an object")
            destination = _destination(item.get("destination"))
            if destination:
                items.append((_common(item), destination))
        if not items:
            raise Invalid("no message has a valid destination")
        batch_id = messages.new_batch_id()
        if place(customer, items, due=None, batch_id=batch_id) is None:
            return _insufficient()
        return JSONResponse({"batchid": batch_id, "status": "SCHEDULED"}, status_code=201)

    def _listing(
        customer: Customer, query: dict[str, Any], only: set[str] | None, unread: bool = False
    ) -> list[dict[str, Any]]:
        found = []
        for stored in messages.of(customer.customer_id):
            data = stored.data
            if only is not None and data.get("status") not in only:
                continue
            if unread and not stored.unread:
                continue
            if any(
                name in query
                and query[name] not in (None, "")
                and str(query[name]).lstrip("+") != str(data.get(name, "")).lstrip("+")
                for name in ("status", "destination", "sender", "keyword")
            ):
                continue
            created = _when(data["created"])
            if query.get("from") and created < _when(query["from"]):
                continue
            if query.get("to") and created > _when(query["to"]):
                continue
            found.append((created, dict(data)))
        found.sort(key=lambda pair: pair[0], reverse=True)
        skip = int(query.get("skip") or 0)
        limit = min(int(query.get("limit") or 1000), 1000)
        return [data for _, data in found[skip : skip + limit]]

    async def query_of(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise Invalid("the body must be a Query object")
        return body

    async def search(request: Request, customer: Customer) -> Response:
        return JSONResponse(_listing(customer, await query_of(request), None))

    async def inbox(request: Request, customer: Customer) -> Response:
        return JSONResponse(_listing(customer, await query_of(request), {"INCOMING"}, True))

    async def failed(request: Request, customer: Customer) -> Response:
        return JSONResponse(_listing(customer, await query_of(request), set(FAILED)))

    async def get(request: Request, customer: Customer) -> Response:
        stored = messages.get(customer.customer_id, request.path_params["message_id"])
        if stored is None:
            return plain(404, "Message not found")
        return JSONResponse(dict(stored.data))

    async def delete(request: Request, customer: Customer) -> Response:
        message_id = request.path_params["message_id"]
        if not messages.delete(customer.customer_id, message_id):
            return plain(400, "Message not found")
        return JSONResponse({"messageid": message_id, "status": "DELETED"})

    def cancel_all(customer: Customer, found: list[Stored]) -> Response | None:
        if any(s.data.get("status") != "SCHEDULED" for s in found):
            return extended(400, "Only a scheduled message can be cancelled")
        for stored in found:
            messages.set_status(stored, "CANCELLED")
            messages.refund(stored)
        return None

    async def cancel(request: Request, customer: Customer) -> Response:
        message_id = request.path_params["message_id"]
        stored = messages.get(customer.customer_id, message_id)
        if stored is None:
            return extended(404, "Message not found")
        return cancel_all(customer, [stored]) or JSONResponse(
            {"messageid": message_id, "status": "CANCELLED"}
        )

    def batch_of(customer: Customer, batch_id: str) -> list[Stored]:
        return [s for s in messages.of(customer.customer_id) if s.data.get("batchid") == batch_id]

    async def cancel_batch(request: Request, customer: Customer) -> Response:
        batch_id = request.path_params["batch_id"]
        found = batch_of(customer, batch_id)
        if not found:
            return extended(404, "Batch not found")
        return cancel_all(customer, found) or JSONResponse(
            {"messageid": batch_id, "status": "CANCELLED"}
        )

    async def batch_get(request: Request, customer: Customer) -> Response:
        found = batch_of(customer, request.path_params["batch_id"])
        if not found:
            return plain(404, "Batch not found")
        return JSONResponse([dict(s.data) for s in found])

    async def scheduled(request: Request, customer: Customer) -> Response:
        """One ScheduledMessagesResponse object, as both official definitions type it (the
        connector's swagger and OpenAPI 1.9.0, whose example is one object) though their prose
        says "a list": [E] the most recently scheduled message or batch; {} when none."""
        listed: dict[str, dict[str, Any]] = {}
        for stored in messages.of(customer.customer_id):
            data = stored.data
            if stored.due is None:
                continue
            key = str(data.get("batchid") or data["messageid"])
            status = {"SCHEDULED": "SCHEDULED", "CANCELLED": "CANCELLED"}.get(
                str(data["status"]), "PROCESSED"
            )
            entry = listed.setdefault(
                key,
                {
                    "status": status,
                    "id": key,
                    "batch": bool(data.get("batchid")),
                    "message": {
                        "sender": data["sender"],
                        "content": data["content"],
                        "schedule": stored.due.isoformat().replace("+00:00", "Z"),
                    },
                },
            )
            if data.get("batchid"):
                entry["message"].setdefault("destinations", []).append(str(data["destination"]))
            else:
                entry["message"]["destination"] = str(data["destination"])
        latest = list(listed.values())[-1] if listed else {}
        return JSONResponse(latest)

    async def credits(request: Request, customer: Customer) -> Response:
        return JSONResponse({"credits": customer.credits})

    async def test(request: Request, customer: Customer) -> Response:
        return JSONResponse({"message": customer.customer_id})

    async def errors(request: Request) -> Response:
        raw = request.path_params["code"]
        code = int(raw) if raw.isdigit() and 400 <= int(raw) <= 599 else 500
        sample = extended(code, f"Sample error {code}")
        return JSONResponse(json.loads(bytes(sample.body)), status_code=200)

    async def token(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return extended(400, "the body must be {customerid, key, secret}")
        issued = customers.token(
            str(body.get("customerid", "")), str(body.get("key", "")), str(body.get("secret", ""))
        )
        if issued is None:
            return extended(401, "Unauthorized")
        return JSONResponse({"token": issued})

    def at(path: str, handler: Any, name: str, method: str) -> Route:
        return Route(PREFIX + path, operation(handler, name), methods=[method])

    return [
        Route(PREFIX + "/auth/token", token, methods=["POST"]),
        Route(PREFIX + "/utils/errors/{code}", errors, methods=["GET"]),
        at("/message/send", send, "send", "POST"),
        at("/message/flash", flash, "flash", "POST"),
        at("/message/schedule", schedule, "schedule", "POST"),
        at("/messages", search, "search", "POST"),
        at("/messages/inbox", inbox, "inbox", "POST"),
        at("/messages/failed", failed, "failed", "POST"),
        at("/messages/schedule", scheduled, "scheduled", "GET"),
        at("/messages/schedule/{message_id}", cancel, "cancel", "DELETE"),
        at("/messages/{message_id}", get, "get", "GET"),
        at("/messages/{message_id}", delete, "delete", "DELETE"),
        at("/batch/send", batch_send, "batch", "POST"),
        at("/batch/any", batch_any, "any", "POST"),
        at("/batch/schedule", batch_schedule, "batch_schedule", "POST"),
        at("/batch/{batch_id}", batch_get, "batch_get", "GET"),
        at("/batches/schedule/{batch_id}", cancel_batch, "cancel_batch", "DELETE"),
        at("/credits/balance", credits, "credits", "GET"),
        at("/utils/test", test, "test", "GET"),
    ]


def _insufficient() -> JSONResponse:
    return extended(402, "Insufficient credits")


def _fault(status: int, retry_after: str | None) -> Response:
    response = plain(status, f"sandbox fault: HTTP {status}")
    if retry_after:
        response.headers["Retry-After"] = retry_after
    return response
