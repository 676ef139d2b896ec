"""The beat grid: beats, downbeats (bar starts), meter, tempo over time and how sure it is.

numpy only, over a beat activation and onset envelopes at STFT hop rate (a few numbers per
hop, so a whole song's worth is small). The steps:

1. **activation**: how much each hop sounds like a beat. `analysis` passes the learned
   one (`audiogan.beatnet`, a network's beat probability); without it, the onset
   envelopes (all-band, low-band, high-band and vibrato-proof flux) added and each stretch
   divided by its own local level, so that the soft chords of a quiet drumless intro pull
   the tracker as hard as the drums that follow;
2. **beats**: the most likely path through a tempo-and-phase DBN (the state space of
   Krebs, Boeck and Widmer 2015, as in madmom's tracker): the tempo holds unless the
   music clearly moves it, so the grid runs through weak or missing onsets, syncopation
   and a ramp;
3. **the level people tap**: the DBN alone tends to run at double speed over busy eighths.
   The song's global tempo (the tempogram, with librosa's preference around 120 BPM) is a
   second opinion; when the DBN runs at twice or half of it, that tempo is taken, and at
   4/3 or 3/4 of it, whichever of the two is nearer 120 BPM. Except: a fast first pass
   (140 BPM up) that the network hears beat by beat, alike on every beat and with its
   bar lines every four of them, keeps its tempo over a tempogram at half of it; one it
   hears every other beat of more clearly, with bar lines every eight, is halved, and so
   is one with bar lines clearly every eight, however alike its beats.
   A 3:2 disagreement is left to the DBN: that is the tempogram pulling a fast song
   (160-190 BPM) towards 120. `tempo_range` bounds both. The grid is then the DBN's path
   within 40 % of the tempo chosen (20 % after such a disagreement), which follows a ramp
   but cannot jump an octave midway. A song whose tempo changes for good is split where
   the first pass steps (`tempo_sections`), and each section chosen for as a song;
   where the DBN took every second note of a shuffle's triplets or a 6/8's eighths for
   the beat (a 3:2), the onsets between its beats go in threes, and the grid is tracked
   again at two thirds of its tempo (`_in_threes`); in a shuffle, a grid held by a loud
   swung off-beat (two thirds into the beat) moves onto the beat; where the path steps
   half a beat at a steady tempo, the stretches on the side that the activation marks far
   less clearly move half a beat, on to the phase of the rest (`_one_phase`); a doubtful
   intro is tracked again, held to the tempo and phase that the song settles into
   (`_settled_intro`);
4. **confidence**: each envelope alone also gets a DBN path; a beat of the grid is as
   certain as the share of those paths that put a beat there too (Zapata et al. 2012:
   when trackers fed different features agree, they are right), averaged with how high a
   learned activation stands at it when the grid follows one, and scaled down where the
   onsets around it hardly repeat at the grid's period (random hits, rubato, ambient),
   where trackers can agree on a guess;
5. **downbeats**: for 3 and 4 beats a bar and every phase, how much more the bass-drum
   onsets and the chord changes land on the candidate bar lines than between them; for
   each part of a song whose tempo changes (`tempo_changes`) on its own;
6. **half-speed beats**: every other beat, the half that the activation hears more over
   each part (`half_beats`), where listeners tap a fast song at half its tempo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BeatGrid", "track_grid", "tracking_envelope", "beat_activation", "dbn_beats",
           "tapped_beats", "beat_support", "find_downbeats", "tempo_at", "grid_from_bpm",
           "pulse_clarity", "range_level", "range_ratio", "BEAT_TRACKERS", "TEMPO_RANGE",
           "LOW_CONFIDENCE", "CLEAR_PULSE", "TempoStates", "tempo_sections", "tempo_changes",
           "half_beats"]

BEAT_TRACKERS = ("auto", "audiogan", "beat_this")
"""Who may find the beats: audiogan's own tracker, Beat This! (`audiogan.beatthis`), or auto."""
TEMPO_RANGE = (55.0, 215.0)
"""Slowest and fastest beat (BPM) the tracker considers unless told otherwise."""
LOW_CONFIDENCE = 0.5
"""Below this confidence a grid is a guess (see `BeatGrid.confidence`)."""

CLEAR_PULSE = 0.2
"""Pulse clarity (see `pulse_clarity`) from which the onsets' own periodicity no longer
lowers the confidence. Measured on 12 s windows: random hits and rubato notes 0.06-0.07,
pulseless ambient game music 0.05-0.09; the lowest real songs tracked right 0.16-0.18
(orchestral, metal), band songs 0.4-0.8."""


DOWNBEAT_WEIGHT = 2.0
"""How much a learned downbeat activation counts in `find_downbeats`, against 1 for the
bass-drum accents and 1.5 for the chord changes."""

EDGE_HEARD = 0.1
"""A learned activation this high at a beat on the first hops of a song (where no onset can
be measured) keeps the beat, if the song already sounds there: songs that start on a beat
read 0.31-0.56 there, but a silent lead-in reads as much (see `_trim_ends`)."""

LEARNED_SURE = 0.3
"""A learned activation (`audiogan.beatnet`) this high at a beat of the grid counts as a
beat fully heard. At the grids' beats on the benchmark: 0.3-0.8 where the beat is right
(lowest on dense metal), 0.07-0.18 on the pulseless pieces, 0.04 on a drone."""

FAST_BPM = 140.0
"""From this first-pass tempo up, the network's own hearing of the beats (`_hearing`) has a
say in the level: a tempogram at half of it is taken only where the network does not hear
each beat as a beat of its own, and where it clearly hears every other beat as an eighth
(`EIGHT_BAR`, `LONE_BAR`), the tempo is halved though the tempogram did not ask."""

ALTERNATION = 1.15
"""How much more clearly (activation at the beats) the network may hear every other beat
of a fast first pass than the rest for them all to be beats. On most MIDI pieces written at
160-200 BPM 1.01-1.06 (four read 1.22-1.48, and stay halved); where the written beat is
half the first pass's 1.08-2.05."""

HALF_BAR = 0.6
"""How strong (against the strongest) the network's downbeat activation must be four beats
of a fast first pass after its strongest bar line, for its bars to hold four of them, not
eight: 0.64-0.97 on most MIDI pieces written at 160-200 BPM, 0.07-0.36 on most written at
half of the first pass."""

EIGHT_BAR = 0.5
"""Under this (the same measure as `HALF_BAR`), with the beats alternating past
`ALTERNATION` too, the bars hold eight beats of the first pass: it runs at twice the
beat."""

LONE_BAR = 0.2
"""Under this, the bars hold eight beats of the first pass however alike it hears them (a
piece written at 90 whose eighths the network hears as clearly as its beats, pinball's
intro: 0.09; no fast piece written at its first pass's tempo reads under 0.27 but one,
warzone-track2 at 0.12, which alternates past `ALTERNATION` as well)."""

THREES = 0.08
"""How much of the onsets' variation over a grid's half beats their place in a group of
three must explain (and half again as much as their place in a pair) for the beat to be
three of those half beats (`_in_threes`): 0.075-0.60 on the two shuffles and four 6/8
pieces of the benchmark tapped at 3:2; 0.03 or less on every other grid whose threes
explain more than its pairs (hyperrogue-caribbean's 0.11 is 1.34 times its pairs)."""

SECTION_S = 15.0
"""The shortest stretch of a song that gets a tempo of its own (`tempo_sections`)."""

SECTION_STEP = 0.12
"""How far (octaves, about 9 %) a tempo must step, other than by whole octaves, to start a
new section (`tempo_sections`)."""

