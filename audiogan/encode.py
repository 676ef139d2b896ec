"""Frames in, a playable mp4 out: H.264 yuv420p video with the song muxed in as AAC.

Frames are piped into one ffmpeg process as they are made, from a writer thread so the
encoder works while the generator makes the next batch. The file is written beside its
target under a hidden temporary name and renamed only when ffmpeg has finished cleanly; an
error or Ctrl-C deletes it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiogan.audio import ffmpeg_exe
from audiogan.errors import EncodeError

__all__ = ["AudioTrack", "VideoWriter", "temporary_path"]


@dataclass(frozen=True)
class AudioTrack:
    """The audio to mux: `path` from `start` for `duration` seconds (all when None)."""

    path: Path
    start: float = 0.0
    duration: float | None = None
    sample_rate: int | None = None
    """The song's own rate, kept as is (AAC takes up to 96 kHz)."""


def temporary_path(target: Path) -> Path:
    """A hidden sibling of `target` that the final rename moves into place."""
    return target.with_name(f".{target.name}.{os.getpid()}.partial")


class VideoWriter:
    """Stream uint8 RGB frames into an mp4 at `path`.

    Use as a context manager: leaving the block normally finishes the file; leaving it by an
    exception (Ctrl-C included) deletes the temporary file and leaves `path` untouched.

    Parameters
    ----------
    size : (width, height)
        Frame size; both must be even for yuv420p.
    crf, speed : int, str
        x264 quality (18 is visually lossless) and preset (``veryfast`` ... ``slow``).
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int], fps: float,
                 audio: AudioTrack | None = None, crf: int = 18, speed: str = "medium",
                 queue_batches: int = 2):
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.frames_written = 0
        self._temporary = temporary_path(self.path)
        width, height = size
        command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                   "-framerate", f"{fps:g}", "-i", "pipe:0"]
        if audio is not None:
            if audio.start > 0:
                command += ["-ss", f"{audio.start:.6f}"]
            if audio.duration is not None:
                command += ["-t", f"{audio.duration:.6f}"]
            command += ["-i", str(audio.path), "-map", "0:v:0", "-map", "1:a:0",
                        "-c:a", "aac", "-b:a", "256k"]
            if audio.sample_rate is not None and audio.sample_rate > 96000:
                command += ["-ar", "48000"]  # AAC stops at 96 kHz
        command += ["-c:v", "libx264", "-preset", speed, "-crf", str(crf),
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4",
                    str(self._temporary)]
        self._command = command
        self._process: subprocess.Popen | None = None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_batches)
        self._thread: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def __enter__(self) -> VideoWriter:
        try:
            self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE,
                                             stderr=subprocess.PIPE)
        except OSError as exc:
            raise EncodeError(f"could not start ffmpeg ({exc}); reinstall imageio-ffmpeg") from None
        self._thread = threading.Thread(target=self._pump, name="audiogan-encoder", daemon=True)
        self._thread.start()
        return self

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdin is not None
        while (frames := self._queue.get()) is not None:
            if self._write_error is not None:
                continue  # keep draining so the producer never blocks on a dead encoder
            try:
                self._process.stdin.write(frames.tobytes())
            except (BrokenPipeError, OSError) as exc:
                self._write_error = exc

    def write(self, frames: np.ndarray) -> None:
        """Queue a batch of frames, shape (n, height, width, 3), uint8."""
        width, height = self.size
        if frames.dtype != np.uint8 or frames.shape[1:] != (height, width, 3):
            raise ValueError(f"frames must be uint8 (n, {height}, {width}, 3), got "
                             f"{frames.dtype} {frames.shape}")
        if self._write_error is not None:
            self._fail()
        self._queue.put(np.ascontiguousarray(frames))
        self.frames_written += len(frames)

    def _ffmpeg_error(self) -> str:
        """The last line ffmpeg wrote to stderr (after it has exited)."""
        if self._process is None or self._process.stderr is None:
            return ""
        text = self._process.stderr.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else ""

    def _fail(self) -> None:
        self._abort()
        reason = self._ffmpeg_error() or "it stopped taking frames"
        raise EncodeError(f"ffmpeg could not write {self.path}: {reason}")

    def _finish(self) -> None:
        assert self._process is not None and self._thread is not None
        self._queue.put(None)
        self._thread.join()
        if self._process.stdin:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        if self._process.wait() != 0 or self._write_error is not None:
            self._fail()
        os.replace(self._temporary, self.path)

    def _abort(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        while self._thread is not None and self._thread.is_alive():
            # the pump drains the queue until it meets an end marker; writes to the killed
            # ffmpeg fail at once, so this ends quickly
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=0.1)
            self._thread.join(timeout=0.1)
        if self._process is not None:
            self._process.wait()
        self._temporary.unlink(missing_ok=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._finish()
        else:
            self._abort()
