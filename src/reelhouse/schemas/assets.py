"""Assets on the wire: the create and update requests (validated strictly) and the Asset object.

Every enum below is one of Mux's: mux-python validates them when it reads a response, so a value
outside these lists would crash a client.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from reelhouse.schemas.uploads import (
    AssetMeta,
    NewAssetSettings,
    PlaybackPolicy,
    StaticRendition,
    StaticResolution,
)

CLIP_URL = re.compile(r"^mux://assets/([0-9A-Za-z]{16,64})$")
URL_MESSAGE = "input url must be an http or https URL"
NO_INPUT_MESSAGE = "inputs: the first input needs a url"

AssetStatus = Literal["preparing", "ready", "errored"]
ResolutionTier = Literal["audio-only", "720p", "1080p", "1440p", "2160p"]
MaxResolutionTier = Literal["1080p", "1440p", "2160p"]
StoredResolution = Literal["Audio only", "SD", "HD", "FHD", "UHD"]
VideoQuality = Literal["basic", "plus", "premium"]
EncodingTier = Literal["smart", "baseline", "premium"]
Mp4Support = Literal["none", "standard", "capped-1080p", "audio-only", "audio-only,capped-1080p"]
IngestType = Literal["on_demand_url", "on_demand_direct_upload", "on_demand_clip"]
ProgressState = Literal["ingesting", "transcoding", "completed", "errored"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OverlaySettings(_Strict):
    vertical_align: Literal["top", "middle", "bottom"] | None = None
    vertical_margin: str | None = Field(default=None, max_length=32)
    horizontal_align: Literal["left", "center", "right"] | None = None
    horizontal_margin: str | None = Field(default=None, max_length=32)
    width: str | None = Field(default=None, max_length=32)
    height: str | None = Field(default=None, max_length=32)
    opacity: str | None = Field(default=None, max_length=32)


class GeneratedSubtitles(_Strict):
    language_code: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=255)
    passthrough: str | None = Field(default=None, max_length=255)


def is_http_url(value: str) -> bool:
    """True for an absolute ``http://`` or ``https://`` URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def clip_source(url: str | None) -> str | None:
    """The source asset id of a ``mux://assets/{id}`` clip URL, else None."""
    match = CLIP_URL.match(url or "")
    return match.group(1) if match else None


class InputSettings(_Strict):
    """One input: the first is the main media, the others text/audio tracks or an overlay."""

    url: str | None = Field(default=None, max_length=4096)
    type: Literal["video", "audio", "text"] | None = None
    text_type: Literal["subtitles"] | None = None
    start_time: float | None = Field(default=None, ge=0)
    end_time: float | None = Field(default=None, ge=0)
    language_code: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=255)
    closed_captions: bool | None = None
    passthrough: str | None = Field(default=None, max_length=255)
    overlay_settings: OverlaySettings | None = None
    generated_subtitles: list[GeneratedSubtitles] | None = None

    @field_validator("url")
    @classmethod
    def _http_or_clip(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value) and clip_source(value) is None:
            raise PydanticCustomError("url_scheme", URL_MESSAGE)
        return value


