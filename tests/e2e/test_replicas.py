"""Lookups on a streaming replica: a cluster of the test's own (a primary and a hot standby,
bench/cluster.py) under `idcheck serve` with two workers.

Which server ran a lookup is read from its own statistics (pg_stat_statements); a paused replay
(pg_wal_replay_pause) makes a replica lag; a stopped one is unreachable. Removals must hold on the
replica from their answer on (app/replicas.py)."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.replicas import CHECK_TIMEOUT_FLOOR
from bench.cluster import Cluster
from bench.cluster import Node
from bench.cluster import streaming_cluster
from signatures import sign_record
from tests.helpers.databases import POSTGRES_URL
from tests.helpers.databases import Database
from tests.helpers.servers import Server
from tests.helpers.servers import auth
from tests.helpers.servers import remote_org
from tests.helpers.servers import signed_upload
from tests.helpers.servers import start_server

MAX_LAG = 1.0
INTERVAL = 0.1
#: Long enough for every worker to see a replica's new state: the lag limit, then a check (an
#: interval and its two queries' time limits, app/replicas.py), and a margin.
SETTLE = MAX_LAG + INTERVAL + 2 * CHECK_TIMEOUT_FLOOR + 0.3
LOOKUPS = (
    "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
    " WHERE query LIKE '%FROM signature_index%' AND query LIKE '%ANY%'"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """PostgreSQL's tests (set in CI, where they never skip) get a cluster of their own."""
    if not POSTGRES_URL:
        pytest.skip("IDCHECK_TEST_POSTGRES_URL is not set")
    with streaming_cluster(1, fast=True) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "IDCHECK_DATABASE_REPLICA_URLS": cluster.replicas[0].dsn(),
        "IDCHECK_REPLICA_MAX_LAG": str(MAX_LAG),
        "IDCHECK_REPLICA_CHECK_INTERVAL": str(INTERVAL),
        "IDCHECK_RATE_LIMIT_PER_SECOND": "0",
    }
    database = Database("postgresql", cluster.primary.dsn().replace("://", "+asyncpg://", 1))
    yield from start_server(database, tmp_path_factory.mktemp("replicas"), workers=2, extra_env=env)


