"""Lookups on PostgreSQL streaming replicas, and removals that take effect on them at once.

With IDCHECK_DATABASE_REPLICA_URLS set, a verify's lookups (one or two read statements) go to a
replica; everything else (keys, metering, idempotency, uploads, every write) stays on the primary.

**Which replica.** A monitor in each API process checks every IDCHECK_REPLICA_CHECK_INTERVAL
seconds: it reads the primary's WAL position (``pg_current_wal_lsn``), keeping a short history of
(time, position), then each replica's replay position (``pg_last_wal_replay_lsn``). A replica's
lag is the time since the primary was at a position the replica has replayed: how old, at most,
is what the replica shows. A replica is used while it answers, is still a standby, lags at most
IDCHECK_REPLICA_MAX_LAG seconds and was checked within ``fresh`` seconds (an interval and two
of the checks' time limits, ``timeout``: the longest the next check may be in coming);
lookups go round the usable ones, and to the primary when none is (then ``/readyz`` says
``degraded``). A lookup that fails on a replica is answered by the primary, and the replica is not
used again until a check finds it well.

**Removals at once.** After a removal commits (a record or dataset deleted, an objection, a
snapshot committed: ``REMOVALS``), its answer waits until every replica has replayed the primary's
position read after the commit, or until ``settle_time`` has passed since then. By then a replica
that has not replayed it lags, in every API process's own measure, more than the limit (its last
check was at most ``fresh`` seconds ago and found it behind a position the primary had reached
before the wait began): no process uses it. So no verify that starts after the answer sees what
was removed, without asking the operator to name synchronous standbys (``synchronous_commit =
remote_apply`` would stall every removal while one standby is down), and with a bounded wait
(``settle_time``: IDCHECK_REPLICA_MAX_LAG + ``fresh``) when a replica cannot confirm.
"""

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Final
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.db import create_engine
from app.db import create_single_read_sessionmaker
from app.metrics import Metrics
from app.settings import Settings

log = logging.getLogger("idcheck.replicas")

T = TypeVar("T")

#: Operations whose effect must hold on every replica before they answer.
REMOVALS: Final = frozenset(
    {"delete_records", "delete_dataset", "holder_opt_out", "admin_opt_out", "commit_snapshot"}
)
#: The least time a check's query may take (seconds), whatever the interval.
CHECK_TIMEOUT_FLOOR: Final = 0.5
#: How often a removal's answer asks the replicas whether they have replayed it (seconds).
_SETTLE_POLL: Final = 0.01
_PRIMARY_POSITION: Final = sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
_REPLICA_POSITION: Final = sa.text(
    "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint"
)


@dataclass
class Replica:
    """One replica: its engine, and what the last check found."""

    name: str  # its place in IDCHECK_DATABASE_REPLICA_URLS: "0", "1", ...
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    lag: float = math.inf
    checked_at: float = -math.inf  # monotonic time the last check's query was sent
    failed_at: float = -math.inf  # a lookup failed on it: unused until a later check


@dataclass
class _History:
    """The primary's WAL positions, as (monotonic time before reading it, position)."""

    keep: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, at: float, position: int) -> None:
        self.samples.append((at, position))
        while self.samples and self.samples[0][0] < at - self.keep:
            self.samples.popleft()

    def lag(self, replayed: int, now: float) -> float:
        """Time since the primary was, as far as known, at a position ``replayed`` has reached."""
        reached = [at for at, position in self.samples if position <= replayed]
        return now - max(reached) if reached else math.inf


async def _replica_position(replica: Replica) -> tuple[bool, int]:
    """Whether the server is still a standby, and its replay position (as a number); a standby
    that has replayed nothing yet has none, and fails here like one that does not answer."""
    async with replica.engine.connect() as connection:
        standby, replayed = (await connection.execute(_REPLICA_POSITION)).one()
    return bool(standby), int(replayed)


