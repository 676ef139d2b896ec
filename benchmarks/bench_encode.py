"""How fast frames can be encoded: one ffmpeg against several (`ParallelVideoWriter`).

Beside a fast GPU the x264 encoder on the host, not the model, limits a render (the H100 has
no hardware video encoder). This feeds ready-made frames, with the texture and motion of
BigGAN output (smoothed noise drifting frame to frame), straight into the writers and prints
encoded frames/s by image size and number of encoders, and the ratio to one encoder, side by
side in one process.

    python benchmarks/bench_encode.py [--seconds 20] [--workers 1,2,4] [--sizes 128,256,512]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from audiogan.encode import ParallelVideoWriter, VideoWriter


def clip(size: int, frames: int, seed: int = 0) -> np.ndarray:
    """A loop of `frames` frames: blurred colour noise that drifts a few pixels a frame."""
    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.random((size * 2, size * 2, 3)), sigma=(size / 40, size / 40, 0))
    field = (field - field.min()) / (np.ptp(field) + 1e-9) * 255
    steps = np.linspace(0, size, frames, endpoint=False).astype(int)
    return np.stack([field[s:s + size, s:s + size] for s in steps]).astype(np.uint8)


def encode(frames: np.ndarray, repeats: int, target: Path, workers: int, fps: float) -> float:
    size = (frames.shape[2], frames.shape[1])
    total = len(frames) * repeats
    writer = (ParallelVideoWriter(target, size=size, fps=fps, workers=workers,
                                  total_frames=total) if workers > 1
              else VideoWriter(target, size=size, fps=fps))
    started = time.perf_counter()
    with writer:
        for _ in range(repeats):
            for first in range(0, len(frames), 16):
                writer.write(frames[first:first + 16])
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="video length at 30 fps")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--sizes", default="128,256,512")
    args = parser.parse_args()
    fps = 30.0
    print(f"{os.cpu_count()} cores; {args.seconds:g} s of video at {fps:g} fps, x264 medium, "
          "crf 18")
    with tempfile.TemporaryDirectory() as scratch:
        for size in (int(s) for s in args.sizes.split(",")):
            frames = clip(size, 60)
            repeats = max(1, round(args.seconds * fps / len(frames)))
            base = None
            for workers in (int(w) for w in args.workers.split(",")):
                rate = encode(frames, repeats, Path(scratch) / f"{size}_{workers}.mp4", workers,
                              fps)
                base = base or rate
                print(f"  {size:4d} px, {workers} encoder(s): {rate:8.1f} frames/s "
                      f"({rate / base:.2f}x one encoder)", flush=True)


if __name__ == "__main__":
    main()
