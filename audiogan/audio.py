"""Reading songs: what a file holds (`probe`) and its samples, in blocks (`stream_mono`).

Everything is decoded by the ffmpeg binary that imageio-ffmpeg ships, so wav, flac, ogg,
mp3, m4a and anything else ffmpeg reads work the same on every machine, and a long song is
never held in memory at once.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiogan import ffmpeg
from audiogan.errors import AudioLoadError

__all__ = ["AUDIO_SUFFIXES", "AudioInfo", "PeakMeter", "probe", "stream_mono"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif",
                  ".aiff", ".wma", ".mka", ".webm")


@dataclass(frozen=True)
class AudioInfo:
    """What ffmpeg says of an audio file before decoding it."""

    path: Path
    duration_s: float | None
    """Duration from the container's header; None when the file does not say."""
    sample_rate: int
    channels: int
    codec: str


@dataclass
class PeakMeter:
    """The highest absolute sample of any channel that `stream_mono` decoded, taken before
    the channels are mixed down (two channels in opposite phase mix to silence, but their
    level is what the file holds)."""

    peak: float = 0.0

    @property
    def dbfs(self) -> float:
        """The peak in dB relative to full scale; -inf for digital silence."""
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf


_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+).*?, (\d+) Hz, ([^,]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6,
                    "6.1": 7, "7.1": 8}


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioLoadError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise AudioLoadError(f"{path} is a folder; give one audio file (wav, flac, mp3, ...)")


def _measure_peak(levels: int, meter: PeakMeter) -> None:
    """Read float32 samples from the pipe `levels` to its end into `meter`, then close it."""
    with os.fdopen(levels, "rb") as pipe:
        while data := pipe.read(1 << 20):
            samples = np.frombuffer(data[:len(data) - len(data) % 4], dtype=np.float32)
            if len(samples):
                meter.peak = max(meter.peak, float(np.max(np.abs(samples))))


def probe(path: str | Path) -> AudioInfo:
    """Read the container header of `path`; raise `AudioLoadError` if it holds no audio."""
    path = Path(path)
    _check_file(path)
    result = ffmpeg.run(["-hide_banner", "-i", str(path)],
                        capture_output=True, text=True, errors="replace")
    header = result.stderr
    stream = _AUDIO.search(header)
    if stream is None:
        raise AudioLoadError(
            f"{path} is not an audio file ffmpeg can read (or it is damaged); "
            "give a wav, flac, ogg, mp3 or m4a file"
        )
    duration_s = ffmpeg.parse_duration(header)
    layout = stream.group(3).strip().split("(")[0]
    channels = _LAYOUT_CHANNELS.get(layout)
    if channels is None:
        match = re.match(r"(\d+) channels", layout)
        channels = int(match.group(1)) if match else 2
    return AudioInfo(path=path, duration_s=duration_s, sample_rate=int(stream.group(2)),
                     channels=channels, codec=stream.group(1))


def stream_mono(
    info: AudioInfo,
    *,
    sample_rate: int = 22050,
    start: float = 0.0,
    duration: float | None = None,
    block_s: float = 30.0,
    meter: PeakMeter | None = None,
) -> Iterator[np.ndarray]:
    """Decode `info.path` to mono float32 at `sample_rate`, yielding blocks of `block_s` s.

    Parameters
    ----------
    start, duration : float
        The excerpt to decode, in seconds (all of it when `duration` is None).
    meter : PeakMeter, optional
        Gets the peak of the file's own samples, every channel at its own rate, before
        ffmpeg mixes them down (a second output of the same ffmpeg, read by a thread).

    Raises `AudioLoadError` when ffmpeg fails, or when far less audio comes out than the
    header promises (a truncated download).
    """
    command = ["-nostdin", "-v", "error"]
    if start > 0:
        command += ["-ss", f"{start:.6f}"]
    command += ["-i", str(info.path)]
    excerpt = ["-t", f"{duration:.6f}"] if duration is not None else []
    command += [*excerpt, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
                "-f", "f32le", "pipe:1"]
    levels, reader = None, None
    if meter is not None:
        levels, level_end = os.pipe()
        command += [*excerpt, "-map", "0:a:0", "-vn", "-c:a", "pcm_f32le", "-f", "f32le",
                    f"pipe:{level_end}"]
    block_bytes = 4 * max(1, int(block_s * sample_rate))
    try:
        process = ffmpeg.popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               pass_fds=(level_end,) if levels is not None else ())
    except BaseException:
        if levels is not None:
            os.close(levels)
        raise
    finally:
        if levels is not None:
            os.close(level_end)  # ffmpeg holds its own copy; the reader sees its end
    if levels is not None and meter is not None:
        reader = threading.Thread(target=_measure_peak, args=(levels, meter),
                                  name="audiogan-peak", daemon=True)
        reader.start()
    decoded = 0
    try:
        assert process.stdout is not None  # for the type checker: PIPE always gives one
        while True:
            data = process.stdout.read(block_bytes)
            if not data:
                break
            usable = len(data) - len(data) % 4
            decoded += usable // 4
            yield np.frombuffer(data[:usable], dtype=np.float32)
        stderr = process.stderr.read() if process.stderr else b""
        returncode = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if reader is not None:
            reader.join()
    if returncode != 0:
        reason = ffmpeg.last_line(stderr, f"exit {returncode}")
        raise AudioLoadError(f"{info.path} could not be decoded ({reason}); re-export it")
    got_s = decoded / sample_rate
    if info.duration_s is not None:
        expected_s = max(0.0, info.duration_s - start)
        if duration is not None:
            expected_s = min(expected_s, duration)
        if got_s < expected_s - max(0.5, 0.02 * expected_s):
            raise AudioLoadError(
                f"{info.path} is damaged or truncated: its header says {expected_s:.1f} s but "
                f"only {got_s:.1f} s could be decoded; re-export or re-download it"
            )
