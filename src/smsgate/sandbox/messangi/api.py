"""Messangi's paths (spec §2-§5, §10): login, single send, batch send, message lookup.

Faults a test injects use the methods ``messangi.login``, ``messangi.send``, ``messangi.batch``
and ``messangi.lookup``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsgate.core.text import segment
from smsgate.sandbox.faults import around
from smsgate.sandbox.inbox import InboxMessage
from smsgate.sandbox.messangi.events import NAME, Stored, messangi_time
from smsgate.sandbox.messangi.state import MessangiState

NUMBER: Final = re.compile(r"\+?[1-9][0-9]{6,14}")
MAX_TEXT: Final = 1600
TOO_LONG: Final = "Text exceeds the limit of allowed segments"
PLACEHOLDER: Final = re.compile(r"\{(\d+)\}")
KNOWN_PATHS: Final = frozenset({"/raven/v2/messages", "/raven/v3/messages/batch"})
LOOKUP_PATH: Final = re.compile(r"/raven/v2/messages/[^/]+")

Handler = Callable[[Request], Awaitable[Response]]


def _meta(explain: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "timestamp": int(time.time() * 1000),
        "transactionId": str(uuid.uuid4()),
    }
    if explain is not None:
        meta["explain"] = explain
    return meta


def error(status: int, explain: str) -> JSONResponse:
    """The error envelope (spec §10.2)."""
    return JSONResponse({"meta": _meta(explain), "data": None}, status_code=status)


class Invalid(Exception):
    """A request the emulator answers with 400 and this explanation."""


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Invalid(f"'{name}' is required and must be a string")
    return value


def _callbacks(body: dict[str, Any]) -> list[str]:
    raw = body.get("callbacks", body.get("callback"))
    if raw is None:
        return []
    if isinstance(raw, str):
        return [url.strip() for url in raw.split(",") if url.strip()]
    if isinstance(raw, list) and all(isinstance(url, str) for url in raw):
        return list(raw)
    raise Invalid("'callbacks' must be a comma-separated string or an array of URLs")


def _optional(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    found = {}
    for name in names:
        if name in body and body[name] is not None:
            if not isinstance(body[name], str):
                raise Invalid(f"'{name}' must be a string")
            found[name] = body[name]
    return found


ECHOED: Final = ("connection", "email", "externalId", "clientId")


def routes(state: MessangiState) -> list[Route]:
    users = state.users
    events = state.events

    def authorised(handler: Callable[[Request, str], Awaitable[Response]], method: str) -> Handler:
        async def endpoint(request: Request) -> Response:
            owner = users.owner(request.headers.get("authorization"))
            if owner is None:
                return error(401, "a valid API key is required: Authorization: Bearer <key>")
            state.calls.record(NAME, owner, method)

            async def handle() -> Response:
                try:
                    return await handler(request, owner)
                except Invalid as invalid:
                    return error(400, str(invalid))

            return await around(state.faults, method, handle, _fault, provider=NAME, account=owner)

        return endpoint

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise Invalid("the body must be JSON") from None
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        return body

    def accept(owner: str, sender: str, text: str, to: str, body: dict[str, Any]) -> Stored:
        """Store one message and start its life; returns it (status QUEUE, or ERROR)."""
        callbacks = _callbacks(body)
        request_dr = body.get("requestDR") is True
        data: dict[str, Any] = {
            "id": secrets.token_hex(12),
            "from": sender,
            "text": text,
            "to": to,
            "requestDR": request_dr,
            "type": body.get("type") or "MT",
            "owner": owner,
            "operator": owner,
            "status": "QUEUE",
            "date": messangi_time(),
            **_optional(body, ECHOED),
        }
        if callbacks:
            data["callbacks"] = ",".join(callbacks)
        stored = Stored(data, callbacks, request_dr)
        digits = to.lstrip("+")
        settings = events.settings
        if len(text) > MAX_TEXT:
            data["status"] = "ERROR"
            events.store(stored)
            events.accepted(stored, immediate_final="SEGMENTS_EXCEEDED")
            return stored
        events.store(stored)
        seg = segment(text)
        state.inbox.add(
            [
                InboxMessage(
                    id=data["id"],
                    provider=NAME,
                    account=owner,
                    campaign_id=str(body.get("externalId") or ""),
                    to=digits,
                    text=text,
                    sender_requested=sender,
                    sender_shown=sender,
                    encoding=seg.encoding.value,
                    parts=seg.count,
                    credits=0,
                    status="sent",
                    client_message_id=body.get("externalId"),
                )
            ]
        )
        if digits in settings.blacklist:
            events.accepted(stored, immediate_final="BLACKLISTED")
        elif sender in settings.senders_not_allowed:
            events.accepted(stored, immediate_final="CODE_NOT_ALLOWED")
        else:
            events.accepted(stored)
        return stored

    async def send(request: Request, owner: str) -> Response:
        body = await body_of(request)
        sender, text, to = (_text_field(body, name) for name in ("from", "text", "to"))
        if not NUMBER.fullmatch(to):
            raise Invalid(f"'to' must be an E.164 number (e.g. +33612345678), not {to!r}")
        stored = accept(owner, sender, text, to, body)
        explain = TOO_LONG if stored.data["status"] == "ERROR" else None
        return JSONResponse({"meta": _meta(explain), "data": dict(stored.data)})

    async def batch(request: Request, owner: str) -> Response:
        body = await body_of(request)
        sender, text = _text_field(body, "from"), _text_field(body, "text")
        recipients = body.get("to")
        if not isinstance(recipients, list) or not recipients:
            raise Invalid('\'to\' must be a non-empty array of {"to": number, "params": [...]}')
        ids: list[dict[str, str]] = []
        invalid: list[str] = []
        for entry in recipients:
            if not isinstance(entry, dict):
                raise Invalid("each 'to' entry must be an object")
            number = entry.get("to", entry.get("to:"))  # the docs' example spells it "to:"
            params = entry.get("params") or []
            if not isinstance(number, str) or not NUMBER.fullmatch(number):
                invalid.append(str(number))
                continue
            if not isinstance(params, list):
                raise Invalid("'params' must be an array")
            stored = accept(owner, sender, _fill(text, params), number, body)
            if stored.data["status"] != "ERROR":
                ids.append({"id": stored.data["id"], "mobile": number})
        data = {
            "ids": ids,
            "invalidNumber": invalid,
            "from": sender,
            "text": text,
            "type": body.get("type") or "MT",
            "owner": owner,
            "operator": owner,
            "status": "QUEUE",
            "date": messangi_time(),
            **_optional(body, ECHOED),
        }
        return JSONResponse({"meta": _meta("a descriptive text"), "data": data})

    async def lookup(request: Request, owner: str) -> Response:
        stored = events.get(request.path_params["message_id"])
        if stored is None or stored.data["owner"] != owner:
            return error(404, "no such message")
        return JSONResponse({"meta": _meta(), "data": dict(stored.data)})

    async def login(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return Response(status_code=400)
        key = users.login(str(body.get("username", "")), str(body.get("password", "")))
        if key is None:
            return Response(status_code=403)
        return Response(
            status_code=200,
            headers={
                "Authorization": f"Bearer {key}",
                "Access-Control-Expose-Headers": "Authorization",
            },
        )

    async def not_found(request: Request) -> Response:
        path = request.url.path
        if path in KNOWN_PATHS or LOOKUP_PATH.fullmatch(path):
            return error(405, f"{request.method} is not allowed on {path}")
        return error(404, f"no such path: {path}")

    return [
        Route("/kingslanding/login", login, methods=["POST"]),
        Route("/raven/v2/messages", authorised(send, "messangi.send"), methods=["POST"]),
        Route(
            "/raven/v2/messages/{message_id}",
            authorised(lookup, "messangi.lookup"),
            methods=["GET"],
        ),
        Route("/raven/v3/messages/batch", authorised(batch, "messangi.batch"), methods=["POST"]),
        Route("/v3/messages/batch", authorised(batch, "messangi.batch"), methods=["POST"]),
        Route("/raven/{rest:path}", not_found),
    ]


def _fill(template: str, params: list[Any]) -> str:
    """{n} -> params[n] as JSON renders it; a missing one stays as it is (spec §10.6)."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(params):
            return match.group(0)
        item = params[index]
        return item if isinstance(item, str) else json.dumps(item)

    return PLACEHOLDER.sub(value, template)


def _fault(status: int, retry_after: str | None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    return JSONResponse(
        {"meta": _meta(f"sandbox fault: HTTP {status}"), "data": None}, status, headers
    )
