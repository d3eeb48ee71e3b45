"""Signing-key versions: rotate to a new current version, see who uses which, retire old ones."""

from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.errors import NotFound
from app.models import Dataset
from app.models import KeyVersion
from app.models import Org
from app.services.audit import audit
from app.services.principals import Principal
from app.services.sandbox import SANDBOX_DATASET_ID
from matching import KeyRing
from matching import signature_index
from schemas.vocabulary import AuditAction
from signatures import Scheme


async def load_keyring(engine: AsyncEngine, master: bytes) -> KeyRing:
    """Every version not retired is live: uploads may use it, verify signs with it."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(KeyVersion.version, KeyVersion.scheme)
            .where(KeyVersion.retired_at.is_(None))
            .order_by(KeyVersion.version)
        )
        schemes = {version: Scheme(scheme) for version, scheme in rows}
    if not schemes:
        raise RuntimeError("no signing-key version in the database: run `idcheck migrate`")
    versions = tuple(schemes)
    return KeyRing(master=master, versions=versions, current=versions[-1], schemes=schemes)


async def rotate(
    session: AsyncSession, actor: Principal | None, scheme: Scheme = Scheme.HMAC
) -> KeyVersion:
    """Version n+1, of ``scheme``, becomes current; older versions keep matching until retired."""
    latest = await session.scalar(sa.select(sa.func.max(KeyVersion.version)))
    version = KeyVersion(version=(latest or 0) + 1, scheme=scheme.value)
    session.add(version)
    await session.flush()
    await audit(session, actor, AuditAction.KEY_VERSION_ROTATE, object_type="key_version",
                object_id=version.version)  # fmt: skip
    return version


async def report(session: AsyncSession) -> list[dict[str, object]]:
    """Each version, and the datasets whose records use it (with their holders and counts)."""
    index = signature_index
    usage = await session.execute(
        sa.select(
            index.c.key_version,
            Dataset.id,
            Dataset.name,
            Org.name,
            sa.func.count(sa.distinct(index.c.record_key)),
        )
        .join(Dataset, Dataset.id == index.c.dataset_id)
        .join(Org, Org.id == Dataset.org_id)
        .where(index.c.dataset_id != SANDBOX_DATASET_ID)  # the service re-signs it itself
        .group_by(index.c.key_version, Dataset.id, Dataset.name, Org.name)
        .order_by(index.c.key_version, Org.name, Dataset.name)
    )
    datasets: dict[int, list[dict[str, object]]] = {}
    for version, dataset_id, name, holder, records in usage:
        datasets.setdefault(version, []).append(
            {"id": dataset_id, "name": name, "holder": holder, "records": records}
        )
    versions = list(await session.scalars(sa.select(KeyVersion).order_by(KeyVersion.version)))
    live = [v.version for v in versions if v.retired_at is None]
    return [
        {
            "version": v.version,
            "created_at": v.created_at,
            "retired_at": v.retired_at,
            "scheme": v.scheme,
            "current": bool(live) and v.version == live[-1],
            "datasets": datasets.get(v.version, []),
        }
        for v in versions
    ]


async def retire(session: AsyncSession, actor: Principal | None, version: int) -> None:
    """A version that is not current and holds no live record stops being accepted or used."""
    found = await session.get(KeyVersion, version)
    if found is None or found.retired_at is not None:
        raise NotFound("no such live key version")
    current = await session.scalar(
        sa.select(sa.func.max(KeyVersion.version)).where(KeyVersion.retired_at.is_(None))
    )
    if version == current:
        raise Conflict("the current version cannot be retired: rotate first")
    records = await session.scalar(
        sa.select(sa.func.count())
        .select_from(signature_index)
        .where(
            signature_index.c.key_version == version,
            signature_index.c.expires_on > datetime.now(UTC).date(),
            # The sandbox is re-signed by the service itself (app/services/sandbox.py).
            signature_index.c.dataset_id != SANDBOX_DATASET_ID,
        )
    )
    if records:
        raise Conflict(f"version {version} still signs {records:,} live signatures: re-sign first")
    found.retired_at = datetime.now(UTC)
    await session.flush()
    await audit(session, actor, AuditAction.KEY_VERSION_RETIRE, object_type="key_version",
                object_id=version)  # fmt: skip
