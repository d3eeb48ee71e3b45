"""Holders: datasets, record uploads (JSON or streamed NDJSON), erasure."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi import Response
from fastapi import status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import HolderPrincipal
from app.deps import KeyRingDep
from app.deps import MetricsDep
from app.deps import OpenSnapshot
from app.deps import OwnedDataset
from app.deps import OwnedSnapshot
from app.deps import PageDep
from app.deps import SessionDep
from app.deps import SettingsDep
from app.deps import TransactionDep
from app.deps import keyring_knowing
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.errors import UnsupportedMediaType
from app.errors import detail
from app.models import Dataset
from app.routes import AUTHENTICATED
from app.services import auditlog
from app.services import datasets as service
from app.services import snapshots
from app.services.privacy import opt_out_signed
from app.services.uploads import ingest
from app.services.uploads import ndjson_records
from app.services.uploads import parse_json_body
from app.services.uploads import spool_records
from app.transaction import TransactionalRoute
from schemas.admin import AuditLog
from schemas.datasets import DatasetCreate
from schemas.datasets import DatasetDetail
from schemas.datasets import DatasetList
from schemas.datasets import DatasetOut
from schemas.datasets import DeleteRecords
from schemas.datasets import DeleteResult
from schemas.datasets import SignedOptOuts
from schemas.datasets import SnapshotOut
from schemas.datasets import UploadRecord
from schemas.datasets import UploadResult
from signatures import KINDS

router = APIRouter(
    prefix="/v1/datasets", tags=["holders"], route_class=TransactionalRoute, responses=AUTHENTICATED
)

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")


@router.post("", operation_id="create_dataset", status_code=status.HTTP_201_CREATED)
async def create_dataset(
    body: DatasetCreate, holder: HolderPrincipal, session: SessionDep
) -> DatasetOut:
    dataset = await service.create_dataset(
        session, holder, body.name, body.legal_basis, body.retention_days
    )
    return DatasetOut.model_validate(dataset, from_attributes=True)


@router.get("", operation_id="list_datasets")
async def list_datasets(
    holder: HolderPrincipal, session: SessionDep, asked: PageDep
) -> DatasetList:
    """The caller's own datasets only (a test key: the sandbox's), oldest first."""
    datasets, more = await service.list_datasets(session, holder, asked)
    return DatasetList(
        datasets=[DatasetOut.model_validate(d, from_attributes=True) for d in datasets],
        has_more=more,
    )


@router.get("/{dataset_id}", operation_id="get_dataset")
async def get_dataset(dataset: OwnedDataset, session: SessionDep) -> DatasetDetail:
    counts = await service.counts(session, dataset)
    return DatasetDetail(
        id=dataset.id,
        name=dataset.name,
        legal_basis=dataset.legal_basis,
        retention_days=dataset.retention_days,
        created_at=dataset.created_at,
        records=counts.records,
        signatures=counts.signatures,
        by_kind={kind: counts.by_kind.get(kind, 0) for kind in KINDS},
        close_forms=counts.close_forms,
        last_upload_at=dataset.last_upload_at,
        purged_records=dataset.purged_records,
        last_purge_at=dataset.last_purge_at,
        next_expiry=counts.next_expiry,
    )


@router.delete(
    "/{dataset_id}", operation_id="delete_dataset", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_dataset(
    dataset: OwnedDataset, holder: HolderPrincipal, session: SessionDep
) -> Response:
    """Every signature of the dataset is gone, with its snapshots (open or committed) and what
    was uploaded into them."""
    await service.remove_dataset(session, holder, dataset)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _json_records(raw: bytes) -> AsyncIterator[tuple[int, UploadRecord | bytes]]:
    for index, record in enumerate(parse_json_body(raw)):
        yield index, record


async def _ndjson(request: Request, limit: int) -> AsyncIterator[tuple[int, UploadRecord | bytes]]:
    async for index, line in ndjson_records(request.stream(), limit):
        yield index, line


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadBody"}}},
        "description": 'JSON {"records": [R, ...]}, or NDJSON (application/x-ndjson): one R '
        "a line, streamed.",
    }
}


@dataclass
class Uploader:
    """What both upload routes need, declared once; called with the destination."""

    request: Request
    holder: HolderPrincipal
    transaction: TransactionDep
    settings: SettingsDep
    metrics: MetricsDep

    async def __call__(self, dataset_id: UUID, snapshot_id: UUID | None = None) -> UploadResult:
        """Check the destination in a short read, spool the body (no connection held while the
        client sends), then write it in the request's transaction under the dataset's row lock."""
        async with self.request.app.state.read_sessionmaker() as reader:
            dataset = await self._destination(reader, dataset_id, snapshot_id, lock=False)
        records = await self._records()
        keyring = await keyring_knowing(self.request, None)  # versions are read as it streams
        spool = await spool_records(
            keyring, dataset, records, max_records=self.settings.max_batch_records
        )
        try:
            session = await self.transaction.session()
            dataset = await self._destination(session, dataset_id, snapshot_id, lock=True)
            batch, signatures = await ingest(
                session, dataset, self.holder, spool, snapshot_id=snapshot_id
            )
        finally:
            spool.close()
        self.metrics.uploads.inc()
        self.metrics.signatures_stored.inc(signatures)
        return UploadResult(upserted=batch.records, batch_id=batch.id)

    async def _destination(
        self, session: AsyncSession, dataset_id: UUID, snapshot_id: UUID | None, *, lock: bool
    ) -> Dataset:
        """The caller's dataset (its row locked until the commit with ``lock``), and its snapshot
        still open when the upload goes into one."""
        dataset = await service.owned_dataset(session, self.holder, dataset_id, lock=lock)
        if snapshot_id is not None:
            await snapshots.owned_snapshot(session, dataset, snapshot_id, open_only=True)
        return dataset

    async def _records(self) -> AsyncIterator[tuple[int, UploadRecord | bytes]]:
        """The body's records: JSON read whole (bounded), NDJSON line by line as it streams."""
        request, settings = self.request, self.settings
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type in NDJSON_TYPES:
            return _ndjson(request, settings.max_ndjson_line_bytes)
        if media_type not in JSON_TYPES:
            raise UnsupportedMediaType("send application/json or application/x-ndjson")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > settings.max_json_body_bytes:
                raise PayloadTooLarge(
                    f"a JSON batch is at most {settings.max_json_body_bytes:,} bytes: "
                    "send larger ones as NDJSON (application/x-ndjson)"
                )
        return _json_records(bytes(raw))


