"""What every router of the API shares: the error responses it documents, bounds, times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from smsgate.service.schemas import ErrorOut

MAX_OFFSET: Final = 2**31 - 1  # what every database takes as an OFFSET
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
AT_PROVIDER: Final[dict[int | str, dict[str, Any]]] = {
    **ERRORS,
    502: {"model": ErrorOut, "description": "The provider refused or failed"},
}


def aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
