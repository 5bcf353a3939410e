"""The SMS Works emulator against The SMS Works' own API definition (OpenAPI 3.0.1, API 1.9.0,
from their official Go SDK; ../shared/thirdparty/): every answer the emulator gives our
client has a status code that the operation declares, and a body that validates against the
schema declared for it. A definition nobody here wrote, so an emulator bug that mirrors a
client bug is caught here.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from smsgate.core.dsn import Dsn
from smsgate.sandbox.server import BackgroundSandbox

DEFINITION = (
    Path(__file__).resolve().parents[2] / "shared" / "thirdparty" / "smsworks-openapi-1.9.0.json"
)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not DEFINITION.exists():
        if os.environ.get("CI"):
            pytest.fail(f"The SMS Works' definition is missing at {DEFINITION}")
        pytest.skip("../shared/thirdparty is not beside this checkout")
    loaded: dict[str, Any] = json.loads(DEFINITION.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def api(sandbox: BackgroundSandbox) -> httpx.Client:
    token = Dsn.parse(sandbox.smsworks_dsn()).user
    return httpx.Client(base_url=f"{sandbox.url}/v1", headers={"Authorization": token})


def conforms(spec: dict[str, Any], method: str, path: str, response: httpx.Response) -> Any:
    """The answer's status is one the operation declares (else its default), and its JSON
    body validates against the schema declared for that status."""
    operation = spec["paths"][path][method]
    declared = operation["responses"]
    code = str(response.status_code)
    assert code in declared or "default" in declared, f"{method} {path}: {code} not declared"
    answer = declared.get(code) or declared["default"]
    body = response.json()
    for content in answer.get("content", {}).values():
        schema = {**content["schema"], "components": spec["components"]}
        errors = [e.message for e in OAS30Validator(schema).iter_errors(body)]
        assert not errors, f"{method} {path} {code}: {errors[:3]} in {body!r}"
    return body


def test_the_emulators_answers_conform_to_the_official_definition(
    spec: dict[str, Any], api: httpx.Client
) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    message = {"sender": "ACME", "destination": "447700900123", "content": "Hello"}

    sent = conforms(spec, "post", "/message/send", api.post("/message/send", json=message))
    batch = {"sender": "ACME", "destinations": ["447700900124", "447700900125"], "content": "Hi"}
    conforms(spec, "post", "/batch/send", api.post("/batch/send", json=batch))
    scheduled = conforms(
        spec,
        "post",
        "/message/schedule",
        api.post("/message/schedule", json={**message, "schedule": later}),
    )
    conforms(spec, "get", "/messages/schedule", api.get("/messages/schedule"))
    conforms(spec, "get", "/credits/balance", api.get("/credits/balance"))
    conforms(spec, "post", "/messages", api.post("/messages", json={"destination": "447700900123"}))
    conforms(
        spec,
        "get",
        "/messages/{messageid}",
        api.get(f"/messages/{sent['messageid']}"),
    )
    conforms(
        spec,
        "delete",
        "/messages/schedule/{messageid}",
        api.delete(f"/messages/schedule/{scheduled[0]['messageid']}"),
    )
    # Refusals too: an unknown message, and a send without content.
    conforms(spec, "get", "/messages/{messageid}", api.get("/messages/no-such-message"))
    conforms(
        spec,
        "post",
        "/message/send",
        api.post("/message/send", json={"sender": "ACME", "destination": "447700900123"}),
    )
