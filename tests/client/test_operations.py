"""The SDK covers every operation of the API: one typed method each, on both clients, asking the
method and path the server's OpenAPI schema gives; and the operations a test elsewhere does not
reach, run once against a real server."""

import inspect
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from idcheck.client import AsyncClient
from idcheck.client import Client
from idcheck.client import Conflict
from idcheck.client import NotFound
from idcheck.client import _calls as calls
from idcheck.client._client import Operation
from idcheck.client._client import Operations
from schemas.vocabulary import AuditAction
from schemas.vocabulary import SnapshotState
from tests.client.conftest import Orgs
from tests.helpers.servers import Server

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
OPERATIONS = {
    operation["operationId"]: (method.upper(), path)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
}
#: A value for each required argument an operation builder may take, by its name.
SAMPLES: dict[str, Any] = {
    "dataset_id": uuid.uuid4(),
    "snapshot_id": uuid.uuid4(),
    "org_id": uuid.uuid4(),
    "key_id": uuid.uuid4(),
    "version": 3,
    "records": [],
    "external_ids": [],
    "name": "n",
    "role": "buyer",
    "legal_basis": "contract",
    "purpose": "p",
    "monthly_records": 10,
    "monthly_evaluations": 100,
    "key_version": 2,
    "elements": [bytes(32)],
}


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)))


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_operation_has_a_method_that_asks_for_it(operation_id: str) -> None:
    assert isinstance(vars(Operations).get(operation_id), Operation), f"no method {operation_id}"
    assert callable(getattr(Client(api_key="idc_buyer_x"), operation_id))
    builder = getattr(calls, operation_id)
    required = [
        name
        for name, parameter in inspect.signature(builder).parameters.items()
        if parameter.default is inspect.Parameter.empty
    ]
    call = builder(**{name: SAMPLES[name] for name in required})
    method, path = OPERATIONS[operation_id]
    assert call.method == method
    assert _template(path).fullmatch(call.path), (call.path, path)


def test_no_method_without_an_operation() -> None:
    methods = {name for name, value in vars(Operations).items() if isinstance(value, Operation)}
    assert methods - set(OPERATIONS) == {"get_usage_csv"}  # get_usage, answered as CSV


def _signed(i: int) -> dict[str, Any]:
    return {
        "external_id": f"r{i}",
        "updated_at": "2026-01-02",
        "key_version": 1,
        "signatures": {"email": f"{i:032x}"},
    }


def test_snapshots_opt_outs_and_the_audit_log_through_the_sdk(server: Server, orgs: Orgs) -> None:
    with Client(server.url, orgs.holder) as holder:
        dataset = holder.create_dataset("sdk snapshots", "contract")
        snapshot = holder.open_snapshot(dataset.id)
        assert snapshot.status == SnapshotState.OPEN
        upload = holder.upload_snapshot_records(dataset.id, snapshot.id, [_signed(1), _signed(2)])
        assert upload.upserted == 2
        assert holder.get_dataset(dataset.id).records == 0  # not live before the commit
        assert holder.commit_snapshot(dataset.id, snapshot.id).records == 2
        assert holder.get_snapshot(dataset.id, snapshot.id).status == SnapshotState.COMMITTED
        assert holder.get_dataset(dataset.id).records == 2
        dropped = holder.open_snapshot(dataset.id)
        holder.abort_snapshot(dataset.id, dropped.id)
        with pytest.raises(NotFound):
            holder.get_snapshot(dataset.id, dropped.id)
        holder.holder_opt_out([{"key_version": 1, "signatures": {"email": f"{1:032x}"}}])
        actions = [entry.action for entry in holder.holder_audit(limit=20).entries]
        assert actions[:3] == [
            AuditAction.OPTOUT_FORWARD,
            AuditAction.SNAPSHOT_ABORT,
            AuditAction.SNAPSHOT_OPEN,
        ]
    with Client(server.url, server.admin_key) as admin:
        commits = admin.admin_audit(action=AuditAction.SNAPSHOT_COMMIT, dataset_id=dataset.id)
        assert [entry.object_id for entry in commits.entries] == [str(snapshot.id)]


def test_organisations_keys_and_key_versions_through_the_sdk(server: Server, orgs: Orgs) -> None:
    with Client(server.url, server.admin_key) as admin:
        assert orgs.buyer_id in {str(org.id) for org in admin.list_orgs().orgs}
        keys = admin.list_keys(orgs.buyer_id).keys
        assert len(keys) == 1
        assert orgs.buyer.startswith(keys[0].prefix)
        versions = admin.list_key_versions().versions
        assert [v.current for v in versions][-1] is True
        with pytest.raises(Conflict):  # the current version signs verifies: rotate first
            admin.retire_key_version(versions[-1].version)
        assert admin.healthz().status == "ok"
        assert admin.readyz().status == "ok"
        assert "idcheck_verify_requests" in admin.metrics()


async def test_the_async_client_has_the_same_operations(server: Server) -> None:
    async with AsyncClient(server.url, server.admin_key) as admin:
        assert (await admin.list_orgs()).orgs
        assert (await admin.healthz()).status == "ok"
