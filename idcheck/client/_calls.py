"""Every operation the clients offer, as a Call: named after the API's operation ids.

Both clients turn these into methods of the same name, so the two cannot drift apart.
"""

import json
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date
from typing import Any
from typing import TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel

from idcheck.client._base import Call
from idcheck.client._base import new_idempotency_key
from schemas.admin import AuditLog
from schemas.admin import EvaluationQuotaOut
from schemas.admin import KeyCreated
from schemas.admin import KeyList
from schemas.admin import KeyVersionCreated
from schemas.admin import KeyVersionList
from schemas.admin import OrgList
from schemas.admin import OrgOut
from schemas.admin import QuotaOut
from schemas.datasets import DatasetDetail
from schemas.datasets import DatasetList
from schemas.datasets import DatasetOut
from schemas.datasets import DeleteResult
from schemas.datasets import SnapshotOut
from schemas.datasets import UploadResult
from schemas.service import CurrentKeyVersion
from schemas.service import EvaluateResponse
from schemas.service import Health
from schemas.service import SigningKeyList
from schemas.service import SigningKeyOut
from schemas.usage import QuotaStatus
from schemas.usage import UsageReport
from schemas.verify import VerifyResponse
from schemas.vocabulary import AuditAction
from schemas.vocabulary import Period
from signatures import Scheme

M = TypeVar("M", bound=BaseModel)
Records = Iterable[Mapping[str, Any]]


