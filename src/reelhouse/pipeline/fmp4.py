"""Reading codec strings out of fMP4 init segments (RFC 6381 ``CODECS`` values). Pure."""

from __future__ import annotations

AAC_LC = "mp4a.40.2"


def avc_codec_string(init: bytes) -> str | None:
    """``avc1.PPCCLL`` from the ``avcC`` box of an init segment, or ``None`` without one."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        return None
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def codec_string(init: bytes) -> str:
    """The codec string for a one-track init segment: H.264 from ``avcC``, else AAC-LC."""
    return avc_codec_string(init) or AAC_LC


def avc_codec_from_profile(profile: str | None, level: int | None) -> str:
    """A best-effort ``avc1`` string from probed profile/level names (used without an init)."""
    profile_idc = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}
    compat = 0x40 if profile == "Constrained Baseline" else 0
    return f"avc1.{profile_idc.get(profile or '', 0x64):02x}{compat:02x}{(level or 40):02x}"
