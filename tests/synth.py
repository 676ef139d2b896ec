"""Test helpers shared by the test files (which never import each other): signals with known
answers (click tracks, chords, silence) written as real files, an album of them, hand-made
`Features`, the CLI run in-process, and readers for the videos it writes.

The band-like songs with known sections live in `audiogan.testing`, which the benchmarks use
too.
"""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np

from audiogan.ffmpeg import ffmpeg_exe
from audiogan.types import Features


def click_track(bpm: float = 120.0, seconds: float = 8.0, sr: int = 44100, *,
                first_beat: float = 0.5, accents: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A kick-like click on every beat over faint noise; returns (mono signal, beat times)."""
    rng = np.random.default_rng(0)
    y = 0.003 * rng.standard_normal(int(seconds * sr))
    t = np.arange(int(0.12 * sr)) / sr
    freq = 60 + 140 * np.exp(-t * 50)
    hit = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 30)
    beats = np.arange(first_beat, seconds - 0.2, 60.0 / bpm)
    for n, beat in enumerate(beats):
        start = int(round(beat * sr))
        gain = 0.9 if (not accents or n % 4 == 0) else 0.6
        end = min(len(y), start + len(hit))
        y[start:end] += gain * hit[: end - start]
    return y.astype(np.float32), beats


def chord_track(pitch_classes: list[list[int]], seconds_each: float = 2.0,
                sr: int = 44100) -> np.ndarray:
    """Sustained chords (sine partials of the given pitch classes), one after the other."""
    parts = []
    t = np.arange(int(seconds_each * sr)) / sr
    for chord in pitch_classes:
        tone = np.zeros_like(t)
        for pc in chord:
            f0 = 261.63 * 2 ** (pc / 12)
            tone += sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        parts.append(0.2 * tone / len(chord))
    return np.concatenate(parts).astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int = 44100) -> Path:
    """16-bit PCM wav; a 2-D `y` of shape (n, channels) writes several channels."""
    y = np.asarray(y)
    channels = 1 if y.ndim == 1 else y.shape[1]
    pcm = (np.clip(y, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sr)
        out.writeframes(pcm.tobytes())
    return path


def make_album(folder: Path, seconds: tuple[float, ...] = (2.0, 2.5, 2.0)) -> Path:
    """`folder` filled with click tracks ``01 track.wav``, ``02 track.wav``, ... at 100, 120
    and 140 BPM, `seconds` long each."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, (bpm, length) in enumerate(zip((100.0, 120.0, 140.0), seconds, strict=False)):
        y, _ = click_track(bpm, length, first_beat=0.25)
        write_wav(folder / f"0{n + 1} track.wav", y)
    return folder


def features(n: int = 300, fps: float = 30.0, beats_s=(), onset=None, loudness=None,
             chroma=None) -> Features:
    """Hand-made `Features` of `n` frames: silent onsets, -20 dB, flat chroma unless given."""
    return Features(
        fps=fps, duration_s=n / fps, sample_rate=22050, tempo_bpm=120.0,
        beats_s=np.asarray(beats_s, dtype=float),
        onset=np.zeros(n, np.float32) if onset is None else np.asarray(onset, np.float32),
        loudness_db=np.full(n, -20.0, np.float32) if loudness is None else loudness,
        chroma=np.ones((n, 12), np.float32) if chroma is None else chroma,
        peak_dbfs=-1.0,
    )


def convert(source: Path, target: Path, *extra: str) -> Path:
    """Re-encode `source` with ffmpeg into the format `target`'s suffix names."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), *extra, str(target)],
                   check=True)
    return target


def run(*args: str) -> tuple[int, str, str]:
    """Run the CLI in this process; return (exit code, stdout, stderr)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from audiogan.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stdout.getvalue(), stderr.getvalue()


def numbered_frames(first: int, last: int, size: int = 64) -> np.ndarray:
    """Frames ``first:last`` whose flat grey level encodes their index (4 levels apart)."""
    levels = (np.arange(first, last) * 4 % 256).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (last - first, size, size, 3)).copy()


def read_video(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a (small) test video, shape (n, h, w, 3), and its fps."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(f, dtype=np.uint8).reshape(height, width, 3) for f in reader]
    return np.stack(frames), float(meta["fps"])


def read_luma(path: Path) -> np.ndarray:
    """The grey levels of a video as stored (its Y plane, no colour conversion): (n, h, w)."""
    _, height_width = _size(path)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0",
                          "-vf", "extractplanes=y", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    height, width = height_width
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width)


def _size(path: Path) -> tuple[float, tuple[int, int]]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    width, height = meta["size"]
    return float(meta["fps"]), (height, width)


def read_audio(path: Path, sr: int = 22050) -> np.ndarray:
    """The first audio stream of any file, mono float32 at `sr`."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1",
                          "-ar", str(sr), "-f", "f32le", "-"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def stream_facts(path: Path) -> str:
    """ffmpeg's description of the streams in `path` (codec, pixel format, rates)."""
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True).stderr


def audio_stream(path: Path) -> tuple[int, int, int]:
    """(bit rate in bits/s, sample rate, channels) of the audio stream in `path`, as ffprobe
    reports them (imageio-ffmpeg ships no ffprobe). The bit rate is the packets' bytes over
    their duration, which is how ffmpeg's mp4 reader sets the stream's ``bit_rate``; it is
    checked against the kb/s that ``ffmpeg -i`` prints from that same field."""
    listing = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0",
                              "-c", "copy", "-f", "framecrc", "-"], capture_output=True,
                             text=True, check=True).stdout
    ticks_per_s = int(re.search(r"^#tb 0: 1/(\d+)$", listing, re.M)[1])
    packets = [line.split(",") for line in listing.splitlines()
               if line and not line.startswith("#")]
    ticks = sum(int(fields[3]) for fields in packets)
    bit_rate = sum(int(fields[4]) for fields in packets) * 8 * ticks_per_s // ticks
    stream = re.search(r"Audio: .*?, (\d+) Hz, (mono|stereo), \w+, (\d+) kb/s",
                       stream_facts(path))
    assert stream is not None and int(stream[3]) == bit_rate // 1000, (stream, bit_rate)
    return bit_rate, int(stream[1]), {"mono": 1, "stereo": 2}[stream[2]]


def motion(frames: np.ndarray) -> np.ndarray:
    """m[i] = mean |frame[i] - frame[i-1]| of the grey picture, m[0] = 0."""
    grey = frames.astype(np.float32).mean(axis=3)
    return np.concatenate([[0.0], np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))])


def read_video_bt709(path: Path) -> np.ndarray:
    """All frames of a video as a player shows them: decoded to RGB with the BT.709 matrix
    from tv range, whatever the file is tagged. Shape (n, h, w, 3)."""
    _, (height, width) = _size(path)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf",
                          "scale=in_color_matrix=bt709:in_range=tv:"
                          "flags=accurate_rnd+full_chroma_int,format=rgb24",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def frame_types(path: Path) -> list[tuple[str, bool]]:
    """(picture type I/P/B, is a keyframe) of every video frame, in display order."""
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", "0:v:0",
                           "-vf", "showinfo", "-f", "null", "-"], capture_output=True,
                          text=True).stderr
    import re

    return [(kind, key == "1") for key, kind in
            re.findall(r"iskey:(\d).*?type:(\w)", text)]
