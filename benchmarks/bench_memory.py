"""Peak memory of a whole render, 30 s of music against 5 minutes: it must stay flat.

Renders two synthetic band-like tracks through the full pipeline (analysis, mapping, a small
random BigGAN-deep 128 on the CPU, x264 + AAC encoding), each in a fresh process, and prints
the peak resident memory of each and their ratio. The model is narrow to keep this quick: what
is measured is the pipeline's duty to stream, not the model's size.

    python benchmarks/bench_memory.py [--long-seconds 300] [--size 3840x2160 --fit crop]
                                      [--keep DIR]

``--size`` (and ``--fit``) render at a publishing size: the model's small frames are scaled
and fitted by ffmpeg, so a 4K render measures the encoder's memory at 4K as well.

Exits 1 if the long render's peak exceeds the short one's by 25 % or more.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

LIMIT = 1.25

CHILD = """
import json, resource, sys, audiogan
options = json.loads(sys.argv[4])
result = audiogan.render(sys.argv[1], sys.argv[2], weights=sys.argv[3], classes=[398, 402],
                         device="cpu", overwrite=True, **options)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# ffmpeg (x264 at 4K holds its look-ahead frames) is a child of this process: its peak counts
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"peak_rss_mb": own, "ffmpeg_peak_rss_mb": children,
                  "frames": result.frames, "wall_s": result.wall_s}))
"""


def band_track(path: Path, seconds: float, sr: int = 44100, bpm: float = 124.0) -> Path:
    """Kick on every beat, hats on the off-beats and a chord change each bar, written in
    one-second pieces so that making a long track needs no memory either."""
    beat = 60.0 / bpm
    roots = [57, 53, 48, 55]  # A F C G
    rng = np.random.default_rng(0)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(sr)
        for second in range(int(np.ceil(seconds))):
            t = second + np.arange(sr) / sr
            in_beat = t % beat
            kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-in_beat * 40)) * in_beat)
            kick *= np.exp(-in_beat * 18)
            off = (t - beat / 2) % beat
            hats = 0.15 * rng.standard_normal(sr) * np.exp(-off * 60)
            root = roots[int(t[0] // (4 * beat)) % 4]
            chord = sum(np.sin(2 * np.pi * 440 * 2 ** ((root + step - 69) / 12) * t)
                        for step in (0, 4, 7, 12))
            mono = 0.5 * kick + hats + 0.08 * chord
            pcm = (np.clip(0.8 * mono, -1, 1) * 32767).astype("<i2")
            out.writeframes(np.repeat(pcm[:, None], 2, axis=1).tobytes())
    return path


def render_in_child(song: Path, target: Path, weights: Path, options: dict) -> dict:
    # an analysis cache of its own, empty: a track analysed by an earlier run would skip its
    # analysis and look smaller than one that is not (30 s 417 MB against 300 s 580 MB)
    with tempfile.TemporaryDirectory() as cache:
        result = subprocess.run([sys.executable, "-c", CHILD, str(song), str(target),
                                 str(weights), json.dumps(options)], capture_output=True,
                                text=True, check=True,
                                env={**os.environ, "AUDIOGAN_CACHE": cache})
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short-seconds", type=float, default=30.0)
    parser.add_argument("--long-seconds", type=float, default=300.0)
    parser.add_argument("--size", default=None,
                        help="the video's size, WIDTHxHEIGHT (default: the model's)")
    parser.add_argument("--fit", default=None, help="crop, blur, mirror or wide (with --size)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    args = parser.parse_args()
    options = {key: value for key, value in (("size", args.size), ("fit", args.fit))
               if value is not None}

    from audiogan.model import make_random_checkpoint

    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        weights = make_random_checkpoint(work / "weights", channel_width=8)
        rows = []
        for seconds in (args.short_seconds, args.long_seconds):
            song = band_track(work / f"band_{seconds:g}s.wav", seconds)
            started = time.perf_counter()
            stats = render_in_child(song, work / f"band_{seconds:g}s.mp4", weights, options)
            stats["seconds"] = seconds
            stats["total_s"] = time.perf_counter() - started
            rows.append(stats)
            print(f"{seconds:6.0f} s of music: {stats['frames']:6d} frames, peak RSS "
                  f"{stats['peak_rss_mb']:7.1f} MB (ffmpeg {stats['ffmpeg_peak_rss_mb']:7.1f} "
                  f"MB), {stats['frames'] / stats['wall_s']:5.2f} frames/s, render "
                  f"{stats['wall_s']:7.1f} s", flush=True)
    ratio = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    ffmpeg_ratio = rows[1]["ffmpeg_peak_rss_mb"] / rows[0]["ffmpeg_peak_rss_mb"]
    flat = ratio < LIMIT and ffmpeg_ratio < LIMIT
    print(f"peak RSS ratio long/short: {ratio:.3f}, ffmpeg's {ffmpeg_ratio:.3f} "
          f"(limit {LIMIT}): {'flat' if flat else 'GROWS'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
