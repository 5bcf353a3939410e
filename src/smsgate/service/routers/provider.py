"""``/v1/provider/...``: what the provider itself holds (search, inbox, scheduled, batches)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from smsgate.core.remote import MessageQuery
from smsgate.gateway import Gateway
from smsgate.service.common import AT_PROVIDER, MAX_OFFSET, aware
from smsgate.service.schemas import (
    ProviderMessageOut,
    ProviderStatusOut,
)
from smsgate.store import Store


def router(gateway: Gateway, store: Store, auth: Sequence[Any]) -> APIRouter:
    app = APIRouter(dependencies=list(auth))

    def _query(
        status: str | None,
        to: str | None,
        sender: str | None,
        keyword: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        skip: int,
    ) -> MessageQuery:
        return MessageQuery(status, to, sender, keyword, aware(since), aware(until), limit, skip)

    Status = Annotated[str | None, Query(description="The provider's status word", max_length=32)]
    Number = Annotated[str | None, Query(description="Recipient number", max_length=20)]
    Sender = Annotated[str | None, Query(description="Sender", max_length=15)]
    Keyword = Annotated[str | None, Query(description="Inbound keyword", max_length=50)]
    Since = Annotated[datetime | None, Query(description="Created at or after")]
    Until = Annotated[datetime | None, Query(description="Created at or before")]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Skip = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

    @app.get(
        "/v1/provider/messages",
        operation_id="SearchProviderMessages",
        summary="Search the messages the provider holds (The SMS Works)",
        response_model=list[ProviderMessageOut],
        responses=AT_PROVIDER,
    )
    def search_provider(
        status: Status = None,
        to: Number = None,
        sender: Sender = None,
        keyword: Keyword = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
        skip: Skip = 0,
    ) -> list[ProviderMessageOut]:
        query = _query(status, to, sender, keyword, since, until, limit, skip)
        found = gateway.search(query)
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    @app.get(
        "/v1/provider/messages/failed",
        operation_id="ListFailedMessages",
        summary="Messages the provider could not deliver",
        response_model=list[ProviderMessageOut],
        responses=AT_PROVIDER,
    )
    def failed_provider(limit: Limit = 100, skip: Skip = 0) -> list[ProviderMessageOut]:
        found = gateway.search(MessageQuery(limit=limit, skip=skip), failed=True)
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    @app.get(
        "/v1/provider/inbox",
        operation_id="ListUnreadInbound",
        summary="Unread incoming messages at the provider",
        response_model=list[ProviderMessageOut],
        responses=AT_PROVIDER,
    )
    def inbox_provider(limit: Limit = 100, skip: Skip = 0) -> list[ProviderMessageOut]:
        found = gateway.inbound(MessageQuery(limit=limit, skip=skip))
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    @app.get(
        "/v1/provider/scheduled",
        operation_id="ListScheduledMessages",
        summary="Messages and batches scheduled at the provider",
        response_model=list[ProviderMessageOut],
        responses=AT_PROVIDER,
    )
    def scheduled_provider() -> list[ProviderMessageOut]:
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in gateway.scheduled()]

    @app.get(
        "/v1/provider/batches/{batch_id}",
        operation_id="GetBatchMessages",
        summary="Every message of one batch at the provider",
        response_model=list[ProviderMessageOut],
        responses=AT_PROVIDER,
    )
    def batch_provider(
        batch_id: Annotated[str, Path(description="The provider's batch id", max_length=64)],
    ) -> list[ProviderMessageOut]:
        found = gateway.batch_messages(batch_id)
        return [ProviderMessageOut.model_validate(m.to_dict()) for m in found]

    ProviderId = Annotated[str, Path(description="The provider's message id", max_length=64)]

    @app.get(
        "/v1/provider/messages/{provider_message_id}",
        operation_id="GetProviderMessage",
        summary="One message's status at the provider now",
        response_model=ProviderStatusOut,
        responses=AT_PROVIDER,
    )
    def lookup_provider(provider_message_id: ProviderId) -> ProviderStatusOut:
        receipt = gateway.lookup(provider_message_id)
        return ProviderStatusOut(
            provider_message_id=receipt.provider_message_id or provider_message_id,
            status=receipt.status.value,
            provider_status=receipt.provider_status,
            final=receipt.permanent,
            recipient=receipt.recipient,
            occurred_at=receipt.occurred_at,
            detail=receipt.detail,
        )

    @app.delete(
        "/v1/provider/messages/{provider_message_id}",
        operation_id="DeleteProviderMessage",
        summary="Delete a message at the provider",
        status_code=204,
        responses=AT_PROVIDER,
    )
    def delete_provider(provider_message_id: ProviderId) -> Response:
        gateway.delete(provider_message_id)
        return Response(status_code=204)

    return app
