"""Beat tracking against ground truth: audiogan's grid, plain librosa and madmom, side by side.

Seven sets of songs:

- **synth**: the band-like songs of `tests/bandsynth.py` (steady, tempo ramp, swing, quiet
  drumless intro then a drop, 3/4, a breakdown, a humanised live take with fills), whose
  beats are known exactly;
- **midi**: real compositions rendered from MIDI, scored against their tempo map (exact);
- **simutrans**: 51 more MIDI compositions (simutrans-data), scored like **midi**;
- **real**: real recordings, scored against the tempo map of a synced chart where there is
  one (exact) and otherwise against madmom's RNN + DBN tracker (a strong tracker, not the
  truth: the ``ref`` column says which);
- **extra**: 41 more recordings against madmom, added after the tracker was tuned (music its
  rules and networks were not chosen on);
- **medley**: the first 30 s of two or three songs of the other sets, one after another, so
  that the tempo changes for good where they meet (64-167 BPM), scored against each part's
  own reference;
- **compound**: accompaniments in 6/8 written by MMA, rendered like the midi set, scored
  against their tempo map at the dotted quarter (no other set has a piece in 6/8).

The midi, real and extra sets (and from them the medleys) are built by
``python benchmarks/beat_data.py`` (see its docstring for the Debian packages it reads and
how a beat is defined); they live outside the repository (``$AUDIOGAN_BEAT_BENCH``,
default ``~/.cache/audiogan/beat-bench``).

For each song and tracker it reports the beat F-measure (mir_eval, 70 ms window, no beats
trimmed), AMLt (mir_eval continuity: correct at the tapped level or at double, half or
off-beat), and the tempo octave ratio (the tracker's median tempo over the reference's:
1.0 right, 2.0 double, 0.5 half, 1.5 a 3:2 confusion). Trackers:

- **audiogan**: `audiogan.analysis.analyze` (what `audiogan analyze --json` prints);
- **librosa**: plain ``librosa.beat.beat_track(y=y, sr=sr, units="time")``;
- **madmom**: ``RNNBeatProcessor`` + ``DBNBeatTrackingProcessor(fps=100)``, run through
  `benchmarks/madmom_beats.py` in its own environment (``$AUDIOGAN_MADMOM_PYTHON``, default
  ``~/.cache/audiogan/madmom-venv/bin/python``), its beats cached on disk by audio hash;
  left out with ``--no-madmom`` or when that environment is missing;
- with ``--live``, **audiogan live**: the live mode's causal tracker (`audiogan.causal`,
  each beat from the audio up to it), and **live, fluxes**: the same hearing the onset
  fluxes alone, as it did before its causal networks.

The synth set also prints its historical table (downbeat F, meter, sections, tempo).

    python benchmarks/bench_beats.py [--set synth|midi|simutrans|real|extra|medley|compound|all]
                                     [--songs steady,ramp]
                                     [--markdown] [--json OUT] [--no-madmom] [--live]

Scoring an experimental tracker from a Python session (any function from ``(y, sr)`` to
beat times in seconds, or to an object with ``beats_s`` and ``downbeats_s``)::

    import sys; sys.path.insert(0, "benchmarks")
    import bench_beats as bb
    items = bb.load_items(["midi", "real"])          # or ["synth"], all seven by default
    rows = bb.score(my_tracker, items)               # one dict per song: f, amlt, octave ...
    bb.print_summary({"mine": rows, "audiogan": bb.score(bb.audiogan, items)})
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/numba-bench-beats")

import librosa  # noqa: E402
import mir_eval  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from audiogan.analysis import analyze  # noqa: E402
from audiogan.beats import LOW_CONFIDENCE  # noqa: E402
from audiogan.causal import track_causal  # noqa: E402
from audiogan.testing import SONGS, band_song  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import beat_data  # noqa: E402

__all__ = ["Item", "load_items", "score", "audiogan", "librosa_beats", "madmom_beats",
           "print_summary", "SETS"]

WINDOW_S = 0.07
SETS = ("synth", "midi", "simutrans", "real", "extra", "medley", "compound")

MEDLEYS = (
    ("hyperrogue-motion", "singularity-nebula", "msx-city_blues"),
    ("singularity-by-product", "hyperrogue-laboratory", "wesnoth-battle"),
    ("warzone-track5", "nexuiz-infight"),
    ("singularity-deprecation", "singularity-media_threat"),
    ("msx-careless_perc", "msx-say_what"),
    ("wesnoth-breaking_the_chains", "warzone-track8", "hyperrogue-savino-ivory"),
    ("blupi-005", "msx-no_work_song", "msx-mighty_giant_run"),
    ("msx-be_sharp", "hyperrogue-hell", "singularity-inevitable"),
)
"""The medley set: songs of the other sets at 64-167 BPM, the first `MEDLEY_PART_S` of each
played one after another, so that the tempo changes for good where they meet."""
MEDLEY_PART_S = 30.0
Tracker = Callable[[np.ndarray, int], Any]


@dataclass(frozen=True)
class Item:
    """One song with its reference beats.

    ``y`` is mono audio, shape ``[n_samples]`` at ``sr``; ``beats_s`` and ``downbeats_s``
    are reference times in seconds from the first sample (``downbeats_s`` is None where
    not known). ``reference`` is ``exact`` (synth), ``tempo-map`` or ``madmom``.
    """

    name: str
    set: str
    y: np.ndarray
    sr: int
    beats_s: np.ndarray
    downbeats_s: np.ndarray | None
    reference: str
    audio_path: Path | None = None
    meter: int | None = None
    sections: list = field(default_factory=list)


def f_measure(reference: np.ndarray, estimated: np.ndarray) -> float:
    return float(mir_eval.beat.f_measure(np.asarray(reference, float),
                                         np.asarray(estimated, float), WINDOW_S))


def amlt(reference: np.ndarray, estimated: np.ndarray) -> float:
    """AMLt: the fraction of beats tracked continuously at any allowed metrical level."""
    reference, estimated = np.asarray(reference, float), np.asarray(estimated, float)
    if reference.size < 2 or estimated.size < 2:
        return 0.0
    return float(mir_eval.beat.continuity(reference, estimated)[3])


def median_tempo(beats_s: np.ndarray) -> float:
    """60 / the median inter-beat interval, in BPM (nan with under two beats)."""
    intervals = np.diff(np.asarray(beats_s, float))
    return float(60.0 / np.median(intervals)) if intervals.size else float("nan")


def load_items(sets: Sequence[str] = SETS, dest: Path | None = None,
               songs: Sequence[str] | None = None) -> list[Item]:
    """The songs of the sets named, synth first; ``songs`` picks synth songs by name."""
    items = []
    if "synth" in sets:
        for name in songs or SONGS:
            song = band_song(name)
            items.append(Item(name, "synth", song.y, song.sr, np.asarray(song.beats_s),
                              np.asarray(song.downbeats_s), "exact", meter=song.meter,
                              sections=list(song.sections)))
    wanted = [s for s in sets if s != "synth"]
    if not wanted:
        return items
    manifest = (dest or beat_data.default_dest()) / "manifest.json"
    if not manifest.exists():
        raise SystemExit(f"no beat data at {manifest}: run python benchmarks/beat_data.py")
    entries = json.loads(manifest.read_text())["items"]
    if "medley" in wanted:
        by_name = {entry["name"]: entry for entry in entries}
        items += [_medley(by_name, names) for names in MEDLEYS]
    for wanted_set in (s for s in wanted if s != "medley"):
        for entry in (e for e in entries if e["set"] == wanted_set):
            y, sr = soundfile.read(entry["audio"], dtype="float32")
            downbeats = (np.loadtxt(entry["downbeats"], ndmin=1)
                         if entry.get("downbeats") else None)
            items.append(Item(entry["name"], entry["set"], y, sr,
                              np.loadtxt(entry["beats"], ndmin=1), downbeats,
                              entry["reference"], audio_path=Path(entry["audio"])))
    return items


def _medley(entries: dict[str, dict], names: Sequence[str]) -> Item:
    """One medley: the parts' openings one after another, each with its own reference
    beats ("tempo-map" when every part has one, otherwise "madmom", which is then not
    scored)."""
    audio, beats, references, sr, start = [], [], set(), 0, 0.0
    for name in names:
        entry = entries[name]
        y, sr = soundfile.read(entry["audio"], dtype="float32")
        y = y[:int(MEDLEY_PART_S * sr)]
        part = np.loadtxt(entry["beats"], ndmin=1)
        beats.append(start + part[part < len(y) / sr])
        audio.append(y)
        references.add(entry["reference"])
        start += len(y) / sr
    reference = "tempo-map" if references == {"tempo-map"} else "madmom"
    title = "+".join(part.split("-", 1)[1] for part in names)
    return Item(title, "medley", np.concatenate(audio), sr, np.concatenate(beats), None,
                reference)


# --- trackers ------------------------------------------------------------------------------

def audiogan(y: np.ndarray, sr: int):
    """audiogan's analysis (its Features carry ``beats_s`` and ``downbeats_s``)."""
    return analyze(y, sr=sr, fps=30)


