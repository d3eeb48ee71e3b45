"""The SDK's exceptions, one tree (every one is an :class:`IdcheckError`)::

    IdcheckError
    ├── TransportError            the server could not be reached, or the answer was lost,
    │                             and the retries ran out
    └── APIError                  the server answered with an error (docs/api.md's shape)
        ├── BadRequest              400  (ApiKeyInQuery: 400 api_key_in_query)
        ├── AuthenticationError     401  unknown, revoked or malformed API key
        ├── PermissionDenied        403  the key's role may not do this (SandboxOnly: a test
        │                                key outside the sandbox)
        ├── NotFound                404  no such object, or another organisation's
        ├── RequestTimeout          408  the body came too slowly (retried)
        ├── Conflict                409  (IdempotencyKeyInFlight: the same key is still running;
        │                                Busy: another write to the same dataset held it too
        │                                long; both retried; UseBlindEvaluation: the current
        │                                key version is blind mode, no key is handed out)
        ├── PayloadTooLarge         413
        ├── UnsupportedMediaType    415
        ├── InvalidInput            422  details name the record index and field
        │                                (IdempotencyKeyReused: same key, different body)
        ├── TooManyRequests         429  RateLimited (retried) or QuotaExceeded (not retried)
        ├── StoreUnavailable        503  nothing answered, nothing billed (retried)
        └── ServerError             any other 5xx

An APIError carries ``status``, ``code``, ``message``, ``details``, ``retry_after`` (seconds,
from the Retry-After header, or None) and ``request_id`` (the answer's X-Request-Id: what to
quote to support).
"""

from typing import Any

from schemas.vocabulary import ErrorCode


class IdcheckError(Exception):
    """Base of every error the SDK raises."""


class TransportError(IdcheckError):
    """No answer: connection refused, reset or timed out, after the retries."""


class APIError(IdcheckError):
    """The server answered with an error; a subclass names its status in its bases."""

    status: int = 0

    def __init_subclass__(cls, status: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        suffix = f" (request {request_id})" if request_id else ""
        super().__init__(f"{status} {code}: {message}{suffix}")
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.retry_after = retry_after
        self.request_id = request_id


class BadRequest(APIError, status=400): ...


class ApiKeyInQuery(BadRequest): ...


class AuthenticationError(APIError, status=401): ...


class PermissionDenied(APIError, status=403): ...


class SandboxOnly(PermissionDenied):
    """A test key asked for something outside the sandbox: use a live key."""


class NotFound(APIError, status=404): ...


class RequestTimeout(APIError, status=408): ...


class Conflict(APIError, status=409): ...


class IdempotencyKeyInFlight(Conflict): ...


class Busy(Conflict): ...


class UseBlindEvaluation(Conflict):
    """The current key version is blind mode: no signing key is handed out."""


class PayloadTooLarge(APIError, status=413): ...


class UnsupportedMediaType(APIError, status=415): ...


class InvalidInput(APIError, status=422): ...


class IdempotencyKeyReused(InvalidInput): ...


class TooManyRequests(APIError, status=429): ...


class RateLimited(TooManyRequests): ...


class QuotaExceeded(TooManyRequests): ...


class StoreUnavailable(APIError, status=503): ...


class ServerError(APIError, status=500): ...


_BY_CODE: dict[str, type[APIError]] = {
    ErrorCode.API_KEY_IN_QUERY: ApiKeyInQuery,
    ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT: IdempotencyKeyInFlight,
    ErrorCode.BUSY: Busy,
    ErrorCode.SANDBOX_ONLY: SandboxOnly,
    ErrorCode.USE_BLIND_EVALUATION: UseBlindEvaluation,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: IdempotencyKeyReused,
    ErrorCode.RATE_LIMITED: RateLimited,
    ErrorCode.QUOTA_EXCEEDED: QuotaExceeded,
    ErrorCode.STORE_UNAVAILABLE: StoreUnavailable,
}
_BY_STATUS: dict[int, type[APIError]] = {
    kind.status: kind
    for kind in (
        BadRequest,
        AuthenticationError,
        PermissionDenied,
        NotFound,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidInput,
        TooManyRequests,
        StoreUnavailable,
    )
}


def error_class(status: int, code: str) -> type[APIError]:
    """The most precise class for an error answer: by its code, else its status."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else APIError
