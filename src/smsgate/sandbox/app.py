"""The sandbox web app: every registered emulator's routes, plus the sandbox's own API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsgate.sandbox import web
from smsgate.sandbox.faults import Fault
from smsgate.sandbox.inbox import MAX_PAGE, PAGE, InboxQuery
from smsgate.sandbox.keep import FLUSH_EVERY
from smsgate.sandbox.openapi import OPENAPI
from smsgate.sandbox.state import SandboxState

MAX_WAIT = 60.0


def _bounded(params: Mapping[str, str], name: str, default: float, highest: float) -> float:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= highest:
        raise ValueError(f"{name}={raw!r} must be a number from 0 to {highest:g}")
    return value


def _bad(error: ValueError) -> Response:
    return JSONResponse({"error": str(error)}, status_code=400)


def build_app(state: SandboxState | None = None) -> Starlette:
    state = state or SandboxState()
    inbox, faults = state.shared.inbox, state.shared.faults

    async def messages(request: Request) -> Response:
        params = request.query_params
        try:
            query = InboxQuery.from_params(params)
            limit = int(_bounded(params, "limit", PAGE, MAX_PAGE))
            offset = int(_bounded(params, "offset", 0, 2**31 - 1))
            order = params.get("order", "oldest")
            if order not in ("oldest", "newest"):
                raise ValueError(f"order={order!r}: write oldest or newest")
        except ValueError as error:
            return _bad(error)
        page, total = inbox.find(query, limit=limit, offset=offset, newest_first=order == "newest")
        return JSONResponse(
            {"count": len(page), "total": total, "messages": [m.to_dict() for m in page]}
        )

    async def wait_message(request: Request) -> Response:
        params = request.query_params
        try:
            query = InboxQuery.from_params(params)
            timeout = _bounded(params, "timeout", 10.0, MAX_WAIT)
        except ValueError as error:
            return _bad(error)
        found = await inbox.wait(query, timeout)
        if found is None:
            return JSONResponse(
                {"error": f"no SMS matching the query arrived within {timeout:g} s"},
                status_code=408,
            )
        return JSONResponse({"message": found.to_dict()})

    async def delete_messages(request: Request) -> Response:
        try:
            query = InboxQuery.from_params(request.query_params)
        except ValueError as error:
            return _bad(error)
        return JSONResponse({"deleted": inbox.delete(query)})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def add_fault(request: Request) -> Response:
        try:
            fault = Fault.from_dict(await request.json())
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"error": f"bad fault: {error}"}, status_code=400)
        faults.add(fault)
        return Response(status_code=204)

    async def chaos(request: Request) -> Response:
        """GET: the rules in force and what they injected lately; POST {"spec": ...} sets
        them (a bad rule changes nothing); DELETE clears them."""
        if request.method == "POST":
            try:
                body = await request.json()
                faults.chaos.set(str(body.get("spec", "")) if isinstance(body, dict) else "")
            except ValueError as error:
                return _bad(error)
        elif request.method == "DELETE":
            faults.chaos.set("")
        return JSONResponse({"spec": faults.chaos.spec, "injected": list(faults.injected)})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """A server's start and stop: what was pending goes on; what changes is written
        every quarter second, and at the end."""
        state.resume()
        keep = state.keep

        async def flushing() -> None:
            while True:
                await asyncio.sleep(FLUSH_EVERY)
                keep.flush()

        flusher = asyncio.get_running_loop().create_task(flushing())
        try:
            yield
        finally:
            flusher.cancel()
            keep.close()

    routes = [route for emulator in state.emulators.values() for route in emulator.routes()]
    app = Starlette(
        lifespan=lifespan,
        routes=[
            *routes,
            Route("/sandbox/messages", messages, methods=["GET"]),
            Route("/sandbox/messages", delete_messages, methods=["DELETE"]),
            Route("/sandbox/messages/wait", wait_message, methods=["GET"]),
            *web.routes(state),
            Route("/sandbox/openapi.json", openapi, methods=["GET"]),
            Route("/sandbox/faults", add_fault, methods=["POST"]),
            Route("/sandbox/chaos", chaos, methods=["GET", "POST", "DELETE"]),
            Route("/sandbox/health", health, methods=["GET"]),
        ],
    )
    app.state.sandbox = state
    return app
