"""deploy/ (compose, Prometheus, Grafana) loaded and held to the code it deploys: there is no
Docker here, so each file is checked against what the service really takes and exposes."""

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import yaml

from app.cli.service import serve_command
from app.metrics import Metrics
from app.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def _settings_names() -> set[str]:
    return {f"IDCHECK_{name.upper()}" for name in Settings.model_fields}


def test_compose_runs_migrations_once_before_the_service() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "idcheck", "prometheus", "grafana"}
    migrate, service = services["migrate"], services["idcheck"]
    assert migrate["command"] == ["idcheck", "migrate"]
    assert migrate["restart"] == "no"
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    # The service's command line is one `idcheck serve` accepts.
    program, command, *arguments = service["command"]
    assert (program, command) == ("idcheck", "serve")
    context = serve_command.make_context("serve", list(arguments))
    assert (context.params["host"], context.params["port"]) == ("0.0.0.0", 8000)  # noqa: S104
    assert service["ports"] == [f"{context.params['port']}:8000"]


def test_compose_settings_are_the_service_s_and_its_files_exist() -> None:
    compose = _compose()
    names = _settings_names()
    for name in ("migrate", "idcheck"):
        service = compose["services"][name]
        assert set(service["environment"]) <= names
        assert service["environment"]["IDCHECK_ENV"] == "production"
        assert service["environment"]["IDCHECK_MASTER_KEY_FILE"] == "/run/secrets/master_key"
    made = re.findall(r"secrets/(\w+)", (DEPLOY / "make-secrets.sh").read_text())
    declared = {name: Path(entry["file"]).name for name, entry in compose["secrets"].items()}
    assert set(declared.values()) <= set(made)
    for service in compose["services"].values():
        assert set(service.get("secrets", [])) <= set(declared)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source


def test_make_secrets_gives_settings_production_accepts(tmp_path: Path) -> None:
    assert (DEPLOY / "make-secrets.sh").stat().st_mode & stat.S_IXUSR
    copy = tmp_path / "deploy"
    copy.mkdir()
    shutil.copy(DEPLOY / "make-secrets.sh", copy)
    for _ in range(2):  # the second run keeps what the first made
        subprocess.run(["sh", str(copy / "make-secrets.sh")], check=True, capture_output=True)
    secrets = copy / "secrets"
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    env = dict(line.split("=", 1) for line in (secrets / "idcheck.env").read_text().splitlines())
    assert set(env) <= _settings_names()
    settings = Settings(
        env="production",
        database_url=env["IDCHECK_DATABASE_URL"],
        metrics_token=env["IDCHECK_METRICS_TOKEN"],
        master_key_file=secrets / "master_key",
    )
    assert len(settings.master_secret) == 32
    assert (secrets / "metrics_token").read_text().strip() == env["IDCHECK_METRICS_TOKEN"]
    assert env["IDCHECK_DATABASE_URL"].endswith("@postgres:5432/idcheck")


def test_prometheus_scrapes_the_service_with_its_token() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["idcheck:8000"]
    token = job["authorization"]["credentials_file"]
    assert token == "/run/secrets/metrics_token"
    assert "metrics_token" in _compose()["services"]["prometheus"]["secrets"]


def _exposed() -> dict[str, set[str]]:
    """Every metric the service exposes (as Prometheus names it) and its labels."""
    found: dict[str, set[str]] = {}
    metrics = Metrics()
    metrics.latency.labels(route="/v1/verify", method="POST")  # series appear once labelled
    metrics.requests.labels(route="/v1/verify", method="POST", status="200")
    metrics.rejected.labels(reason="rate_limited")
    for family in metrics.registry.collect():
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def test_every_dashboard_query_reads_metrics_and_labels_the_service_exposes() -> None:
    exposed = _exposed()
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "idcheck.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 8
    covered = set()
    for expression in expressions:
        metrics = set(re.findall(r"\bidcheck_[a-z_]+", expression))
        assert metrics, expression
        assert metrics <= set(exposed), expression
        labels = set().union(*(exposed[name] for name in metrics))
        used = {
            label.strip()
            for group in re.findall(r"by \(([^)]*)\)", expression)
            for label in group.split(",")
        } | set(re.findall(r"(\w+)=~?\"", expression))
        assert used <= labels, (expression, used - labels)
        covered |= metrics
    # Verify rate and latency, records, matches, errors, uploads: each has a panel.
    for name in ("verify_requests", "http_request_duration_seconds_bucket", "verified_records",
                 "matched_records", "rejected_requests", "uploads", "http_requests"):  # fmt: skip
        assert any(metric.startswith(f"idcheck_{name}") for metric in covered), name
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "idcheck.yaml").read_text()
    )
    grafana = _compose()["services"]["grafana"]
    mounted = {volume.split(":")[1] for volume in grafana["volumes"]}
    assert provider["providers"][0]["options"]["path"] in mounted
