"""audiogan against a peer-style renderer, side by side in one process, and a speed table.

1. The same track (20 s by default), the same analysis, trajectory and model, rendered twice:
   - **audiogan**: `audiogan.render` (batches streamed to ffmpeg while the next is made);
   - **baseline**, written here the way deep-music-visualizer works: the model loaded with the
     package's own `BigGAN.from_pretrained` (spectral-norm hooks left on), a batch loop under
     `torch.no_grad`, every frame converted on the host and kept in a list, then moviepy's
     `ImageSequenceClip(...).write_videofile(...)` with the audio.
   audiogan runs in float32 (its CPU default) and, where the CPU has bfloat16 instructions,
   again with `dtype="bfloat16"`.
   Each prints frames/s (whole render, analysis to finished mp4) and its peak resident memory,
   sampled from /proc while it runs; then the ratios. With `--lengths 20,60` both run at each
   length, showing whose memory grows with the song.
2. audiogan's own generation speed (frames/s of `generate_frames`) by model size, batch size,
   dtype and device, written to benchmarks/RESULTS.md with the machine it ran on.

The models are random BigGAN-deeps of the real architecture and full width (pretrained
weights cost the same to run), made on the fly.

    python benchmarks/bench_render.py [--lengths 20,60] [--table-only] [--no-table]
                                      [--devices cpu,cuda]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

import audiogan
from audiogan.config import MappingConfig, cpu_has_bfloat16
from audiogan.generate import generate_frames
from audiogan.mapping import map_features
from audiogan.model import load_biggan, make_random_checkpoint
from audiogan.pipeline import analyze_song

HERE = Path(__file__).resolve().parent
CLASSES = [398, 402]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def peak_rss():
    """Samples this process's resident memory every 10 ms; yields a dict filled on exit."""
    result = {"start_mb": rss_mb(), "peak_mb": rss_mb()}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            result["peak_mb"] = max(result["peak_mb"], rss_mb())
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result["peak_mb"] = max(result["peak_mb"], rss_mb())


def baseline_render(song: Path, target: Path, weights: Path, batch_size: int = 30) -> int:
    """A peer-style render: every frame in a list, then moviepy (batches of 30, the
    default of deep-music-visualizer)."""
    from moviepy import AudioFileClip, ImageSequenceClip

    _, features = analyze_song(song)
    trajectory = map_features(features, CLASSES, MappingConfig(), seed=0)
    from pytorch_pretrained_biggan import BigGAN

    model = BigGAN.from_pretrained(str(weights)).eval()
    frames = []
    with torch.no_grad():
        for first in range(0, trajectory.n_frames, batch_size):
            last = min(trajectory.n_frames, first + batch_size)
            images = model(torch.from_numpy(trajectory.z[first:last]),
                           torch.from_numpy(trajectory.class_vectors(first, last)),
                           trajectory.truncation)
            for image in images.cpu().numpy().transpose(0, 2, 3, 1):
                frames.append(np.uint8(np.clip((image + 1) / 2 * 255, 0, 255)))
    clip = ImageSequenceClip(frames, fps=features.fps)
    clip = clip.with_audio(AudioFileClip(str(song)))
    clip.write_videofile(str(target), codec="libx264", audio_codec="aac", logger=None)
    return len(frames)


def compare(seconds: float, work: Path, weights: Path) -> list[dict]:
    from bench_memory import band_track

    song = band_track(work / f"band_{seconds:g}.wav", seconds)
    rows = []
    names = ["audiogan", "baseline"]
    if cpu_has_bfloat16():
        names.insert(1, "audiogan-bf16")
    for name in names:
        gc.collect()
        target = work / f"{name}_{seconds:g}.mp4"
        started = time.perf_counter()
        with peak_rss() as memory:
            if name.startswith("audiogan"):
                dtype = "bfloat16" if name.endswith("bf16") else "float32"
                frames = audiogan.render(song, target, classes=CLASSES, weights=weights,
                                         device="cpu", dtype=dtype, overwrite=True,
                                         analysis_cache=False).frames
            else:
                frames = baseline_render(song, target, weights)
        wall = time.perf_counter() - started
        rows.append({"name": name, "seconds": seconds, "frames": frames, "fps": frames / wall,
                     "peak_mb": memory["peak_mb"],
                     "growth_mb": memory["peak_mb"] - memory["start_mb"]})
        print(f"{name:9s} {seconds:5.0f} s track: {frames:5d} frames, {frames / wall:6.2f} "
              f"frames/s, peak RSS {memory['peak_mb']:7.1f} MB "
              f"(+{memory['peak_mb'] - memory['start_mb']:.1f} MB during the render)", flush=True)
    theirs = rows[-1]
    for ours in rows[:-1]:
        ours["speed_ratio"] = ours["fps"] / theirs["fps"]
        print(f"  ratio {ours['name']}/baseline: {ours['speed_ratio']:.2f}x frames/s, "
              f"{ours['growth_mb'] / max(theirs['growth_mb'], 1e-6):.2f}x memory growth",
              flush=True)
    return rows


