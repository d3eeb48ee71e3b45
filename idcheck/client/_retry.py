"""When to try a request again, and how long to wait first.

Retried: 429 rate_limited, 503, 408 (the body came too slowly), 409 idempotency_key_in_flight
(the same key is still running: its answer will be replayed), 409 busy (another write to the
same dataset held it past the server's lock timeout) and connection errors (refused, reset, timed
out, an answer lost on the way). Never retried: a quota (429 quota_exceeded: waiting means
waiting for next month) and every other error. Writes are safe to retry because each carries an
Idempotency-Key that stays the same across the attempts: a request that did its work but whose
answer was lost is replayed by the server, not done (and billed) twice.
"""

import random
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from schemas.vocabulary import ErrorCode

RETRIED_STATUSES = frozenset({408, 429, 503})
RETRIED_CODES = frozenset({ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT, ErrorCode.BUSY})


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter, capped; the server's Retry-After wins when given.

    ``attempts`` counts the first try. A Retry-After longer than ``max_wait`` is not waited for:
    the error is raised at once with its ``retry_after`` for the caller to decide.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 20.0
    max_wait: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try ``attempt + 1`` (1-based), or None to stop."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311  (jitter, not a secret)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retried(response: httpx.Response, code: str) -> bool:
    if code in RETRIED_CODES:
        return True
    return response.status_code in RETRIED_STATUSES and code != ErrorCode.QUOTA_EXCEEDED
