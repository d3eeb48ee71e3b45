"""The service's own tables: organisations, API keys, datasets, batches, usage, key versions.

The signature index itself belongs to `matching` (matching/tables.py).
"""

import uuid
from datetime import UTC
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from matching import Base
from matching import UtcDateTime
from schemas.vocabulary import Role
from schemas.vocabulary import SnapshotState
from signatures import Scheme

ROLES = tuple(role.value for role in Role)
SCHEMES = tuple(scheme.value for scheme in Scheme)


def _now() -> datetime:
    return datetime.now(UTC)


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    # Set by PUT /v1/admin/orgs/{id}/quota once metering enforces it; None = no quota.
    monthly_quota: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    #: Blind evaluations a month, set by an admin; None = the default (app/services/evaluations).
    monthly_evaluation_quota: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role"),)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    #: The key's first characters (idc_<role>_ and 8 more): how a key is found and shown.
    prefix: Mapped[str] = mapped_column(sa.String(40), unique=True)
    #: Keyed BLAKE3 of the whole key; compared in constant time.
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    label: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    #: A test key (idc_<role>_test_...): sees the sandbox only, is never billed.
    test: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    legal_basis: Mapped[str] = mapped_column(sa.String(32))
    retention_days: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    last_upload_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: Records removed because their retention ran out, in all, and when that last happened.
    purged_records: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    last_purge_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    __table_args__ = (sa.UniqueConstraint("org_id", "name", name="uq_datasets_org_id_name"),)


class Batch(Base):
    """One upload: all of it was written, or none of it."""

    __tablename__ = "batches"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    api_key_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    records: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class UsageEvent(Base):
    """One verify request: what the buyer is billed."""

    __tablename__ = "usage_events"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"))
    api_key_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    #: The UTC day and month of created_at, kept so that reports group alike on every backend.
    day: Mapped[date] = mapped_column(sa.Date)
    month: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM
    endpoint: Mapped[str] = mapped_column(sa.String(16))  # raw | signed
    purpose: Mapped[str] = mapped_column(sa.String(200))
    records: Mapped[int] = mapped_column(sa.Integer)
    billable_records: Mapped[int] = mapped_column(sa.Integer)
    matched_records: Mapped[int] = mapped_column(sa.Integer)
    #: Made with a test key, against the sandbox: never billed, reported apart.
    test: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())

    __table_args__ = (
        sa.Index("ix_usage_events_buyer_created", "buyer_org_id", "created_at"),
        sa.Index("ix_usage_events_day", "day"),
    )


class UsageCredit(Base):
    """The buyer records of one verify request that a holder's data confirmed."""

    __tablename__ = "usage_credits"

    event_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("usage_events.id", ondelete="CASCADE"), primary_key=True
    )
    holder_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), primary_key=True)
    matched_records: Mapped[int] = mapped_column(sa.Integer)


class UsageDatasetCredit(Base):
    """The buyer records of one verify request that one dataset of a holder confirmed: what each
    dataset earned. A record two datasets of one holder confirmed counts in each (and once in its
    holder's UsageCredit). No foreign key to the dataset: its credits outlive its deletion."""

    __tablename__ = "usage_dataset_credits"

    event_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("usage_events.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    holder_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    matched_records: Mapped[int] = mapped_column(sa.Integer)


class KeyVersion(Base):
    """Signing-key versions; the newest one not retired is current."""

    __tablename__ = "key_versions"

    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: How its signatures are made: HMAC with a key handed out, or OPRF (blind mode).
    scheme: Mapped[str] = mapped_column(
        sa.String(32), default=Scheme.HMAC.value, server_default=Scheme.HMAC.value
    )

    __table_args__ = (sa.CheckConstraint(f"scheme IN {SCHEMES}", name="scheme"),)


class EvaluationMonth(Base):
    """An organisation's blind evaluations in a calendar month (UTC): what its quota holds to.

    Raised by a conditional UPDATE in the evaluation's transaction, as UsageMonth is by verify.
    """

    __tablename__ = "evaluation_months"

    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # YYYY-MM
    evaluations: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class EvaluationDay(Base):
    """An organisation's blind evaluations in a day (UTC), for usage reports."""

    __tablename__ = "evaluation_days"

    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    evaluations: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class UsageMonth(Base):
    """A buyer's billable records in a calendar month (UTC): the counter its quota is held to.

    Raised in the verify transaction by a conditional UPDATE, so that concurrent requests from any
    number of workers serialise on this row and the quota holds exactly.
    """

    __tablename__ = "usage_months"

    buyer_org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # YYYY-MM
    billable_records: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class IdempotencyRecord(Base):
    """The answer a writing POST gave under an Idempotency-Key, for replays (kept 24 h at least).

    The response is sealed (AES-GCM, a key derived from the master): it can hold a new API key or a
    buyer's refs, and nothing readable is kept at rest.
    """

    __tablename__ = "idempotency_keys"

    org_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("orgs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_digest: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    response: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now, index=True)


class AuditEvent(Base):
    """Who did what: never a raw value, only ids, an action and counts."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    #: The acting organisation and key; none for the command line on the server.
    org_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, default=None)
    key_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, default=None)
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    object_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    #: The dataset concerned, so that its holder sees the entry.
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, default=None)
    #: A verify's usage event, so that the holders it credited see the entry.
    event_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, default=None)
    counts: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (
        sa.Index("ix_audit_events_at", "at"),
        sa.Index("ix_audit_events_org_id", "org_id"),
        sa.Index("ix_audit_events_dataset_id", "dataset_id"),
        sa.Index("ix_audit_events_event_id", "event_id"),
    )


class Snapshot(Base):
    """A dataset's replacement, uploaded apart and swapped in at once (or aborted)."""

    __tablename__ = "snapshots"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("datasets.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=SnapshotState.OPEN)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    records: Mapped[int] = mapped_column(sa.Integer, default=0)  # swapped in, once committed

    #: One open snapshot per dataset: a second open is refused by the database itself.
    __table_args__ = (
        sa.Index(
            "uq_snapshots_one_open",
            "dataset_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )


class ConsoleSession(Base):
    """A browser's session of the console (app/console): made from an API key at sign-in, it
    acts as that key until it expires or its user signs out. Only a keyed hash of its token is
    kept; the key itself is never stored."""

    __tablename__ = "console_sessions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
