"""Frames in, a playable mp4 out: H.264 yuv420p video with the song muxed in as AAC.

Frames are piped into one ffmpeg process as they are made, from a writer thread so the
encoder works while the generator makes the next batch. The file is written beside its
target under a hidden temporary name and renamed only when ffmpeg has finished cleanly; an
error or Ctrl-C deletes it.
"""

from __future__ import annotations

import contextlib
import errno
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiogan import ffmpeg
from audiogan.errors import ConfigError, EncodeError, ResourceError
from audiogan.files import hidden_sibling, publish, segment_folder, temporary_path

__all__ = ["AudioTrack", "ParallelVideoWriter", "VideoFacts", "VideoWriter", "concat_segments",
           "output_taken", "probe_video"]


@dataclass(frozen=True)
class AudioTrack:
    """The audio to mux: `path` from `start` for `duration` seconds (all when None)."""

    path: Path
    start: float = 0.0
    duration: float | None = None
    sample_rate: int | None = None
    """The song's own rate, kept as is (AAC takes up to 96 kHz)."""


@dataclass(frozen=True)
class VideoFacts:
    """What a finished video file holds, read by demuxing it to the end (`probe_video`)."""

    frames: int
    """Video frames (packets) actually in the file, counted, not taken from the header."""
    duration_s: float
    width: int
    height: int
    fps: float
    has_audio: bool


_VIDEO = re.compile(r"Stream #\S+.*?: Video: .*?, (\d+)x(\d+).*?, (\d+(?:\.\d+)?) fps")
_FRAME_COUNT = re.compile(r"frame=\s*(\d+)")