class CreateAssetRequest(NewAssetSettings):
    """``POST /video/v1/assets``: the upload's asset settings plus the inputs.

    ``input`` (deprecated) is folded into ``inputs``; a bare URL string stands for
    ``[{"url": ...}]``. The first input must carry a URL.
    """

    # Typed here, raw dicts in the upload's settings; validated even when absent (required).
    inputs: list[InputSettings] | None = Field(default=None, validate_default=True)  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _fold_input(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        legacy = data.pop("input", None)
        if data.get("inputs") is None and legacy is not None:
            data["inputs"] = legacy
        inputs = data.get("inputs")
        if isinstance(inputs, str):
            data["inputs"] = [inputs]
        if isinstance(data.get("inputs"), list):
            data["inputs"] = [{"url": i} if isinstance(i, str) else i for i in data["inputs"]]
        return data

    @field_validator("inputs")
    @classmethod
    def _main_input(cls, inputs: list[InputSettings] | None) -> list[InputSettings] | None:
        if not inputs or not inputs[0].url:
            raise PydanticCustomError("inputs_required", "the first input needs a url")
        if any(clip_source(extra.url) for extra in inputs[1:]):
            raise PydanticCustomError("url_scheme", URL_MESSAGE)
        return inputs

    @property
    def main_url(self) -> str:
        assert self.inputs and self.inputs[0].url
        return self.inputs[0].url


class UpdateMp4SupportRequest(_Strict):
    """``PUT /video/v1/assets/{id}/mp4-support`` (legacy static renditions)."""

    mp4_support: Mp4Support


CreateStaticRenditionRequest = StaticRendition
"""``POST /video/v1/assets/{id}/static-renditions``: ``{resolution, passthrough}``."""


class UpdateAssetRequest(_Strict):
    """``PATCH /video/v1/assets/{id}``."""

    passthrough: str | None = Field(default=None, max_length=255)
    meta: AssetMeta | None = None


class CreatePlaybackIdRequest(_Strict):
    """``POST /video/v1/assets/{id}/playback-ids`` (DRM is not offered)."""

    policy: PlaybackPolicy = "public"


class PlaybackIdView(BaseModel):
    id: str
    policy: PlaybackPolicy


class PlaybackObject(BaseModel):
    type: Literal["asset"]
    id: str


class PlaybackIdLookup(BaseModel):
    """``GET /video/v1/playback-ids/{id}``."""

    id: str
    policy: PlaybackPolicy
    object: PlaybackObject


class Track(BaseModel):
    id: str
    type: Literal["video", "audio", "text"]
    duration: float | None = None
    max_width: int | None = None
    max_height: int | None = None
    max_frame_rate: float | None = None
    max_channels: int | None = None
    max_channel_layout: str | None = None
    primary: bool | None = None
    status: Literal["preparing", "ready", "errored", "deleted"] | None = None


class AssetErrors(BaseModel):
    type: str
    messages: list[str]


class Progress(BaseModel):
    state: ProgressState
    progress: float = Field(ge=0, le=100)


class StaticRenditionFile(BaseModel):
    """One static MP4/M4A (also the ``data`` of ``POST .../static-renditions``)."""

    id: str | None = None
    name: str | None = None
    ext: Literal["mp4", "m4a"] | None = None
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None
    filesize: str | None = None
    type: Literal["standard", "advanced"] | None = None
    status: Literal["ready", "preparing", "skipped", "errored"]
    resolution_tier: ResolutionTier | None = None
    resolution: StaticResolution | None = None
    passthrough: str | None = None

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class StaticRenditions(BaseModel):
    status: Literal["ready", "preparing", "disabled", "errored"]
    files: list[StaticRenditionFile] = Field(default_factory=list)


class Asset(BaseModel):
    """The Asset object. ``wire()`` leaves out every None field (Mux omits unknown values)."""

    id: str
    created_at: str | int
    status: AssetStatus
    duration: float | None = None
    max_stored_resolution: StoredResolution | None = None
    resolution_tier: ResolutionTier | None = None
    max_resolution_tier: MaxResolutionTier = "1080p"
    max_stored_frame_rate: float | None = None
    aspect_ratio: str | None = None
    playback_ids: list[PlaybackIdView] = Field(default_factory=list)
    tracks: list[Track] = Field(default_factory=list)
    errors: AssetErrors | None = None
    upload_id: str | None = None
    ingest_type: IngestType
    source_asset_id: str | None = None
    passthrough: str | None = None
    test: bool | None = None
    video_quality: VideoQuality
    encoding_tier: EncodingTier
    mp4_support: Mp4Support = "none"
    static_renditions: StaticRenditions | None = None
    normalize_audio: bool = False
    master_access: Literal["none"] = "none"
    meta: AssetMeta | None = None
    progress: Progress

    def wire(self) -> dict[str, Any]:
        """JSON-ready dict in Mux's shape, None fields (at any depth) left out."""
        return self.model_dump(mode="json", exclude_none=True)


class InputFile(BaseModel):
    container_format: str | None = None
    tracks: list[dict[str, Any]] = Field(default_factory=list)


class InputInfo(BaseModel):
    """One entry of ``GET /video/v1/assets/{id}/input-info``."""

    settings: dict[str, Any]
    file: InputFile


class AssetList(BaseModel):
    """``GET /video/v1/assets``: a page and the cursor of the next one (null on the last)."""

    data: list[Asset]
    next_cursor: str | None
