"""SQLAlchemy models: one class per table. Migrations in ``db/migrations`` are the source of the
schema; these classes mirror them for queries and must be kept in step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every reelhouse table."""


Timestamp = DateTime(timezone=True)


class Environment(Base):
    """A tenant. Every other row belongs to exactly one."""

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    max_upload_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class AccessToken(Base):
    """An API credential: the secret is stored only as its SHA-256 hex digest."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(Text)
    permissions: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class DirectUpload(Base):
    """A direct upload: the one-time URL a browser sends bytes to, and what became of them."""

    __tablename__ = "direct_uploads"
    __table_args__ = (
        Index("ix_direct_uploads_env_created", "environment_id", "created_at"),
        Index(
            "ix_direct_uploads_waiting_expiry",
            "expires_at",
            postgresql_where=text("status = 'waiting'"),
        ),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    status: Mapped[str] = mapped_column(Text)
    timeout: Mapped[int] = mapped_column(Integer)
    cors_origin: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_asset_settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    asset_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    test: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(Text, nullable=True)
    filename: Mapped[str | None] = mapped_column(Text, nullable=True)
    via: Mapped[str] = mapped_column(Text)


class OutboxEvent(Base):
    """An event written in the transaction that caused it; ``seq`` orders delivery."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_undelivered",
            "seq",
            postgresql_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    type: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str] = mapped_column(Text)
    object_id: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
