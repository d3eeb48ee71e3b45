"""Holders' datasets: each belongs to one organisation; another's is "not found"."""

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.errors import Conflict, NotFound
from app.models import Batch, Dataset
from matching import DatasetCounts, dataset_counts, delete_dataset, delete_records


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
    return dataset


async def list_datasets(session: AsyncSession, owner: Principal) -> list[Dataset]:
    query = sa.select(Dataset).where(Dataset.org_id == owner.org_id).order_by(Dataset.created_at)
    return list(await session.scalars(query))


async def owned_dataset(
    session: AsyncSession, owner: Principal, dataset_id: UUID, *, lock: bool = False
) -> Dataset:
    """The caller's dataset (404 for anyone else's); ``lock`` holds its row until the commit, so
    that writes to one dataset (uploads, its deletion) happen one after the other."""
    dataset = await session.get(Dataset, dataset_id, with_for_update=lock)
    if dataset is None or dataset.org_id != owner.org_id:
        raise NotFound("no such dataset")
    return dataset


async def counts(session: AsyncSession, dataset: Dataset) -> DatasetCounts:
    return await dataset_counts(session, dataset.id)


async def remove_dataset(session: AsyncSession, dataset: Dataset) -> None:
    """Every signature of the dataset goes, then the dataset and its batches."""
    await delete_dataset(session, dataset.id)
    await session.execute(sa.delete(Batch).where(Batch.dataset_id == dataset.id))
    await session.delete(dataset)
    await session.flush()


async def erase_records(session: AsyncSession, dataset: Dataset, keys: list[bytes]) -> int:
    return await delete_records(session, dataset.id, keys)
