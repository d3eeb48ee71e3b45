"""Prometheus metrics: bounded labels only (route, method, status, kind, endpoint, reason).

Per-customer figures live in the database (usage tables), never in metric labels. Under
`idcheck serve` every worker writes its values to PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode, set up by serve) and /metrics adds them up, so counters are the service's.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from schemas.vocabulary import Endpoint
from signatures import KINDS


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "idcheck_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "idcheck_http_request_duration_seconds",
            "Time to answer, by route template and method.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.verified_records = Counter(
            "idcheck_verified_records",
            "Buyer records checked, by endpoint (raw or signed).",
            ["endpoint"],
            registry=self.registry,
        )
        self.checks = Counter(
            "idcheck_checks",
            "Checks answered, by kind and outcome.",
            ["kind", "match"],
            registry=self.registry,
        )
        self.verify_requests = Counter(
            "idcheck_verify_requests",
            "Verify requests answered, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.billable_records = Counter(
            "idcheck_billable_records",
            "Buyer records billed, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.matched_records = Counter(
            "idcheck_matched_records",
            "Buyer records that at least one holder confirmed, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.uploads = Counter(
            "idcheck_uploads",
            "Holder batches written.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "idcheck_rejected_requests",
            "Requests refused, by error code (quota_exceeded, rate_limited, invalid_input, ...).",
            ["reason"],
            registry=self.registry,
        )
        self.signatures_stored = Counter(
            "idcheck_signatures_stored",
            "Signatures written to the index by holder uploads.",
            registry=self.registry,
        )
        for kind in KINDS:  # every series exists from the start, at zero
            for match in ("true", "false"):
                self.checks.labels(kind=kind, match=match)
        for endpoint in Endpoint:
            for counter in (
                self.verify_requests,
                self.verified_records,
                self.billable_records,
                self.matched_records,
            ):
                counter.labels(endpoint=endpoint)

    def exposition(self) -> bytes:
        """The text format: all workers' values under serve, this process's otherwise."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
