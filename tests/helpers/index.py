"""Writing records into the signature index as an upload would, for tests of matching/."""

from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Dataset
from app.models import Org
from matching import Destination
from matching import IndexedRecord
from matching import KeyRing
from matching import replace_records
from signatures import normalize_record
from signatures import sign_fields

TODAY = date(2026, 12, 1)


@dataclass
class Holder:
    """A holder organisation and one dataset of it, writing records into the index."""

    session: AsyncSession
    keyring: KeyRing
    org_id: UUID
    dataset_id: UUID

    async def hold(
        self, external_id: str, record: dict[str, str], *, updated: date = TODAY, version: int = 2
    ) -> IndexedRecord:
        """The record, signed and peppered as an upload would, written to the live index."""
        signed = sign_fields(normalize_record(record).fields, self.keyring.signing_key(version))
        indexed = IndexedRecord(
            record_key=self.keyring.record_key(self.dataset_id, external_id),
            updated_at=updated,
            expires_on=updated + timedelta(days=365),
            key_version=version,
            values={
                kind: self.keyring.index_value(version, bytes.fromhex(signature))
                for kind, signature in signed.items()
            },
        )
        await replace_records(
            self.session,
            destination=Destination(self.dataset_id),
            holder_org_id=self.org_id,
            batch_id=self.dataset_id,  # any id: batches are not looked up here
            records=[indexed],
        )
        return indexed


async def new_holder(session: AsyncSession, keyring: KeyRing, name: str) -> Holder:
    org = Org(name=name, role="holder")
    session.add(org)
    await session.flush()
    dataset = Dataset(org_id=org.id, name="crm", legal_basis="contract", retention_days=365)
    session.add(dataset)
    await session.flush()
    return Holder(session, keyring, org.id, dataset.id)
