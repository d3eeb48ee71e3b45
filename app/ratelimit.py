"""A token bucket per API key, in each worker process: requests per second, with a burst.

Per process on purpose: it guards the service against a runaway client at no cost per request.
Money is guarded elsewhere: quotas are enforced in the database (see metering.py), exactly.

Every authenticated answer says where its key stands (docs/api.md, "Rate limits"), in the
headers of draft-ietf-httpapi-ratelimit-headers-03: ``RateLimit-Limit`` (the burst: requests
that may come at once), ``RateLimit-Remaining`` (requests left in the bucket now) and
``RateLimit-Reset`` (seconds until the bucket is full again).
"""

import math
import time
from collections import OrderedDict
from typing import Final
from uuid import UUID

from app.errors import TooManyRequests

_MAX_KEYS: Final = 100_000  # buckets kept; the least recently used go first


class RateLimiter:
    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: OrderedDict[UUID, tuple[float, float]] = OrderedDict()

    def take(self, key_id: UUID) -> dict[str, str]:
        """One request of this key's: its RateLimit headers, or 429 (with them, and
        Retry-After) when its bucket is empty. No headers when the limit is off."""
        if self.per_second <= 0:
            return {}
        now = time.monotonic()
        tokens, last = self._buckets.pop(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens < 1:
            self._buckets[key_id] = (tokens, now)
            wait = max(math.ceil((1 - tokens) / self.per_second), 1)
            raise TooManyRequests(
                f"more than {self.per_second:g} requests a second with this key: slow down",
                headers={"Retry-After": str(wait), **self._headers(tokens)},
            )
        self._buckets[key_id] = (tokens - 1, now)
        if len(self._buckets) > _MAX_KEYS:
            self._buckets.popitem(last=False)
        return self._headers(tokens - 1)

    def _headers(self, tokens: float) -> dict[str, str]:
        full_in = math.ceil((self.burst - tokens) / self.per_second)
        return {
            "RateLimit-Limit": str(self.burst),
            "RateLimit-Remaining": str(max(math.floor(tokens), 0)),
            "RateLimit-Reset": str(max(full_in, 0)),
        }
