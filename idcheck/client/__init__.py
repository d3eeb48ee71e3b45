"""The idcheck Python SDK: Client and AsyncClient over the HTTP API v1 (docs/api.md).

Every write carries an Idempotency-Key that stays the same across retries, so a retry after a
lost answer is replayed by the server, never done (or billed) twice. Errors: see
client._exceptions for the tree.
"""

from idcheck.client._base import DEFAULT_URL
from idcheck.client._base import Call
from idcheck.client._base import RetryEvent
from idcheck.client._blind import BlindBatch
from idcheck.client._blind import async_sign_fields_blind
from idcheck.client._blind import sign_fields_blind
from idcheck.client._blind import sign_records_blind
from idcheck.client._calls import ndjson
from idcheck.client._client import AsyncClient
from idcheck.client._client import Client
from idcheck.client._exceptions import APIError
from idcheck.client._exceptions import ApiKeyInQuery
from idcheck.client._exceptions import AuthenticationError
from idcheck.client._exceptions import BadRequest
from idcheck.client._exceptions import Busy
from idcheck.client._exceptions import Conflict
from idcheck.client._exceptions import IdcheckError
from idcheck.client._exceptions import IdempotencyKeyInFlight
from idcheck.client._exceptions import IdempotencyKeyReused
from idcheck.client._exceptions import InvalidInput
from idcheck.client._exceptions import NotFound
from idcheck.client._exceptions import PayloadTooLarge
from idcheck.client._exceptions import PermissionDenied
from idcheck.client._exceptions import QuotaExceeded
from idcheck.client._exceptions import RateLimited
from idcheck.client._exceptions import RequestTimeout
from idcheck.client._exceptions import SandboxOnly
from idcheck.client._exceptions import ServerError
from idcheck.client._exceptions import StoreUnavailable
from idcheck.client._exceptions import TooManyRequests
from idcheck.client._exceptions import TransportError
from idcheck.client._exceptions import UnsupportedMediaType
from idcheck.client._exceptions import UseBlindEvaluation
from idcheck.client._retry import Retry

__all__ = [
    "DEFAULT_URL",
    "APIError",
    "ApiKeyInQuery",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "BlindBatch",
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
    "SandboxOnly",
    "ServerError",
    "StoreUnavailable",
    "TooManyRequests",
    "TransportError",
    "UnsupportedMediaType",
    "UseBlindEvaluation",
    "async_sign_fields_blind",
    "ndjson",
    "sign_fields_blind",
    "sign_records_blind",
]
