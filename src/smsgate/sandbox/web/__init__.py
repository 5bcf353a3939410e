"""The sandbox's inbox page: one HTML page and its script and style, served from the package
(no CDN: it works offline), a live stream of the inbox's changes (server-sent events), each
message's detail, and the handset's buttons."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Final, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from smsgate.core.text import segment
from smsgate.sandbox.emulator import Handset
from smsgate.sandbox.state import SandboxState

KEEPALIVE: Final = 15.0
ACTIONS: Final = ("deliver", "fail", "expire")
_TYPES: Final = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def routes(state: SandboxState) -> list[Route]:
    inbox = state.inbox

    async def page(request: Request) -> Response:
        return HTMLResponse(_asset("index.html"))

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        kind = name.rpartition(".")[2]
        if name not in ("app.js", "app.css"):
            return Response(status_code=404)
        return Response(_asset(name), media_type=_TYPES[kind])

    async def stream(request: Request) -> Response:
        """The inbox's changes as they happen, gathered a tenth of a second at a time:
        ``{"added": N, "changed": [ids], "more": bool}``."""
        listener = inbox.subscribe()

        async def events() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n\n"
                while True:
                    said = await listener.changes(KEEPALIVE)
                    yield ": keepalive\n\n" if said is None else f"data: {json.dumps(said)}\n\n"
            finally:
                inbox.unsubscribe(listener)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    async def detail(request: Request) -> Response:
        """One message as its handset shows it, with how its text travels: the encoding,
        the characters that forced UCS-2, and each part."""
        message = inbox.get(request.path_params["message_id"])
        if message is None:
            return JSONResponse({"error": "no such message in the inbox"}, status_code=404)
        seg = segment(message.text)
        handset = state.emulators.get(message.provider)
        return JSONResponse(
            {
                **message.to_dict(),
                "segmentation": {**seg.to_dict(), "texts": list(seg.parts)},
                "actions": _actions(_handset(handset)),
            }
        )

    async def act(request: Request) -> Response:
        message = inbox.get(request.path_params["message_id"])
        action = request.path_params["action"]
        if message is None:
            return JSONResponse({"error": "no such message in the inbox"}, status_code=404)
        handset = _handset(state.emulators.get(message.provider))
        if handset is None or action not in _actions(handset):
            return JSONResponse(
                {"error": f"{message.provider} messages have no {action!r} here"}, status_code=404
            )
        if action == "reply":
            body = await request.json()
            text = str(body.get("text", "")) if isinstance(body, dict) else ""
            if not text.strip():
                return JSONResponse({"error": "a reply needs a text"}, status_code=400)
            done = await handset.reply_to(message, text)
        else:
            done = await handset.settle(message, action)
        if not done:
            return JSONResponse(
                {"error": f"cannot {action} it now: it has its final receipt"}, status_code=409
            )
        return JSONResponse({"done": action, "message": message.to_dict()})

    async def accounts(request: Request) -> Response:
        """Each emulator's accounts: credits, and the calls they made per API method."""
        listed = []
        for name, emulator in state.emulators.items():
            handset = _handset(emulator)
            for account in handset.account_list() if handset else []:
                listed.append(
                    {
                        "provider": name,
                        **account,
                        **state.shared.calls.of(name, str(account["account"])),
                    }
                )
        return JSONResponse({"accounts": listed})

    return [
        Route("/", page, methods=["GET"]),
        Route("/sandbox/accounts", accounts, methods=["GET"]),
        Route("/sandbox/assets/{name}", asset, methods=["GET"]),
        Route("/sandbox/stream", stream, methods=["GET"]),
        Route("/sandbox/messages/{message_id}", detail, methods=["GET"]),
        Route("/sandbox/messages/{message_id}/{action}", act, methods=["POST"]),
    ]


def _actions(handset: Handset | None) -> list[str]:
    if handset is None:
        return []
    return [*ACTIONS, "reply"] if handset.replies else list(ACTIONS)


@runtime_checkable
class _HandsetLike(Handset, Protocol):
    pass


def _handset(emulator: object) -> Handset | None:
    return emulator if isinstance(emulator, _HandsetLike) else None
