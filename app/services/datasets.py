"""Holders' datasets: each belongs to one organisation; another's is "not found"."""

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.errors import NotFound
from app.models import Batch
from app.models import Dataset
from app.models import Snapshot
from app.services.audit import audit
from app.services.pages import PageRequest
from app.services.pages import page
from app.services.principals import Principal
from matching import DatasetCounts
from matching import KeyRing
from matching import dataset_counts
from matching import delete_dataset
from matching import delete_records
from schemas.vocabulary import AuditAction


async def create_dataset(
    session: AsyncSession, owner: Principal, name: str, legal_basis: str, retention_days: int
) -> Dataset:
    taken = await session.scalar(
        sa.select(Dataset.id).where(Dataset.org_id == owner.org_id, Dataset.name == name)
    )
    if taken is not None:
        raise Conflict("you have a dataset of this name already")
    dataset = Dataset(
        org_id=owner.org_id, name=name, legal_basis=legal_basis, retention_days=retention_days
    )
    session.add(dataset)
    await session.flush()
    await audit(session, owner, AuditAction.DATASET_CREATE, dataset_id=dataset.id)
    return dataset


async def list_datasets(
    session: AsyncSession, owner: Principal, asked: PageRequest
) -> tuple[list[Dataset], bool]:
    query = sa.select(Dataset).where(Dataset.org_id == owner.data_org_id)
    return await page(session, query, (Dataset.created_at, Dataset.id), asked)


async def owned_dataset(
    session: AsyncSession, owner: Principal, dataset_id: UUID, *, lock: bool = False
) -> Dataset:
    """The caller's dataset (404 for anyone else's); ``lock`` holds its row until the commit, so
    that writes to one dataset (uploads, its deletion) happen one after the other."""
    dataset = await session.get(Dataset, dataset_id, with_for_update=lock)
    if dataset is None or dataset.org_id != owner.data_org_id:
        raise NotFound("no such dataset")
    return dataset


async def counts(session: AsyncSession, dataset: Dataset) -> DatasetCounts:
    return await dataset_counts(session, dataset.id)


async def remove_dataset(session: AsyncSession, owner: Principal, dataset: Dataset) -> None:
    """Every signature of the dataset goes (its own and its snapshots'), then its snapshots,
    batches and the dataset itself."""
    records = (await dataset_counts(session, dataset.id)).records
    await audit(session, owner, AuditAction.DATASET_DELETE, dataset_id=dataset.id, records=records)
    await delete_dataset(session, dataset.id)
    await session.execute(sa.delete(Snapshot).where(Snapshot.dataset_id == dataset.id))
    await session.execute(sa.delete(Batch).where(Batch.dataset_id == dataset.id))
    await session.delete(dataset)
    await session.flush()


async def erase_records(
    session: AsyncSession,
    owner: Principal,
    keyring: KeyRing,
    dataset: Dataset,
    external_ids: Sequence[str],
) -> int:
    """Erasure: these records stop matching at once; returns how many there were."""
    keys = [keyring.record_key(dataset.id, external_id) for external_id in external_ids]
    deleted = await delete_records(session, dataset.id, keys)
    await audit(session, owner, AuditAction.RECORDS_DELETE, dataset_id=dataset.id,
                requested=len(external_ids), deleted=deleted)  # fmt: skip
    return deleted


async def upload_history(session: AsyncSession, dataset: Dataset, limit: int = 20) -> list[Batch]:
    """The dataset's latest uploads, newest first."""
    query = (
        sa.select(Batch)
        .where(Batch.dataset_id == dataset.id)
        .order_by(Batch.created_at.desc(), Batch.id)
        .limit(limit)
    )
    return list(await session.scalars(query))