SECTION_CONTEXT_S = 3.0
"""Seconds before its start that a section is tracked from, so that its path is settled
by its first beat."""


@dataclass(frozen=True, eq=False)
class BeatGrid:
    """Beats, bar starts and tempo.

    Attributes
    ----------
    beats_s : ndarray, shape (B,)
        Beat times in seconds, increasing.
    downbeats_s : ndarray, shape (D,)
        The beats that start a bar, a subset of `beats_s`.
    meter : int
        Beats per bar (3 or 4; 0 when there are no beats).
    tempo_bpm : float
        Median tempo of the grid (0.0 without beats).
    confidence : float
        How sure the grid is, in [0, 1]: the mean of `beat_confidence` (1.0 for a grid the
        user gave, 0.0 without beats).
    beat_confidence : ndarray, shape (B,)
        Per beat, the share of independent trackers (one per onset envelope) that put a
        beat there too, smoothed over the neighbouring beats, times how clearly the onsets
        around it repeat at the grid's period (`pulse_clarity`).
    half_beats_s : ndarray, shape (H,)
        Every other beat, a subset of `beats_s`: the half-speed beat that many listeners
        tap in a fast song (`half_beats`). Not given (a grid the user wrote), beats 1 and 3
        of each 4/4 bar; none in other meters or without bars.
    """

    beats_s: np.ndarray
    downbeats_s: np.ndarray
    meter: int
    tempo_bpm: float
    confidence: float = 1.0
    beat_confidence: np.ndarray = None  # type: ignore[assignment]
    half_beats_s: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.beat_confidence is None:
            object.__setattr__(self, "beat_confidence",
                               np.full(len(self.beats_s), self.confidence))
        if self.half_beats_s is None:
            object.__setattr__(self, "half_beats_s",
                               _on_the_bar(self.beats_s, self.downbeats_s, self.meter))