class World:
    """A holder with one dataset, and a buyer."""

    def __init__(self, server: Server, name: str) -> None:
        self.client = server.client()
        self.holder = remote_org(self.client, server.admin_key, "holder", f"{name} holder")[1]
        self.buyer = remote_org(self.client, server.admin_key, "buyer", f"{name} buyer")[1]
        signing = self.client.get("/v1/signing-key", headers=auth(self.holder)).json()
        self.key, self.version = bytes.fromhex(signing["key"]), signing["version"]
        self.dataset = self.new_dataset()

    def new_dataset(self) -> str:
        made = self.client.post(
            "/v1/datasets", json={"name": "d", "legal_basis": "consent"}, headers=auth(self.holder)
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def record(self, person: dict[str, str], external_id: str) -> dict[str, Any]:
        return signed_upload(person, self.key, self.version, external_id)

    def hold(self, *people: dict[str, str], dataset: str | None = None) -> None:
        records = [self.record(person, person["email"]) for person in people]
        answer = self.client.post(
            f"/v1/datasets/{dataset or self.dataset}/records",
            json={"records": records},
            headers=auth(self.holder),
        )
        assert answer.status_code == 200, answer.text

    def matched(self, person: dict[str, str]) -> bool:
        answer = self.client.post(
            "/v1/verify", json={"purpose": "kyc", "records": [person]}, headers=auth(self.buyer)
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["results"][0]["checks"]["email"]["match"])

    def ready(self) -> dict[str, Any]:
        answer = self.client.get("/readyz")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def _person(name: str) -> dict[str, str]:
    return {"email": f"{name}@replica.example", "last_name": name.title()}


def _lookups(node: Node) -> int:
    return int(asyncio.run(node.fetchval(LOOKUPS)))


def _wait_for(condition: Any, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _pause(cluster: Cluster) -> None:
    asyncio.run(cluster.replicas[0].fetchval("SELECT pg_wal_replay_pause()"))


def _resume(cluster: Cluster, world: World) -> None:
    asyncio.run(cluster.replicas[0].fetchval("SELECT pg_wal_replay_resume()"))
    _wait_for(lambda: world.ready()["status"] == "ok", "the replica was not used again")


def test_lookups_run_on_the_replica(server: Server, cluster: Cluster) -> None:
    world = World(server, "reads")
    anne = _person("anne")
    world.hold(anne)
    assert world.ready() == {"status": "ok", "replicas": 1, "usable_replicas": 1}
    on_replica, on_primary = _lookups(cluster.replicas[0]), _lookups(cluster.primary)
    verdicts = [world.matched(anne) for _ in range(10)] + [world.matched(_person("nobody"))]
    assert verdicts == [True] * 10 + [False]
    assert _lookups(cluster.replicas[0]) - on_replica >= 11
    assert _lookups(cluster.primary) == on_primary  # metering and keys only there
    metrics = world.client.get("/metrics").text
    assert 'idcheck_replica_usable{replica="0"} 1.0' in metrics
    assert "idcheck_replica_lag_seconds" in metrics


def test_a_paused_replay_is_skipped_past_the_lag_limit_and_used_after(
    server: Server, cluster: Cluster
) -> None:
    world = World(server, "paused")
    anne, bruno = _person("anne"), _person("bruno")
    world.hold(anne)
    _pause(cluster)
    try:
        world.hold(bruno)  # the primary moves on; the replica does not have bruno
        time.sleep(SETTLE)
        assert world.ready() == {"status": "degraded", "replicas": 1, "usable_replicas": 0}
        on_replica = _lookups(cluster.replicas[0])
        assert world.matched(bruno)  # from the primary
        assert _lookups(cluster.replicas[0]) == on_replica
    finally:
        _resume(cluster, world)
    on_replica = _lookups(cluster.replicas[0])
    assert world.matched(bruno)
    assert world.matched(anne)
    assert _lookups(cluster.replicas[0]) - on_replica >= 2


def _deleted_record(world: World, person: dict[str, str]) -> None:
    answer = world.client.post(
        f"/v1/datasets/{world.dataset}/records:delete",
        json={"external_ids": [person["email"]]},
        headers=auth(world.holder),
    )
    assert answer.status_code == 200, answer.text


def _objected(world: World, person: dict[str, str]) -> None:
    signatures = sign_record(person, world.key).signatures
    answer = world.client.post(
        "/v1/optouts",
        json={
            "records": [
                {"key_version": world.version, "signatures": {"email": signatures["email"]}}
            ]
        },
        headers=auth(world.holder),
    )
    assert answer.status_code == 204, answer.text


def _deleted_dataset(world: World, person: dict[str, str]) -> None:
    answer = world.client.delete(f"/v1/datasets/{world.dataset}", headers=auth(world.holder))
    assert answer.status_code == 204, answer.text


def _replaced_by_a_snapshot(world: World, person: dict[str, str]) -> None:
    base = f"/v1/datasets/{world.dataset}"
    snapshot = world.client.post(f"{base}/snapshots", json={}, headers=auth(world.holder))
    assert snapshot.status_code == 201, snapshot.text
    path = f"{base}/snapshots/{snapshot.json()['id']}"
    other = world.record(_person("someone-else"), "someone-else")
    staged = world.client.post(
        f"{path}/records", json={"records": [other]}, headers=auth(world.holder)
    )
    assert staged.status_code == 200, staged.text
    committed = world.client.post(f"{path}/commit", json={}, headers=auth(world.holder))
    assert committed.status_code == 200, committed.text


REMOVALS = [_deleted_record, _objected, _deleted_dataset, _replaced_by_a_snapshot]


@pytest.mark.parametrize("remove", REMOVALS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("paused", [False, True], ids=["streaming", "replay-paused"])
def test_a_removal_holds_on_the_replica_from_its_answer(
    server: Server, cluster: Cluster, remove: Any, paused: bool
) -> None:
    """Streaming: the answer waits for the replica's replay, and the next verify, on the
    replica, sees the removal. Paused: the answer waits until every worker has stopped using
    the replica, and the next verify, on the primary, sees it."""
    name = f"{remove.__name__.strip('_')}-{paused}"
    world = World(server, name)
    person = _person(name)  # an objection holds for every dataset: one person a test
    world.hold(person)
    assert world.matched(person)
    if paused:
        _pause(cluster)
    try:
        on_replica = _lookups(cluster.replicas[0])
        remove(world, person)
        assert not any(world.matched(person) for _ in range(4))
        served_by_replica = _lookups(cluster.replicas[0]) > on_replica
        assert served_by_replica is not paused
    finally:
        if paused:
            _resume(cluster, world)


def test_a_stopped_replica_leaves_lookups_to_the_primary(server: Server, cluster: Cluster) -> None:
    world = World(server, "stopped")
    anne = _person("anne")
    world.hold(anne)
    cluster.replicas[0].stop()
    try:
        assert world.matched(anne)  # the first lookup may fail on it: answered by the primary
        _wait_for(lambda: world.ready()["status"] == "degraded", "not degraded")
        on_primary = _lookups(cluster.primary)
        assert world.matched(anne)
        assert not world.matched(_person("nobody"))
        assert _lookups(cluster.primary) - on_primary >= 2
        metrics = world.client.get("/metrics").text
        assert 'idcheck_replica_usable{replica="0"} 0.0' in metrics
    finally:
        cluster.replicas[0].start()
    _wait_for(lambda: world.ready()["status"] == "ok", "the replica was not used again")
    assert world.matched(anne)


def test_removals_are_operations_of_the_service() -> None:
    """A renamed operation cannot drop out of the removals' wait unnoticed."""
    from app.main import create_app
    from app.replicas import REMOVALS

    operations = {getattr(route, "operation_id", None) for route in create_app().routes}
    assert operations >= REMOVALS


def test_settings_refuse_replicas_of_sqlite(tmp_path: Path) -> None:
    from app.settings import Settings

    with pytest.raises(ValueError, match="need a PostgreSQL"):
        Settings(
            database_url=f"sqlite:///{tmp_path}/x.db", database_replica_urls="postgresql://h/d"
        )
    with pytest.raises(ValueError, match="postgresql:// URLs"):
        Settings(database_url="postgresql://h/d", database_replica_urls="sqlite:///x.db")
