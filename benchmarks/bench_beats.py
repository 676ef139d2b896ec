"""Beat tracking against ground truth: audiogan's grid and plain librosa, side by side.

Synthesises the band-like songs of `tests/bandsynth.py` (steady, tempo ramp, swing, quiet
drumless intro then a drop, 3/4, a breakdown, a humanised live take with fills), whose
beats are known exactly, and prints the beat F-measure (mir_eval, 70 ms window, no beats
trimmed) of:

- **audiogan**: `audiogan.analysis.analyze` (what `audiogan analyze --json` prints);
- **librosa**: plain ``librosa.beat.beat_track(y=y, sr=sr)``;

and, for audiogan, the downbeat F-measure, the meter found / true, and the section
boundaries found within 0.5 s of the true ones (boundaries reported in brackets).

    python benchmarks/bench_beats.py [--songs steady,ramp] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/numba-bench-beats")

import librosa  # noqa: E402
import mir_eval  # noqa: E402
import numpy as np  # noqa: E402

from audiogan.analysis import analyze  # noqa: E402
from audiogan.testing import SONGS, band_song  # noqa: E402

WINDOW_S = 0.07


def f_measure(reference: np.ndarray, estimated: np.ndarray) -> float:
    return float(mir_eval.beat.f_measure(np.asarray(reference, float),
                                         np.asarray(estimated, float), WINDOW_S))


def _boundary_hits(song, features) -> str:
    """True section boundaries found within 0.5 s, and boundaries found in all."""
    truth = np.array([start for start, _, _ in song.sections[1:]])
    found = np.asarray(features.sections_s)[1:, 0]
    hits = sum(bool(len(found)) and np.min(np.abs(found - t)) <= 0.5 for t in truth)
    return f"{hits}/{len(truth)} ({len(found)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", default=",".join(SONGS))
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()

    rows = []
    for name in args.songs.split(","):
        song = band_song(name)
        started = time.perf_counter()
        features = analyze(song.y, sr=song.sr, fps=30)
        ours_s = time.perf_counter() - started
        _, librosa_beats = librosa.beat.beat_track(y=song.y, sr=song.sr, units="time")
        downbeats = getattr(features, "downbeats_s", np.zeros(0))
        rows.append({
            "song": name,
            "seconds": song.y.size / song.sr,
            "audiogan": f_measure(song.beats_s, features.beats_s),
            "librosa": f_measure(song.beats_s, librosa_beats),
            "downbeats": f_measure(song.downbeats_s, downbeats),
            "meter": f"{features.meter}/{song.meter}",
            "sections": _boundary_hits(song, features),
            "bpm": features.tempo_bpm,
            "analysis_s": ours_s,
        })
    header = ("song", "length s", "audiogan F", "librosa F", "downbeat F", "meter",
              "sections", "tempo", "analysis s")
    lines = []
    if args.markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + " --- |" * len(header))
    else:
        lines.append(f"{header[0]:<12}" + "".join(f"{h:>12}" for h in header[1:]))
    for row in rows:
        cells = (row["song"], f"{row['seconds']:.1f}", f"{row['audiogan']:.3f}",
                 f"{row['librosa']:.3f}", f"{row['downbeats']:.3f}", row["meter"],
                 row["sections"], f"{row['bpm']:.1f}", f"{row['analysis_s']:.2f}")
        if args.markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append(f"{cells[0]:<12}" + "".join(f"{c:>12}" for c in cells[1:]))
    ours = np.array([r["audiogan"] for r in rows])
    theirs = np.array([r["librosa"] for r in rows])
    summary = (f"mean F: audiogan {ours.mean():.3f} (min {ours.min():.3f}), librosa "
               f"{theirs.mean():.3f} (min {theirs.min():.3f}); audiogan ahead on "
               f"{int((ours > theirs).sum())} of {len(rows)} songs")
    print("\n".join(lines))
    print(summary)


if __name__ == "__main__":
    main()
