"""``/v1/replies``: what recipients answered, from the store."""

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query

from smsgate.gateway import Gateway
from smsgate.service.common import ERRORS, MAX_OFFSET
from smsgate.service.schemas import (
    ReplyOut,
)
from smsgate.store import Store


def router(gateway: Gateway, store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))

    @app.get(
        "/v1/replies",
        operation_id="ListReplies",
        summary="Replies received, newest first",
        response_model=list[ReplyOut],
        responses=ERRORS,
    )
    def list_replies(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[ReplyOut]:
        return [ReplyOut.model_validate(r) for r in store.replies(limit=limit, offset=offset)]

    return app
