"""Typed pipeline errors, each with a stable ``code``.

Messages are safe to show to the uploader: they name values and limits, never filesystem paths.
"""

from __future__ import annotations

from typing import ClassVar


class PipelineError(Exception):
    """Base of every error this package raises on purpose."""

    code: ClassVar[str] = "pipeline_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputRejected(PipelineError):
    """The input is not acceptable; ``type`` is a Mux error type such as ``invalid_input``."""

    code = "input_rejected"

    def __init__(self, type: str, message: str) -> None:
        super().__init__(message)
        self.type = type


class ProbeFailed(PipelineError):
    """Probing did not produce a result (child crashed, printed garbage, ...)."""

    code = "probe_failed"


class EncodeFailed(PipelineError):
    """FFmpeg exited unsuccessfully; ``stderr_tail`` holds its last output for the logs."""

    code = "encode_failed"

    def __init__(self, reason: str, *, stderr_tail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.stderr_tail = stderr_tail


class ProcessTimeout(PipelineError):
    """A child ran past its wall-clock limit and its process group was killed."""

    code = "process_timeout"

    def __init__(self, timeout: float, *, stderr_tail: str = "") -> None:
        super().__init__(f"The process ran longer than {timeout:g} s and was stopped")
        self.timeout = timeout
        self.stderr_tail = stderr_tail


class FFmpegNotFound(PipelineError):
    """No usable FFmpeg binary could be located."""

    code = "ffmpeg_not_found"


INVALID_INPUT = "invalid_input"
"""The Mux error type for inputs we refuse."""
