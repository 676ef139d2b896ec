"""`audiogan live` on this machine: frames per second, frame times, latency, beat timing.

Runs the live loop on a virtual clock that advances by what each frame really took on this
machine (``--simulate`` at speed 1), so it measures what a sound card session would show,
without one. Two modes on a synthesised band song with known beats (``live``: humanised, its tempo
swaying 115-121 BPM):

- **song**: the song known ahead (the render's analysis and mapping, frames made just in time);
- **causal**: the song heard block by block (the causal tracker and `LiveMapper`), as from
  ``--input``.

Reported: frames shown and dropped, achieved fps, frame time percentiles (mapping +
generation of one frame), audio-to-picture latency (causal: a frame's time minus the newest
audio it was made from; the pulses are predicted, so a beat is shown on its own frame), the
pulses' distance from the true beats, and the causal tracker's beat F-measure after 4 s beside
plain librosa's offline tracker.

    python benchmarks/bench_live.py [--weights DIR] [--fps 30] [--device cpu|cuda]
                                    [--model biggan-deep-256] [--seconds 30]

Without --weights it writes the test model (``audiogan test-checkpoint``, 128 px) to a
temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import librosa  # noqa: E402
import mir_eval  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from audiogan.causal import track_causal  # noqa: E402
from audiogan.config import resolve_config  # noqa: E402
from audiogan.live import play  # noqa: E402
from audiogan.model import load_biggan, make_random_checkpoint  # noqa: E402
from audiogan.testing import SONGS, band_song  # noqa: E402


def tracker_table() -> None:
    print("| song | causal F (after 4 s) | librosa offline F (after 4 s) | beat time error ms |")
    print("| --- | --- | --- | --- |")
    ours, theirs, errors = [], [], []
    for name in SONGS:
        song = band_song(name)
        heard = track_causal(song.y, song.sr)
        offline = librosa.beat.beat_track(y=song.y, sr=song.sr, units="time")[1]
        ref = song.beats_s[song.beats_s >= 4.0]
        est = heard.beats_s[(heard.beats_s >= 3.93) & (heard.beats_s <= ref[-1] + 0.07)]
        f = mir_eval.beat.f_measure(ref, est, 0.07)
        g = mir_eval.beat.f_measure(ref, offline[offline >= 3.93], 0.07)
        error = est - ref[np.argmin(np.abs(ref[None] - est[:, None]), axis=1)]
        error = error[np.abs(error) < 0.07]
        ours.append(f)
        theirs.append(g)
        errors.append(np.abs(error))
        print(f"| {name} | {f:.3f} | {g:.3f} | {1000 * np.mean(np.abs(error)):.1f} |")
    print(f"| mean | {np.mean(ours):.3f} | {np.mean(theirs):.3f} | "
          f"{1000 * np.mean(np.concatenate(errors)):.1f} |")


def live_table(weights: Path, args: argparse.Namespace) -> None:
    song = band_song("live")  # humanised, swaying tempo: beats fall between frames
    cut = int(args.seconds * song.sr)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "live.wav"
        soundfile.write(path, song.y[:cut], song.sr)
        config = resolve_config(classes=[398, 402], weights=weights, fps=args.fps,
                                device=args.device, model=args.model)
        generator = load_biggan(args.model, weights)
        print(f"\n{args.seconds:g} s at {args.fps:g} fps, {generator.config.output_dim} px, "
              f"{config.device}\n")
        print("| mode | shown | dropped | fps | frame ms p50 / p95 / p99 | latency ms | "
              "pulse error ms |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for mode in ("song", "causal"):
            stats = play(path, config=config, simulate=True, causal=mode == "causal",
                         generator=generator)
            made = np.percentile(stats.make_ms, [50, 95, 99])
            latency = f"{np.mean(stats.latency_ms):.0f}" if stats.latency_ms else "-"
            pulse = "-"
            if stats.pulse_s:
                beats = song.beats_s
                pulses = np.array([t for t in stats.pulse_s if 4 <= t <= beats[-1] + 0.1])
                error = pulses - beats[np.argmin(np.abs(beats[None] - pulses[:, None]), axis=1)]
                pulse = f"{1000 * np.mean(np.abs(error)):.1f}"
            print(f"| {mode} | {stats.frames_shown} | {stats.frames_dropped} | "
                  f"{stats.achieved_fps:.1f} | {made[0]:.1f} / {made[1]:.1f} / {made[2]:.1f} "
                  f"| {latency} | {pulse} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--model")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-tracker", action="store_true")
    args = parser.parse_args()
    if not args.no_tracker:
        tracker_table()
    with tempfile.TemporaryDirectory() as folder:
        weights = args.weights or make_random_checkpoint(Path(folder), channel_width=8)
        live_table(weights, args)


if __name__ == "__main__":
    main()
