"""The ffmpeg binary: where it is, how to run it, and how to read what it says.

audiogan decodes and encodes everything with the ffmpeg that imageio-ffmpeg ships, so
every machine runs the same build. A binary that cannot be found or started is a
`ResourceError` (the installation is broken), never a bug's traceback.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from audiogan.errors import ResourceError

__all__ = ["ffmpeg_exe", "last_line", "parse_duration", "popen", "run"]

_REINSTALL = "reinstall imageio-ffmpeg (pip install --force-reinstall imageio-ffmpeg)"


def ffmpeg_exe() -> str:
    """The path of the ffmpeg binary (imageio-ffmpeg's, or $IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:  # imageio-ffmpeg found no binary
        raise ResourceError(f"no ffmpeg binary found ({exc}); {_REINSTALL}") from None


def run(arguments: list[str], **options: Any) -> subprocess.CompletedProcess:
    """``subprocess.run([ffmpeg, *arguments], **options)``; `ResourceError` if it won't start."""
    try:
        return subprocess.run([ffmpeg_exe(), *arguments], **options)
    except OSError as exc:
        raise ResourceError(f"could not start ffmpeg ({exc}); {_REINSTALL}") from None


def popen(arguments: list[str], **options: Any) -> subprocess.Popen:
    """``subprocess.Popen([ffmpeg, *arguments], **options)``; `ResourceError` if it won't start."""
    try:
        return subprocess.Popen([ffmpeg_exe(), *arguments], **options)
    except OSError as exc:
        raise ResourceError(f"could not start ffmpeg ({exc}); {_REINSTALL}") from None


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")


def parse_duration(header: str) -> float | None:
    """Seconds from the ``Duration: HH:MM:SS.ss`` line of ffmpeg's header; None if absent."""
    match = _DURATION.search(header)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def last_line(stderr: str | bytes, default: str = "") -> str:
    """The last non-empty line ffmpeg wrote (its reason for failing), else `default`."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else default
