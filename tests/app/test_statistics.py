"""The server keeps PostgreSQL's statistics of the signature index fresh (matching/statistics)."""

import asyncio

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from httpx import AsyncClient

from app.cli.people import people
from matching import refresh_statistics
from tests.helpers.inprocess import Caller
from tests.helpers.inprocess import holder_records
from tests.helpers.inprocess import new_dataset
from tests.helpers.inprocess import signing_key
from tests.helpers.inprocess import upload


def _people(count: int) -> list[dict[str, str]]:
    return [
        {"id": person.pop("external_id"), **person} for person in people(count, seed=4, dirty=0)
    ]


async def _last_analyze(app: FastAPI) -> object:
    async with app.state.sessionmaker() as session:
        return await session.scalar(
            sa.text(
                # signature_index is partitioned on PostgreSQL: its partitions are analysed
                "SELECT min(coalesce(last_analyze, last_autoanalyze)) FROM pg_stat_user_tables "
                "WHERE relname ~ '^signature_index(_p[0-9]+)?$'"
            )
        )


async def test_a_table_that_changed_by_a_tenth_is_analysed(
    app: FastAPI, client: AsyncClient, holder: Caller
) -> None:
    async with app.state.sessionmaker() as session:
        dialect = session.get_bind().dialect.name
        assert await refresh_statistics(session) == []  # nothing changed yet
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    answer = await upload(client, holder, dataset, holder_records(_people(2500), key, version))
    assert answer.status_code == 200, answer.text  # about 15,000 rows
    # A backend hands its counts to shared memory when it goes idle, within a second or, when
    # busy, up to ten (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): ask until they are there.
    analysed: list[str] = []
    for _ in range(60 if dialect == "postgresql" else 1):
        async with app.state.sessionmaker() as session:
            analysed = await refresh_statistics(session)
            await session.commit()
        if analysed:
            break
        await asyncio.sleep(0.5)
    if dialect != "postgresql":
        assert analysed == []  # SQLite plans these lookups on the index without statistics
        return
    assert analysed == ["signature_index"]
    assert await _last_analyze(app) is not None
    async with app.state.sessionmaker() as session:
        assert await refresh_statistics(session) == []  # fresh now


async def test_a_large_upload_analyses_the_table_before_it_commits(
    app: FastAPI, client: AsyncClient, holder: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.services.uploads.LARGE_CHANGE", 50)  # "large", for the test
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    async with app.state.sessionmaker() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
    before = await _last_analyze(app) if postgresql else None
    answer = await upload(client, holder, dataset, holder_records(_people(20), key, version))
    assert answer.status_code == 200, answer.text
    if postgresql:
        after = await _last_analyze(app)
        assert after is not None
        assert before is None or after > before  # type: ignore[operator]


async def _partition_analysed(app: FastAPI, dataset: str) -> tuple[int, object]:
    """The changes since the last analysis of the table or partition that holds the dataset,
    and when that was."""
    async with app.state.sessionmaker() as session:
        row = (
            await session.execute(
                sa.text(
                    "SELECT n_mod_since_analyze, coalesce(last_analyze, last_autoanalyze)"
                    " FROM pg_stat_user_tables WHERE relid ="
                    " (SELECT tableoid FROM signature_index WHERE dataset_id = :d LIMIT 1)"
                ),
                {"d": dataset},
            )
        ).one()
    return int(row[0]), row[1]


async def test_an_upload_into_a_filled_dataset_first_analyses_its_stale_partition(
    app: FastAPI, client: AsyncClient, holder: Caller
) -> None:
    """Its per-chunk deletes are planned from the statistics of the dataset's partition
    (matching/bulk.py): counted empty, each would read all of the dataset's keys."""
    async with app.state.sessionmaker() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
    dataset = await new_dataset(client, holder)
    version, key = await signing_key(client, holder)
    records = holder_records(_people(2500), key, version)  # about 15,000 rows: not "large"
    assert (await upload(client, holder, dataset, records)).status_code == 200
    if not postgresql:  # no statistics and no bulk path: the upload replaces chunk by chunk
        assert (await upload(client, holder, dataset, records[:10])).status_code == 200
        return
    for _ in range(60):  # the counts reach shared memory within a few seconds (see above)
        changed, before = await _partition_analysed(app, dataset)
        if changed >= 10_000:
            break
        await asyncio.sleep(0.5)
    assert changed >= 10_000
    assert (await upload(client, holder, dataset, records[:10])).status_code == 200
    _, after = await _partition_analysed(app, dataset)
    assert after is not None
    assert before is None or after > before  # type: ignore[operator]
