"""audiogan and the peer-style renderer side by side, on a quiet machine and beside a busy
process: does the speed hold under load?

Both render the same clip (a band-like track, 4 s by default) with the same full-size random
BigGAN-deep at 128 px, each as its own process started the way a user starts it, with the
thread settings it chooses itself (no OMP_NUM_THREADS from the caller):

- **audiogan**: ``audiogan SONG --weights W -o OUT`` (analysis, model, frames, encoding);
- **peer**: `bench_render.baseline_render`, deep-music-visualizer's way (torch's default
  threads, batches of 30, every frame in a list, then moviepy).

First with the machine as it is ("quiet"), then beside ``python -c 'while True: pass'``
("loaded"), which takes one core for as long as it runs. Each row gives the wall time, the
frames/s of the whole run, and the CPU seconds the render used (user + system; spinning
threads show here as CPU time that makes no frames). The ratios: audiogan's speed over the
peer's, quiet and loaded (target: at least 1.5x both), and each renderer's slowdown under
load (a fair share of a 2-core machine beside one busy process is half of it: at most 2x).

    python benchmarks/bench_load.py [--seconds 4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "AUDIOGAN_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _environment(work: Path) -> dict[str, str]:
    """The caller's environment without thread settings: each renderer picks its own."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env["AUDIOGAN_CACHE"] = str(work / "cache")  # every render analyses afresh
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `command`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{command[:4]} failed:\n{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _commands(song: Path, weights: Path, work: Path) -> dict[str, list[str]]:
    return {
        "audiogan": [sys.executable, "-m", "audiogan", str(song), "--weights", str(weights),
                     "--classes", "398", "402", "-o", str(work / "audiogan.mp4"),
                     "--overwrite", "-q"],
        "peer": [sys.executable, str(Path(__file__)), "--peer", str(song), str(weights),
                 str(work / "peer.mp4")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the clip")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each, best kept")
    parser.add_argument("--peer", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:  # the child process of the peer-style render
        sys.path.insert(0, str(HERE))
        from bench_render import baseline_render

        song, weights, target = (Path(p) for p in args.peer)
        baseline_render(song, target, weights)
        return
    sys.path.insert(0, str(HERE))
    from bench_memory import band_track

    from audiogan.model import make_random_checkpoint

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        weights = make_random_checkpoint(work / "full128", channel_width=128,
                                         power_iterations=2)
        song = band_track(work / "clip.wav", args.seconds)
        frames = round(args.seconds * 30)
        env = _environment(work)
        commands = _commands(song, weights, work)
        rows: dict[tuple[str, str], tuple[float, float]] = {}
        print(f"{frames} frames a render, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.2f} before the first run", flush=True)
        for condition in ("quiet", "loaded"):
            busy = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    if condition == "loaded" else None)
            try:
                for name, command in commands.items():
                    best = min((_timed(command, env) for _ in range(args.repeats)),
                               key=lambda timing: timing[0])
                    rows[name, condition] = best
                    print(f"{condition:6s} {name:8s} {best[0]:6.1f} s wall, "
                          f"{frames / best[0]:5.2f} frames/s, {best[1]:6.1f} s CPU", flush=True)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
        for condition in ("quiet", "loaded"):
            ratio = rows["peer", condition][0] / rows["audiogan", condition][0]
            print(f"{condition}: audiogan {ratio:.2f}x the peer's speed")
        for name in commands:
            slowdown = rows[name, "loaded"][0] / rows[name, "quiet"][0]
            print(f"{name}: {slowdown:.2f}x slower beside a busy process")


if __name__ == "__main__":
    main()
