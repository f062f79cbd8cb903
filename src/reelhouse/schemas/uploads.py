"""Direct uploads on the wire: the create request (validated strictly) and the Upload object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PlaybackPolicy = Literal["public", "signed"]
StaticResolution = Literal[
    "highest", "audio-only", "2160p", "1440p", "1080p", "720p", "540p", "480p", "360p", "270p"
]


class _Strict(BaseModel):
    """Unknown keys are an error (the message names the key), never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class AssetMeta(_Strict):
    title: str | None = Field(default=None, max_length=512)
    creator_id: str | None = Field(default=None, max_length=128)
    external_id: str | None = Field(default=None, max_length=128)


class StaticRendition(_Strict):
    resolution: StaticResolution
    passthrough: str | None = Field(default=None, max_length=255)


class NewAssetSettings(_Strict):
    """The asset options a direct upload carries (Mux's CreateAssetRequest minus the main input).

    ``inputs`` (extra text tracks, overlays) are kept as given; the asset pipeline validates them.
    Keys mux-python always sends (``copy_overlays``) or may send (legacy ``encoding_tier``,
    ``per_title_encode``) are accepted.
    """

    playback_policy: list[PlaybackPolicy] | None = None
    playback_policies: list[PlaybackPolicy] | None = None
    video_quality: Literal["basic", "plus", "premium"] | None = None
    encoding_tier: Literal["smart", "baseline", "premium"] | None = None
    max_resolution_tier: Literal["1080p", "1440p", "2160p"] | None = None
    passthrough: str | None = Field(default=None, max_length=255)
    normalize_audio: bool | None = None
    mp4_support: (
        Literal["none", "standard", "capped-1080p", "audio-only", "audio-only,capped-1080p"] | None
    ) = None
    static_renditions: list[StaticRendition] | None = None
    test: bool | None = None
    meta: AssetMeta | None = None
    inputs: list[dict[str, Any]] | None = None
    master_access: Literal["none", "temporary"] | None = None
    copy_overlays: bool | None = None
    per_title_encode: bool | None = None

    @field_validator("playback_policy", "playback_policies", mode="before")
    @classmethod
    def _one_policy_as_list(cls, value: Any) -> Any:
        # Mux accepts a bare string for the deprecated singular form.
        return [value] if isinstance(value, str) else value

    def wire(self) -> dict[str, Any]:
        """The settings as the client sent them (unset keys left out): what Upload echoes."""
        return self.model_dump(mode="json", exclude_unset=True)


class CreateUploadRequest(_Strict):
    """``POST /video/v1/uploads``."""

    cors_origin: str | None = Field(default=None, max_length=2048)
    new_asset_settings: NewAssetSettings = Field(default_factory=NewAssetSettings)
    timeout: int = Field(default=3600, ge=60, le=604800)
    test: bool = False


class UploadError(BaseModel):
    type: str
    message: str


class Upload(BaseModel):
    """The Upload object; ``asset_id`` and ``error`` are left out while they are None."""

    id: str
    timeout: int
    status: Literal["waiting", "asset_created", "errored", "cancelled", "timed_out"]
    new_asset_settings: dict[str, Any]
    asset_id: str | None = None
    error: UploadError | None = None
    cors_origin: str | None = None
    url: str | None = None
    test: bool = False

    def wire(self) -> dict[str, Any]:
        """JSON-ready dict in Mux's shape (None ``asset_id``/``error``/``url`` omitted)."""
        data = self.model_dump(mode="json")
        for key in ("asset_id", "error", "url"):
            if data[key] is None:
                del data[key]
        return data