def probe_video(path: str | Path) -> VideoFacts | None:
    """Read `path` to its end and count its video frames; None if it is not a whole video.

    A file cut short (no index, truncated data) fails to demux and gives None, so a
    complete-looking name is never trusted on its own.

    By hand rather than ``imageio_ffmpeg.count_frames_and_secs``: that decodes every frame
    (0.37 s for 20 s of 256x256, same count) where a stream copy counts them in 0.02 s, and
    it says nothing of size, rate or audio; imageio-ffmpeg ships no ffprobe.
    """
    path = Path(path)
    if not path.is_file():
        return None
    result = ffmpeg.run(["-hide_banner", "-nostdin", "-i", str(path),
                         "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                        capture_output=True, text=True, errors="replace")
    text = result.stderr
    video, counts = _VIDEO.search(text), _FRAME_COUNT.findall(text)
    if result.returncode != 0 or video is None or not counts:
        return None
    return VideoFacts(frames=int(counts[-1]), duration_s=ffmpeg.parse_duration(text) or 0.0,
                      width=int(video[1]), height=int(video[2]), fps=float(video[3]),
                      has_audio=re.search(r"Stream #\S+.*?: Audio:", text) is not None)


def _audio_arguments(audio: AudioTrack, input_index: int) -> tuple[list[str], list[str]]:
    """(input arguments, output arguments) that mux `audio` as AAC."""
    inputs: list[str] = []
    if audio.start > 0:
        inputs += ["-ss", f"{audio.start:.6f}"]
    if audio.duration is not None:
        inputs += ["-t", f"{audio.duration:.6f}"]
    inputs += ["-i", str(audio.path)]
    outputs = ["-map", f"{input_index}:a:0", "-c:a", "aac", "-b:a", "256k"]
    if audio.sample_rate is not None and audio.sample_rate > 96000:
        outputs += ["-ar", "48000"]  # AAC stops at 96 kHz
    return inputs, outputs


def output_taken(target: Path) -> ConfigError:
    """The error of a render that finished second: `target` appeared while it ran."""
    return ConfigError(f"{target} appeared while this render ran (another run finished it "
                       "first) and was kept; this render's video was dropped: choose another "
                       "-o, or pass --overwrite to replace it")


def _publish(partial: Path, target: Path, overwrite: bool) -> None:
    """`files.publish`, its refusal as `output_taken`."""
    try:
        publish(partial, target, replace=overwrite)
    except FileExistsError:
        raise output_taken(target) from None


def concat_segments(segments: Sequence[str | Path], target: str | Path, *,
                    audio: AudioTrack | None = None, overwrite: bool = True) -> Path:
    """Join H.264 video-only `segments` (in order) into `target` and mux `audio` once.

    The segments are made by `VideoWriter` with ``audio=None`` and the same size, fps, crf
    and speed; each starts with an IDR frame (x264 opens every stream with one), so
    ffmpeg's concat demuxer copies them back to back without re-encoding, each segment's
    timestamps following on from the end of the one before: no frame repeated or lost.
    The audio is encoded once over the whole join (AAC), so it has no seam either.

    Written under a temporary name and renamed on success; on failure (or Ctrl-C) nothing
    is left at `target`. The segments themselves are left for the caller to delete. With
    ``overwrite=False`` a `target` that appeared meanwhile is kept and `ConfigError` raised.
    Raises `EncodeError` with ffmpeg's reason, `ResourceError` when the disk refuses.
    """
    target = Path(target)
    if not segments:
        raise ValueError("concat_segments needs at least one segment")
    temporary = temporary_path(target)
    listing = hidden_sibling(target, "concat")
    lines = []
    for segment in segments:
        quoted = str(Path(segment).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'\n")
    command = ["-nostdin", "-v", "error", "-y",
               "-f", "concat", "-safe", "0", "-i", str(listing)]
    mapping = ["-map", "0:v:0", "-c:v", "copy"]
    if audio is not None:
        audio_inputs, audio_outputs = _audio_arguments(audio, 1)
        command += audio_inputs
        mapping += audio_outputs
    command += mapping + ["-movflags", "+faststart", "-f", "mp4", str(temporary)]
    try:
        listing.write_text("".join(lines), encoding="utf-8")
        result = ffmpeg.run(command, capture_output=True, text=True, errors="replace")
        if result.returncode != 0:
            reason = ffmpeg.last_line(result.stderr, f"exit {result.returncode}")
            raise EncodeError(f"ffmpeg could not join the segments of {target}: {reason}")
        _publish(temporary, target, overwrite)
    except OSError as exc:
        raise ResourceError(f"could not join the segments of {target} "
                            f"({exc.strerror or exc})") from None
    finally:
        temporary.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    return target


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
    overwrite : bool
        False: a file that appeared at `path` while the video was written is kept, and the
        new video dropped with a `ConfigError` (two renders to one file: the first wins).
    threads : int, optional
        x264's (and ffmpeg's filters') threads; None: ffmpeg's choice (about 1.5 a core).
        A render on the CPU gives 1: the model needs the cores, and one x264 thread encodes
        128 px frames a hundred times faster than the CPU makes them.
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int], fps: float,
                 audio: AudioTrack | None = None, crf: int = 18, speed: str = "medium",
                 queue_batches: int = 2, overwrite: bool = True, threads: int | None = None):
        self.path = Path(path)
        self.overwrite = overwrite
        self.size = size
        self.fps = fps
        self.frames_written = 0
        self._temporary = temporary_path(self.path)
        width, height = size
        command = ["-nostdin", "-v", "error", "-y"]
        if threads is not None:
            command += ["-filter_threads", str(threads)]
        command += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                   "-framerate", f"{fps:g}", "-i", "pipe:0"]
        if audio is not None:
            audio_inputs, audio_outputs = _audio_arguments(audio, 1)
            command += audio_inputs + ["-map", "0:v:0"] + audio_outputs
        command += ["-c:v", "libx264", "-preset", speed, "-crf", str(crf)]
        if threads is not None:
            command += ["-threads", str(threads)]
        command += ["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4",
                    str(self._temporary)]
        self._command = command
        self._process: subprocess.Popen | None = None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_batches)
        self._thread: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def __enter__(self) -> VideoWriter:
        self._process = ffmpeg.popen(self._command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
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
        # an encoder that died (a full disk, a kill) stops the render now, not at the end
        if self._write_error is not None or (self._process is not None
                                             and self._process.poll() is not None):
            self._fail()
        self._queue.put(np.ascontiguousarray(frames))
        self.frames_written += len(frames)

    def _ffmpeg_error(self) -> str:
        """The last line ffmpeg wrote to stderr (after it has exited)."""
        if self._process is None or self._process.stderr is None:
            return ""
        return ffmpeg.last_line(self._process.stderr.read())

    def _fail(self) -> None:
        self._abort()
        reason = self._ffmpeg_error()
        returncode = self._process.returncode if self._process is not None else None
        if not reason:
            reason = (f"it was killed (signal {-returncode})" if returncode and returncode < 0
                      else "it stopped taking frames")
        if "No space left on device" in reason or (
                isinstance(self._write_error, OSError)
                and self._write_error.errno == errno.ENOSPC):
            raise ResourceError(f"the disk is full: {self.path} could not be written "
                                f"({reason}); free some space or choose another -o")
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
        try:
            _publish(self._temporary, self.path, self.overwrite)
        finally:
            self._temporary.unlink(missing_ok=True)

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


class ParallelVideoWriter:
    """`VideoWriter`'s interface, with the x264 work spread over `workers` ffmpeg processes.

    One x264 encoder cannot keep up with a GPU making small frames. Here the frames, which
    still arrive in order, are cut into chunks of `chunk_frames`; each chunk streams into an
    ffmpeg of its own (video only) while the next chunk fills, up to `workers` at once, and
    `close` joins the chunks with `concat_segments`, muxing the audio once. A chunk being
    encoded holds its frames until ffmpeg takes them, so memory is bounded by
    ``workers * chunk_frames`` frames whatever the song's length. Same clean-up rules as
    `VideoWriter`: the target appears only when whole; a failure or Ctrl-C removes every part.
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int], fps: float,
                 audio: AudioTrack | None = None, crf: int = 18, speed: str = "medium",
                 workers: int = 2, chunk_frames: int | None = None,
                 total_frames: int | None = None, overwrite: bool = True):
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        self.path = Path(path)
        self.size, self.fps, self.audio = size, fps, audio
        self.crf, self.speed, self.workers = crf, speed, workers
        self.overwrite = overwrite
        self.chunk_frames = chunk_frames or max(1, round(8 * fps))  # 8 s of video a chunk
        # a chunk shorter than x264's B-frame delay breaks the joined file's frame rate, so
        # when the length is known the chunks are made equal, none shorter than chunk_frames
        self._chunk_sizes: list[int] = []
        if total_frames:
            count = max(1, total_frames // self.chunk_frames)
            edges = [round(i * total_frames / count) for i in range(count + 1)]
            self._chunk_sizes = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
        self._chunk_limit = self.chunk_frames
        self.frames_written = 0
        self._folder = segment_folder(self.path)
        self._segments: list[Path] = []
        self._current: VideoWriter | None = None
        self._in_chunk = 0
        self._closing: list[tuple[VideoWriter, Future]] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> ParallelVideoWriter:
        self._folder.mkdir(exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="audiogan-chunk")
        return self

    def _open_chunk(self) -> None:
        # at most `workers` encoders alive: wait for the oldest chunk to finish first
        while len(self._closing) >= self.workers:
            _, done = self._closing.pop(0)
            done.result()
        index = len(self._segments)
        self._chunk_limit = (self._chunk_sizes[index] if index < len(self._chunk_sizes)
                             else self.chunk_frames)
        segment = self._folder / f"{index:05d}.mp4"
        # a queue deep enough for the whole chunk, so `write` never waits on this encoder
        self._current = VideoWriter(segment, size=self.size, fps=self.fps, crf=self.crf,
                                    speed=self.speed, queue_batches=self._chunk_limit)
        self._current.__enter__()
        self._segments.append(segment)
        self._in_chunk = 0

    def _close_chunk(self) -> None:
        assert self._pool is not None and self._current is not None
        writer, self._current = self._current, None
        self._closing.append((writer, self._pool.submit(writer.__exit__, None, None, None)))

    def write(self, frames: np.ndarray) -> None:
        """Queue a batch of frames, shape (n, height, width, 3), uint8."""
        while len(frames):
            if self._current is None:
                self._open_chunk()
            assert self._current is not None
            take = min(len(frames), self._chunk_limit - self._in_chunk)
            self._current.write(frames[:take])
            self._in_chunk += take
            self.frames_written += take
            frames = frames[take:]
            if self._in_chunk == self._chunk_limit:
                self._close_chunk()

    def _finish(self) -> None:
        if self._current is not None:
            self._close_chunk()
        for _, done in self._closing:
            done.result()
        self._closing.clear()
        if not self._segments:
            raise EncodeError(f"no frames were written to {self.path}")
        concat_segments(self._segments, self.path, audio=self.audio, overwrite=self.overwrite)

    def _abort(self) -> None:
        if self._current is not None:
            self._current.__exit__(KeyboardInterrupt, None, None)
            self._current = None
        for writer, done in self._closing:
            if not done.done():
                writer._abort()
            with contextlib.suppress(BaseException):
                done.result()
        self._closing.clear()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                try:
                    self._finish()
                except BaseException:
                    self._abort()
                    raise
            else:
                self._abort()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            shutil.rmtree(self._folder, ignore_errors=True)