def live_beats(y: np.ndarray, sr: int) -> np.ndarray:
    """audiogan's live tracker (`audiogan.causal`): each beat from the audio up to it."""
    return track_causal(y, sr).beats_s


def live_flux_beats(y: np.ndarray, sr: int) -> np.ndarray:
    """audiogan's live tracker hearing the onset fluxes alone (before the causal networks)."""
    return track_causal(y, sr, learned=False).beats_s


def librosa_beats(y: np.ndarray, sr: int) -> np.ndarray:
    """Plain librosa, defaults."""
    return librosa.beat.beat_track(y=y, sr=sr, units="time")[1]


def _audio_key(y: np.ndarray, sr: int) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(y, dtype=np.float32).tobytes())
    digest.update(str(sr).encode())
    return digest.hexdigest()[:16]


def _madmom_cache(dest: Path | None = None) -> Path:
    return (dest or beat_data.default_dest()) / "madmom-cache"


def madmom_prefetch(items: Sequence[Item], dest: Path | None = None) -> None:
    """Run madmom once (one process) over every item not yet in its cache."""
    cache = _madmom_cache(dest)
    cache.mkdir(parents=True, exist_ok=True)
    pairs, scratch = [], tempfile.TemporaryDirectory()
    with scratch:
        for item in items:
            text = cache / f"{_audio_key(item.y, item.sr)}.txt"
            if text.exists():
                continue
            wav = item.audio_path
            if wav is None:
                wav = Path(scratch.name) / f"{item.name}.wav"
                soundfile.write(wav, item.y, item.sr)
            pairs.append((wav, text))
        beat_data.run_madmom(pairs)


