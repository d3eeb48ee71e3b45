"""The sandbox: a built-in holder and its one dataset of documented records with known answers.

Test keys (``idc_buyer_test_...``, ``idc_holder_test_...``) see this dataset and nothing else;
live keys never match it. Its records are fictitious (e-mail addresses at ``example.com``, RFC
2606; numbers from ``01 99 00``, a range ARCEP keeps for fiction) and listed in docs/sandbox.md
with the answer each verify gets.

Its signatures depend on this deployment's master secret and current key version, so they are
written here, by the service itself: at start-up and after every rotation (the housekeeping of
each worker), under the current version, replacing any older ones. They never expire.
"""

import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Batch
from app.models import Dataset
from app.models import Org
from matching import Destination
from matching import IndexedRecord
from matching import KeyRing
from matching import replace_records
from matching.base import insert_or_skip
from matching.tables import signature_index
from schemas.vocabulary import Role
from signatures import normalize_record

SANDBOX_ORG_ID: Final = uuid.UUID("5a4db0c5-0000-4000-8000-000000000001")
SANDBOX_DATASET_ID: Final = uuid.UUID("5a4db0c5-0000-4000-8000-000000000002")
SANDBOX_ORG_NAME: Final = "idcheck sandbox (built in)"
#: The key making the sandbox's batches: none of anyone's (the service itself writes them).
_SERVICE_KEY: Final = uuid.UUID("5a4db0c5-0000-4000-8000-000000000003")
#: Sandbox records never expire.
NEVER: Final = date(9999, 12, 31)

#: The sandbox's records as a holder would hold them: (external id, last updated, fields).
#: docs/sandbox.md lists them and what each verify answers; keep the two in step.
SANDBOX_RECORDS: Final[tuple[tuple[str, date, dict[str, str]], ...]] = (
    (
        "sandbox-1",
        date(2026, 11, 2),
        {
            "email": "camille.martin@example.com",
            "phone": "01 99 00 00 01",
            "first_name": "Camille",
            "last_name": "Martin",
            "street": "12 rue de la Paix",
            "postcode": "75002",
            "country": "FR",
            "birth_date": "1985-04-12",
        },
    ),
    (
        "sandbox-2",
        date(2025, 6, 30),
        {
            "email": "louis.bernard@example.com",
            "phone": "01 99 00 00 02",
            "first_name": "Louis",
            "last_name": "Bernard",
        },
    ),
    (
        "sandbox-3",
        date(2026, 3, 15),
        {
            "first_name": "Inès",
            "last_name": "Lefèvre",
            "street": "3 place Bellecour",
            "postcode": "69002",
            "country": "FR",
            "birth_date": "1992-09-30",
        },
    ),
)


async def ensure_sandbox(session: AsyncSession, keyring: KeyRing) -> bool:
    """Make the sandbox's holder and dataset if missing, and its signatures under the current
    key version if they are not; True when something was written. Idempotent, and safe for
    several workers at once (the rows are written with ON CONFLICT DO NOTHING)."""
    await session.execute(
        insert_or_skip(session, Org).values(
            id=SANDBOX_ORG_ID, name=SANDBOX_ORG_NAME, role=Role.HOLDER.value,
            created_at=datetime.now(UTC),
        )
    )  # fmt: skip
    await session.execute(
        insert_or_skip(session, Dataset).values(
            id=SANDBOX_DATASET_ID, org_id=SANDBOX_ORG_ID, name="sandbox",
            legal_basis="legitimate_interests", retention_days=3650, created_at=datetime.now(UTC),
            purged_records=0,
        )
    )  # fmt: skip
    # The dataset's row, locked: workers starting together write the signatures one at a time.
    dataset = await session.get_one(Dataset, SANDBOX_DATASET_ID, with_for_update=True)
    index = signature_index
    current = await session.scalar(
        sa.select(sa.func.count()).where(
            index.c.dataset_id == SANDBOX_DATASET_ID, index.c.key_version == keyring.current
        )
    )
    records = [
        IndexedRecord(
            record_key=keyring.record_key(SANDBOX_DATASET_ID, external_id),
            updated_at=updated_at,
            expires_on=NEVER,
            key_version=keyring.current,
            values=_signed(keyring, fields),
        )
        for external_id, updated_at, fields in SANDBOX_RECORDS
    ]
    if current == sum(len(record.values) for record in records):
        return False
    batch = Batch(dataset_id=SANDBOX_DATASET_ID, api_key_id=_SERVICE_KEY)
    batch.records = len(records)
    session.add(batch)
    await session.flush()
    await session.execute(sa.delete(index).where(index.c.dataset_id == SANDBOX_DATASET_ID))
    await replace_records(
        session,
        destination=Destination(SANDBOX_DATASET_ID),
        holder_org_id=SANDBOX_ORG_ID,
        batch_id=batch.id,
        records=records,
    )
    dataset.last_upload_at = datetime.now(UTC)
    await session.flush()
    return True


def _signed(keyring: KeyRing, fields: dict[str, str]) -> dict[str, bytes]:
    """A sandbox record's index values under the current version."""
    version = keyring.current
    normalized = normalize_record(fields, default_country="FR")
    return {
        kind: keyring.index_value(version, bytes.fromhex(signature))
        for kind, signature in keyring.sign_fields(
            version, normalized.fields, normalized.names
        ).items()
    }
