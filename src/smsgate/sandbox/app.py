"""The sandbox web app: every provider emulator at its real paths, plus the sandbox's own API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsgate.sandbox.allmysms import api as allmysms_api
from smsgate.sandbox.faults import Fault
from smsgate.sandbox.messangi import api as messangi_api
from smsgate.sandbox.smsworks import api as smsworks_api
from smsgate.sandbox.state import SandboxState


def build_app(state: SandboxState | None = None) -> Starlette:
    state = state or SandboxState()

    async def messages(request: Request) -> Response:
        query = request.query_params
        found = state.inbox.list(
            to=query.get("to"), campaign_id=query.get("campaign_id"), provider=query.get("provider")
        )
        return JSONResponse({"count": len(found), "messages": [m.to_dict() for m in found]})

    async def clear_messages(request: Request) -> Response:
        state.inbox.clear()
        return Response(status_code=204)

    async def add_fault(request: Request) -> Response:
        try:
            fault = Fault.from_dict(await request.json())
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"error": f"bad fault: {error}"}, status_code=400)
        state.faults.add(fault)
        return Response(status_code=204)

    async def allmysms_settings(request: Request) -> Response:
        body = await request.json()
        settings = state.allmysms_events.settings
        if "receipt_delay" in body:
            settings.receipt_delay = float(body["receipt_delay"])
        for name in ("receipts_url", "replies_url"):
            if name in body:
                setattr(settings, name, body[name] or None)
        return JSONResponse(
            {
                "receipt_delay": settings.receipt_delay,
                "receipts_url": settings.receipts_url,
                "replies_url": settings.replies_url,
            }
        )

    async def allmysms_reply(request: Request) -> Response:
        body = await request.json()
        sender = str(body.get("from", "")).lstrip("+")
        mo = state.allmysms_events.reply(
            state.inbox, sender, str(body.get("text", "")), body.get("sms_id")
        )
        if mo is None:
            return JSONResponse({"error": f"no SMS was sent to {sender} to reply to"}, 404)
        return JSONResponse(mo.to_dict() | {"smsId": mo.sms_id}, status_code=201)

    async def messangi_settings(request: Request) -> Response:
        body = await request.json()
        settings = state.messangi_events.settings
        if "receipt_delay" in body:
            settings.receipt_delay = float(body["receipt_delay"])
        for name in ("blacklist", "senders_not_allowed"):
            if name in body:
                setattr(settings, name, {str(item).lstrip("+") for item in body[name]})
        return JSONResponse(
            {
                "receipt_delay": settings.receipt_delay,
                "blacklist": sorted(settings.blacklist),
                "senders_not_allowed": sorted(settings.senders_not_allowed),
            }
        )

    async def smsworks_settings(request: Request) -> Response:
        body = await request.json()
        settings = state.smsworks_messages.settings
        if "receipt_delay" in body:
            settings.receipt_delay = float(body["receipt_delay"])
        if "delivery_report_url" in body:
            settings.delivery_report_url = body["delivery_report_url"] or None
        if "throttle" in body:
            settings.throttle = bool(body["throttle"])
        if "credits" in body:
            for customer in state.smsworks_customers.by_id.values():
                customer.credits = float(body["credits"])
        return JSONResponse(
            {
                "receipt_delay": settings.receipt_delay,
                "delivery_report_url": settings.delivery_report_url,
                "throttle": settings.throttle,
            }
        )

    async def smsworks_incoming(request: Request) -> Response:
        """An SMS a handset sends to the account's number: unread until deleted."""
        body = await request.json()
        customer_id = str(body.get("customerid") or next(iter(state.smsworks_customers.by_id)))
        text = str(body.get("content", ""))
        fields = {
            "sender": str(body.get("from", "")).lstrip("+"),
            "destination": str(body.get("to", "447700900000")),
            "content": text,
            "keyword": text.split(" ", 1)[0].upper() if text else "",
            "status": "INCOMING",
        }
        stored = state.smsworks_messages.add(customer_id, fields, 0.0, unread=True)
        return JSONResponse(stored.data, status_code=201)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            *allmysms_api.routes(state),
            *messangi_api.routes(state),
            *smsworks_api.routes(state),
            Route("/sandbox/messages", messages, methods=["GET"]),
            Route("/sandbox/messages", clear_messages, methods=["DELETE"]),
            Route("/sandbox/faults", add_fault, methods=["POST"]),
            Route("/sandbox/allmysms/settings", allmysms_settings, methods=["POST"]),
            Route("/sandbox/allmysms/replies", allmysms_reply, methods=["POST"]),
            Route("/sandbox/messangi/settings", messangi_settings, methods=["POST"]),
            Route("/sandbox/smsworks/settings", smsworks_settings, methods=["POST"]),
            Route("/sandbox/smsworks/incoming", smsworks_incoming, methods=["POST"]),
            Route("/sandbox/health", health, methods=["GET"]),
        ]
    )
    app.state.sandbox = state
    return app