def madmom_beats(y: np.ndarray, sr: int) -> np.ndarray:
    """madmom's beats for this audio, from the cache (filled by `madmom_prefetch`)."""
    text = _madmom_cache() / f"{_audio_key(y, sr)}.txt"
    if not text.exists():
        with tempfile.TemporaryDirectory() as scratch:
            wav = Path(scratch) / "audio.wav"
            soundfile.write(wav, y, sr)
            beat_data.run_madmom([(wav, text)])
    return np.loadtxt(text, ndmin=1)


# --- scoring -------------------------------------------------------------------------------

def score(tracker: Tracker, items: Sequence[Item]) -> list[dict]:
    """Score a tracker on each item.

    Parameters
    ----------
    tracker : callable ``(y, sr) -> beats_s`` (array, seconds), or returning an object with
        ``beats_s`` (and optionally ``downbeats_s``), like `audiogan.analysis.analyze`.
    items : from `load_items`.

    Returns
    -------
    list of dict, one per item: ``song``, ``set``, ``reference``, ``seconds``, ``f``,
    ``amlt``, ``octave`` (tracker tempo / reference tempo), ``bpm``, ``reference_bpm``,
    ``downbeat_f`` (None unless both sides have downbeats), ``half_f`` (the F of the
    tracker's half-speed beats against the reference, where it gives them and taps at twice
    the reference's tempo; else None), ``confidence`` (the song's beat confidence where the
    tracker gives one, like audiogan's; else None), ``tracker_s`` and ``output`` (what the
    tracker returned; not JSON).
    """
    rows = []
    for item in items:
        started = time.perf_counter()
        output = tracker(item.y, item.sr)
        elapsed = time.perf_counter() - started
        beats = np.asarray(getattr(output, "beats_s", output), float)
        downbeats = getattr(output, "downbeats_s", None)
        half = getattr(output, "half_beats_s", None)
        bpm, reference_bpm = median_tempo(beats), median_tempo(item.beats_s)
        doubled = reference_bpm > 0 and abs(np.log2(max(bpm, 1e-9) / reference_bpm) - 1) < 0.1
        rows.append({
            "song": item.name, "set": item.set, "reference": item.reference,
            "seconds": item.y.size / item.sr,
            "f": f_measure(item.beats_s, beats), "amlt": amlt(item.beats_s, beats),
            "octave": bpm / reference_bpm, "bpm": bpm, "reference_bpm": reference_bpm,
            "downbeat_f": (f_measure(item.downbeats_s, downbeats)
                           if downbeats is not None and item.downbeats_s is not None
                           else None),
            "half_f": (f_measure(item.beats_s, np.asarray(half, float))
                       if half is not None and doubled else None),
            "confidence": getattr(output, "beat_confidence", None),
            "tracker_s": elapsed, "output": output,
        })
    return rows


