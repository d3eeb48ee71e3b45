"""Alembic migrations: the same scripts build SQLite and PostgreSQL databases."""