UploaderDep = Annotated[Uploader, Depends()]


@router.post("/{dataset_id}/records", operation_id="upload_records", openapi_extra=UPLOAD_BODY)
async def upload_records(dataset_id: UUID, upload: UploaderDep) -> UploadResult:
    """A batch of records as signatures; one invalid record rejects the whole batch (422). Two
    uploads to one dataset are written one after the other (the later wins for a record both
    hold)."""
    return await upload(dataset_id)


@router.post(
    "/{dataset_id}/snapshots", operation_id="open_snapshot", status_code=status.HTTP_201_CREATED
)
async def open_snapshot(
    dataset: OwnedDataset, holder: HolderPrincipal, session: SessionDep
) -> SnapshotOut:
    """Open a replacement of the dataset: upload batches into it, then commit (or abort) it."""
    snapshot = await snapshots.open_snapshot(session, holder, dataset)
    return SnapshotOut.model_validate(snapshot, from_attributes=True)


@router.get("/{dataset_id}/snapshots/{snapshot_id}", operation_id="get_snapshot")
async def get_snapshot(snapshot: OwnedSnapshot) -> SnapshotOut:
    return SnapshotOut.model_validate(snapshot, from_attributes=True)


@router.post(
    "/{dataset_id}/snapshots/{snapshot_id}/records",
    operation_id="upload_snapshot_records",
    openapi_extra=UPLOAD_BODY,
)
async def upload_snapshot_records(
    dataset_id: UUID, snapshot_id: UUID, upload: UploaderDep
) -> UploadResult:
    """A batch into an open snapshot; the live dataset is untouched until the commit."""
    return await upload(dataset_id, snapshot_id)


@router.post("/{dataset_id}/snapshots/{snapshot_id}/commit", operation_id="commit_snapshot")
async def commit_snapshot(
    dataset: OwnedDataset, snapshot: OpenSnapshot, holder: HolderPrincipal, session: SessionDep
) -> SnapshotOut:
    """The snapshot replaces the dataset at once: verify sees the old data or the new, never a
    mix and never an empty dataset."""
    await snapshots.commit_snapshot(session, holder, dataset, snapshot)
    return SnapshotOut.model_validate(snapshot, from_attributes=True)


@router.delete(
    "/{dataset_id}/snapshots/{snapshot_id}",
    operation_id="abort_snapshot",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def abort_snapshot(
    snapshot: OpenSnapshot, holder: HolderPrincipal, session: SessionDep
) -> Response:
    """Drop an open snapshot and everything uploaded into it."""
    await snapshots.abort_snapshot(session, holder, snapshot)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{dataset_id}/records:delete", operation_id="delete_records")
async def delete_records(
    body: DeleteRecords,
    dataset: OwnedDataset,
    holder: HolderPrincipal,
    session: SessionDep,
    keyring: KeyRingDep,
    settings: SettingsDep,
) -> DeleteResult:
    """Erasure: these records stop matching at once."""
    if len(body.external_ids) > settings.max_delete_ids:
        raise InvalidInput(
            f"at most {settings.max_delete_ids:,} external_ids a request",
            details=[detail(("external_ids",), "too many")],
        )
    deleted = await service.erase_records(session, holder, keyring, dataset, body.external_ids)
    return DeleteResult(deleted=deleted)


optouts_router = APIRouter(
    tags=["holders"], route_class=TransactionalRoute, responses=AUTHENTICATED
)


@optouts_router.post(
    "/v1/optouts", operation_id="holder_opt_out", status_code=status.HTTP_204_NO_CONTENT
)
async def forward_optouts(
    request: Request, body: SignedOptOuts, holder: HolderPrincipal, transaction: TransactionDep
) -> Response:
    """Objections a holder received, as signatures computed locally: they reach every holder."""
    # The key versions are known before the transaction begins (no write turn held meanwhile).
    records = [
        (record.key_version, record.signatures.model_dump(exclude_none=True))
        for record in body.records
    ]
    keyring = await keyring_knowing(request, {version for version, _ in records})
    await opt_out_signed(await transaction.session(), holder, keyring, records)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@optouts_router.get("/v1/audit", operation_id="holder_audit")
async def holder_audit(
    holder: HolderPrincipal,
    session: SessionDep,
    asked: PageDep,
) -> AuditLog:
    """What concerns this holder, newest first: its own actions, its datasets, and the verify
    requests its data answered (their counts, not who asked)."""
    found, more = await auditlog.holder_entries(session, holder.org_id, asked)
    return AuditLog.model_validate({"entries": found, "has_more": more}, from_attributes=True)
