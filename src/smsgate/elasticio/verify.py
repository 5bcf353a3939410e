"""The credentials check (spec §3): AllMySMS getInfo with the login and API key.

Blank credentials are verified: the component then runs in trial mode. Credentials AllMySMS
refuses give ``{verified: False, reason}``; a failure to reach it raises, which the service
turns into the same answer with the error as the reason.
"""

from __future__ import annotations

import os
from typing import Any

from smsgate.core.errors import ProviderError
from smsgate.elasticio.actions.send import COMPONENT_RETRY
from smsgate.elasticio.credentials import allmysms_dsn, is_trial
from smsgate.gateway import AsyncGateway, plain_endpoint


async def verify(credentials: dict[str, Any]) -> dict[str, Any]:
    if is_trial(credentials):
        return {"verified": True}
    # The plain endpoint: a real account is checked against AllMySMS, never the trial one.
    endpoint = plain_endpoint(allmysms_dsn(credentials, os.environ))
    async with AsyncGateway(endpoint, retry=COMPONENT_RETRY) as gateway:
        try:
            await gateway.info()
        except ProviderError as error:
            return {"verified": False, "reason": str(error)}
    return {"verified": True}