def _model(model: type[M]) -> Any:
    return lambda response: model.model_validate_json(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _text(response: httpx.Response) -> str:
    return response.text


def _write(
    path: str, parse: Any, idempotency_key: str | None, *, body: Any = None, content: bytes = b""
) -> Call[Any]:
    key = idempotency_key or new_idempotency_key()
    if content:
        headers = {"Content-Type": "application/x-ndjson"}
        return Call("POST", path, parse, content=content, headers=headers, idempotency_key=key)
    return Call("POST", path, parse, json=body, idempotency_key=key)


def _dates(start: date | None, end: date | None, **more: object) -> dict[str, str]:
    """Query parameters: the period as from/to, then the others that are set."""
    named = {"from": start, "to": end, **more}
    return {
        name: value.isoformat() if isinstance(value, date) else str(value)
        for name, value in named.items()
        if value is not None
    }


def ndjson(records: Records) -> bytes:
    """Upload records (R of docs/api.md) as an NDJSON body."""
    return b"".join(
        json.dumps(dict(record), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        for record in records
    )


def healthz() -> Call[Health]:
    """200 while the server process runs."""
    return Call("GET", "/healthz", _model(Health))


def readyz() -> Call[Health]:
    """200 when the server's store answers (StoreUnavailable otherwise)."""
    return Call("GET", "/readyz", _model(Health))


def metrics(token: str | None = None) -> Call[str]:
    """The Prometheus text; ``token`` is the server's metrics token, when it has one."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return Call("GET", "/metrics", _text, headers=headers)


def get_signing_key() -> Call[SigningKeyOut]:
    """The current HMAC version's key (UseBlindEvaluation when the current version is OPRF)."""
    return Call("GET", "/v1/signing-key", _model(SigningKeyOut))


def list_signing_keys() -> Call[SigningKeyList]:
    """Every live HMAC version's key."""
    return Call("GET", "/v1/signing-keys", _model(SigningKeyList))


def get_current_key_version() -> Call[CurrentKeyVersion]:
    """The version to sign with now, its scheme, and every live version."""
    return Call("GET", "/v1/key-versions/current", _model(CurrentKeyVersion))


def oprf_evaluate(key_version: int, elements: Sequence[bytes]) -> Call[list[bytes]]:
    """The server's evaluation of blinded elements (at most 10,000), in order. No
    Idempotency-Key: an evaluation is a pure function of its input, and the server keeps none."""
    body = {"key_version": key_version, "elements": [element.hex() for element in elements]}
    return Call("POST", "/v1/oprf/evaluate", _evaluated, json=body)


def _evaluated(response: httpx.Response) -> list[bytes]:
    answer = EvaluateResponse.model_validate_json(response.content)
    return [bytes.fromhex(element) for element in answer.evaluated]


def create_dataset(
    name: str,
    legal_basis: str,
    retention_days: int | None = None,
    idempotency_key: str | None = None,
) -> Call[DatasetOut]:
    body: dict[str, Any] = {"name": name, "legal_basis": legal_basis}
    if retention_days is not None:
        body["retention_days"] = retention_days
    return _write("/v1/datasets", _model(DatasetOut), idempotency_key, body=body)


def _page(limit: int | None, starting_after: UUID | str | None, **more: object) -> dict[str, str]:
    """A list's query: the page asked for (docs/api.md, "Lists"), then the filters that are set."""
    named = {"limit": limit, "starting_after": starting_after, **more}
    return {name: str(value) for name, value in named.items() if value is not None}


def list_datasets(
    limit: int | None = None, starting_after: UUID | str | None = None
) -> Call[DatasetList]:
    """A page of the caller's datasets, oldest first (iter_datasets walks them all)."""
    params = _page(limit, starting_after)
    return Call("GET", "/v1/datasets", _model(DatasetList), params=params)


def get_dataset(dataset_id: UUID | str) -> Call[DatasetDetail]:
    return Call("GET", f"/v1/datasets/{dataset_id}", _model(DatasetDetail))


def delete_dataset(dataset_id: UUID | str) -> Call[None]:
    return Call("DELETE", f"/v1/datasets/{dataset_id}", _nothing)


def upload_records(
    dataset_id: UUID | str, records: Records | bytes, idempotency_key: str | None = None
) -> Call[UploadResult]:
    """``records``: mappings in the shape R of docs/api.md, or an NDJSON body already made."""
    return _upload(f"/v1/datasets/{dataset_id}/records", records, idempotency_key)


def _upload(path: str, records: Records | bytes, idempotency_key: str | None) -> Call[UploadResult]:
    content = records if isinstance(records, bytes) else ndjson(records)
    return _write(path, _model(UploadResult), idempotency_key, content=content)


def _snapshot_path(dataset_id: UUID | str, snapshot_id: UUID | str) -> str:
    return f"/v1/datasets/{dataset_id}/snapshots/{snapshot_id}"


def open_snapshot(dataset_id: UUID | str, idempotency_key: str | None = None) -> Call[SnapshotOut]:
    """A replacement of the dataset: upload batches into it, then commit or abort it."""
    path = f"/v1/datasets/{dataset_id}/snapshots"
    return _write(path, _model(SnapshotOut), idempotency_key, body=None)


def get_snapshot(dataset_id: UUID | str, snapshot_id: UUID | str) -> Call[SnapshotOut]:
    return Call("GET", _snapshot_path(dataset_id, snapshot_id), _model(SnapshotOut))


def upload_snapshot_records(
    dataset_id: UUID | str,
    snapshot_id: UUID | str,
    records: Records | bytes,
    idempotency_key: str | None = None,
) -> Call[UploadResult]:
    """A batch into an open snapshot; the live dataset is untouched until the commit."""
    path = f"{_snapshot_path(dataset_id, snapshot_id)}/records"
    return _upload(path, records, idempotency_key)


def commit_snapshot(
    dataset_id: UUID | str, snapshot_id: UUID | str, idempotency_key: str | None = None
) -> Call[SnapshotOut]:
    """The snapshot replaces the dataset at once."""
    path = f"{_snapshot_path(dataset_id, snapshot_id)}/commit"
    return _write(path, _model(SnapshotOut), idempotency_key, body=None)


def abort_snapshot(dataset_id: UUID | str, snapshot_id: UUID | str) -> Call[None]:
    return Call("DELETE", _snapshot_path(dataset_id, snapshot_id), _nothing)


def holder_opt_out(records: Records, idempotency_key: str | None = None) -> Call[None]:
    """Objections a holder received, signed locally: ({"key_version", "signatures": {"email"?,
    "phone"?}}, ...); from then on they suppress matches in every dataset."""
    body = {"records": [dict(r) for r in records]}
    return _write("/v1/optouts", _nothing, idempotency_key, body=body)


def holder_audit(
    limit: int | None = None, starting_after: UUID | str | None = None
) -> Call[AuditLog]:
    """A page of what concerns the calling holder, newest first (iter_holder_audit: all)."""
    return Call("GET", "/v1/audit", _model(AuditLog), params=_page(limit, starting_after))


def delete_records(
    dataset_id: UUID | str, external_ids: Iterable[str], idempotency_key: str | None = None
) -> Call[DeleteResult]:
    body = {"external_ids": list(external_ids)}
    path = f"/v1/datasets/{dataset_id}/records:delete"
    return _write(path, _model(DeleteResult), idempotency_key, body=body)


def verify(
    records: Records,
    purpose: str,
    default_country: str | None = None,
    idempotency_key: str | None = None,
) -> Call[VerifyResponse]:
    """Raw records ({"ref"?, "email"?, "phone"?, ...}): the server normalises and signs them."""
    body: dict[str, Any] = {"purpose": purpose, "records": [dict(r) for r in records]}
    if default_country is not None:
        body["default_country"] = default_country
    return _write("/v1/verify", _model(VerifyResponse), idempotency_key, body=body)


def verify_signed(
    records: Records, purpose: str, idempotency_key: str | None = None
) -> Call[VerifyResponse]:
    """Signed records ({"ref"?, "key_version", "signatures", "other_versions"?}): nothing raw
    leaves the caller."""
    body = {"purpose": purpose, "records": [dict(r) for r in records]}
    return _write("/v1/verify/signed", _model(VerifyResponse), idempotency_key, body=body)


def get_my_usage(
    start: date | None = None,
    end: date | None = None,
    group_by: str | None = None,
    period: Period | str | None = None,
) -> Call[UsageReport]:
    """The caller's own usage (a buyer's queries, a holder's credited matches), by day or month,
    for [start, end) or a relative ``period`` (this_month, last_month, last_30_days); with a
    live key, its quotas this month (``quota``)."""
    params = _dates(start, end, group_by=group_by, period=period)
    return Call("GET", "/v1/usage/me", _model(UsageReport), params=params)


def get_usage(
    start: date | None = None,
    end: date | None = None,
    group_by: str = "buyer",
    period: Period | str | None = None,
    test: bool | None = None,
) -> Call[UsageReport]:
    """Everyone's billable usage (``test=True``: the test keys' instead)."""
    params = _dates(start, end, group_by=group_by, period=period, test=_flag(test))
    return Call("GET", "/v1/usage", _model(UsageReport), params=params)


def get_usage_csv(
    start: date | None = None,
    end: date | None = None,
    group_by: str = "buyer",
    period: Period | str | None = None,
    test: bool | None = None,
) -> Call[str]:
    params = _dates(start, end, group_by=group_by, period=period, test=_flag(test), format="csv")
    return Call("GET", "/v1/usage", _text, params=params)


def _flag(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()


def create_org(name: str, role: str, idempotency_key: str | None = None) -> Call[OrgOut]:
    body = {"name": name, "role": role}
    return _write("/v1/admin/orgs", _model(OrgOut), idempotency_key, body=body)


def create_key(
    org_id: UUID | str,
    label: str | None = None,
    idempotency_key: str | None = None,
    test: bool = False,
) -> Call[KeyCreated]:
    """A new key (shown in this answer only); ``test``: a sandbox key, never billed."""
    body: dict[str, Any] = {"label": label} if label is not None else {}
    if test:
        body["test"] = True
    path = f"/v1/admin/orgs/{org_id}/keys"
    return _write(path, _model(KeyCreated), idempotency_key, body=body)


def list_orgs(limit: int | None = None, starting_after: UUID | str | None = None) -> Call[OrgList]:
    """A page of organisations, oldest first (iter_orgs walks them all)."""
    return Call("GET", "/v1/admin/orgs", _model(OrgList), params=_page(limit, starting_after))


def list_keys(
    org_id: UUID | str, limit: int | None = None, starting_after: UUID | str | None = None
) -> Call[KeyList]:
    """A page of an organisation's keys, by prefix (never the keys themselves)."""
    path = f"/v1/admin/orgs/{org_id}/keys"
    return Call("GET", path, _model(KeyList), params=_page(limit, starting_after))


def get_quota(org_id: UUID | str) -> Call[QuotaStatus]:
    """Where an organisation stands this month: its quotas, used, remaining."""
    return Call("GET", f"/v1/admin/orgs/{org_id}/quota", _model(QuotaStatus))


def revoke_key(key_id: UUID | str) -> Call[None]:
    return Call("DELETE", f"/v1/admin/keys/{key_id}", _nothing)


def set_quota(org_id: UUID | str, monthly_records: int | None) -> Call[QuotaOut]:
    body = {"monthly_records": monthly_records}
    return Call("PUT", f"/v1/admin/orgs/{org_id}/quota", _model(QuotaOut), json=body)


def set_evaluation_quota(
    org_id: UUID | str, monthly_evaluations: int | None
) -> Call[EvaluationQuotaOut]:
    body = {"monthly_evaluations": monthly_evaluations}
    path = f"/v1/admin/orgs/{org_id}/evaluation-quota"
    return Call("PUT", path, _model(EvaluationQuotaOut), json=body)


def admin_opt_out(
    email: str | None = None,
    phone: str | None = None,
    country: str | None = None,
    idempotency_key: str | None = None,
) -> Call[None]:
    body = {k: v for k, v in {"email": email, "phone": phone, "country": country}.items() if v}
    return _write("/v1/admin/optouts", _nothing, idempotency_key, body=body)


def list_key_versions() -> Call[KeyVersionList]:
    """Each signing-key version, and the datasets whose records use it."""
    return Call("GET", "/v1/admin/key-versions", _model(KeyVersionList))


def rotate_signing_key(
    scheme: Scheme | str = Scheme.HMAC, idempotency_key: str | None = None
) -> Call[KeyVersionCreated]:
    """Version n+1, of ``scheme`` (``oprf-ristretto255-sha512``: blind mode), becomes current."""
    body = {"scheme": str(Scheme(scheme))}
    return _write("/v1/admin/key-versions", _model(KeyVersionCreated), idempotency_key, body=body)


def retire_key_version(version: int) -> Call[None]:
    """A version that is not current and signs no live record."""
    return Call("DELETE", f"/v1/admin/key-versions/{version}", _nothing)


def admin_audit(
    *,
    org_id: UUID | str | None = None,
    action: AuditAction | str | None = None,
    dataset_id: UUID | str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int | None = None,
    starting_after: UUID | str | None = None,
) -> Call[AuditLog]:
    """A page of who did what, newest first, filtered by any of these (iter_audit: all)."""
    params = _dates(start, end, org_id=org_id, action=action, dataset_id=dataset_id)
    params |= _page(limit, starting_after)
    return Call("GET", "/v1/admin/audit", _model(AuditLog), params=params)
