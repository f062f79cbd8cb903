"""SQLAlchemy models: one class per table. Migrations in ``db/migrations`` are the source of the
schema; these classes mirror them for queries and must be kept in step."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
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
        Index("ix_outbox_events_object", "environment_id", "object_id"),
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


class Asset(Base):
    """A video (or audio) made from one input; its outputs live under a version prefix."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    status: Mapped[str] = mapped_column(Text)
    upload_id: Mapped[str | None] = mapped_column(
        Text, ForeignKey("direct_uploads.id"), nullable=True
    )
    ingest_type: Mapped[str] = mapped_column(Text)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    passthrough: Mapped[str | None] = mapped_column(Text, nullable=True)
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    source_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source_sha256: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    aspect_ratio: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolution_tier: Mapped[str | None] = mapped_column(Text, nullable=True)
    max_stored_frame_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_stored_resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    tracks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    input_info: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB, nullable=True)
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_state: Mapped[str] = mapped_column(Text, default="ingesting")
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    ready_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class PlaybackId(Base):
    """A public or signed handle players use to stream an asset."""

    __tablename__ = "playback_ids"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    asset_id: Mapped[str] = mapped_column(Text, ForeignKey("assets.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Rendition(Base):
    """One published rung (or the audio rendition) of an asset's output ``version``.

    The multivariant playlist is rendered from these rows on request; ``playlist_key`` names
    the stored media playlist, whose segment URIs are relative to it.
    """

    __tablename__ = "renditions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    asset_id: Mapped[str] = mapped_column(Text, ForeignKey("assets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frame_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    bandwidth: Mapped[int] = mapped_column(Integer)
    average_bandwidth: Mapped[int] = mapped_column(Integer)
    codecs: Mapped[str] = mapped_column(Text)
    channels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passthrough: Mapped[bool] = mapped_column(Boolean, default=False)
    playlist_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class WebhookEndpoint(Base):
    """Where an environment's events are POSTed. ``secret`` signs them (kept, since every
    attempt is signed anew); ``operator_trusted`` marks the endpoint from the operator's settings,
    which may be on a private network."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_env_created", "environment_id", "created_at", "id"),
        Index(
            "ix_webhook_endpoints_operator",
            "environment_id",
            unique=True,
            postgresql_where=text("operator_trusted"),
        ),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    operator_trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class WebhookDelivery(Base):
    """One event on its way to one endpoint: pending until a 2xx (delivered) or the retry
    window closes (failed). ``replay`` rows are extra deliveries asked for by a person."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "uq_webhook_deliveries_dispatch",
            "event_id",
            "endpoint_id",
            unique=True,
            postgresql_where=text("NOT replay"),
        ),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("outbox_events.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[str] = mapped_column(
        Text, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    replay: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class WebhookAttempt(Base):
    """One POST of a delivery and what came back (at most 1 KiB of the response body)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class SigningKey(Base):
    """An RSA key pair for playback tokens, of which only the public half is kept (PEM).
    ``deleted_at`` marks a deleted key: tokens it signed are refused from then on."""

    __tablename__ = "signing_keys"
    __table_args__ = (Index("ix_signing_keys_env_created", "environment_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class PlaybackRestriction(Base):
    """Referrer and user-agent rules a signed token may name (``playback_restriction_id``).
    ``referrer`` is ``{allowed_domains: [...], allow_no_referrer}``; ``user_agent`` is
    ``{allow_no_user_agent, allow_high_risk_user_agent}``."""

    __tablename__ = "playback_restrictions"
    __table_args__ = (
        Index("ix_playback_restrictions_env_created", "environment_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    referrer: Mapped[dict[str, Any]] = mapped_column(JSONB)
    user_agent: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class TextTrack(Base):
    """A subtitles track added to an asset from a caption file (SRT or WebVTT) at ``url``.
    ``preparing`` until the fetch job stores the converted WebVTT at ``object_key`` (``ready``)
    or refuses the file (``errored``, with ``error`` = ``{type, messages}``)."""

    __tablename__ = "text_tracks"
    __table_args__ = (Index("ix_text_tracks_asset", "asset_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    asset_id: Mapped[str] = mapped_column(Text, ForeignKey("assets.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(Text)
    language_code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    closed_captions: Mapped[bool] = mapped_column(Boolean, default=False)
    text_type: Mapped[str] = mapped_column(Text, default="subtitles")
    text_source: Mapped[str] = mapped_column(Text, default="uploaded")
    passthrough: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str] = mapped_column(Text)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    object_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class View(Base):
    """One attempt to play a video, built from its player's beacons (``analytics.views``).
    ``id`` is the player's view UUID. No IP address is kept: ``viewer_hash`` is a hash of IP and
    user agent under a salt that changes daily. ``last_seq`` is the highest beacon event applied
    (replays are skipped); ``rebuffering_since_ms`` is set while a rebuffer is open."""

    __tablename__ = "views"
    __table_args__ = (Index("ix_views_env_started", "environment_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    environment_id: Mapped[str] = mapped_column(Text, ForeignKey("environments.id"))
    asset_id: Mapped[str] = mapped_column(Text)
    playback_id: Mapped[str] = mapped_column(Text)
    viewer_hash: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    last_beacon_at: Mapped[datetime] = mapped_column(Timestamp)
    first_frame_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    watch_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    rebuffer_count: Mapped[int] = mapped_column(Integer, default=0)
    rebuffer_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    rebuffering_since_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    errored: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(Text, nullable=True)
    exited_before_start: Mapped[bool] = mapped_column(Boolean, default=False)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=-1)
    player_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    ua_family: Mapped[str] = mapped_column(Text, default="Other")


class DailyRollup(Base):
    """One UTC day of an environment's views, per asset; ``asset_id == ""`` is the total over
    every asset. Percentages are fractions (0..1), as Mux Data reports them."""

    __tablename__ = "daily_rollups"

    environment_id: Mapped[str] = mapped_column(
        Text, ForeignKey("environments.id"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    asset_id: Mapped[str] = mapped_column(Text, primary_key=True)
    views: Mapped[int] = mapped_column(Integer)
    unique_viewers: Mapped[int] = mapped_column(Integer)
    watch_seconds: Mapped[float] = mapped_column(Float)
    rebuffer_seconds: Mapped[float] = mapped_column(Float)
    startup_p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    startup_p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    rebuffer_percentage: Mapped[float | None] = mapped_column(Float, nullable=True)
    failure_percentage: Mapped[float | None] = mapped_column(Float, nullable=True)
    exits_before_start: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(Timestamp)
