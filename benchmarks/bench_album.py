"""Album figures: what splitting a track costs, and an album in one process against Ray.

Uses samples/groove.wav (16 s) and a narrow random BigGAN-deep 128 on the CPU, so what is
measured is the pipeline (analysis, segments, concat, Ray scheduling), not the model.

    python benchmarks/bench_album.py [--tracks 3] [--split 3] [--ray-cpus 2]

Prints wall times: one track whole, the same track as N segments (and the concat alone),
an album of copies of the track in this process, and the same album on a local Ray.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import audiogan
from audiogan.encode import concat_segments, probe_video
from audiogan.model import make_random_checkpoint
from audiogan.pipeline import load_generator, prepare, render_segment

SONG = Path(__file__).resolve().parent.parent / "samples" / "groove.wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=3)
    parser.add_argument("--split", type=int, default=3)
    parser.add_argument("--ray-cpus", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        weights = make_random_checkpoint(folder / "ckpt", channel_width=8)
        options = dict(weights=weights, classes=[398, 402])
        audiogan.render(SONG, folder / "warm.mp4", duration=2, **options)  # imports, JIT, cache

        started = time.perf_counter()
        whole = audiogan.render(SONG, folder / "whole.mp4", **options)
        whole_s = time.perf_counter() - started
        started = time.perf_counter()
        audiogan.render(SONG, folder / "split.mp4", split_frames=args.split, **options)
        split_s = time.perf_counter() - started

        plan = prepare(SONG, folder / "parts.mp4", **options)
        generator = load_generator(plan)
        segments = [render_segment(plan, folder / f"{i}.mp4", a, b, generator=generator)
                    for i, (a, b) in enumerate(plan.frame_ranges(args.split))]
        started = time.perf_counter()
        concat_segments(segments, plan.target, audio=plan.audio_track)
        concat_s = time.perf_counter() - started
        assert probe_video(plan.target).frames == whole.frames

        album = folder / "album"
        album.mkdir()
        for n in range(args.tracks):
            shutil.copy(SONG, album / f"{n + 1:02d} groove.wav")
        started = time.perf_counter()
        audiogan.render_album(album, folder / "here", **options)
        here_s = time.perf_counter() - started

        import ray

        ray.init(num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False)
        try:
            started = time.perf_counter()
            audiogan.render_album(album, folder / "ray", ray="auto", split_frames=args.split,
                                  **options)
            ray_s = time.perf_counter() - started
        finally:
            ray.shutdown()
    print(f"one track, {whole.frames} frames: whole {whole_s:.1f} s, {args.split} segments "
          f"{split_s:.1f} s (concat + AAC alone {concat_s:.2f} s)")
    print(f"album of {args.tracks}: in process {here_s:.1f} s, Ray with {args.ray_cpus} CPUs "
          f"and --split-frames {args.split} {ray_s:.1f} s (Ray start-up included)")


if __name__ == "__main__":
    main()
