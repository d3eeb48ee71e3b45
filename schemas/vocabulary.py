"""The closed sets of the API, each defined once: the server, the schemas, the SDK and the CLI all
use these (a test fails when a copy drifts). Their values are wire strings, and some are stored
(roles, snapshot states, audit actions): add members, never rename one.

The kinds of signature and the fields of a record are the spec's (:mod:`signatures.kinds`)."""

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """What an API key may do; a key's role is its organisation's."""

    ADMIN = "admin"
    HOLDER = "holder"
    BUYER = "buyer"
    FINANCE = "finance"


#: The roles of the platform's clients: they sign records, locally or blind.
CLIENT_ROLES: Final = (Role.HOLDER, Role.BUYER)


class Verdict(StrEnum):
    """A verify result's summary of its checks."""

    VERIFIED = "verified"
    PARTIAL = "partial"
    UNVERIFIED = "unverified"
    INVALID = "invalid"


class Level(StrEnum):
    """How a check matched: the names as written (`exact`), or written another way (`close`: a
    letter off, a spelling, a particle, a compound given name, the names swapped; pair kinds
    only), or not at all."""

    EXACT = "exact"
    CLOSE = "close"
    NONE = "none"


class Endpoint(StrEnum):
    """The two verify endpoints: the server signs raw values, or the client sent signatures."""

    RAW = "raw"
    SIGNED = "signed"


class SnapshotState(StrEnum):
    OPEN = "open"
    COMMITTED = "committed"
    ABORTED = "aborted"


class AuditAction(StrEnum):
    """What an audit entry records."""

    ORG_CREATE = "org.create"
    KEY_CREATE = "key.create"
    KEY_REVOKE = "key.revoke"
    QUOTA_SET = "quota.set"
    QUOTA_LIFT = "quota.lift"
    EVALUATION_QUOTA_SET = "evaluation_quota.set"
    EVALUATION_QUOTA_RESET = "evaluation_quota.reset"
    KEY_VERSION_ROTATE = "key_version.rotate"
    KEY_VERSION_RETIRE = "key_version.retire"
    DATASET_CREATE = "dataset.create"
    DATASET_DELETE = "dataset.delete"
    RECORDS_UPLOAD = "records.upload"
    RECORDS_DELETE = "records.delete"
    RECORDS_PURGE = "records.purge"
    SNAPSHOT_OPEN = "snapshot.open"
    SNAPSHOT_UPLOAD = "snapshot.upload"
    SNAPSHOT_COMMIT = "snapshot.commit"
    SNAPSHOT_ABORT = "snapshot.abort"
    OPTOUT_ADD = "optout.add"
    OPTOUT_BULK = "optout.bulk"
    OPTOUT_FORWARD = "optout.forward"
    VERIFY_RAW = "verify.raw"
    VERIFY_SIGNED = "verify.signed"


class Period(StrEnum):
    """Relative periods of usage reports (UTC): the calendar month so far, the month before, and
    the last 30 days with today."""

    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"
    LAST_30_DAYS = "last_30_days"


class ErrorCode(StrEnum):
    """``error.code`` of every error answer (docs/api.md lists each with its status and cause)."""

    BAD_REQUEST = "bad_request"
    INVALID_JSON = "invalid_json"
    API_KEY_IN_QUERY = "api_key_in_query"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    SANDBOX_ONLY = "sandbox_only"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    CONFLICT = "conflict"
    USE_BLIND_EVALUATION = "use_blind_evaluation"
    SNAPSHOT_OPEN = "snapshot_open"
    BUSY = "busy"
    IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_INPUT = "invalid_input"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    INTERNAL_ERROR = "internal_error"
    STORE_UNAVAILABLE = "store_unavailable"


#: The HTTP status each error code is answered with.
STATUS: Final[dict[ErrorCode, int]] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.API_KEY_IN_QUERY: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.SANDBOX_ONLY: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.CONFLICT: 409,
    ErrorCode.USE_BLIND_EVALUATION: 409,
    ErrorCode.SNAPSHOT_OPEN: 409,
    ErrorCode.BUSY: 409,
    ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.STORE_UNAVAILABLE: 503,
}
