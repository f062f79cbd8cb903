"""Caption files: SRT and WebVTT in, checked WebVTT out, and the HLS subtitles playlist. Pure.

:func:`parse_captions` takes the fetched bytes (at most :data:`MAX_BYTES`, UTF-8 with or without
a BOM, no NUL bytes), sniffs the format (a ``WEBVTT`` signature line means WebVTT, anything else
is read as SRT) and returns the cues, or raises :class:`CaptionRejected` whose message says what
is wrong and on which line (``The caption file is not valid SRT or WebVTT: line 12 has no
timestamp``). Cues must be in order (each starts no earlier than the one before) and none may end
before it starts; at most :data:`MAX_CUES` cues of at most :data:`MAX_CUE_CHARS` characters.

:func:`render_webvtt` writes what players read. SRT markup is carried over where WebVTT has it
(``<i> <b> <u>``); other tags (``<font>``, ASS ``{\\an8}`` overrides) are dropped and stray
``& < >`` escaped. From WebVTT input, NOTE and STYLE blocks are dropped (styles are the
publisher's CSS; players style cues themselves), REGION blocks, cue identifiers, known cue
settings and cue markup are kept.

HLS: :func:`subtitles_playlist` is a VOD media playlist of ONE segment, the whole ``.vtt``, as
long as the asset. That is valid HLS (RFC 8216 4.3.3.1 bounds segments by TARGETDURATION, which
is set to match), hls.js and Safari play it, and it needs no cutting; the cue times are the
asset's own timeline, which starts at 0, so no ``X-TIMESTAMP-MAP`` is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

from reelhouse.pipeline.errors import PipelineError

MAX_BYTES: Final = 5 * 1024 * 1024
MAX_CUES: Final = 50_000
MAX_CUE_CHARS: Final = 4_096
MAX_TIMESTAMP_MS: Final = 100 * 3600 * 1000  # 100 hours: beyond any asset we accept

WEBVTT: Final = "WebVTT"
SRT: Final = "SRT"
UNKNOWN: Final = "SRT or WebVTT"

_VTT_TIME = r"(?:(\d{1,3}):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t]+(.*))?$")
# SRT as found in the wild: ``,`` or ``.`` before the milliseconds, 1 to 3 of them, and
# optional ``X1:.. X2:..`` coordinates after the end time.
_SRT_TIME = r"(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t]+.*)?$")
_VTT_SIGNATURE = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_SETTING = re.compile(r"^(?:vertical|line|position|size|align|region):[^\s]+$")
_SRT_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z]+)[^>]*>|\{\\[^}]*\}")
_KEPT_TAGS: Final = frozenset({"i", "b", "u"})


class CaptionRejected(PipelineError):
    """The caption file cannot be used; ``message`` says why, for the person who sent it."""

    code = "invalid_caption_file"


@dataclass(frozen=True)
class Cue:
    """One cue: times in milliseconds, ``text`` in WebVTT cue-text syntax (never a blank line
    nor ``-->``), ``settings`` WebVTT cue settings (``line:0 align:start``)."""

    start_ms: int
    end_ms: int
    text: str
    identifier: str = ""
    settings: str = ""


@dataclass(frozen=True)
class Captions:
    """A parsed caption file: ``source_format`` is :data:`SRT` or :data:`WEBVTT`; ``regions``
    are WebVTT REGION blocks (each its lines, without the blank line after)."""

    source_format: str
    cues: tuple[Cue, ...]
    regions: tuple[str, ...] = ()

    @property
    def end_ms(self) -> int:
        return max((c.end_ms for c in self.cues), default=0)


def _reject(kind: str, detail: str) -> CaptionRejected:
    return CaptionRejected(f"The caption file is not valid {kind}: {detail}")


def decode(data: bytes) -> str:
    """The text of a caption file: size checked, UTF-8 (a BOM is dropped), no NUL bytes,
    line endings made ``\\n``."""
    if len(data) > MAX_BYTES:
        raise CaptionRejected(f"The caption file is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    if b"\x00" in data:
        raise CaptionRejected("The caption file is binary data, not SRT or WebVTT text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaptionRejected(
            f"The caption file is not UTF-8 text (invalid byte at offset {exc.start})."
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_captions(data: bytes) -> Captions:
    """Parse a caption file's bytes (see the module docstring for the rules)."""
    text = decode(data)
    lines = text.split("\n")
    first = lines[0] if lines else ""
    if _VTT_SIGNATURE.match(first):
        captions = parse_webvtt(lines)
    elif first.startswith("WEBVTT"):
        raise _reject(WEBVTT, "line 1 must be WEBVTT, alone or followed by a space")
    else:
        captions = parse_srt(lines)
    if not captions.cues:
        raise CaptionRejected("The caption file has no cues.")
    return captions


# --- timestamps --------------------------------------------------------------------------------


def _ms(hours: str | None, minutes: str, seconds: str, millis: str) -> int | None:
    h, m, s = int(hours or 0), int(minutes), int(seconds)
    if m > 59 or s > 59:
        return None
    return ((h * 60 + m) * 60 + s) * 1000 + int(millis.ljust(3, "0"))