def _is_own_reference(tracker: str, row: dict) -> bool:
    return tracker == "madmom" and row["reference"] == "madmom"


def summary_lines(results: dict[str, list[dict]]) -> list[str]:
    """Per set and tracker: mean F and AMLt, the lowest song, and songs under F 0.5.

    A set with references of two kinds (real: tempo-map and madmom) is also summed up per
    kind. madmom is not scored on songs whose reference is madmom itself. A tracker that
    reports a confidence gets one more line: its songs at or above `LOW_CONFIDENCE` (where
    `render` trusts the grid) and those under it (where it says so).
    """
    lines = []
    first = next(iter(results.values()))
    groups = []  # (label, set, reference or None for all)
    for set_name in dict.fromkeys(row["set"] for row in first):
        groups.append((set_name, set_name, None))
        references = list(dict.fromkeys(r["reference"] for r in first if r["set"] == set_name))
        if len(references) > 1:
            groups += [(f"{set_name}/{ref}", set_name, ref) for ref in references]
    width = max(len(label) for label, _, _ in groups) + 1
    for label, set_name, reference in groups:
        for tracker, rows in results.items():
            rows = [r for r in rows if r["set"] == set_name and not _is_own_reference(tracker, r)
                    and reference in (None, r["reference"])]
            if not rows:
                continue
            f = np.array([r["f"] for r in rows])
            lowest = rows[int(np.argmin(f))]
            right_octave = sum(abs(r["octave"] - 1) < 0.04 for r in rows)
            lines.append(f"{label:<{width}} {tracker:<9} n={len(rows):<3} mean F {f.mean():.3f}  "
                         f"mean AMLt {np.mean([r['amlt'] for r in rows]):.3f}  "
                         f"lowest {lowest['song']} {lowest['f']:.3f}  F<0.5: "
                         f"{int((f < 0.5).sum())}  tempo right: {right_octave}/{len(rows)}")
            if all(r.get("confidence") is not None for r in rows):
                lines.append(f"{'':<{width}} {'':<9} " + _by_confidence(rows))
            halves = [r["half_f"] for r in rows if r.get("half_f") is not None]
            if halves:
                # a grid at twice the reference's tempo: do its full pulses fall on the
                # reference's beats (audiogan.mapping's half-speed pulse)?
                lines.append(f"{'':<{width}} {'':<9} at twice the reference's tempo: "
                             f"n={len(halves)}, half-speed beats on its beats (F >= 0.5) on "
                             f"{sum(f >= 0.5 for f in halves)}, mean F {np.mean(halves):.3f}")
    return lines


def _by_confidence(rows: list[dict]) -> str:
    sure = [r for r in rows if r["confidence"] >= LOW_CONFIDENCE]
    doubtful = [r for r in rows if r["confidence"] < LOW_CONFIDENCE]

    def means(group: list[dict]) -> str:
        if not group:
            return "n=0"
        return (f"n={len(group)} mean F {np.mean([r['f'] for r in group]):.3f}  "
                f"mean AMLt {np.mean([r['amlt'] for r in group]):.3f}")
    return f"confidence >= {LOW_CONFIDENCE}: {means(sure)}  |  under: {means(doubtful)}"


def print_summary(results: dict[str, list[dict]]) -> None:
    print("\n".join(summary_lines(results)))


