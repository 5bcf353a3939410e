"""``python -m smsgate.elasticio.service verifyCredentials``: the platform's service mode (§3).

Runs the component's verifier on ``ELASTICIO_CFG`` and POSTs ``{status, data}`` to
``ELASTICIO_POST_RESULT_URL``. Exit codes: 0 once the platform took the result (verified or
not); 1 when it did not; 2 when the environment is incomplete (nothing is posted).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from smsgate.sailor.component import Component
from smsgate.sailor.errors import EXIT_FAILED, EXIT_OK, ConfigurationError, SailorError
from smsgate.sailor.platform import post_result
from smsgate.sailor.settings import PREFIX, SERVICE_REQUIRED, env_int, require


def normalise_verification(result: Any) -> dict[str, Any]:
    """The Node.js sailor's rule: a result with ``verified`` as is, anything else verified."""
    if isinstance(result, dict) and "verified" in result:
        return result
    return {"verified": True}


def run_method(method: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The body to post: success with the verifier's answer, or error when the service failed."""
    try:
        cfg = json.loads(env[PREFIX + "CFG"])
        if not isinstance(cfg, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        return {"status": "error", "data": {"message": f"ELASTICIO_CFG is not JSON: {error}"}}
    if method != "verifyCredentials":
        return {
            "status": "error",
            "data": {"message": f"this component has no {method} (it has: verifyCredentials)"},
        }
    try:
        verify = Component.load(env.get(PREFIX + "COMPONENT_PATH", "")).verifier()
    except ConfigurationError as error:
        return {"status": "error", "data": {"message": str(error)}}
    try:
        result: Any = asyncio.run(verify(cfg))
    except Exception as error:
        return {"status": "success", "data": {"verified": False, "reason": str(error)}}
    return {"status": "success", "data": normalise_verification(result)}


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    try:
        if len(args) != 1:
            raise ConfigurationError(
                "name the service method: python -m smsgate.elasticio.service verifyCredentials"
            )
        require(env, SERVICE_REQUIRED)
        body = run_method(args[0], env)
        post_result(
            env[PREFIX + "POST_RESULT_URL"],
            body,
            attempts=env_int(env, "API_REQUEST_RETRY_ATTEMPTS", 3),
            delay_ms=env_int(env, "API_REQUEST_RETRY_DELAY", 100),
        )
    except SailorError as error:
        print(f"smsgate service: {error}", file=sys.stderr)
        return error.exit_code
    return EXIT_OK if body["status"] == "success" else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
