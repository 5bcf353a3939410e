"""``/v1/account``: the provider account's state, credits and customer id."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from smsgate.gateway import Gateway
from smsgate.service.common import AT_PROVIDER, ERRORS
from smsgate.service.schemas import (
    AccountOut,
    CustomerOut,
    ErrorOut,
)
from smsgate.store import Store


def router(gateway: Gateway, store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))

    @app.get(
        "/v1/account",
        operation_id="GetAccount",
        summary="The provider account's status and credits",
        response_model=AccountOut,
        responses={**ERRORS, 502: {"model": ErrorOut}},
    )
    def get_account() -> AccountOut:
        return AccountOut.model_validate(gateway.info().to_dict())

    @app.get(
        "/v1/account/customer-id",
        operation_id="GetCustomerId",
        summary="The provider account's customer id",
        response_model=CustomerOut,
        responses=AT_PROVIDER,
    )
    def customer_id() -> CustomerOut:
        return CustomerOut(customer_id=gateway.customer_id())

    return app