def format_timestamp(ms: int) -> str:
    """``HH:MM:SS.mmm`` (hours always written, as WebVTT allows)."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


class _Checker:
    """Order, range, count and size rules shared by both formats."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.cues: list[Cue] = []

    def add(self, line_no: int, start: int | None, end: int | None, cue: Cue) -> None:
        if start is None or end is None:
            raise _reject(self.kind, f"line {line_no} has a timestamp out of range")
        if end < start:
            raise _reject(self.kind, f"line {line_no} has a cue that ends before it starts")
        if end > MAX_TIMESTAMP_MS:
            raise _reject(self.kind, f"line {line_no} has a timestamp past 100 hours")
        if self.cues and start < self.cues[-1].start_ms:
            raise _reject(
                self.kind, f"line {line_no} has a cue that starts before the previous one"
            )
        if len(cue.text) > MAX_CUE_CHARS:
            raise _reject(self.kind, f"line {line_no} has more than {MAX_CUE_CHARS} characters")
        if len(self.cues) >= MAX_CUES:
            raise CaptionRejected(f"The caption file has more than {MAX_CUES} cues.")
        self.cues.append(Cue(start, end, cue.text, cue.identifier, cue.settings))


# --- SRT ---------------------------------------------------------------------------------------


def _blocks(lines: list[str], start: int = 0) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines with the (1-based) number of their first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for index in range(start, len(lines)):
        line = lines[index]
        if line.strip():
            if not current:
                first = index + 1
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _srt_tag(match: re.Match[str]) -> str:
    name = (match.group(2) or "").lower()
    if name in _KEPT_TAGS:
        return f"<{match.group(1)}{name}>"
    return ""


def srt_text_to_webvtt(text: str) -> str:
    """SRT cue text as WebVTT cue text: ``<i> <b> <u>`` kept, other tags and ASS overrides
    dropped, ``& < >`` escaped, ``-->`` broken up."""
    out: list[str] = []
    at = 0
    for match in _SRT_TAG.finditer(text):
        out.append(_escape(text[at : match.start()]))
        out.append(_srt_tag(match))
        at = match.end()
    out.append(_escape(text[at:]))
    return "".join(out)


def _escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("--&gt;", "-&gt;")


def parse_srt(lines: list[str]) -> Captions:
    """SubRip: blocks of an optional index line, a timing line and the text lines."""
    checker = _Checker(UNKNOWN)
    for first, block in _blocks(lines):
        at = 1 if block[0].strip().isdigit() and len(block) > 1 else 0
        match = _SRT_TIMING.match(block[at].strip())
        if match is None:
            problem = "a malformed timestamp" if "-->" in block[at] else "no timestamp"
            raise _reject(UNKNOWN, f"line {first + at} has {problem}")
        start, end = _ms(*match.groups()[:4]), _ms(*match.groups()[4:8])
        body = [srt_text_to_webvtt(line.strip()) for line in block[at + 1 :]]
        text = "\n".join(line for line in body if line.strip())
        checker.add(first + at, start, end, Cue(0, 0, text))
    return Captions(SRT, tuple(checker.cues))


# --- WebVTT ------------------------------------------------------------------------------------


def _settings(raw: str | None) -> str:
    return " ".join(t for t in (raw or "").split() if _SETTING.match(t))


def _vtt_cue(checker: _Checker, first: int, block: list[str]) -> list[tuple[int, list[str]]] | None:
    """Add the cue of ``block``; a line with ``-->`` inside the payload starts another block,
    returned to be read next."""
    at = 0 if "-->" in block[0] else 1
    if at >= len(block) or "-->" not in block[at]:
        raise _reject(WEBVTT, f"line {first + at} has no timestamp")
    match = _VTT_TIMING.match(block[at].strip())
    if match is None:
        raise _reject(WEBVTT, f"line {first + at} has a malformed timestamp")
    groups = match.groups()
    start, end = _ms(*groups[:4]), _ms(*groups[4:8])
    payload: list[str] = []
    rest: list[tuple[int, list[str]]] | None = None
    for offset, line in enumerate(block[at + 1 :], start=at + 1):
        if "-->" in line:
            rest = [(first + offset, block[offset:])]
            break
        payload.append(line)
    identifier = block[0].strip() if at == 1 else ""
    cue = Cue(0, 0, "\n".join(payload), identifier, _settings(groups[8]))
    checker.add(first + at, start, end, cue)
    return rest


def parse_webvtt(lines: list[str]) -> Captions:
    """WebVTT: the signature and header lines, then NOTE, STYLE, REGION and cue blocks."""
    checker = _Checker(WEBVTT)
    regions: list[str] = []
    header_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    pending = _blocks(lines, header_end)
    while pending:
        first, block = pending.pop(0)
        head = block[0]
        if head.startswith("NOTE") and (len(head) == 4 or head[4] in " \t"):
            continue
        if head.rstrip() in ("STYLE", "REGION") and "-->" not in "".join(block):
            if head.rstrip() == "REGION" and not checker.cues:
                regions.append("\n".join(line.strip() for line in block))
            continue
        rest = _vtt_cue(checker, first, block)
        if rest is not None:
            pending[:0] = rest
    return Captions(WEBVTT, tuple(checker.cues), tuple(regions))


# --- output ------------------------------------------------------------------------------------


def render_webvtt(captions: Captions) -> str:
    """The WebVTT file players get."""
    parts = ["WEBVTT", *captions.regions]
    for cue in captions.cues:
        timing = f"{format_timestamp(cue.start_ms)} --> {format_timestamp(cue.end_ms)}"
        if cue.settings:
            timing += f" {cue.settings}"
        lines = [cue.identifier] if cue.identifier else []
        lines.append(timing)
        if cue.text:
            lines.append(cue.text)
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def subtitles_playlist(vtt_uri: str, duration: float) -> str:
    """An HLS VOD subtitles media playlist whose one segment is the whole ``vtt_uri``
    (``duration`` seconds, the asset's duration)."""
    seconds = max(duration, 0.001)
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(seconds))}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            f"#EXTINF:{seconds:.3f},",
            vtt_uri,
            "#EXT-X-ENDLIST",
            "",
        ]
    )
