"""``/v1/routes``: which providers each number prefix goes through, and how they are faring."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from smsgate.gateway import Gateway
from smsgate.service.common import ERRORS
from smsgate.service.schemas import RouteOut
from smsgate.store import Store


def router(gateway: Gateway, store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))

    @app.get(
        "/v1/routes",
        operation_id="ListRoutes",
        summary="The routes: each prefix's providers, their abilities and health",
        response_model=list[RouteOut],
        responses=ERRORS,
    )
    def list_routes() -> list[RouteOut]:
        return [RouteOut.model_validate(route) for route in gateway.routes()]

    return app
