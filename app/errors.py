"""One error base class that carries its status; one handler renders them all (API.md's shape)."""

from typing import Any, ClassVar


class IdcheckError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may refine its class's code

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(IdcheckError):
    status = 400
    code = "bad_request"


class Unauthenticated(IdcheckError):
    status = 401
    code = "unauthenticated"

    def __init__(self) -> None:
        # Unknown, revoked and malformed keys all get this same body.
        super().__init__(
            "a valid API key is required: Authorization: Bearer idc_...",
            headers={"WWW-Authenticate": "Bearer"},
        )


class Forbidden(IdcheckError):
    status = 403
    code = "forbidden"


class NotFound(IdcheckError):
    status = 404
    code = "not_found"


class MethodNotAllowed(IdcheckError):
    status = 405
    code = "method_not_allowed"


class Conflict(IdcheckError):
    status = 409
    code = "conflict"


class PayloadTooLarge(IdcheckError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(IdcheckError):
    status = 415
    code = "unsupported_media_type"


class InvalidInput(IdcheckError):
    status = 422
    code = "invalid_input"


class StoreUnavailable(IdcheckError):
    status = 503
    code = "store_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "the store is unavailable: nothing was answered, nothing was billed",
            headers={"Retry-After": "5"},
        )


class TooManyRequests(IdcheckError):
    """429: a rate limit (code rate_limited) or a quota (code quota_exceeded)."""

    status = 429
    code = "rate_limited"


class RequestTimeout(IdcheckError):
    """408: the client stopped sending its body (or sent it too slowly); the connection closes."""

    status = 408
    code = "request_timeout"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Connection": "close"})
