"""Frames in, a playable mp4 out: H.264 yuv420p video with the song muxed in as AAC.

Frames are piped into one ffmpeg process as they are made, from a writer thread so the
encoder works while the generator makes the next batch. The file is written beside its
target under a hidden temporary name and renamed only when ffmpeg has finished cleanly; an
error or Ctrl-C deletes it.

What the file holds is set by `VideoSettings`: ffmpeg scales the model's frames to the
output size (lanczos) and fits them to its aspect (`FITS`), converts them to YUV with the
BT.709 matrix in tv range and tags the stream so (matrix, primaries, transfer, range), and
encodes H.264 High with a closed GOP of half the frame rate and 2 B-frames (or ProRes 422
HQ for an editor), the audio as 48 kHz stereo AAC at 384 kb/s or more (PCM beside ProRes;
see `aac_options` for how the rate is kept). The scaling happens inside the ffmpeg that
encodes, so the model's small frames are what cross the pipe and memory does not grow with
the output size or the song's length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
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

__all__ = ["AAC_MEASURED_KBPS", "CODECS", "FITS", "AudioTrack", "ParallelVideoWriter",
           "VideoFacts", "VideoSettings", "VideoWriter", "aac_bitrate", "aac_options",
           "concat_segments", "fit_geometry", "output_taken", "probe_video", "video_filter"]

log = logging.getLogger("audiogan")

FITS = ("crop", "blur", "mirror", "wide")
"""How frames of another aspect fill the output: scaled to fill and cropped; centred on a
blurred copy of themselves; padded with their own mirror image; made wider (or taller) by
the generator itself (see `audiogan.model.widen`), then scaled as ``crop``."""
CODECS = ("h264", "prores")
_SCALE_FLAGS = "lanczos+accurate_rnd+full_chroma_int"
_BT709 = ("setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv")


@dataclass(frozen=True)
class VideoSettings:
    """How a video is encoded: its size and fit, codec, rate control, GOP and audio.

    The defaults play right everywhere (YouTube's recommended upload settings); a release
    preset (`audiogan.config.RELEASES`) changes some of them.
    """

    size: tuple[int, int] | None = None
    """Output (width, height), both even; None keeps the frames' own size."""
    fit: str = "crop"
    """How frames of another aspect fill `size`: one of `FITS`."""
    codec: str = "h264"
    """``h264`` (High profile, yuv420p) or ``prores`` (ProRes 422 HQ, yuv422p10le, .mov)."""
    crf: int = 18
    speed: str = "medium"
    maxrate_kbps: int | None = None
    """A ceiling on the video bitrate (x264's VBV, buffer of 2 s); None: quality alone."""
    gop: int | None = None
    """Frames from one keyframe to the next (closed GOP); None: half the frame rate."""
    bframes: int = 2
    audio_kbps: int = 384
    audio_rate: int = 48000
    audio_channels: int = 2
    frames_dir: Path | None = None
    """Also write every output frame here as ``frame_000001.png`` ... (RGB, output size)."""
    frames_start: int = 0
    """The index of the first frame this writer gets (segments of one video number on)."""
    metadata: tuple[tuple[str, str], ...] = ()
    """Container tags, e.g. (("comment", json),)."""
    segment: bool = False
    """A part that `concat_segments` will join: written without an edit list, so that the
    parts' timestamps follow on exactly (with 2 B-frames an edit list shortens each join by
    a fraction of a frame); the joined file gets its edit list back."""

    def gop_frames(self, fps: float) -> int:
        return self.gop if self.gop is not None else max(1, round(fps / 2))


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def fit_geometry(frame: tuple[int, int], size: tuple[int, int], fit: str
                 ) -> tuple[int, int]:
    """The (width, height) a `frame` is scaled to before it is cropped (crop, wide), or
    placed on its background (blur, mirror), to fill `size`."""
    (width, height), (out_w, out_h) = frame, size
    cover = fit in ("crop", "wide")
    scale = max(out_w / width, out_h / height) if cover else min(out_w / width, out_h / height)
    if cover:
        return max(out_w, _even(width * scale)), max(out_h, _even(height * scale))
    return min(out_w, _even(width * scale)), min(out_h, _even(height * scale))


def video_filter(frame: tuple[int, int], settings: VideoSettings) -> tuple[str, bool]:
    """The ffmpeg filter graph from the raw RGB input ``[0:v]`` to the encoder's ``[v]`` (and,
    with `frames_dir`, RGB ``[png]``): scale, fit, BT.709 tv-range conversion and tags.

    Returns the graph and whether it has a ``[png]`` output.
    """
    out_w, out_h = settings.size or frame
    if (out_w, out_h) == frame:
        steps = "[0:v]null[geo]"
    elif settings.fit in ("crop", "wide"):
        sw, sh = fit_geometry(frame, (out_w, out_h), settings.fit)
        steps = (f"[0:v]scale={sw}:{sh}:flags={_SCALE_FLAGS},"
                 f"crop={out_w}:{out_h}:{(sw - out_w) // 2}:{(sh - out_h) // 2}[geo]")
    elif settings.fit == "mirror":
        sw, sh = fit_geometry(frame, (out_w, out_h), "mirror")
        left, top = (out_w - sw) // 2, (out_h - sh) // 2
        steps = (f"[0:v]scale={sw}:{sh}:flags={_SCALE_FLAGS},"
                 f"pad={out_w}:{out_h}:{left}:{top},"
                 f"fillborders=left={left}:right={out_w - sw - left}:top={top}:"
                 f"bottom={out_h - sh - top}:mode=mirror[geo]")
    elif settings.fit == "blur":
        sw, sh = fit_geometry(frame, (out_w, out_h), "blur")
        # the background is blurred small and scaled up: a wide blur for little work at 4K
        small_w, small_h = _even(out_w / 8), _even(out_h / 8)
        cw, ch = fit_geometry(frame, (small_w, small_h), "crop")
        radius = max(1, min(6, min(small_w, small_h) // 2 - 1))  # boxblur's limit
        steps = (f"[0:v]split=2[fg0][bg0];"
                 f"[bg0]scale={cw}:{ch}:flags=bicubic,crop={small_w}:{small_h},"
                 f"boxblur=luma_radius={radius}:luma_power=3,"
                 f"scale={out_w}:{out_h}:flags=bicubic[bg];"
                 f"[fg0]scale={sw}:{sh}:flags={_SCALE_FLAGS}[fg];"
                 f"[bg][fg]overlay={(out_w - sw) // 2}:{(out_h - sh) // 2}[geo]")
    else:
        raise ConfigError(f"fit must be one of {', '.join(FITS)}, got {settings.fit!r}")
    png = settings.frames_dir is not None
    if png:
        steps += ";[geo]split=2[png][geo2]"
    pixels = "yuv422p10le" if settings.codec == "prores" else "yuv420p"
    steps += (f";[{'geo2' if png else 'geo'}]scale=out_color_matrix=bt709:out_range=tv:"
              f"flags=area,format={pixels},{_BT709}[v]")
    return steps, png


def _video_arguments(settings: VideoSettings, fps: float) -> list[str]:
    """The encoder's output arguments for ``[v]``."""
    colour = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
              "-color_range", "tv"]
    if settings.codec == "prores":
        # profile 3 is 422 HQ; 10-bit 4:2:2 as ProRes carries it
        return ["-c:v", "prores_ks", "-profile:v", "3", "-vendor", "apl0",
                "-pix_fmt", "yuv422p10le", *colour]
    gop = settings.gop_frames(fps)
    # lossless (crf 0) needs x264's High 4:4:4 Predictive profile; everything else is High
    profile = ["-profile:v", "high"] if settings.crf > 0 else []
    arguments = ["-c:v", "libx264", "-preset", settings.speed, "-crf", str(settings.crf),
                 *profile, "-pix_fmt", "yuv420p",
                 "-g", str(gop), "-keyint_min", str(gop), "-bf", str(settings.bframes),
                 "-flags", "+cgop", "-x264-params", "scenecut=0:open-gop=0", *colour]
    if settings.maxrate_kbps:
        arguments += ["-maxrate", f"{settings.maxrate_kbps}k",
                      "-bufsize", f"{2 * settings.maxrate_kbps}k"]
    return arguments


def _container(path: Path, settings: VideoSettings | None = None) -> list[str]:
    edits = ["-use_editlist", "0"] if settings is not None and settings.segment else []
    if path.suffix.lower() == ".mov":
        return [*edits, "-f", "mov"]
    return [*edits, "-movflags", "+faststart", "-f", "mp4"]


def _metadata(settings: VideoSettings) -> list[str]:
    arguments = []
    for key, value in settings.metadata:
        arguments += ["-metadata", f"{key}={value}"]
    return arguments


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


def probe_video(path: str | Path) -> VideoFacts | None:
    """Read `path` to its end and count its video frames; None if it is not a whole video.

    A file cut short (no index, truncated data) fails to demux and gives None, so a
    complete-looking name is never trusted on its own.

    By hand rather than ``imageio_ffmpeg.count_frames_and_secs``: that decodes every frame
    (0.37 s for 20 s of 256x256, same count) where a stream copy counts them in 0.02 s, and
    it says nothing of size, rate or audio; imageio-ffmpeg ships no ffprobe. The copy writes
    one ``framecrc`` line per packet, which every ffmpeg does; the ``frame=`` count of its
    progress line is missing from a stream copy's in ffmpeg 7 (imageio-ffmpeg 0.6).
    """
    path = Path(path)
    if not path.is_file():
        return None
    result = ffmpeg.run(["-hide_banner", "-nostdin", "-i", str(path),
                         "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
                        capture_output=True, text=True, errors="replace")
    text = result.stderr
    video = _VIDEO.search(text)
    frames = sum(line.startswith("0,") for line in result.stdout.splitlines())
    if result.returncode != 0 or video is None or not frames:
        return None
    return VideoFacts(frames=frames, duration_s=ffmpeg.parse_duration(text) or 0.0,
                      width=int(video[1]), height=int(video[2]), fps=float(video[3]),
                      has_audio=re.search(r"Stream #\S+.*?: Audio:", text) is not None)


def _audio_inputs(audio: AudioTrack) -> list[str]:
    inputs: list[str] = []
    if audio.start > 0:
        inputs += ["-ss", f"{audio.start:.6f}"]
    if audio.duration is not None:
        inputs += ["-t", f"{audio.duration:.6f}"]
    return [*inputs, "-i", str(audio.path)]


def _audio_arguments(audio: AudioTrack, input_index: int,
                     settings: VideoSettings | None = None) -> tuple[list[str], list[str]]:
    """(input arguments, output arguments) that mux `audio` as AAC (PCM beside ProRes), at
    the settings' rate and channels: a mono song becomes two equal channels."""
    settings = settings or VideoSettings()
    outputs = ["-map", f"{input_index}:a:0"]
    if settings.codec == "prores":
        outputs += ["-c:a", "pcm_s24le"]
    else:
        outputs += aac_options(audio, settings)
    outputs += ["-ar", str(settings.audio_rate), "-ac", str(settings.audio_channels)]
    return _audio_inputs(audio), outputs


AAC_MEASURED_KBPS = 256
"""From this asked AAC rate up, the rate is measured before the video is made and, where
ffmpeg's default coder falls short of it, the fast coder is used (see `aac_options`)."""


def aac_bitrate(audio: AudioTrack, options: list[str],
                settings: VideoSettings | None = None) -> float | None:
    """Bits per second of the AAC stream that ffmpeg's `options` (``-c:a aac ...``) make of
    `audio` at the settings' rate and channels, as an mp4 reports it (what ffprobe calls the
    stream's ``bit_rate``: the packets' bytes over their duration). None if ffmpeg fails.

    Encodes the audio alone into ffmpeg's ``framecrc`` listing (a line a packet, with its
    duration and size) and writes nothing: 1-2 s for a 3-minute song.
    """
    settings = settings or VideoSettings()
    result = ffmpeg.run(["-nostdin", "-v", "error", *_audio_inputs(audio), "-map", "0:a:0",
                         *options, "-ar", str(settings.audio_rate),
                         "-ac", str(settings.audio_channels), "-f", "framecrc", "-"],
                        capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        return None
    ticks_per_s, size, ticks = settings.audio_rate, 0, 0
    for line in result.stdout.splitlines():
        if line.startswith("#tb 0:"):  # "#tb 0: 1/48000"
            ticks_per_s = int(line.split("/")[-1])
        elif line and not line.startswith("#"):
            fields = line.split(",")  # stream, dts, pts, duration, size, crc, ...
            ticks += int(fields[3])
            size += int(fields[4])
    return size * 8 * ticks_per_s / ticks if ticks else None


def aac_options(audio: AudioTrack, settings: VideoSettings) -> list[str]:
    """ffmpeg's options that encode `audio` as AAC at ``settings.audio_kbps`` or more.

    ffmpeg's own AAC encoder (the only one in imageio-ffmpeg's build, which has no
    libfdk_aac) takes ``-b:a`` as an aim, not a floor: its default coder, ``twoloop``, stops
    spending once its psychoacoustic model finds the noise masked. samples/groove.wav gets
    310 kb/s at ``-b:a 384k`` and 313 at 576k (the most AAC-LC carries at 48 kHz stereo:
    6144 bits a channel a frame), the groove mixed to mono 241; perceptual noise
    substitution and intensity stereo off change nothing, M/S stereo off too gives 333-373.
    YouTube asks for 384.

    So from `AAC_MEASURED_KBPS` up the rate is measured first (`aac_bitrate`: an audio-only
    encode, ~2 s for 3 minutes). Music that takes the asked rate keeps twoloop (of the Frets
    on Fire songs: Chaos God 389 kb/s, Metal Madness 386, Armygeddon 384). Music that falls
    short has bits to spare and gets the ``fast`` coder with L/R stereo, aimed at 4/3 of the
    asked rate (it spends 0.84-1.0 of its aim): groove 440 kb/s, mono groove 430, Feelings
    492 (twoloop: 330), the beat benchmark's 22 kHz mono Chaos God 511 (247), sparse clicks
    444 (226). The extra bits are less noise (decoded minus source): SNR groove 27.4 -> 37.3
    dB, mono groove 28.3 -> 37.0, Feelings 43.5 -> 44.7, mono Chaos God 47.5 -> 56.3; per
    octave band it is lower in most bands and higher in a few (Feelings at 16-20 kHz, where
    it has little, by 9 dB; white noise equal in both channels above 4 kHz by 1 dB); ViSQOL
    (audio mode) scores both 4.71-4.73 on 4 s excerpts. Where bits are short the fast coder
    is the worse one (4 s of Metal Madness at 505 kb/s: 6-10 dB more noise above 4 kHz than
    twoloop at 401), but such music reaches the asked rate with twoloop and keeps it.
    L/R codes a mono song's two equal channels apart: more bits for the same sound (they
    then differ by noise 54 dB under it; twoloop's M/S left 32 dB on the mono groove). If
    neither coder reaches the rate (a pure tone: 227 and ~100 kb/s; near silence), the one
    with more bits is kept and a note says so.

    Below `AAC_MEASURED_KBPS` (``--for reels``: 128 kb/s) bits are short: twoloop at ``-b:a``,
    unmeasured.
    """
    asked = settings.audio_kbps
    twoloop = ["-c:a", "aac", "-b:a", f"{asked}k"]
    if asked < AAC_MEASURED_KBPS:
        return twoloop
    got = aac_bitrate(audio, twoloop, settings)
    if got is None or got >= asked * 1000:
        return twoloop  # an audio file ffmpeg cannot read fails, as before, in the mux
    most = 6144 * settings.audio_channels * settings.audio_rate // 1024 // 1000
    fast = ["-c:a", "aac", "-aac_coder", "fast", "-aac_ms", "0",
            "-b:a", f"{min(most, asked * 4 // 3)}k"]
    got_fast = aac_bitrate(audio, fast, settings) or 0.0
    best, rate = (fast, got_fast) if got_fast > got else (twoloop, got)
    if rate < asked * 1000:
        log.warning(f"note: the audio is AAC at {rate / 1000:.0f} kb/s, under the "
                    f"{asked} kb/s asked: the encoder finds no more to spend on this sound")
    return best


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
                    audio: AudioTrack | None = None,
                    settings: VideoSettings | None = None, overwrite: bool = True) -> Path:
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
        audio_inputs, audio_outputs = _audio_arguments(audio, 1, settings)
        command += audio_inputs
        mapping += audio_outputs
    mapping += _metadata(settings or VideoSettings())
    command += mapping + _container(target) + [str(temporary)]
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
        Size of the frames given to `write`; the video's own is ``settings.size`` (when
        set), else this one, and must then be even for yuv420p.
    crf, speed : int, str
        x264 quality (18 is visually lossless) and preset (``veryfast`` ... ``slow``), used
        when `settings` is not given.
    settings : VideoSettings, optional
        Output size and fit, codec, GOP, audio, PNG frames, metadata.
    overwrite : bool
        False: a file that appeared at `path` while the video was written is kept, and the
        new video dropped with a `ConfigError` (two renders to one file: the first wins).
    threads : int, optional
        x264's (and ffmpeg's filters') threads; None: ffmpeg's choice (about 1.5 a core).
        A render on the CPU gives 1: the model needs the cores, and one x264 thread encodes
        128 px frames a hundred times faster than the CPU makes them.
    video : path, optional
        The video that errors name, when `path` is a part of it (`ParallelVideoWriter`'s
        chunks): the user asked for that file, not for the part.
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int], fps: float,
                 audio: AudioTrack | None = None, crf: int = 18, speed: str = "medium",
                 queue_batches: int = 2, settings: VideoSettings | None = None,
                 overwrite: bool = True, threads: int | None = None,
                 video: str | Path | None = None):
        self.path = Path(path)
        self.video = Path(video) if video is not None else self.path
        self.overwrite = overwrite
        self.size = size
        self.fps = fps
        self.frames_written = 0
        self._temporary = temporary_path(self.path)
        settings = settings if settings is not None else VideoSettings(crf=crf, speed=speed)
        self.settings = settings
        width, height = size
        graph, png = video_filter((width, height), settings)
        command = ["-nostdin", "-v", "error", "-y"]
        if threads is not None:
            # the graph is a -filter_complex one, which -filter_complex_threads sets
            command += ["-filter_threads", str(threads), "-filter_complex_threads", str(threads)]
        command += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                   "-framerate", f"{fps:g}", "-i", "pipe:0"]
        audio_outputs: list[str] = []
        if audio is not None:
            audio_inputs, audio_outputs = _audio_arguments(audio, 1, settings)
            command += audio_inputs
        encoder_threads = ["-threads", str(threads)] if threads is not None else []
        command += ["-filter_complex", graph, "-map", "[v]", *audio_outputs,
                    *_video_arguments(settings, fps), *encoder_threads, *_metadata(settings),
                    *_container(self.path, settings), str(self._temporary)]
        if png:
            assert settings.frames_dir is not None
            command += ["-map", "[png]", "-f", "image2", "-start_number",
                        str(settings.frames_start + 1),
                        str(settings.frames_dir / "frame_%06d.png")]
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
            raise ResourceError(f"the disk is full: {self.video} could not be written "
                                f"({reason}); free some space or choose another -o")
        raise EncodeError(f"ffmpeg could not write {self.video}: {reason}")

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
                 total_frames: int | None = None, settings: VideoSettings | None = None,
                 overwrite: bool = True):
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        self.path = Path(path)
        self.size, self.fps, self.audio = size, fps, audio
        self.crf, self.speed, self.workers = crf, speed, workers
        self.settings = settings if settings is not None else VideoSettings(crf=crf, speed=speed)
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
        segment = self._folder / f"{index:05d}{self.path.suffix}"
        # a queue deep enough for the whole chunk, so `write` never waits on this encoder
        settings = dataclasses.replace(self.settings, metadata=(), segment=True,
                                       frames_start=self.settings.frames_start
                                       + self.frames_written)
        self._current = VideoWriter(segment, size=self.size, fps=self.fps,
                                    queue_batches=self._chunk_limit, settings=settings,
                                    video=self.path)
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
        concat_segments(self._segments, self.path, audio=self.audio, settings=self.settings,
                        overwrite=self.overwrite)

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