def speed_table(work: Path, repeats: int, devices: list[str]) -> list[tuple]:
    rows = []
    for resolution, batches in ((128, (1, 2, 8)), (256, (1, 4)), (512, (1, 2))):
        weights = make_random_checkpoint(work / f"full{resolution}", resolution=resolution,
                                         channel_width=128, power_iterations=2)
        for device_name in devices:
            device = torch.device(device_name)
            dtypes = ((torch.float32, torch.bfloat16) if device_name == "cpu"
                      else (torch.float16, torch.bfloat16, torch.float32))
            if device_name == "cuda":
                batches = tuple(b * 8 for b in batches)
            # the same 8 frames in each dtype, against float32
            probe = map_features(_still_features(8), CLASSES, MappingConfig(), seed=1)
            reference = _frames(load_biggan(None, weights), probe, device, torch.float32)
            for dtype in dtypes:
                if device_name == "cpu" and dtype == torch.bfloat16 and not cpu_has_bfloat16():
                    continue
                # a fresh float32 model for each dtype: casting one back and forth would
                # round its weights
                model = load_biggan(None, weights)
                for batch_size in batches:
                    n = batch_size * repeats
                    features = _still_features(n + batch_size)
                    trajectory = map_features(features, CLASSES, MappingConfig(), seed=0)
                    frames = generate_frames(model, trajectory, batch_size=batch_size,
                                             device=device, dtype=dtype)
                    next(frames)  # warm-up batch, not timed
                    started = time.perf_counter()
                    count = sum(len(batch) for batch in frames)
                    fps = count / (time.perf_counter() - started)
                    quality = psnr(reference, _frames(model, probe, device, dtype))
                    rows.append((resolution, device_name, str(dtype).split(".")[-1],
                                 batch_size, fps, quality))
                    print(f"  {resolution} px {device_name} {rows[-1][2]:8s} batch "
                          f"{batch_size:3d}: {fps:7.2f} frames/s, PSNR {quality:.1f} dB "
                          "against float32", flush=True)
                del model
                gc.collect()
    return rows


def _frames(model, trajectory, device, dtype) -> np.ndarray:
    return np.concatenate(list(generate_frames(model, trajectory, batch_size=8, device=device,
                                               dtype=dtype)))


def psnr(reference: np.ndarray, frames: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of uint8 `frames` against `reference` (inf if equal)."""
    mse = np.mean((reference.astype(np.float64) - frames.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def _still_features(n: int):
    from audiogan.types import Features

    return Features(fps=30.0, duration_s=n / 30, sample_rate=22050, tempo_bpm=120.0,
                    beats_s=np.arange(0, n / 30, 0.5), onset=np.ones(n, np.float32),
                    loudness_db=np.full(n, -12.0, np.float32),
                    chroma=np.ones((n, 12), np.float32), peak_dbfs=-1.0)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} cores, {gpu}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def write_results(comparison: list[dict], table: list[tuple]) -> Path:
    lines = ["# Render speed", "", f"Measured {time.strftime('%Y-%m-%d')} on: {machine()}.",
             "Written by `python benchmarks/bench_render.py`; random full-width BigGAN-deeps "
             "(the same cost as the pretrained ones).", ""]
    if not torch.cuda.is_available():
        lines += ["No GPU on this machine: run the script on one to add the CUDA rows "
                  "(float16, bfloat16, float32).", ""]
    if comparison:
        lines += ["## audiogan against a peer-style renderer (whole render, CPU, 128 px)", "",
                  "| renderer | track | frames | frames/s | x baseline | peak RSS MB | "
                  "growth MB |", "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['name']} | {r['seconds']:g} s | {r['frames']} | {r['fps']:.2f} | "
                  f"{r.get('speed_ratio', 1.0):.2f} | {r['peak_mb']:.0f} | "
                  f"{r['growth_mb']:.0f} |" for r in comparison]
        lines.append("")
    if table:
        lines += ["## Generation speed (frames/s of `generate_frames`)", "",
                  "| model | device | dtype | batch | frames/s | PSNR vs float32 (dB) |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| biggan-deep-{r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | "
                  f"{r[5]:.1f} |" for r in table]
        lines.append("")
    path = HERE / "RESULTS.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="20", help="track lengths in seconds, e.g. 20,60")
    parser.add_argument("--width", type=int, default=128,
                        help="model channel width for the comparison (128 = the real model)")
    parser.add_argument("--repeats", type=int, default=2, help="timed batches per table row")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--no-table", action="store_true")
    parser.add_argument("--devices", default="cpu,cuda",
                        help="the table's devices (cuda is skipped without a GPU)")
    args = parser.parse_args()
    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        os.environ["AUDIOGAN_CACHE"] = str(work / "cache")  # every render analyses afresh
        comparison: list[dict] = []
        if not args.table_only:
            weights = make_random_checkpoint(work / "compare", channel_width=args.width,
                                             power_iterations=2)
            for seconds in (float(s) for s in args.lengths.split(",")):
                comparison += compare(seconds, work, weights)
        table = [] if args.no_table else speed_table(work, args.repeats, devices)
        print(f"wrote {write_results(comparison, table)}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE))
    main()
