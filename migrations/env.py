"""Alembic environment: runs on the connection that app.migrate hands over."""

from alembic import context

import app.models  # noqa: F401 - registers the service's tables on the metadata
import matching.tables  # noqa: F401 - registers the signature index
from matching.base import Base
from matching.tables import PARTITION


def _not_a_partition(name: str | None, kind: str, _parents: object) -> bool:
    """The signature index's partitions (PostgreSQL, 0012) are storage, not model."""
    return not (kind == "table" and name is not None and PARTITION.fullmatch(name))


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=_not_a_partition,
)
with context.begin_transaction():
    context.run_migrations()
