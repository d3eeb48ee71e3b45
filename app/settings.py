"""Settings from the environment (prefix IDCHECK_); the embedded default needs none."""

import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic import SecretStr
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict

EMBEDDED_DATABASE = "sqlite:///./idcheck.db"
EMBEDDED_KEY_FILE = Path("idcheck.key")
_HEX_SECRET = re.compile(r"[0-9a-fA-F]{64,}")


class SettingsError(ValueError):
    """Settings that cannot run the service; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IDCHECK_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = EMBEDDED_DATABASE
    #: The master secret: a file holding at least 64 hex characters, or the value itself.
    master_key_file: Path | None = None
    master_key: SecretStr | None = None
    #: A bearer token for /metrics. Without one, production refuses to start unless
    #: IDCHECK_METRICS_PUBLIC=true says that /metrics is public on purpose.
    metrics_token: SecretStr | None = None
    metrics_public: bool = False

    max_verify_records: int = Field(1000, ge=1, le=100_000)
    max_batch_records: int = Field(1_000_000, ge=1, le=10_000_000)
    max_json_body_bytes: int = Field(32 * 2**20, ge=1024)
    max_upload_body_bytes: int = Field(2 * 2**30, ge=1024)
    max_ndjson_line_bytes: int = Field(64 * 1024, ge=256)
    max_delete_ids: int = Field(100_000, ge=1, le=1_000_000)
    db_pool_size: int = Field(10, ge=1)
    #: PostgreSQL streaming replicas for verify's lookups, comma-separated URLs (app/replicas.py):
    #: one is skipped while it lags more than replica_max_lag seconds behind the primary (from its
    #: replay position) or does not answer; checked every replica_check_interval seconds.
    database_replica_urls: str = ""
    replica_max_lag: float = Field(2.0, gt=0, le=60)
    replica_check_interval: float = Field(0.25, ge=0.01, le=5)
    #: The database URL is a pooler in transaction mode (PgBouncer's pool_mode = transaction):
    #: no prepared statement outlives its transaction, no setting is sent at connect (put the
    #: timeouts on the role: docs/deploy.md), no statement runs outside a transaction.
    database_transaction_pooling: bool = False
    #: Hash partitions of the signature index on PostgreSQL (by dataset), fixed when `idcheck
    #: migrate` makes it (revision 0012; 0: one plain table): docs/deploy.md.
    signature_partitions: int = Field(8, ge=0, le=256)
    #: Read deadlines (seconds): the request line and headers must arrive within header_timeout;
    #: a body may pause at most body_idle_timeout between two chunks and, past its first
    #: body_idle_timeout, must keep an average of body_min_rate bytes a second.
    header_timeout: float = Field(10.0, gt=0, le=600)
    body_idle_timeout: float = Field(30.0, gt=0, le=3600)
    body_min_rate: int = Field(1024, ge=0)
    #: PostgreSQL limits (seconds): one statement of an API request, and of an upload's write
    #: (merging a million records may take minutes); a wait for a lock; a session left idle in a
    #: transaction. The upload's limit applies to the whole write of a batch.
    statement_timeout: float = Field(30.0, gt=0)
    upload_statement_timeout: float = Field(1800.0, gt=0)
    lock_timeout: float = Field(5.0, gt=0)
    idle_in_transaction_timeout: float = Field(60.0, gt=0)
    #: Requests a second per API key (in each worker), and the burst above it; 0 turns it off.
    rate_limit_per_second: float = Field(100.0, ge=0)
    rate_limit_burst: int = Field(200, ge=1)
    #: Blind evaluations a month for an organisation without a quota of its own (the floor: a
    #: holder may make 60 x the records it uploaded, a buyer with a verify quota 60 x that
    #: quota: services/evaluations.py).
    evaluation_allowance: int = Field(1_000_000, ge=0)
    #: How long an Idempotency-Key's answer is kept for replays (docs/api.md: at least 24 h).
    idempotency_hours: int = Field(24, ge=24)
    #: How long a console session lasts after its sign-in (app/console): then the key again.
    console_session_minutes: int = Field(30, ge=1, le=720)
    log_level: str = "INFO"
    #: text: one line an event; json: one JSON object a line (time, level, logger, request_id,
    #: message), for a log collector.
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        return _with_async_driver(url, "IDCHECK_DATABASE_URL")

    @model_validator(mode="after")
    def _replicas_of_postgresql(self) -> "Settings":
        for url in self.replica_urls:
            if not url.startswith("postgresql+asyncpg://"):
                raise ValueError("IDCHECK_DATABASE_REPLICA_URLS are postgresql:// URLs")
        if self.replica_urls and self.is_sqlite:
            raise ValueError("IDCHECK_DATABASE_REPLICA_URLS need a PostgreSQL IDCHECK_DATABASE_URL")
        return self

    @model_validator(mode="after")
    def _production_needs_an_explicit_master_key(self) -> "Settings":
        if self.env == "production" and self.master_key is None and self.master_key_file is None:
            raise ValueError(
                "IDCHECK_ENV=production needs IDCHECK_MASTER_KEY_FILE or IDCHECK_MASTER_KEY"
            )
        return self

    @model_validator(mode="after")
    def _production_metrics_are_guarded(self) -> "Settings":
        if self.env == "production" and self.metrics_token is None and not self.metrics_public:
            raise ValueError(
                "IDCHECK_ENV=production needs IDCHECK_METRICS_TOKEN, or "
                "IDCHECK_METRICS_PUBLIC=true to serve /metrics to anyone on purpose"
            )
        return self

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(hours=self.idempotency_hours)

    @property
    def console_session_ttl(self) -> timedelta:
        return timedelta(minutes=self.console_session_minutes)

    @property
    def replica_urls(self) -> list[str]:
        """IDCHECK_DATABASE_REPLICA_URLS, each with the async driver (postgresql+asyncpg)."""
        return [
            _with_async_driver(url.strip(), "IDCHECK_DATABASE_REPLICA_URLS")
            for url in self.database_replica_urls.split(",")
            if url.strip()
        ]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def master_secret(self) -> bytes:
        """The master secret's bytes; placeholders and short secrets are refused."""
        if self.master_key is not None:
            text, source = self.master_key.get_secret_value(), "IDCHECK_MASTER_KEY"
        else:
            path = self.master_key_file or EMBEDDED_KEY_FILE
            source = str(path)
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError(f"master key file {path}: cannot read it ({exc})") from None
        return parse_master_secret(text.strip(), source)


def _with_async_driver(url: str, name: str) -> str:
    """Plain URLs get the async drivers: sqlite -> aiosqlite, postgresql -> asyncpg."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise ValueError(f"{name} must be a sqlite:// or postgresql:// URL")


def parse_master_secret(text: str, source: str) -> bytes:
    if not _HEX_SECRET.fullmatch(text) or len(text) % 2:
        raise SettingsError(f"{source}: the master key is at least 64 hex characters")
    secret = bytes.fromhex(text)
    if len(set(secret)) < 8:  # all zeros, "aaaa...", a repeated byte: a placeholder
        raise SettingsError(f"{source}: the master key looks like a placeholder; make a real one")
    return secret
