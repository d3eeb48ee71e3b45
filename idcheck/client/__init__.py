"""The idcheck Python SDK: Client and AsyncClient over the HTTP API v1 (docs/api.md).

Every write carries an Idempotency-Key that stays the same across retries, so a retry after a
lost answer is replayed by the server, never done (or billed) twice. Errors: see
client._exceptions for the tree.
"""

from idcheck.client._base import DEFAULT_URL, Call, RetryEvent
from idcheck.client._calls import ndjson
from idcheck.client._client import AsyncClient, Client
from idcheck.client._exceptions import (
    APIError,
    ApiKeyInQuery,
    AuthenticationError,
    BadRequest,
    Busy,
    Conflict,
    IdcheckError,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RequestTimeout,
    ServerError,
    StoreUnavailable,
    TooManyRequests,
    TransportError,
    UnsupportedMediaType,
)
from idcheck.client._retry import Retry

__all__ = [
    "DEFAULT_URL",
    "APIError",
    "ApiKeyInQuery",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "Busy",
    "Call",
    "Client",
    "Conflict",
    "IdcheckError",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "QuotaExceeded",
    "RateLimited",
    "RequestTimeout",
    "Retry",
    "RetryEvent",
    "ServerError",
    "StoreUnavailable",
    "TooManyRequests",
    "TransportError",
    "UnsupportedMediaType",
    "ndjson",
]