class Replicas:
    """The replicas of this API process (none: every lookup on the primary)."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.max_lag = settings.replica_max_lag
        self.interval = settings.replica_check_interval
        # Each check's query may take this long (a loaded machine answers slowly; then the
        # replica counts as unreachable until the next check).
        self.timeout = max(2 * self.interval, CHECK_TIMEOUT_FLOOR)
        self.fresh = self.interval + 2 * self.timeout
        self.settle_time = self.max_lag + self.fresh
        self._metrics = metrics
        self._history = _History(keep=2 * self.settle_time + 1)
        self.replicas: list[Replica] = []
        for number, url in enumerate(settings.replica_urls):
            engine = create_engine(settings, url, connect_timeout=self.settle_time)
            sessions = create_single_read_sessionmaker(engine, settings)
            self.replicas.append(Replica(str(number), engine, sessions))
        self._turn = itertools.count()
        self._primary: AsyncEngine | None = None
        self._monitor: asyncio.Task[None] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.replicas)

    async def start(self, primary: AsyncEngine) -> None:
        """The monitor, after a first check (so that lookups use the replicas from the start)."""
        if not self.replicas:
            return
        self._primary = primary
        await self.check()
        self._monitor = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for replica in self.replicas:
            await replica.engine.dispose()

    def usable(self) -> list[Replica]:
        now = time.monotonic()
        return [
            replica
            for replica in self.replicas
            if replica.lag <= self.max_lag
            and now - replica.checked_at <= self.fresh
            and replica.failed_at < replica.checked_at
        ]

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]], primary: AsyncSession) -> T:
        """``work`` (read statements) on a usable replica, else on ``primary`` (the request's
        session): also when the replica fails it, so that the caller is answered."""
        usable = self.usable()
        if usable:
            replica = usable[next(self._turn) % len(usable)]
            try:
                async with replica.sessions() as session:
                    result = await work(session)
            except Exception as error:  # unreachable, timed out, cancelled by recovery, ...
                replica.failed_at = time.monotonic()
                log.warning("replica %s failed a lookup (%s)", replica.name, type(error).__name__)
            else:
                self._metrics.lookups.labels(target="replica").inc()
                return result
        self._metrics.lookups.labels(target="primary").inc()
        return await work(primary)

    async def check(self) -> None:
        """One round: the primary's position, then every replica's lag (each within timeout)."""
        assert self._primary is not None
        sent = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                position = await self._primary_position()
        except Exception as error:  # the primary is away: the replicas' lags cannot be told
            log.warning("replica check: the primary did not answer (%s)", type(error).__name__)
            return
        self._history.add(sent, position)
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))
        usable = self.usable()
        for replica in self.replicas:
            self._metrics.replica_usable.labels(replica=replica.name).set(int(replica in usable))

    async def _check(self, replica: Replica) -> None:
        sent = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                standby, replayed = await _replica_position(replica)
        except Exception as error:
            replica.lag = math.inf
            if replica.checked_at > -math.inf:
                log.warning("replica %s did not answer (%s)", replica.name, type(error).__name__)
            replica.checked_at = -math.inf
        else:
            # A server out of recovery (promoted, or never a standby) is no replica of this one.
            replica.lag = self._history.lag(replayed, sent) if standby else math.inf
            replica.checked_at = sent
        self._metrics.replica_lag.labels(replica=replica.name).set(replica.lag)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    async def settle(self) -> None:
        """After a removal's commit: until every replica has replayed it, or settle_time."""
        if not self.replicas:
            return
        assert self._primary is not None
        try:
            target: int | None = await self._primary_position()
        except Exception as error:  # then the whole bound, which holds whatever the position
            log.warning("removal: the primary's position unknown (%s)", type(error).__name__)
            target = None
        # Measured from after the commit (and the reading): what the bound counts from.
        deadline = time.monotonic() + self.settle_time
        waiting = list(self.replicas)
        while target is not None and waiting and time.monotonic() < deadline:
            replies = await asyncio.gather(*(self._replayed(r, deadline) for r in waiting))
            waiting = [r for r, replayed in zip(waiting, replies, strict=True) if replayed < target]
            if waiting:
                await asyncio.sleep(_SETTLE_POLL)
        if waiting:
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            names = ", ".join(replica.name for replica in waiting)
            log.warning(
                "replicas %s did not replay a removal in time: not used until they do", names
            )

    async def _replayed(self, replica: Replica, deadline: float) -> int:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                return (await _replica_position(replica))[1]
        except Exception:
            return -1

    async def _primary_position(self) -> int:
        """The primary's WAL position (pg_current_wal_lsn, as a number)."""
        assert self._primary is not None
        async with self._primary.connect() as connection:
            return int((await connection.execute(_PRIMARY_POSITION)).scalar_one())
