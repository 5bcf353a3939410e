"""The sandbox's own API for tests, as OpenAPI 3.1 (``GET /sandbox/openapi.json``).

Written out here rather than generated: the sandbox is plain Starlette (the providers' paths
must answer exactly as the providers do, which no framework's conventions fit), and this is
the contract a test suite elsewhere reads. ``tests/test_sandbox_api.py`` calls every path
it lists.
"""

from __future__ import annotations

from typing import Any, Final

_FILTERS: Final = [
    ("to", "Recipient number, international digits (a leading + is ignored)"),
    ("provider", "allmysms, messangi or smsworks"),
    ("account", "The account it was sent through (one inbox per account for parallel tests)"),
    ("status", "sent, scheduled, delivered, failed, expired, cancelled"),
    ("campaign_id", "The provider's campaign or batch id"),
    ("tag", "The campaign name or tag the client gave"),
    ("q", "A piece of the text, the number, the sender shown or the tag, any case"),
    ("since", "Received at or after this time (ISO 8601)"),
]


def _parameters(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in _FILTERS
    ] + list(extra)


_MESSAGE: Final = {
    "type": "object",
    "properties": {
        name: {"type": kind}
        for name, kind in (
            ("id", "string"),
            ("provider", "string"),
            ("account", "string"),
            ("campaign_id", "string"),
            ("to", "string"),
            ("text", "string"),
            ("sender_requested", ["string", "null"]),
            ("sender_shown", "string"),
            ("encoding", "string"),
            ("parts", "integer"),
            ("credits", "integer"),
            ("status", "string"),
            ("scheduled_at", ["string", "null"]),
            ("client_message_id", ["string", "null"]),
            ("flash", "boolean"),
            ("receipt", ["string", "null"]),
            ("received_at", "string"),
            ("sequence", "integer"),
        )
    },
}
_ERROR: Final = {
    "description": "What is wrong, in one line",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {
        "title": "smsgate sandbox",
        "version": "1",
        "description": "What the sandbox accepted, for tests: list, wait for, delete; "
        "faults to inject. The providers' own APIs answer at their real paths beside it.",
    },
    "paths": {
        "/sandbox/messages": {
            "get": {
                "operationId": "ListSandboxMessages",
                "summary": "The messages accepted, oldest first (order=newest: newest first)",
                "parameters": _parameters(
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 100000,
                            "default": 1000,
                        },
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                    {"name": "order", "in": "query", "schema": {"enum": ["oldest", "newest"]}},
                ),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "count": {"type": "integer"},
                                "total": {"type": "integer"},
                                "messages": {"type": "array", "items": _MESSAGE},
                            },
                        },
                        "One page",
                    ),
                    "400": _ERROR,
                },
            },
            "delete": {
                "operationId": "DeleteSandboxMessages",
                "summary": "Delete the messages matching the filters (all, without any)",
                "parameters": _parameters(),
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"deleted": {"type": "integer"}}},
                        "How many were deleted",
                    ),
                    "400": _ERROR,
                },
            },
        },
        "/sandbox/messages/wait": {
            "get": {
                "operationId": "WaitForSandboxMessage",
                "summary": "The first message matching the filters, as soon as one is there",
                "parameters": _parameters(
                    {
                        "name": "timeout",
                        "in": "query",
                        "description": "Seconds (at most 60)",
                        "schema": {"type": "number", "minimum": 0, "maximum": 60, "default": 10},
                    },
                ),
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"message": _MESSAGE}}, "The message"
                    ),
                    "400": _ERROR,
                    "408": _ERROR,
                },
            }
        },
        "/sandbox/messages/{message_id}": {
            "get": {
                "operationId": "GetSandboxMessage",
                "summary": "One message as its handset shows it, with its GSM-7/UCS-2 "
                "breakdown (the characters that forced UCS-2, each part) and its timeline",
                "parameters": [
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": _json(_MESSAGE, "The message"), "404": _ERROR},
            }
        },
        "/sandbox/messages/{message_id}/{action}": {
            "post": {
                "operationId": "ActOnSandboxMessage",
                "summary": "As the network or the recipient: deliver, fail or expire it now "
                "(its receipt goes to the client as the provider's would), or reply "
                '({"text": ...})',
                "parameters": [
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["deliver", "fail", "expire", "reply"]},
                    },
                ],
                "responses": {
                    "200": _json({"type": "object"}, "Done"),
                    "404": _ERROR,
                    "409": _ERROR,
                },
            }
        },
        "/sandbox/stream": {
            "get": {
                "operationId": "StreamSandboxInbox",
                "summary": "Server-sent events: the inbox's changes, gathered a tenth of a "
                "second at a time ({added, changed, more})",
                "responses": {"200": {"description": "text/event-stream"}},
            }
        },
        "/sandbox/faults": {
            "post": {
                "operationId": "InjectSandboxFault",
                "summary": "Make the next call(s) of one API method misbehave",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["method"],
                                "properties": {
                                    "method": {
                                        "type": "string",
                                        "description": "e.g. sendSms, smsworks.batch",
                                    },
                                    "when": {"enum": ["before", "after"]},
                                    "status": {"type": "integer"},
                                    "delay": {"type": "number"},
                                    "retry_after": {"type": "string"},
                                    "times": {"type": "integer"},
                                    "answer": {"type": "object"},
                                },
                            }
                        }
                    }
                },
                "responses": {"204": {"description": "Set"}, "400": _ERROR},
            }
        },
        "/sandbox/chaos": {
            "get": {
                "operationId": "SandboxChaos",
                "summary": "The chaos rules in force, and what they injected lately",
                "responses": {"200": _json({"type": "object"}, "Rules and injected faults")},
            },
            "post": {
                "operationId": "SetSandboxChaos",
                "summary": 'Set the chaos rules: {"spec": "sendSms:500@5%,timeout@2%"}',
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"spec": {"type": "string"}}}
                        }
                    }
                },
                "responses": {"200": _json({"type": "object"}, "In force"), "400": _ERROR},
            },
            "delete": {
                "operationId": "ClearSandboxChaos",
                "summary": "Clear the chaos rules",
                "responses": {"200": _json({"type": "object"}, "Cleared")},
            },
        },
        "/sandbox/health": {
            "get": {
                "operationId": "SandboxHealth",
                "summary": "Liveness",
                "responses": {"200": _json({"type": "object"}, "ok")},
            }
        },
        "/sandbox/openapi.json": {
            "get": {
                "operationId": "SandboxOpenApi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    },
}
