"""Alembic environment: runs on the connection :func:`reelhouse.db.migrate.migrate` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from reelhouse.db.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through reelhouse.db.migrate.migrate()")

context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
