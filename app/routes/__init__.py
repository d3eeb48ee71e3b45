"""Routes, by audience. Every router uses TransactionalRoute and declares who may call it."""

from typing import Any

from schemas.common import ErrorResponse

_MEANINGS = {
    400: "Bad request (an API key in the URL)",
    401: "No valid API key",
    403: "The key's role may not call this route",
    404: "Not found, or another organisation's",
    409: "Conflicts with an existing object",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Invalid input: details name the record index and field",
    429: "Too many requests for this key, or over the monthly quota (see Retry-After)",
    503: "The store is unavailable: nothing answered, nothing billed",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors a route may answer, all in docs/api.md's one shape."""
    return {
        status: {"model": ErrorResponse, "description": _MEANINGS[status]} for status in statuses
    }


#: What every authenticated route may answer besides its success.
AUTHENTICATED = error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
