"""The sandbox web app: every registered emulator's routes, plus the sandbox's own API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsgate.sandbox.faults import Fault
from smsgate.sandbox.state import SandboxState


def build_app(state: SandboxState | None = None) -> Starlette:
    state = state or SandboxState()
    inbox, faults = state.shared.inbox, state.shared.faults

    async def messages(request: Request) -> Response:
        query = request.query_params
        found = inbox.list(
            to=query.get("to"), campaign_id=query.get("campaign_id"), provider=query.get("provider")
        )
        return JSONResponse({"count": len(found), "messages": [m.to_dict() for m in found]})

    async def clear_messages(request: Request) -> Response:
        inbox.clear()
        return Response(status_code=204)

    async def add_fault(request: Request) -> Response:
        try:
            fault = Fault.from_dict(await request.json())
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"error": f"bad fault: {error}"}, status_code=400)
        faults.add(fault)
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [route for emulator in state.emulators.values() for route in emulator.routes()]
    app = Starlette(
        routes=[
            *routes,
            Route("/sandbox/messages", messages, methods=["GET"]),
            Route("/sandbox/messages", clear_messages, methods=["DELETE"]),
            Route("/sandbox/faults", add_fault, methods=["POST"]),
            Route("/sandbox/health", health, methods=["GET"]),
        ]
    )
    app.state.sandbox = state
    return app
