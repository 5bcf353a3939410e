"""The two calls the sailor makes to the platform's HTTP API (spec elasticio.md §3, §7).

Reading the step is idempotent and retried on connection errors and 5xx; posting a service
result is retried on 5xx as the Node.js sailor does.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from smsgate.sailor.errors import SailorError
from smsgate.sailor.settings import PlatformApi

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class PlatformError(SailorError):
    """The platform API did not answer as it should."""


@dataclass
class StepData:
    """What the platform keeps for one flow step: its configuration (credentials merged in)."""

    config: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    is_passthrough: bool = False
    variables: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> StepData:
        if not isinstance(data, dict):
            raise PlatformError("the platform's step data is not a JSON object")
        return cls(
            config=dict(data.get("config") or {}),
            snapshot=dict(data.get("snapshot") or {}),
            is_passthrough=bool(data.get("is_passthrough")),
            variables=dict(data.get("variables") or {}),
        )


def _retryable(error: Exception | None, response: httpx.Response | None) -> bool:
    if error is not None:
        return isinstance(error, httpx.TransportError)
    return response is not None and response.status_code >= 500


async def fetch_step(api: PlatformApi, flow_id: str, step_id: str) -> StepData:
    """GET {API_URI}/v1/tasks/{flow}/steps/{step} with Basic auth, as the Node.js sailor does."""
    url = f"{api.uri}/v1/tasks/{flow_id}/steps/{step_id}"
    auth = httpx.BasicAuth(api.username, api.key.reveal())
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        for attempt in range(1, max(api.retry_attempts, 1) + 1):
            error: Exception | None = None
            response: httpx.Response | None = None
            try:
                response = await client.get(url, auth=auth)
            except httpx.HTTPError as caught:
                error = caught
            if response is not None and response.status_code == 200:
                return StepData.from_json(response.json())
            if attempt < api.retry_attempts and _retryable(error, response):
                await asyncio.sleep(api.retry_delay_ms / 1000)
                continue
            what = f"HTTP {response.status_code}" if response else type(error).__name__
            raise PlatformError(
                f"could not read step {step_id} of flow {flow_id} from {api.uri} ({what}): "
                "check ELASTICIO_API_URI, ELASTICIO_API_USERNAME and ELASTICIO_API_KEY"
            )
    raise AssertionError("unreachable")


def post_result(url: str, body: dict[str, Any], attempts: int, delay_ms: int) -> None:
    """POST a service result; credentials in the URL become Basic auth and leave the URL."""
    parts = urlsplit(url)
    auth: httpx.Auth | None = None
    if parts.username is not None:
        auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    with httpx.Client(timeout=TIMEOUT) as client:
        for attempt in range(1, max(attempts, 1) + 1):
            error: Exception | None = None
            response: httpx.Response | None = None
            try:
                response = client.post(url, json=body, auth=auth or httpx.USE_CLIENT_DEFAULT)
            except httpx.HTTPError as caught:
                error = caught
            if response is not None and response.status_code == 200:
                return
            if attempt < attempts and _retryable(error, response):
                time.sleep(delay_ms / 1000)
                continue
            what = f"HTTP {response.status_code}" if response else type(error).__name__
            raise PlatformError(
                f"the platform did not take the result at {parts.hostname} ({what}): "
                "check ELASTICIO_POST_RESULT_URL"
            )
