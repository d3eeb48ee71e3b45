"""Prometheus metrics: bounded labels only (route, method, status, kind, endpoint).

Per-customer figures live in the database (usage tables), never in metric labels.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram

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
        self.signatures_stored = Counter(
            "idcheck_signatures_stored",
            "Signatures written to the index by holder uploads.",
            registry=self.registry,
        )
        for kind in KINDS:  # every series exists from the start, at zero
            for match in ("true", "false"):
                self.checks.labels(kind=kind, match=match)
        for endpoint in ("raw", "signed"):
            self.verified_records.labels(endpoint=endpoint)
