"""Band-like test songs with known beats, downbeats and sections (numpy only).

Part of the package (not of ``tests/``) so that the tests and the benchmarks both import it
as ``audiogan.testing``; nothing in audiogan itself imports it.

Drums (kick, snare, hi-hat), a plucked bass on the chord roots and struck chords, built from
oscillators and seeded noise. The beat grid is exact by construction, so a tracker can be
scored against it (`benchmarks/bench_beats.py`, `tests/test_beats.py`). The tempo may change
over time (a ramp, or a step to a new tempo), the eighths may swing, parts may be left out
(a drumless intro, a breakdown) and the bar may have 3 or 4 beats.

    song = band_song("ramp")  # or steady, swing, intro_drop, waltz, live, breakdown, tempo_change
    song.y, song.sr, song.beats_s, song.downbeats_s, song.sections
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SONGS", "Part", "Song", "band_song", "render_song"]

SR = 22050

# one chord per bar: root MIDI note of the bass, chord tones (MIDI)
PROGRESSIONS = {
    "pop": [(45, (57, 60, 64)), (41, (57, 60, 65)), (48, (55, 60, 64)), (43, (55, 59, 62))],
    "drop": [(38, (62, 65, 69)), (46, (58, 62, 65)), (41, (60, 65, 69)), (45, (61, 64, 69))],
}


@dataclass(frozen=True)
class Part:
    """A stretch of the song: which instruments play, and how loud."""

    label: str
    bars: int
    drums: bool = True
    bass: bool = True
    chords: bool = True
    level: float = 1.0
    progression: str = "pop"
    comp: bool = False  # chords re-struck softly on every beat (a drumless intro's pulse)
    fills: bool = False  # a snare roll over the last beat of every fourth bar


@dataclass(frozen=True)
class Song:
    """A rendered test song and its ground truth."""

    name: str
    y: np.ndarray
    sr: int
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    meter: int
    sections: list[tuple[float, float, str]] = field(default_factory=list)
    stems: dict[str, np.ndarray] = field(default_factory=dict)


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def _beat_times(n_beats: int, bpm: Callable[[float], float], first: float) -> np.ndarray:
    times = [first]
    for _ in range(n_beats - 1):
        t = times[-1]
        # midpoint rule: the beat period at the middle of the step
        half = 30.0 / bpm(t)
        times.append(t + 60.0 / bpm(t + half))
    return np.array(times)


def _add(y: np.ndarray, sound: np.ndarray, at: float, gain: float, sr: int) -> None:
    release = min(len(sound), int(0.03 * sr))  # no click where a sound is cut short
    sound = sound.copy()
    sound[len(sound) - release:] *= np.linspace(1.0, 0.0, release)
    start = int(round(at * sr))
    if start >= len(y) or start < 0:
        return
    end = min(len(y), start + len(sound))
    y[start:end] += gain * sound[: end - start]


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.3 * sr)) / sr
    freq = 48 + 110 * np.exp(-t * 35)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 14)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    noise = rng.standard_normal(len(t))
    noise = np.diff(noise, prepend=0.0) * 0.5
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30)
    return (0.7 * noise * np.exp(-t * 22) + 0.5 * body)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.06 * sr)) / sr
    noise = np.diff(rng.standard_normal(len(t) + 2), n=2)[: len(t)] / 4
    return noise * np.exp(-t * 70)


def _pluck(freq: float, seconds: float, sr: int, decay: float = 5.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    tone = sum(np.sin(2 * np.pi * freq * h * t) / h for h in (1, 2, 3, 4))
    attack = np.minimum(1.0, t / 0.004)
    return tone * attack * np.exp(-t * decay)


def _chord(notes: tuple[int, ...], seconds: float, sr: int, decay: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    tone = np.zeros_like(t)
    for note in notes:
        f0 = _midi_hz(note)
        tone += sum(np.sin(2 * np.pi * f0 * h * t + h) / h**1.5 for h in (1, 2, 3))
    attack = np.minimum(1.0, t / 0.01)
    return tone / len(notes) * attack * np.exp(-t * decay)


def render_song(name: str, parts: list[Part], *, bpm: float | Callable[[float], float] = 120.0,
                meter: int = 4, swing: float = 0.5, first_beat: float = 0.3,
                sr: int = SR, seed: int = 0, tail_s: float = 1.0,
                humanise_ms: float = 0.0) -> Song:
    """Play `parts` one after another and return the mix, its stems and ground truth.

    `bpm` is a number or a function of time (seconds) for a changing tempo; `swing` is where
    the off-beat eighth falls within the beat (0.5 straight, 0.67 a triplet swing);
    `humanise_ms` plays every hit early or late by up to that much (the beats stay where the
    player meant them).
    """
    tempo = bpm if callable(bpm) else (lambda _t, value=float(bpm): value)
    rng = np.random.default_rng(seed)
    n_bars = sum(p.bars for p in parts)
    beats = _beat_times(n_bars * meter + 1, tempo, first_beat)
    total = beats[-1] + tail_s
    n = int(total * sr)
    stems = {name: np.zeros(n) for name in ("drums", "bass", "other")}
    kick, hat = _kick(sr), _hat(sr, rng)
    snares = [_snare(sr, rng) for _ in range(4)]
    sections: list[tuple[float, float, str]] = []
    jitter = np.random.default_rng(seed + 1000)

    def add(stem: str, sound: np.ndarray, at: float, gain: float) -> None:
        late = jitter.uniform(-humanise_ms, humanise_ms) / 1000 if humanise_ms else 0.0
        _add(stems[stem], sound, at + late, gain, sr)

    bar = 0
    for part in parts:
        progression = PROGRESSIONS[part.progression]
        start_s = beats[bar * meter]
        for _ in range(part.bars):
            root, notes = progression[bar % len(progression)]
            for k in range(meter):
                b = bar * meter + k
                t, period = beats[b], beats[b + 1] - beats[b]
                g = part.level
                if part.drums:
                    if k == 0 or (meter == 4 and k == 2):
                        add("drums", kick, t, 0.9 * g)
                    if (meter == 4 and k in (1, 3)) or (meter == 3 and k > 0):
                        level = 0.55 if meter == 4 else 0.3
                        add("drums", snares[b % 4], t, level * g)
                    add("drums", hat, t, 0.25 * g)
                    if part.fills and bar % 4 == 3 and k == meter - 1:
                        for j in range(1, 4):  # a snare roll into the next bar
                            add("drums", snares[j], t + j * period / 4, (0.25 + 0.1 * j) * g)
                    else:
                        add("drums", hat, t + swing * period, 0.15 * g)
                if part.bass:
                    add("bass", _pluck(_midi_hz(root - 12), 0.9 * period, sr, 4.0),
                         t, 0.35 * g)
                if part.chords and part.comp:
                    add("other", _chord(notes, 0.95 * period, sr, 6.0), t,
                         (0.3 if k == 0 else 0.2) * g)
            if part.chords and not part.comp:
                bar_s = beats[bar * meter + meter] - beats[bar * meter]
                add("other", _chord(notes, bar_s, sr, 1.2), beats[bar * meter],
                     0.2 * part.level)
            bar += 1
        sections.append((float(start_s), float(beats[bar * meter]), part.label))
    noise = 0.002 * rng.standard_normal(n)
    mix = stems["drums"] + stems["bass"] + stems["other"] + noise
    scale = 0.9 / max(np.abs(mix).max(), 1e-9)
    grid = beats[:-1]
    return Song(
        name=name, y=(mix * scale).astype(np.float32), sr=sr, beats_s=grid,
        downbeats_s=grid[::meter], meter=meter, sections=sections,
        stems={k: (v * scale).astype(np.float32) for k, v in stems.items()},
    )


def _ramp(start_bpm: float, end_bpm: float, seconds: float) -> Callable[[float], float]:
    return lambda t: start_bpm + (end_bpm - start_bpm) * min(max(t / seconds, 0.0), 1.0)


def _step(first_bpm: float, then_bpm: float, at_s: float) -> Callable[[float], float]:
    return lambda t: first_bpm if t < at_s else then_bpm


def _songs() -> dict[str, Callable[[], Song]]:
    verse, chorus = Part("verse", 8), Part("chorus", 8, progression="drop")
    return {
        "steady": lambda: render_song("steady", [verse, chorus, verse], bpm=120),
        "ramp": lambda: render_song("ramp", [verse, chorus, verse], bpm=_ramp(96, 132, 50)),
        "swing": lambda: render_song("swing", [verse, chorus, verse], bpm=108, swing=0.67,
                                     seed=1),
        "intro_drop": lambda: render_song(
            "intro_drop",
            [Part("intro", 8, drums=False, bass=False, level=0.25, comp=True),
             Part("drop", 12, progression="drop", level=1.0),
             Part("outro", 4, drums=False, level=0.4)],
            bpm=124, seed=2),
        "waltz": lambda: render_song(
            "waltz", [Part("intro", 4, drums=False, bass=False, level=0.3, comp=True),
                      Part("verse", 10, level=0.8), Part("chorus", 10, progression="drop")],
            bpm=_ramp(138, 130, 35), meter=3, seed=3),
        "live": lambda: render_song(
            "live",
            [Part("intro", 4, drums=False, bass=False, level=0.3, comp=True),
             Part("verse", 8, fills=True), Part("chorus", 8, progression="drop", fills=True),
             Part("break", 2, drums=False, level=0.5, comp=True),
             Part("chorus", 8, progression="drop", fills=True)],
            bpm=lambda t: 118 + 3 * np.sin(2 * np.pi * t / 40), swing=0.58, humanise_ms=10,
            seed=6),
        "breakdown": lambda: render_song(
            "breakdown",
            [verse, Part("break", 4, drums=False, level=0.5, comp=True),
             Part("drop", 8, progression="drop")],
            bpm=126, seed=4),
        # the band moves up a gear for the last two parts: 96 BPM, then 140 from bar 17
        # (which starts at 0.3 + 64 beats of 0.625 s)
        "tempo_change": lambda: render_song(
            "tempo_change",
            [verse, chorus, Part("faster", 8), Part("chorus", 8, progression="drop")],
            bpm=_step(96, 140, 40.3 + 0.1), seed=7),
    }


SONGS = tuple(_songs())


def band_song(name: str) -> Song:
    """One of the named test songs (see `SONGS`)."""
    return _songs()[name]()
