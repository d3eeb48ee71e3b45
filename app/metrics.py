"""Prometheus metrics: bounded labels only (route, method, status, kind, endpoint, reason,
role, target, replica: a replica's place in IDCHECK_DATABASE_REPLICA_URLS).

Per-customer figures live in the database (usage tables), never in metric labels. Under
`idcheck serve` every worker writes its values to PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode, set up by serve) and /metrics adds them up, so counters are the service's.
"""

import os

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess

from schemas.vocabulary import CLIENT_ROLES
from schemas.vocabulary import Endpoint
from schemas.vocabulary import Level
from signatures import KINDS
from signatures import PAIR_KINDS


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        new = self._counter
        self.requests = new(
            "http_requests", "HTTP requests answered, by route template, method and status.",
            "route", "method", "status",
        )  # fmt: skip
        self.latency = Histogram(
            "idcheck_http_request_duration_seconds",
            "Time to answer, by route template and method.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        by_endpoint = "endpoint"  # raw or signed
        self.verify_requests = new("verify_requests", "Verify requests answered.", by_endpoint)
        self.verified_records = new("verified_records", "Buyer records checked.", by_endpoint)
        self.billable_records = new("billable_records", "Buyer records billed.", by_endpoint)
        self.matched_records = new(
            "matched_records", "Buyer records that at least one holder confirmed.", by_endpoint
        )
        self.checks = new(
            "checks",
            "Checks answered, by kind and outcome (match: as written; level: exact, close, none).",
            "kind",
            "match",
            "level",
        )
        self.uploads = new("uploads", "Holder batches written.")
        self.signatures_stored = new(
            "signatures_stored", "Signatures written to the index by holder uploads."
        )
        self.evaluations = new(
            "oprf_evaluations", "Blinded elements evaluated (blind mode), by role.", "role"
        )
        self.rejected = new(
            "rejected_requests",
            "Requests refused, by error code (quota_exceeded, rate_limited, invalid_input, ...).",
            "reason",
        )
        self.lookups = new(
            "lookups",
            "Verify lookups (statements), by where they ran: replica or primary.",
            "target",
        )
        # Under `idcheck serve`, the worst of the live workers' views.
        self.replica_lag = Gauge(
            "idcheck_replica_lag_seconds",
            "How far behind the primary each replica's replay is, at most (+Inf: unreachable).",
            ["replica"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.replica_usable = Gauge(
            "idcheck_replica_usable",
            "1 while a replica takes lookups (answers, lags at most IDCHECK_REPLICA_MAX_LAG).",
            ["replica"],
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        for target in ("replica", "primary"):
            self.lookups.labels(target=target)
        for role in CLIENT_ROLES:
            self.evaluations.labels(role=role)
        for kind in KINDS:  # every series exists from the start, at zero
            for level in Level if kind in PAIR_KINDS else (Level.EXACT, Level.NONE):
                self.check(kind, level)
        for endpoint in Endpoint:
            for counter in (
                self.verify_requests,
                self.verified_records,
                self.billable_records,
                self.matched_records,
            ):
                counter.labels(endpoint=endpoint)

    def check(self, kind: str, level: Level) -> "Counter":
        """The counter of a kind's checks at a level (match is "true" for exact only)."""
        match = "true" if level is Level.EXACT else "false"
        return self.checks.labels(kind=kind, match=match, level=level.value)

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        """A counter idcheck_<name> of this registry."""
        return Counter(f"idcheck_{name}", documentation, labels, registry=self.registry)

    def exposition(self) -> bytes:
        """The text format: all workers' values under serve, this process's otherwise."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
