"""A token bucket per API key, in each worker process: requests per second, with a burst.

Per process on purpose: it guards the service against a runaway client at no cost per request.
Money is guarded elsewhere: quotas are enforced in the database (see metering.py), exactly.
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

    def take(self, key_id: UUID) -> None:
        if self.per_second <= 0:
            return
        now = time.monotonic()
        tokens, last = self._buckets.pop(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens < 1:
            self._buckets[key_id] = (tokens, now)
            wait = math.ceil((1 - tokens) / self.per_second)
            raise TooManyRequests(
                f"more than {self.per_second:g} requests a second with this key: slow down",
                headers={"Retry-After": str(max(wait, 1))},
            )
        self._buckets[key_id] = (tokens - 1, now)
        if len(self._buckets) > _MAX_KEYS:
            self._buckets.popitem(last=False)
