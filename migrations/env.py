"""Alembic environment: runs on the connection that app.migrate hands over."""

from alembic import context

import app.models  # noqa: F401 - registers the service's tables on the metadata
import matching.tables  # noqa: F401 - registers the signature index
from matching.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
