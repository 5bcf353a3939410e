"""``/v1/callbacks``: the status changes posted to clients, the dead letters among them, and
replaying one."""

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from smsgate.service.common import ERRORS, MAX_OFFSET
from smsgate.service.schemas import CallbackOut, CallbackPageOut, ErrorOut
from smsgate.store import Store
from smsgate.store.callbacks import Callbacks


def router(store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))
    callbacks = Callbacks(store)

    @app.get(
        "/v1/callbacks",
        operation_id="ListCallbacks",
        summary="Status callbacks, newest first (status=failed: the dead letters)",
        response_model=CallbackPageOut,
        responses=ERRORS,
    )
    def list_callbacks(
        status: Annotated[
            Literal["pending", "delivered", "failed"] | None,
            Query(description="pending, delivered, or failed (dead-lettered)"),
        ] = None,
        message_id: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> CallbackPageOut:
        rows, total = callbacks.page(status, message_id, limit, offset)
        return CallbackPageOut(
            items=[CallbackOut.model_validate(row, from_attributes=True) for row in rows],
            total=total,
        )

    @app.post(
        "/v1/callbacks/{callback_id}/replay",
        operation_id="ReplayCallback",
        summary="Post a callback again (a dead letter, once its receiver is fixed)",
        response_model=CallbackOut,
        status_code=202,
        responses={**ERRORS, 404: {"model": ErrorOut}},
    )
    def replay(callback_id: Annotated[str, Path(max_length=40)]) -> CallbackOut:
        row = callbacks.replay(callback_id)
        if row is None:
            raise HTTPException(404, f"no callback {callback_id!r}: list them at /v1/callbacks")
        return CallbackOut.model_validate(row, from_attributes=True)

    return app
