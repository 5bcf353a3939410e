"""``/v1/optouts``: the numbers later sends skip, with reason ``opted out``."""

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from smsgate.service.common import ERRORS, MAX_OFFSET
from smsgate.service.schemas import OptOutIn, OptOutPageOut
from smsgate.shapes import OptOutOut
from smsgate.store import Store
from smsgate.store.optouts import OptOuts
from smsgate.usecases.optouts import opt_out_number

Number = Annotated[str, Path(description="The number, e.g. +33612345678 or 33612345678")]


def router(store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))
    opt_outs = OptOuts(store)

    @app.get(
        "/v1/optouts",
        operation_id="ListOptOuts",
        summary="Numbers that opted out, newest first",
        response_model=OptOutPageOut,
        responses=ERRORS,
    )
    def list_opt_outs(
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> OptOutPageOut:
        rows, total = opt_outs.list(limit=limit, offset=offset)
        items = [OptOutOut.model_validate(row) for row in rows]
        return OptOutPageOut(items=items, total=total, limit=limit, offset=offset)

    @app.post(
        "/v1/optouts",
        operation_id="AddOptOut",
        summary="Opt a number out: later sends skip it",
        status_code=201,
        response_model=OptOutOut,
        responses=ERRORS,
    )
    def add_opt_out(body: OptOutIn, response: Response) -> OptOutOut:
        number = opt_out_number(body.number)
        if not opt_outs.add(number, "manual", detail=body.detail):
            response.status_code = 200  # already there: kept as first added
        found = opt_outs.get(number)
        assert found is not None
        return OptOutOut.model_validate(found)

    @app.delete(
        "/v1/optouts/{number}",
        operation_id="RemoveOptOut",
        summary="Let a number be sent to again",
        status_code=204,
        responses=ERRORS,
    )
    def remove_opt_out(number: Number) -> Response:
        if not opt_outs.remove(opt_out_number(number)):
            raise HTTPException(404, f"{number} has not opted out")
        return Response(status_code=204)

    return app