def _on_the_bar(beats_s: np.ndarray, downbeats_s: np.ndarray, meter: int) -> np.ndarray:
    """Beats 1 and 3 of each bar of 4 (the beats before the first bar line counted back
    from it); none in other meters."""
    beats_s, downbeats_s = np.asarray(beats_s), np.asarray(downbeats_s)
    if meter != 4 or len(downbeats_s) == 0 or len(beats_s) == 0:
        return np.zeros(0)
    first = np.searchsorted(beats_s, downbeats_s)
    bar = np.maximum(np.searchsorted(downbeats_s, beats_s, side="right") - 1, 0)
    return beats_s[(np.arange(len(beats_s)) - first[bar]) % 2 == 0]


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    width = max(1, int(width))
    if width == 1 or len(values) == 0:
        return values.astype(np.float64)
    kernel = np.ones(width) / width
    padded = np.pad(values.astype(np.float64), (width // 2, width - 1 - width // 2),
                    mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def tracking_envelope(onset: np.ndarray, *, fps: float, floor: float = 0.1) -> np.ndarray:
    """Onset strength over its local level (the RMS over a 3 s neighbourhood).

    Where the song is quiet compared with its loud stretches (below `floor` of their level)
    nothing is amplified further, so the noise of a silence does not become beats.
    """
    onset = np.maximum(np.asarray(onset, dtype=np.float64), 0.0)
    if len(onset) == 0 or not onset.any():
        return onset
    local = np.sqrt(_moving_average(onset**2, round(3.0 * fps)))
    typical = float(np.percentile(local[local > 0], 90)) if np.any(local > 0) else 1.0
    return onset / np.maximum(local, floor * typical)


class _TempoStates:
    """The state space of a beat tracking DBN (Krebs, Boeck and Widmer 2015): for every
    whole beat interval ``tau`` (in hops) between the tempo limits, the positions
    ``0 .. tau - 1`` within the beat. A state moves one position a hop; from the last
    position of a beat it may change interval, ``exp(-lambda * |tau' / tau - 1|)``."""

    def __init__(self, *, fps: float, min_bpm: float, max_bpm: float,
                 transition_lambda: float, observation_lambda: int):
        self.intervals = np.arange(int(np.floor(60.0 * fps / max_bpm)),
                                   int(np.ceil(60.0 * fps / min_bpm)) + 1)
        self.first = np.concatenate([[0], np.cumsum(self.intervals)[:-1]])
        self.last = self.first + self.intervals - 1
        self.count = int(self.intervals.sum())
        position = np.arange(self.count) - np.repeat(self.first, self.intervals)
        # the first 1 / observation_lambda of each beat is where the beat sounds
        self.on_beat = position < np.maximum(1.0, np.repeat(self.intervals, self.intervals)
                                             / observation_lambda)
        ratio = self.intervals[None, :] / self.intervals[:, None]
        transition = -transition_lambda * np.abs(ratio - 1.0)
        self.log_transition = transition - np.log(np.exp(transition).sum(axis=1,
                                                                          keepdims=True))


def dbn_beats(activation: np.ndarray, *, fps: float, min_bpm: float = 55.0,
              max_bpm: float = 215.0, transition_lambda: float = 100.0,
              observation_lambda: int = 16) -> np.ndarray:
    """Beat frames of the most likely path through a tempo-and-phase DBN, shape (B,).

    `activation` (shape (F,), in [0, 1]) is how much each hop sounds like a beat. The path
    keeps a steady tempo unless the music clearly changes it, so it holds through weak or
    missing onsets and across syncopation. Viterbi decoding keeps, per hop, only the
    back-pointers of the beat starts (an int16 per tempo), so memory is small.
    """
    activation = np.clip(np.asarray(activation, dtype=np.float64), 1e-6, 1.0 - 1e-6)
    n = len(activation)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    states = _TempoStates(fps=fps, min_bpm=min_bpm, max_bpm=max_bpm,
                          transition_lambda=transition_lambda,
                          observation_lambda=observation_lambda)
    log_beat = np.log(activation)
    log_other = np.log((1.0 - activation) / (observation_lambda - 1))
    columns = np.arange(len(states.intervals))
    score = np.zeros(states.count)
    moved = np.empty(states.count)
    back = np.zeros((n, len(states.intervals)), dtype=np.int16)
    for t in range(n):
        if t:
            moved[1:] = score[:-1]
            candidates = score[states.last][:, None] + states.log_transition
            back[t] = np.argmax(candidates, axis=0)
            moved[states.first] = candidates[back[t], columns]
            score, moved = moved, score
        score += np.where(states.on_beat, log_beat[t], log_other[t])
        score -= score.max()
    # back from the best final state: each beat start leads to the end of the beat before
    state = int(np.argmax(score))
    tempo = int(np.searchsorted(states.first, state, side="right") - 1)
    t = n - 1 - (state - states.first[tempo])
    beats, intervals = [], []
    while t >= 0:
        beats.append(t)
        intervals.append(int(states.intervals[tempo]))
        tempo = int(back[t, tempo]) if t else tempo
        t -= int(states.intervals[tempo])
    if t > -_reach(int(states.intervals[tempo]), observation_lambda):
        # the beat before the first falls a hop or two before the song: it is on the first
        # hops, for the snap to place
        beats.append(0)
        intervals.append(int(states.intervals[tempo]))
    return _snap_to_peaks(np.array(beats[::-1], dtype=np.int64), np.array(intervals[::-1]),
                          activation, observation_lambda)


def _reach(intervals: np.ndarray | int, observation_lambda: int) -> np.ndarray:
    """How far (hops) a beat may move to its activation's peak: a beat region, 2 / lambda
    of the beat, at least a hop."""
    return np.maximum(1, np.round(2 * np.asarray(intervals) / observation_lambda)).astype(np.int64)


def _snap_to_peaks(frames: np.ndarray, intervals: np.ndarray, activation: np.ndarray,
                   observation_lambda: int) -> np.ndarray:
    """Each beat moved to the strongest activation within a beat region of it: whole hops
    of tempo change only at beat starts leave a beat a hop or two behind a gliding tempo."""
    reach = _reach(intervals, observation_lambda)
    snapped = frames.copy()
    for k, (frame, radius) in enumerate(zip(frames, reach, strict=True)):
        first, last = max(0, frame - radius), min(len(activation), frame + radius + 1)
        snapped[k] = first + int(np.argmax(activation[first:last]))
    return np.unique(snapped)


def beat_activation(envelopes: Sequence[np.ndarray], *, fps: float) -> np.ndarray:
    """How much each hop sounds like a beat, shape (F,), in [0, 0.9].

    The envelopes, each scaled to its own loud hits (99th percentile), are added and
    divided by their local level (`tracking_envelope`); squaring keeps the strong onsets
    and quietens the busy small ones between beats, which would otherwise pull the DBN to
    double speed.
    """
    total = np.zeros(len(envelopes[0]) if len(envelopes) else 0)
    for envelope in envelopes:
        envelope = np.maximum(np.asarray(envelope, dtype=np.float64), 0.0)
        top = np.percentile(envelope, 99) if len(envelope) else 0.0
        if top > 0:
            total += envelope / top
    local = tracking_envelope(total, fps=fps)
    top = np.percentile(local, 99) if len(local) else 0.0
    if top <= 0:
        return np.zeros_like(local)
    return 0.9 * np.clip(local / top, 0.0, 1.0) ** 2


def _median_bpm(frames: np.ndarray, fps: float) -> float:
    return 60.0 * fps / float(np.median(np.diff(frames))) if len(frames) > 1 else 0.0


CROSS_RHYTHM = float(np.log2(4.0 / 3.0))
"""3:2 and 4:3 (and their octaves) are this far, in octaves, from a whole octave."""

# tempo ratios (DBN / tempogram) at which the DBN is overruled: double and half speed, and
# the 4:3 of a dotted-eighth cross-rhythm; 3:2 is the tempogram's own error on fast songs
_OVERRULED = np.log2([2.0, 0.5, 4.0 / 3.0, 3.0 / 4.0])


def range_level(bpm: float, tempo_range: tuple[float, float]) -> int:
    """How many times `bpm` is halved (negative: doubled) to lie within `tempo_range`, each
    step taken only while the result still fits; 0 when it lies there, or no level does."""
    low, high = tempo_range
    level = 0
    while bpm / 2.0 ** level > high and bpm / 2.0 ** (level + 1) >= low:
        level += 1
    while bpm / 2.0 ** level < low and bpm / 2.0 ** (level - 1) <= high:
        level -= 1
    return level


def range_ratio(bpm: float, tempo_range: tuple[float, float]) -> float:
    """What `bpm` is divided by to lie within `tempo_range`: ``2 ** range_level`` where an
    octave of it lies there; otherwise, where a third of it or three times it does (or an
    octave of those), the nearest such: the dotted beat of a compound meter (6/8, 12/8)
    whose eighths were found, or those eighths from its dotted beat. Where none fits either,
    the octave move of `range_level`."""
    low, high = tempo_range
    octave = 2.0 ** range_level(bpm, tempo_range)
    if low <= bpm / octave <= high:
        return octave
    thirds = [3.0 * 2.0 ** k for k in range(4)] + [1.0 / (3.0 * 2.0 ** k) for k in range(4)]
    fitting = [ratio for ratio in thirds if low <= bpm / ratio <= high]
    return min(fitting, key=lambda ratio: abs(np.log2(ratio))) if fitting else octave


def tapped_beats(activation: np.ndarray, *, fps: float, global_bpm: float,
                 tempo_range: tuple[float, float] = TEMPO_RANGE,
                 section_bpm: Callable[[int, int], float] | None = None,
                 downbeat: np.ndarray | None = None,
                 tolerance: float = 0.06, band: float = 1.4,
                 held_band: float = 1.2) -> np.ndarray:
    """Beat frames at the metrical level people tap, shape (B,) (see the module notes).

    A first DBN pass finds the song's tempo, over `TEMPO_RANGE` and `tempo_range` both. If
    that sits within `tolerance` octaves of 2 or 1/2 times `global_bpm`, `global_bpm` is
    taken instead; at 4/3 or 3/4 of it, whichever of the two lies nearer 120 BPM (in
    octaves), where people's tapping gathers. Given the network's `downbeat` activation, a
    song whose first pass runs at `FAST_BPM` or more, heard beat by beat (`_hearing`),
    keeps that tempo over a `global_bpm` at half of it: the tempogram's pull towards 120
    halved MIDI pieces written at 160-200 BPM with a bar line every four of those beats
    (simutrans). Heard the other way, every other beat more clearly (`ALTERNATION`) and a
    bar line every eight (`EIGHT_BAR`), or a bar line clearly every eight alone
    (`LONE_BAR`), it is halved, whatever the tempogram says. Not within the sections of a
    song whose tempo changes, where the tempogram of each section stays the judge. That
    tempo is then halved or doubled into `tempo_range` while it fits, so that a narrower
    range picks another level of the same pulse; where no octave of it fits, a third of it
    or three times it (`range_ratio`: the dotted beat of a 6/8 heard on its eighths).
    (Searched within 55-140 BPM alone, songs that madmom taps at 92-103 BPM went to a 4:3
    cross-rhythm at 123-140, hyperrogue-caribbean and -savino-palace, instead of half of
    the 185-207 that the whole range finds.)

    The grid is then the DBN's path within a factor `band` of that tempo (inside
    `tempo_range`): wide enough for a ramp, too narrow to jump an octave midway. After a
    disagreement with `global_bpm`, or a move into `tempo_range`, the path is held closer,
    within `held_band`, so that it cannot slide back on to the tempo just turned down: at
    1.4 it went from the right 96 BPM to a 4:3 cross-rhythm at 129 (blupi-008), and at 130
    BPM back to the 4:3 of the dotted eighths (nexuiz-neuronal_diving).

    A song whose tempo changes for good (a medley, a slow section, a song that speeds up
    by a third) is split where the first pass's tempo steps (`tempo_sections`) when
    `section_bpm` gives the second opinion for a stretch of hops ``(start, end)``; each
    section then gets its own level and band, as a song of its own would.
    """
    low, high = tempo_range
    frames = dbn_beats(activation, fps=fps, min_bpm=min(low, TEMPO_RANGE[0]),
                       max_bpm=max(high, TEMPO_RANGE[1]))
    n = len(activation)
    sections = [(0, n)] if section_bpm is None else tempo_sections(frames, n, fps=fps)
    if section_bpm is None or len(sections) == 1 or not _all_heard(
            sections, frames, activation, fps=fps, section_bpm=section_bpm,
            tolerance=tolerance):
        return _tapped(activation, frames, fps=fps, global_bpm=global_bpm,
                       tempo_range=tempo_range, tolerance=tolerance, band=band,
                       held_band=held_band, downbeat=downbeat)
    reach = int(round(SECTION_CONTEXT_S * fps))
    grid = np.zeros(0, dtype=np.int64)
    for start, end in sections:
        # tracked from a little before its start, so that its path is settled by then
        first = max(0, start - reach)
        own = frames[(frames >= start) & (frames < end)] - first
        piece = first + _tapped(activation[first:end], own, fps=fps,
                                global_bpm=section_bpm(start, end), tempo_range=tempo_range,
                                tolerance=tolerance, band=band, held_band=held_band)
        piece = piece[piece >= start]
        if len(grid) > 1 and len(piece) > 1:
            # across the seam no two beats closer than 60 % of either side's beat
            close = 0.6 * min(grid[-1] - grid[-2], piece[1] - piece[0])
            piece = piece[piece - grid[-1] >= close]
        grid = np.concatenate([grid, piece])
    return grid


def tempo_sections(frames: np.ndarray, n: int, *, fps: float,
                   shortest_s: float = SECTION_S, step: float = SECTION_STEP,
                   window: int = 16) -> list[tuple[int, int]]:
    """The stretches ``(start, end)`` of hops, in order and covering ``0 .. n``, over
    which the beat `frames` keep a tempo of their own.

    A stretch is split at the beat where the median tempo of the `window` intervals after
    it differs from that of the `window` before by more than `step` octaves from a whole
    number of octaves, and the medians of the `shortest_s` after and before it differ as
    much; both sides last `shortest_s` or more. A jump of exactly an octave is the same
    pulse at another level, not a new tempo, and a ramp never steps that far within
    `window` beats. The split is then moved to the beat where the step is, and neighbours
    that this leaves at one tempo after all are joined again.
    """
    frames = np.asarray(frames, dtype=np.int64)
    if len(frames) < 2 * window + 1:
        return [(0, n)]
    octaves = np.log2(60.0 * fps / np.maximum(np.diff(frames), 1))
    shortest = shortest_s * fps

    # the intervals of the `shortest_s` before and after each beat
    held_from = np.searchsorted(frames, frames - shortest)
    held_to = np.searchsorted(frames, frames + shortest, side="right") - 1

    def split(lo: int, hi: int) -> list[int]:
        """Indices of the intervals that start new sections within intervals lo .. hi-1."""
        best, where = step, -1
        for k in range(lo + window, hi - window + 1):
            if frames[k] - frames[lo] < shortest or frames[hi] - frames[k] < shortest:
                continue
            jump = float(_off_octave(np.median(octaves[k:k + window])
                                    - np.median(octaves[k - window:k])))
            if jump > best and _off_octave(
                    np.median(octaves[k:min(hi, held_to[k])])
                    - np.median(octaves[max(lo, held_from[k]):k])) > step:
                best, where = jump, k
        if where < 0:
            return []
        # the medians step anywhere over a window's width: the section starts at the
        # interval that leaves each side closest to its own tempo (an octave counting alike)
        before = float(np.median(octaves[where - window:where]))
        after = float(np.median(octaves[where:where + window]))
        candidates = np.arange(where - window // 2, where + window // 2 + 1)
        cost = [_off_octave(octaves[k - window // 2:k] - before).sum()
                + _off_octave(octaves[k:k + window // 2] - after).sum() for k in candidates]
        where = int(candidates[int(np.argmin(cost))])
        return split(lo, where) + [where] + split(where, hi)

    starts = split(0, len(octaves))
    bounds = [0, *starts, len(octaves)]
    k = 1
    while k < len(bounds) - 1:
        before = np.median(octaves[bounds[k - 1]:bounds[k]])
        after = np.median(octaves[bounds[k]:bounds[k + 1]])
        if _off_octave(after - before) > step:
            k += 1
        else:
            del bounds[k]
    edges = [0] + [int(frames[bound]) for bound in bounds[1:-1]] + [n]
    return list(zip(edges[:-1], edges[1:], strict=True))


def tempo_changes(beats_s: np.ndarray, duration_s: float) -> list[tuple[float, float, float]]:
    """The stretches of a beat grid at a tempo of their own (`tempo_sections` over its beats):
    ``(start s, end s, BPM)`` in order, one for a steady song; a stretch with fewer than two
    beats is left out."""
    beats_ms = np.round(np.asarray(beats_s, dtype=np.float64) * 1000).astype(np.int64)
    changes = []
    for start, end in tempo_sections(beats_ms, int(round(duration_s * 1000)), fps=1000.0):
        inside = beats_ms[(beats_ms >= start) & (beats_ms < end)]
        if len(inside) > 1:
            changes.append((start / 1000, end / 1000, 60000 / float(np.median(np.diff(inside)))))
    return changes


def half_beats(beats_s: np.ndarray, frames: np.ndarray, activation: np.ndarray,
               parts: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Every other beat of each of the song's `parts` (`tempo_changes`): those that the
    `activation` (shape (F,), one value a hop) hears more at their hops `frames` (shape
    (B,)), as a subset of `beats_s`.

    They are the half-speed beat that many listeners tap in a fast song, and that trackers
    choose at half the grid's tempo. On the 15 benchmark pieces (60 s each) whose reference
    beats (madmom's, or the score's) run at half audiogan's tempo, the half that the
    network hears more lies on them on 14 (`bench_beats.py` counts them); on the 15th,
    hyperrogue-caribbean, it hears the two halves alike. Beats 1 and 3 of the bars lay on
    them on the 9 grids found in 4/4. One choice for the whole part, from all of it: a 20 s
    stretch can lean the other way (wesnoth-traveling_minstrels)."""
    beats_s = np.asarray(beats_s, dtype=np.float64)
    heard = _peak_near(np.asarray(activation, dtype=np.float64), np.asarray(frames), 2)
    chosen = []
    for start, end, _ in parts:
        part = np.flatnonzero((beats_s >= start) & (beats_s < end))
        even, odd = part[0::2], part[1::2]
        louder = even if len(odd) == 0 or heard[even].mean() >= heard[odd].mean() else odd
        chosen.append(beats_s[louder])
    return np.concatenate(chosen) if chosen else np.zeros(0)


def _off_octave(octaves: np.ndarray | float) -> np.ndarray:
    """How far (octaves) from a whole number of octaves: 0 for the same pulse at any level."""
    return np.abs(octaves - np.round(octaves))


def _all_heard(sections: list[tuple[int, int]], frames: np.ndarray, activation: np.ndarray,
               *, fps: float, section_bpm: Callable[[int, int], float], tolerance: float,
               step: float = SECTION_STEP) -> bool:
    """Whether every change of tempo between `sections` is heard for sure:

    - the first pass's tempo steps by more than `step` octaves (other than whole octaves);
    - on both sides its beats are clearly heard (the learned activation at them
      `LEARNED_SURE` or more, at the median). In a pulseless stretch (an orchestral intro,
      ambient) the first pass wanders: 0.03-0.26 there on the benchmark and in whole
      orchestral pieces;
    - and the step is no 3:2 or 4:3 (at any octave) unless the tempogram steps too: a
      first pass that moves from a cross-rhythm to the beat over the same music is no new
      tempo (hyperrogue-caribbean, split there, lost the beat for half a minute).

    One doubtful step and the song is not split at all: the first pass is wandering, and
    a section chosen for alone then lost the song's level (wesnoth-the_dangerous_symphony,
    AMLt 0.90 -> 0.52), or a section that joined two mixed the tempi of both.
    """
    def tempi(section: tuple[int, int]) -> tuple[float, float, float]:
        start, end = section
        inside = frames[(frames >= start) & (frames < end)]
        heard = float(np.median(_peak_near(activation, inside, 2))) if len(inside) else 0.0
        return _median_bpm(inside, fps), heard, section_bpm(start, end)

    measured = [tempi(section) for section in sections]
    for (before, heard_before, tempogram_before), (after, heard_after, tempogram_after) in \
            zip(measured[:-1], measured[1:], strict=True):
        if min(before, after, tempogram_before, tempogram_after) <= 0:
            return False
        change = float(_off_octave(np.log2(after / before)))
        cross = abs(change - CROSS_RHYTHM) < tolerance
        moved = _off_octave(np.log2(tempogram_after / tempogram_before)) > step
        if (change <= step or min(heard_before, heard_after) < LEARNED_SURE
                or (cross and not moved)):
            return False
    return True


def _tapped(activation: np.ndarray, frames: np.ndarray, *, fps: float, global_bpm: float,
            tempo_range: tuple[float, float], tolerance: float, band: float,
            held_band: float, downbeat: np.ndarray | None = None) -> np.ndarray:
    """`tapped_beats` over one stretch of a steady tempo, given the first pass's `frames`."""
    low, high = tempo_range
    tempo = _median_bpm(frames, fps)
    if tempo <= 0:
        return frames
    # how the network hears a fast first pass: each beat a beat, or every other one an eighth
    beats_alike = eighths = False
    hearing = (_hearing(frames, activation, downbeat)
               if downbeat is not None and tempo >= FAST_BPM else None)
    if hearing is not None:
        alternation, half_bar = hearing
        beats_alike = alternation < ALTERNATION and half_bar > HALF_BAR
        eighths = (alternation > ALTERNATION and half_bar < EIGHT_BAR) or half_bar < LONE_BAR
    if global_bpm > 0 and np.min(np.abs(np.log2(tempo / global_bpm) - _OVERRULED)) < tolerance:
        octave = abs(abs(np.log2(tempo / global_bpm)) - 1.0) < tolerance
        kept = beats_alike and octave and tempo > global_bpm
        if not kept and (octave or abs(np.log2(global_bpm / 120.0))
                         < abs(np.log2(tempo / 120.0))):
            tempo = global_bpm
        band = min(band, held_band)
    elif eighths:
        tempo /= 2.0
        band = min(band, held_band)
    if not low <= tempo <= high:
        band = min(band, held_band)
    tempo /= range_ratio(tempo, tempo_range)
    lower, upper = max(low, tempo / band), min(high, tempo * band)
    if lower >= upper:  # no level of the pulse fits a range narrower than an octave
        lower, upper = low, high
    frames = dbn_beats(activation, fps=fps, min_bpm=lower, max_bpm=upper)
    return _unswing(frames, activation)


def _grouping(frames: np.ndarray, onset: np.ndarray) -> tuple[float, float]:
    """How the `onset` envelope at the beat `frames` and halfway between them repeats: the
    share of its variation there that each half beat's place in a pair explains, and that
    its place in a group of three does (the variance of the means over each place, over the
    variance of all)."""
    halves = np.sort(np.concatenate([frames, (frames[:-1] + frames[1:]) // 2]))
    accents = _peak_near(onset, halves, 1)
    total = float(accents.var())
    if total <= 0:
        return 0.0, 0.0
    pairs, threes = (float(accents[:len(accents) // size * size].reshape(-1, size)
                           .mean(axis=0).var()) / total for size in (2, 3))
    return pairs, threes


def _in_threes(frames: np.ndarray, activation: np.ndarray, onset: np.ndarray, *,
               fps: float, tempo_range: tuple[float, float], least: float = THREES,
               over_pairs: float = 1.5, band: float = 1.2) -> np.ndarray:
    """The grid tracked again at two thirds of its tempo where its half beats go in threes.

    In a shuffle or a 6/8 the notes between the beats come in threes (triplet eighths,
    the eighths of a dotted beat), and the DBN can take every second one of them for the
    beat: a 3:2 cross-rhythm at 1.5 times the tempo, which the tempogram cannot mend (it
    picks the same 3:2 or sits halfway). The half beats of such a grid are the notes
    themselves, and their onsets repeat in threes, the beat's accent on one of each three
    (`_grouping`). Where the place in a three explains `least` of the onsets' variation
    or more, and `over_pairs` times what the place in a pair does, the activation is
    tracked again within a factor `band` of two thirds of the tempo (inside `tempo_range`),
    and its beats put on whichever third of the beat the activation is highest at.
    On the benchmark: simutrans' simu-03, a shuffle written at 80 (tapped at 120), and
    msx-moo at 120 (178): F 0.40 -> 1.00 and 0.99; three 6/8 pieces to the tempo of their
    dotted beat (one of them a third of a beat early).
    Not where the tempo changes (`tempo_sections`), nor at 16 beats or fewer.
    """
    if len(frames) <= 16 or len(tempo_sections(frames, len(activation), fps=fps)) > 1:
        return frames
    pairs, threes = _grouping(frames, onset)
    tempo = _median_bpm(frames, fps) * 2.0 / 3.0
    low, high = tempo_range
    if threes < least or threes < over_pairs * pairs or not low <= tempo <= high:
        return frames
    frames = _unswing(dbn_beats(activation, fps=fps, min_bpm=max(low, tempo / band),
                                max_bpm=min(high, tempo * band)), activation)
    if len(frames) < 2:
        return frames
    # on the third of each beat that the network hears most: where it hears the three
    # notes of a beat nearly alike, the path may settle on any of them
    heard = int(np.argmax([_peak_near(activation, _later(frames, k / 3, len(activation)),
                                      2)[:-1].mean() for k in range(3)]))
    return _later(frames, heard / 3, len(activation)) if heard else frames


def _later(frames: np.ndarray, share: float, n: int) -> np.ndarray:
    """Every beat moved `share` of its beat later (the last by the beat before it), kept
    within the `n` hops."""
    gaps = np.diff(frames).astype(np.float64)
    moved = np.round(frames + share * np.append(gaps, gaps[-1])).astype(np.int64)
    return np.minimum(moved, n - 1)


def _hearing(frames: np.ndarray, activation: np.ndarray,
             downbeat: np.ndarray) -> tuple[float, float] | None:
    """How the network hears the first pass's beats: how much more clearly it hears every
    other one (the activation at the beats, the clearer half over the other), and how
    strong its bar line four beats after the strongest is (the downbeat activation folded
    over eight beats). None for fewer than 16 beats."""
    if len(frames) < 16:
        return None
    heard = _peak_near(np.asarray(activation, dtype=np.float64), frames, 2)
    even, odd = float(heard[0::2].mean()), float(heard[1::2].mean())
    alternation = max(even, odd) / max(min(even, odd), 1e-9)
    bar = _peak_near(np.asarray(downbeat, dtype=np.float64), frames, 2)
    folded = bar[:len(bar) // 8 * 8].reshape(-1, 8).mean(axis=0)
    strongest = int(np.argmax(folded))
    half_bar = float(folded[(strongest + 4) % 8]) / max(float(folded[strongest]), 1e-9)
    return alternation, half_bar


def _phase_steps(frames: np.ndarray, *, span: int = 4, window: int = 8,
                 tolerance: float = 0.08) -> list[int]:
    """Indices of the beats after which the grid gains or loses half a beat at a steady
    tempo: the `span` intervals from there add up to ``span +- 0.5`` (within `tolerance`)
    of the median interval of the `window` on either side, and the tempo before and after
    is the same (within 5 %)."""
    gaps = np.diff(frames).astype(np.float64)
    steps, k = [], window
    while k < len(gaps) - window - span:
        before = float(np.median(gaps[k - window:k]))
        after = float(np.median(gaps[k + span:k + span + window]))
        local = float(np.median(np.concatenate([gaps[k - window:k],
                                                gaps[k + span:k + span + window]])))
        gained = gaps[k:k + span].sum() / local - span
        if abs(abs(gained) - 0.5) < tolerance and abs(np.log(before / after)) < 0.05:
            steps.append(k)
            k += span
        else:
            k += 1
    return steps


def _one_phase(frames: np.ndarray, activation: np.ndarray, *, clear: float = 0.5,
               margin: float = 0.5, floor: float = 0.01,
               span: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The grid on one phase throughout, where it steps half a beat at a steady tempo
    (`_phase_steps`) but the network hears one side of the step far more clearly.

    The DBN takes such a step where a stretch's accents fall between the beats: a
    syncopated riff before the drums come in, an off-beat guitar over a bridge. There the
    network fires on the off-beats almost as much as on the beats elsewhere, yet it marks
    them less clearly: on fof-war_of_freedom's wrong stretch 0.62-0.69 at the grid's beats
    against 0.06-0.15 halfway between them, where right 0.57-0.67 against 0.00-0.02. So
    each phase is scored by how clearly the activation marks its beats: the mean over them
    of the log of the activation there over that halfway to the next beat (``+ floor``
    each). The stretches on the phase that scores less move half a beat when the other
    scores `clear` or more, and `margin` more than they. A bar of 7/8 in a 4/4 song steps
    the beat for real, and the network marks both sides alike (4.47 and 4.41 on a test
    song); a pulseless stretch marks neither.

    Returns the beats and which of them were moved, shape (B,) each.
    """
    unmoved = frames, np.zeros(len(frames), dtype=bool)
    steps = _phase_steps(frames, span=span)
    if not steps:
        return unmoved
    # the settled stretches between the steps; the beats within a step are its way across
    starts, ends = [0, *(k + span for k in steps)], [*(k + 1 for k in steps), len(frames)]
    stretches = [frames[start:end] for start, end in zip(starts, ends, strict=True)]
    score, beats = np.zeros(2), np.zeros(2)
    for number, own in enumerate(stretches):
        if len(own) < 3:
            continue
        on = _peak_near(activation, own[:-1], 2).mean()
        between = _peak_near(activation, (own[:-1] + own[1:]) // 2, 2).mean()
        score[number % 2] += (len(own) - 1) * np.log((on + floor) / (between + floor))
        beats[number % 2] += len(own) - 1
    if not beats.all():
        return unmoved
    clarity = score / beats
    kept = int(np.argmax(clarity))
    if clarity[kept] < clear or clarity[kept] - clarity[1 - kept] < margin:
        return unmoved
    typical = float(np.median(np.diff(frames)))
    grid: list[np.ndarray] = []
    moved: list[np.ndarray] = []
    for number, own in enumerate(stretches):
        if number % 2 != kept:  # halfway between its beats, and half a beat out at either end
            own = np.concatenate([[own[0] - typical / 2], (own[:-1] + own[1:]) / 2,
                                  [own[-1] + typical / 2]])
        if grid:  # across the step, beats evenly spaced at the tempo around it
            last = grid[-1][-1]
            count = max(1, int(round((own[0] - last) / typical)))
            grid.append(last + (own[0] - last) * np.arange(1, count) / count)
            moved.append(np.zeros(count - 1, dtype=bool))
        grid.append(np.asarray(own, dtype=np.float64))
        moved.append(np.full(len(own), number % 2 != kept))
    beat, was_moved = np.round(np.concatenate(grid)).astype(np.int64), np.concatenate(moved)
    inside = (beat >= 0) & (beat < len(activation))
    beat, was_moved = beat[inside], was_moved[inside]
    # no two beats closer than 60 % of a beat where a step left them so
    apart = np.concatenate([[True], np.diff(beat) > 0.6 * typical])
    return beat[apart], was_moved[apart]


def _settled_intro(frames: np.ndarray, confidence: np.ndarray, activation: np.ndarray, *,
                   fps: float, settled: int = 16, band: float = 1.03,
                   spread: float = 0.05) -> tuple[np.ndarray, int]:
    """The beats of a doubtful intro, tracked again at the tempo the song settles into.

    At the start of a song the DBN has the least to go by: a sparse riff or a pad before the
    drums come in, and its path wanders there, a beat early here and late there (msx-
    keep_on_rolling's first 7 s at 0.50-0.76 s a beat for 0.58; wesnoth-northerners,
    warzone-track21). When the grid's first beat is doubtful (its `confidence`, a mean over
    nine beats, under `LOW_CONFIDENCE`) and it later holds `settled` sure beats in a row
    that are evenly spaced (their intervals' spread under `spread` of their mean), the
    activation up to the end of that stretch is tracked again by a DBN held within a factor
    `band` of its tempo, and its beats before the stretch replace the grid's. The path then
    keeps the settled tempo and phase through the intro wherever the activation does not
    clearly say otherwise. Not done in the middle or at the end of a song: a doubtful
    stretch there is more often the music changing (a breakdown, a rubato close), and re-
    tracked so it lost more than it gained on the benchmark.

    Returns the intro's new beats and the index of the first of `frames` kept after them;
    ``(empty, 0)`` when the intro stays as it is.
    """
    unchanged = np.zeros(0, dtype=np.int64), 0
    if len(frames) < settled + 4 or confidence[0] >= LOW_CONFIDENCE:
        return unchanged
    sure = np.asarray(confidence) >= LOW_CONFIDENCE
    for start in range(1, len(frames) - settled):
        stretch = frames[start:start + settled + 1].astype(np.float64)
        gaps = np.diff(stretch)
        if sure[start:start + settled].all() and np.std(gaps) < spread * np.mean(gaps):
            break
    else:
        return unchanged
    # the stretch's beats as a straight line: its first beats may still be settling in
    period, first = np.polyfit(np.arange(settled + 1), stretch, 1)
    held = dbn_beats(activation[:int(stretch[-1]) + 1], fps=fps,
                     min_bpm=60.0 * fps / (period * band), max_bpm=60.0 * fps * band / period)
    intro = held[(held < first - period / 2) & (held >= frames[0] - period / 2)]
    return intro.astype(np.int64), start


def _unswing(frames: np.ndarray, activation: np.ndarray, ratio: float = 2.5) -> np.ndarray:
    """The grid moved onto the beat where it sits on the swung off-beat.

    In a shuffle each beat is a long-short pair, the off-beat two thirds of the way
    through, and a loud off-beat (a backbeat hi-hat, a piano's "and") can hold the grid.
    On the beat, the onsets between beats gather at 2/3; on the off-beat, at 1/3 (the next
    beat). When the onsets a third of the way on are `ratio` times those two thirds on, at
    least a quarter as strong as the grid's own, and stronger than those half way (straight
    eighths: there the grid is on the beat, and a faint sixteenth a third on moved
    simutrans' simu-46 off it), every beat moves a third of a beat later.
    """
    if len(frames) < 8:
        return frames
    gaps = np.diff(frames).astype(np.float64)
    starts = frames[:-1]
    # the activation k thirds of the way through each beat (1.5: half way)
    at = {k: float(_peak_near(activation, np.round(starts + k * gaps / 3).astype(np.int64),
                              1).mean()) for k in (0, 1, 1.5, 2)}
    if at[1] > ratio * at[2] and at[1] > 0.25 * at[0] and at[1] > at[1.5]:
        return _later(frames, 1 / 3, len(activation))
    return frames


def beat_support(frames: np.ndarray, others: Sequence[np.ndarray], *, fps: float,
                 window_s: float = 0.07, spread: int = 4) -> np.ndarray:
    """Per beat, the share of the `others` (beat frames of other trackers) with a beat
    within `window_s` of it, averaged over `spread` beats either side; shape (B,).

    A tracker running at half the grid's tempo supports every other beat fully: its
    in-between points count as its beats, so a metrical-level choice alone does not make
    a grid look doubtful.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if len(frames) == 0 or not others:
        return np.zeros(len(frames))
    tempo = _median_bpm(frames, fps)
    reach = window_s * fps
    hits = np.zeros(len(frames))
    for other in others:
        other = np.sort(np.asarray(other, dtype=np.float64))
        if len(other) == 0:
            continue
        if len(other) > 1 and tempo > 0 and abs(np.log2(_median_bpm(other, fps) / tempo)
                                                + 1) < 0.1:
            other = np.sort(np.concatenate([other, (other[:-1] + other[1:]) / 2]))
        index = np.clip(np.searchsorted(other, frames), 1, max(1, len(other) - 1))
        nearest = np.minimum(np.abs(other[index - 1] - frames),
                             np.abs(other[np.minimum(index, len(other) - 1)] - frames))
        hits += nearest <= reach
    support = hits / len(others)
    width = 2 * spread + 1
    return _moving_average(support, min(width, len(support)))


def pulse_clarity(frames: np.ndarray, activation: np.ndarray, *, fps: float,
                  window_s: float = 12.0, multiples: int = 4) -> np.ndarray:
    """Per beat, how clearly the activation around it repeats at the grid's period,
    shape (B,), about in [0, 1].

    Over windows of `window_s` (half overlapping), the activation's autocorrelation
    (normalised to 1 at lag 0) is read at 1 .. `multiples` times the window's median beat
    interval (its best value within 4 % of each) and averaged: a steady pulse keeps
    repeating, so all of them are high; onsets with no pulse (random hits, rubato, a
    drifting ambient piece) give a grid that agreeing trackers can still share, but
    hardly any repetition. Each beat takes the value of the windows around it.
    """
    frames = np.asarray(frames, dtype=np.int64)
    activation = np.asarray(activation, dtype=np.float64)
    clarity = np.zeros(len(frames))
    if len(frames) < 3 or len(activation) == 0:
        return clarity
    width = min(len(activation), max(8, int(round(window_s * fps))))
    starts = list(range(0, len(activation) - width + 1, max(1, width // 2)))
    if starts[-1] + width < len(activation):
        starts.append(len(activation) - width)
    centres, values = [], []
    for start in starts:
        inside = frames[(frames >= start) & (frames < start + width)]
        if len(inside) < 3:
            continue
        period = float(np.median(np.diff(inside)))
        piece = activation[start:start + width] - activation[start:start + width].mean()
        spectrum = np.fft.rfft(piece, 2 * width)
        correlation = np.fft.irfft(np.abs(spectrum) ** 2)[:width]
        if correlation[0] <= 0:
            value = 0.0
        else:
            reads = [correlation[int(k * period * 0.96):int(np.ceil(k * period * 1.04)) + 1]
                     for k in range(1, multiples + 1) if k * period * 0.96 < width - 1]
            value = float(np.mean([r.max() for r in reads])) / correlation[0] if reads else 0.0
        centres.append(start + width / 2)
        values.append(max(0.0, value))
    if not values:
        return clarity
    return np.interp(frames, centres, values)


def find_downbeats(beats_s: np.ndarray, accent: np.ndarray, change: np.ndarray,
                   meters: tuple[int, ...] = (4, 3),
                   heard: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Bar starts among the beats, and the meter.

    `accent` and `change` hold, per beat, the bass-drum onset strength at it and the harmonic
    change into it; `heard`, if given, a learned downbeat activation at it. Each meter and
    phase is scored by how much higher these sit on its bar lines than between them (in
    units of their spread); the best pair wins.
    """
    n = len(beats_s)
    if n < 2 * min(meters):
        return beats_s[:1].copy(), meters[0] if n else 0

    def standard(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        spread = values.std()
        return (values - values.mean()) / spread if spread > 1e-12 else np.zeros_like(values)

    evidence = standard(accent) + 1.5 * standard(change)
    if heard is not None:
        evidence = evidence + DOWNBEAT_WEIGHT * standard(heard)
    best = (-np.inf, meters[0], 0)
    for meter in meters:
        if n < 2 * meter:
            continue
        for phase in range(meter):
            on = (np.arange(n) - phase) % meter == 0
            # the other beats of the bar are averaged per position, so that a strong
            # beat 3 in 4/4 does not count as much as all beats of a 3/4 bar
            others = [evidence[(np.arange(n) - phase) % meter == k].mean()
                      for k in range(1, meter)]
            contrast = evidence[on].mean() - max(others)
            if contrast > best[0]:
                best = (contrast, meter, phase)
    _, meter, phase = best
    return beats_s[phase::meter].copy(), meter


def tempo_at(beats_s: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Tempo (BPM) at `times` from the beat intervals, smoothed over 4 beats; 0 if < 2 beats."""
    times = np.asarray(times, dtype=np.float64)
    if len(beats_s) < 2:
        return np.zeros_like(times)
    intervals = np.diff(beats_s)
    smooth = _moving_average(intervals, min(4, len(intervals)))
    middles = (beats_s[:-1] + beats_s[1:]) / 2
    return 60.0 / np.interp(times, middles, smooth)


def grid_from_bpm(bpm: float, offset_s: float, duration_s: float,
                  meter: int = 4) -> BeatGrid:
    """A strict grid: a beat every ``60 / bpm`` s from `offset_s`, a bar every `meter` beats."""
    period = 60.0 / bpm
    first = offset_s % period
    beats = np.arange(first, duration_s, period)
    # beat 0 of the bar is the one at `offset_s` (and every meter-th beat either side)
    k0 = int(round((offset_s - first) / period))
    downbeats = beats[(np.arange(len(beats)) - k0) % meter == 0]
    return BeatGrid(beats_s=beats, downbeats_s=downbeats, meter=meter, tempo_bpm=float(bpm))


def _peak_near(values: np.ndarray, frames: np.ndarray, radius: int) -> np.ndarray:
    n = len(values)
    if n == 0:
        return np.zeros(len(frames))
    offsets = np.arange(-radius, radius + 1)
    index = np.clip(frames[:, None] + offsets[None, :], 0, n - 1)
    return values[index].max(axis=1)


def _trim_ends(frames: np.ndarray, envelope: np.ndarray, ratio: float = 0.2, *,
               heard: np.ndarray | None = None, level: np.ndarray | None = None,
               edge: int = 0) -> slice:
    """The beats of the grid to keep: those at either end that no onset supports (a fading
    tail, the lead-in before the first note) are dropped; weak beats inside the song stay.

    The envelope is locally normalised, so the beats of a quiet intro are not weak here.
    On the first `edge` hops the onset flux cannot be measured (its window fills from the
    padding); a beat there stands if the song already sounds there (its `level`, the RMS,
    at least a tenth of its median at the grid's beats) and the learned activation `heard`
    is at least `EDGE_HEARD`: a song that starts on a beat. The network fires on the first
    hops of a silent lead-in too (0.32 before a click track's first click), so it is not
    asked alone; and at the end, where it expects the next beat of a steady grid after the
    music stops, the onsets alone decide.
    """
    if len(frames) < 4:
        return slice(None)
    support = _peak_near(envelope, frames, 2)
    threshold = ratio * float(np.median(support))
    supported = support >= threshold
    if heard is not None and level is not None and edge > 0:
        sounding = _peak_near(level, frames, 2)
        supported |= ((frames < edge) & (_peak_near(heard, frames, 2) >= EDGE_HEARD)
                      & (sounding >= 0.1 * float(np.median(sounding))))
    strong = np.flatnonzero(supported)
    if len(strong) == 0:
        return slice(0, 0)
    return slice(strong[0], strong[-1] + 1)


def _beat_chroma_change(chroma: np.ndarray, chroma_fps: float,
                        beats_s: np.ndarray) -> np.ndarray:
    """Per beat, the cosine distance between the mean chroma of the beat and of the one
    before it (0 for the first): chords change on bar lines."""
    if len(chroma) == 0 or len(beats_s) == 0:
        return np.zeros(len(beats_s))
    chroma = np.asarray(chroma, dtype=np.float64)
    edges = np.round(np.append(beats_s, beats_s[-1] + np.median(np.diff(beats_s))
                               if len(beats_s) > 1 else beats_s[-1] + 0.5) * chroma_fps)
    edges = np.clip(edges.astype(np.int64), 0, len(chroma))
    cumulative = np.concatenate([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    means = cumulative[edges[1:]] - cumulative[edges[:-1]]
    unit = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    change = np.zeros(len(beats_s))
    change[1:] = 1.0 - (unit[1:] * unit[:-1]).sum(axis=1)
    return change


def _earlier(values: np.ndarray, hops: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.concatenate([values[hops:], np.zeros(min(hops, len(values)))]) if hops else values


def track_grid(envelopes: Sequence[np.ndarray], onset_low: np.ndarray, chroma: np.ndarray,
               rms: np.ndarray, *, fps: float, chroma_fps: float, global_bpm: float,
               delay_s: float = 0.0,
               tempo_range: tuple[float, float] = TEMPO_RANGE,
               learned: np.ndarray | None = None,
               learned_downbeat: np.ndarray | None = None,
               edge_hops: int = 0,
               section_bpm: Callable[[int, int], float] | None = None) -> BeatGrid:
    """The beat grid of a song from its hop-rate onset `envelopes` (each shape (F,), rate
    `fps`; the first is the all-band flux), with a confidence per beat.

    `onset_low` (shape (F,)) marks the bass drum, `chroma` (shape (F2, 12), rate
    `chroma_fps`) the chord changes, both for the bar lines; `rms` the level of each hop;
    `delay_s` is subtracted from every time (the onset envelope's own lag).
    `learned` (shape (F,), no lag), a beat activation such as `audiogan.beatnet`'s, is
    what the grid follows when given; the onset envelopes are then the second opinions of
    the confidence only. On the first `edge_hops` hops, where the envelopes could not be
    measured, its word keeps a beat where the song already sounds (`_trim_ends`).
    `section_bpm` is the second opinion on the tempo of a stretch of hops, for a song
    whose tempo changes (`tapped_beats`).
    """
    empty = BeatGrid(np.zeros(0), np.zeros(0), 0, 0.0, confidence=0.0)
    onset = np.asarray(envelopes[0], dtype=np.float64)
    if len(onset) < 8 or not np.any(onset > 0) or global_bpm <= 0:
        return empty
    if learned is not None:
        # the envelopes moved back by their lag, on to the learned activation's hops
        lag = int(round(delay_s * fps))
        envelopes = [_earlier(envelope, lag) for envelope in envelopes]
        onset_low, delay_s = _earlier(onset_low, lag), 0.0
    onsets = beat_activation(envelopes, fps=fps)
    activation = onsets if learned is None else np.asarray(learned, dtype=np.float64)
    frames = _in_threes(tapped_beats(activation, fps=fps, global_bpm=global_bpm,
                                     tempo_range=tempo_range, section_bpm=section_bpm,
                                     downbeat=learned_downbeat),
                        activation, np.asarray(envelopes[0], dtype=np.float64), fps=fps,
                        tempo_range=tempo_range)
    frames, moved = _one_phase(frames, activation)
    # a beat moved on to the phase of the rest of the song (`_one_phase`) is judged where its
    # stretch's pulse is heard, half a beat earlier: it is as sure as that pulse
    half = np.round(np.gradient(frames) / 2).astype(np.int64) if len(frames) > 1 else 0
    judged = np.where(moved, frames - half, frames)
    # the ends are trimmed where no onset supports a beat (a fading tail, a lead-in)
    kept = _trim_ends(judged, onsets, heard=None if learned is None else activation,
                      level=np.asarray(rms, dtype=np.float64), edge=edge_hops)
    frames, judged = frames[kept], judged[kept]
    # silence keeps no beats: the level around each beat against the song's loud parts
    level = np.sqrt(_moving_average(np.asarray(rms, dtype=np.float64) ** 2, round(fps)))
    loud = float(np.percentile(level, 95)) if len(level) else 0.0
    if loud <= 0:
        return empty
    audible = level[np.clip(frames, 0, len(level) - 1)] > max(loud * 10 ** (-40 / 20), 1e-4)
    frames, judged = frames[audible], judged[audible]
    if len(frames) == 0:
        return empty
    # (at half the hop rate these second opinions would cost a quarter, but their coarser
    # tempo steps disagree with a right grid: the_hobo 0.86 -> 0.30)
    # each judged on the beat or the swung off-beat by the same activation as the grid
    others = [_unswing(dbn_beats(beat_activation([envelope], fps=fps), fps=fps,
                                 min_bpm=tempo_range[0], max_bpm=tempo_range[1]), activation)
              for envelope in envelopes]

    def sureness(frames: np.ndarray, judged: np.ndarray) -> np.ndarray:
        support = beat_support(judged, others, fps=fps)
        if learned is not None:
            # the network's own word, as much as the four onset trackers': how sure it is
            # of a beat at each beat of the grid
            heard = np.clip(_peak_near(activation, judged, 2) / LEARNED_SURE, 0.0, 1.0)
            support = (support + _moving_average(heard, min(9, len(heard)))) / 2
        return support * np.clip(pulse_clarity(frames, onsets, fps=fps) / CLEAR_PULSE,
                                 0.0, 1.0)

    support = sureness(frames, judged)
    intro, kept_from = _settled_intro(frames, support, activation, fps=fps)
    if kept_from:
        # a doubtful intro tracked again at the tempo that the song settles into
        frames = np.concatenate([intro, frames[kept_from:]])
        judged = np.concatenate([intro, judged[kept_from:]])
        support = sureness(frames, judged)
    beats_s = np.maximum(frames / fps - delay_s, 0.0)
    accent = _peak_near(np.asarray(onset_low, dtype=np.float64), frames, 2)
    change = _beat_chroma_change(chroma, chroma_fps, beats_s + delay_s)
    bar_start = None if learned_downbeat is None else _peak_near(
        np.asarray(learned_downbeat, dtype=np.float64), frames, 2)
    # each part of a song whose tempo changes has bars of its own (a medley's songs neither
    # share a meter nor the phase of their bar lines); the song's meter is the longest part's
    parts = tempo_changes(beats_s, len(onset) / fps)
    bars, meters = [], []
    for start, end, _ in parts or [(0.0, np.inf, 0.0)]:
        part = (beats_s >= start) & (beats_s < end)
        downbeats, meter = find_downbeats(beats_s[part], accent[part], change[part],
                                          heard=None if bar_start is None else bar_start[part])
        bars.append(downbeats)
        meters.append((int(part.sum()), meter))
    downbeats_s, meter = np.concatenate(bars), max(meters)[1]
    tempo = float(np.median(60.0 / np.diff(beats_s))) if len(beats_s) > 1 else 0.0
    return BeatGrid(beats_s=beats_s, downbeats_s=downbeats_s, meter=meter, tempo_bpm=tempo,
                    confidence=float(support.mean()), beat_confidence=support,
                    half_beats_s=half_beats(beats_s, frames, activation, parts))


TempoStates = _TempoStates
"""The DBN's state space, public for the causal tracker (`audiogan.causal`), which runs the
forward pass of the same model."""
