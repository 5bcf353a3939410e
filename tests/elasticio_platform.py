"""The tests play the elastic.io platform with the local stand-in (smsgate.elasticio.local).

Each test works on an exchange and queues named after a fresh random prefix on the RabbitMQ at
127.0.0.1:5672 (or $SMSGATE_TEST_AMQP_URL), and deletes them afterwards.
"""

from __future__ import annotations

import os

from smsgate.sailor.local import (
    API_KEY,
    API_USER,
    CIPHER,
    DEFAULT_AMQP,
    FLOW_ID,
    STEP_ID,
    Broker,
    LocalStep,
    StepApi,
    broker_for,
    data_of,
    error_of,
    running_sailor,
)

AMQP_URI = os.environ.get("SMSGATE_TEST_AMQP_URL", DEFAULT_AMQP)
# Rebounds come back in 40 ms, and data is not held back by the emit limit.
TEST_ENV = {"ELASTICIO_REBOUND_INITIAL_EXPIRATION": "40", "ELASTICIO_DATA_RATE_LIMIT": "1000"}


class Step(LocalStep):
    def __init__(self, api_url: str) -> None:
        super().__init__(api_url, AMQP_URI)

    def env(self, **overrides: str) -> dict[str, str]:
        return super().env(**{**TEST_ENV, **overrides})


__all__ = [
    "API_KEY",
    "API_USER",
    "CIPHER",
    "FLOW_ID",
    "STEP_ID",
    "Broker",
    "Step",
    "StepApi",
    "broker_for",
    "data_of",
    "error_of",
    "running_sailor",
]