def table_lines(results: dict[str, list[dict]], markdown: bool = False) -> list[str]:
    """One line per song: for each tracker F, AMLt and octave ratio; audiogan's downbeat F."""
    trackers = list(results)
    header = ["set", "song", "ref"]
    for tracker in trackers:
        header += [f"{tracker} F", "AMLt", "oct"]
    header += ["ref BPM", "downbeat F"]
    longest = max((len(row["song"]) for row in results[trackers[0]]), default=0)
    widths = [7, max(28, longest + 1), 10] + [11, 6, 5] * len(trackers) + [8, 11]
    lines = []
    if markdown:
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    else:
        lines.append("".join(f"{h:<{w}}" if i < 3 else f"{h:>{w}}"
                             for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    for index, row in enumerate(results[trackers[0]]):
        cells = [row["set"], row["song"], row["reference"]]
        for tracker in trackers:
            other = results[tracker][index]
            if _is_own_reference(tracker, other):
                cells += ["(ref)", "", ""]
            else:
                cells += [f"{other['f']:.3f}", f"{other['amlt']:.3f}", f"{other['octave']:.2f}"]
        downbeat_f = row["downbeat_f"]
        cells += [f"{row['reference_bpm']:.1f}",
                  "" if downbeat_f is None else f"{downbeat_f:.3f}"]
        if markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append("".join(f"{c:<{w}}" if i < 3 else f"{c:>{w}}"
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    return lines


# --- the historical synth table ------------------------------------------------------------

def _boundary_hits(item: Item, features) -> str:
    """True section boundaries found within 0.5 s, and boundaries found in all."""
    truth = np.array([start for start, _, _ in item.sections[1:]])
    found = np.asarray(features.sections_s)[1:, 0]
    hits = sum(bool(len(found)) and np.min(np.abs(found - t)) <= 0.5 for t in truth)
    return f"{hits}/{len(truth)} ({len(found)})"


def synth_table_lines(items: Sequence[Item], ours: list[dict], theirs: list[dict],
                      markdown: bool = False) -> list[str]:
    header = ("song", "length s", "audiogan F", "librosa F", "downbeat F", "meter",
              "sections", "tempo", "analysis s")
    lines = []
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + " --- |" * len(header))
    else:
        lines.append(f"{header[0]:<12}" + "".join(f"{h:>12}" for h in header[1:]))
    for item, row, other in zip(items, ours, theirs, strict=True):
        features = row["output"]
        cells = (item.name, f"{row['seconds']:.1f}", f"{row['f']:.3f}", f"{other['f']:.3f}",
                 f"{row['downbeat_f'] or 0.0:.3f}", f"{features.meter}/{item.meter}",
                 _boundary_hits(item, features), f"{features.tempo_bpm:.1f}",
                 f"{row['tracker_s']:.2f}")
        if markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append(f"{cells[0]:<12}" + "".join(f"{c:>12}" for c in cells[1:]))
    f_ours = np.array([r["f"] for r in ours])
    f_theirs = np.array([r["f"] for r in theirs])
    lines.append(f"mean F: audiogan {f_ours.mean():.3f} (min {f_ours.min():.3f}), librosa "
                 f"{f_theirs.mean():.3f} (min {f_theirs.min():.3f}); audiogan ahead on "
                 f"{int((f_ours > f_theirs).sum())} of {len(ours)} songs")
    return lines


def _json_rows(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "output"} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="all", choices=(*SETS, "all"),
                        help="which songs (default all)")
    parser.add_argument("--songs", default=",".join(SONGS), help="synth songs, by name")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--dest", type=Path, help="beat data folder (see beat_data.py)")
    parser.add_argument("--no-madmom", action="store_true", help="leave madmom out")
    parser.add_argument("--live", action="store_true",
                        help="score the live (causal) tracker too, with and without its "
                             "networks; it is scored from the first second, lock-in and all")
    args = parser.parse_args()
    started = time.perf_counter()

    sets = SETS if args.set == "all" else (args.set,)
    items = load_items(sets, args.dest, args.songs.split(","))
    results = {"audiogan": score(audiogan, items), "librosa": score(librosa_beats, items)}
    if args.live:
        results["audiogan live"] = score(live_beats, items)
        results["live, fluxes"] = score(live_flux_beats, items)
    if not args.no_madmom:
        if beat_data.madmom_python().exists():
            madmom_prefetch(items, args.dest)
            results["madmom"] = score(madmom_beats, items)
        else:
            print(f"madmom left out: no environment at {beat_data.madmom_python()}")

    synth = [i for i, item in enumerate(items) if item.set == "synth"]
    if synth:
        print("\n".join(synth_table_lines([items[i] for i in synth],
                                          [results["audiogan"][i] for i in synth],
                                          [results["librosa"][i] for i in synth],
                                          args.markdown)))
        print()
    print("\n".join(table_lines(results, args.markdown)))
    print()
    print_summary(results)
    elapsed = time.perf_counter() - started
    print(f"{len(items)} songs in {elapsed:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(
            {"window_s": WINDOW_S, "elapsed_s": elapsed,
             "results": {name: _json_rows(rows) for name, rows in results.items()}},
            indent=1))


if __name__ == "__main__":
    main()
