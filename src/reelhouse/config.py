"""Settings: ``REELHOUSE_*`` environment variables, or a TOML file named by ``REELHOUSE_CONFIG``.

Loaded once by a composition root (:func:`load_settings`) and passed down; nothing else reads the
environment. Every external limit lives here with its default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

GiB = 1 << 30


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELHOUSE_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: str | None = Field(
        default=None, validation_alias="AWS_SECRET_ACCESS_KEY"
    )
    aws_region: str | None = Field(default=None, validation_alias="AWS_REGION")
    redis_url: str | None = None
    public_url: str | None = None
    stream_host: str | None = None
    accel_redirect_prefix: str | None = None
    presigned_redirect_seconds: int = Field(default=0, ge=0, le=604800)
    delivery_memory_cache_mb: int = Field(default=64, ge=0, le=65536)
    image_host: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    ffmpeg: str | None = None

    bootstrap_token: str | None = None
    playback_secret: str | None = Field(default=None, min_length=32)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Dashboard: a password (or its hash from `reelhouse admin-password`) that signs in with
    # every permission in the default environment; how long a dashboard session lasts.
    admin_password: str | None = Field(default=None, repr=False)
    dashboard_session_seconds: int = Field(default=8 * 3600, ge=1, le=30 * 24 * 3600)

    log_level: str = "info"
    log_format: str = Field(default="console", pattern="^(console|json)$")

    # Uploads
    max_upload_bytes: int = Field(default=256 * GiB, ge=1)
    upload_fsync: bool = True
    upload_read_timeout: float = Field(default=60.0, gt=0)
    upload_buffer_bytes: int = Field(default=256 << 10, ge=4096)
    upload_buffer_budget_bytes: int = Field(default=4 << 20, ge=0)
    files_cors_origin: str = "*"
    files_upload_timeout: int = Field(default=7 * 24 * 3600, ge=60, le=604800)
    lock_handover_seconds: float = Field(default=3.0, gt=0)
    lock_park_seconds: float = Field(default=0.5, ge=0, le=10)
    ietf_resumable_uploads: bool = True

    # Jobs
    worker_concurrency: int = Field(default=2, ge=1)
    upload_expiry_interval_seconds: int = Field(default=60, ge=1)
    worker_stalled_seconds: float = Field(default=60.0, gt=0)

    # Media pipeline
    encode_preset: str = Field(
        default="veryfast",
        pattern="^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow)$",
    )
    encode_timeout_factor: float = Field(default=6.0, gt=0)
    encode_min_timeout: float = Field(default=120.0, gt=0)
    max_input_duration: float = Field(default=12 * 3600.0, gt=0)
    max_input_frame_rate: float = Field(default=120.0, gt=0)
    passthrough_top_rung: bool = True
    fetch_max_bytes: int = Field(default=64 * GiB, ge=1)
    fetch_timeout: float = Field(default=3600.0, gt=0)
    outbound_allow: str = ""
    outbound_allow_private: bool = False

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def base_url(self) -> str:
        """The base of every URL reelhouse hands out."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def scratch_dir(self) -> Path:
        return self.data_dir / "scratch"

    @property
    def inputs_dir(self) -> Path:
        return self.data_dir / "inputs"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("REELHOUSE_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Read settings once; explicit ``overrides`` (from CLI flags) win over the environment."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
