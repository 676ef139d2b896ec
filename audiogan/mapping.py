"""From features to BigGAN inputs: a `Trajectory` of noise z and class weights per frame.

numpy only, deterministic for a given seed. Three things move the picture:

- **pulses**: on every beat z jumps in one of a few fixed directions, reaching its full
  height on the beat frame itself and dying away before the next beat; a loud hit jumps
  further than a soft one;
- **drift**: between beats z wanders slowly along a few circles, faster when the music is
  loud and slower when it is quiet;
- **harmony**: the chosen classes share out the circle of fifths, and each frame mixes them
  by how much of its chroma falls in each share, so the picture changes with the chords.
- **structure**: a new section moves the class mix (the classes trade places) starting on
  its bar line; a drop (a section that starts much louder and busier) does so at once and
  sends z leaping to a new place; fills and silences calm the pulses and the drift.

A **loop** (``map_features(..., loop=True)``) ends where it began: each drift circle turns a
whole number of times over the loop, the class mix returns to its first frame's over the
last bar, and z keeps its base point (a drop does not leap), so the frame after the last is
the first.

**One mapping, two clocks.** The picture of a frame is made by one piece of per-frame
code, `FrameMapper`: the seeded geometry (`Motion`: base point, drift circles, pulse
directions) and the drift phase it carries from frame to frame turn each frame's controls
(drift speed, pulse envelope and index, class mix) into z. It runs over a block of any
length, the whole song or one frame, with the same result. The controls themselves come
from the same small functions on both clocks (`loudness_level`, `drift_speed`,
`pulse_shape`, `chroma_mix`, `silence_calm`, and the one-pole filter `one_pole`):

- the **offline** render (`map_features`) knows the whole song, and refines them with what
  only hindsight gives: the loudness range and the loud level from percentiles over the
  song, each one-pole filter run forward *and then backward* (zero phase, so a swell is not
  late), a pulse that ends where the next beat really is, fills found from the beats after,
  sections and drops;
- the **live** path (`LiveMapper`, for `audiogan live --input`) sees one frame at a time:
  running estimates of the same ranges (decaying peaks), the forward pass of the same
  filters only, a pulse whose span is the predicted beat interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from scipy.signal import lfilter

from audiogan.beats import LOW_CONFIDENCE, tempo_changes
from audiogan.types import Z_DIM, Cue, Features, Trajectory

if TYPE_CHECKING:
    from audiogan.config import MappingConfig

__all__ = ["map_features", "beat_pulses", "drift_phase", "class_weights",
           "truncated_normal", "SectionChange", "section_changes", "calm_factor",
           "Motion", "FrameMapper", "FrameInput", "LiveMapper", "one_pole", "pulse_shape",
           "loudness_level", "drift_speed", "drift_speeds", "silence_calm", "chroma_mix",
           "close_loop", "limit_pulse_rate"]

_GOLDEN = (1 + 5**0.5) / 2
_CHUNK = 4096
"""Frames of z made at once by `map_features`."""


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...],
                     bound: float = 2.0) -> np.ndarray:
    """Standard normal samples redrawn until they fall within [-bound, bound]."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > bound
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > bound
    return values


def _unit_directions(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` orthonormal directions in z space (as many as fit), scaled to RMS 1 per axis."""
    gaussian = rng.standard_normal((Z_DIM, max(count, 1)))
    q, _ = np.linalg.qr(gaussian[:, :Z_DIM])
    directions = q.T
    if count > Z_DIM:  # more than fit: reuse the basis with fresh signs
        extra = gaussian[:, Z_DIM:].T
        directions = np.concatenate([directions,
                                     extra / np.linalg.norm(extra, axis=1, keepdims=True)])
    return directions[:count] * np.sqrt(Z_DIM)


def one_pole(values: np.ndarray, time_constant_frames: float,
             state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The causal one-pole filter ``y[i] = y[i-1] + alpha * (x[i] - y[i-1])`` along axis 0,
    and its state after the last value (pass it back in to go on with the next block).

    Without `state` the filter starts on the first value it meets. Blocks of any size,
    one frame each or the whole song, give the same values.
    """
    out = np.array(values, dtype=np.float64)
    if time_constant_frames <= 0 or len(out) == 0:
        if state is not None:
            return out, state
        return out, out[-1:].copy()
    alpha = 1.0 - np.exp(-1.0 / time_constant_frames)
    b, a = [alpha], [1.0, alpha - 1.0]
    zi = (1 - alpha) * (out[:1] if state is None else state)
    filtered, after = lfilter(b, a, out, axis=0, zi=zi)
    return filtered, after / (1 - alpha)


def _smooth(values: np.ndarray, time_constant_frames: float) -> np.ndarray:
    """Zero-phase exponential smoothing along axis 0: the live path's causal `one_pole`
    forward, then the same filter backward (the offline refinement; no lag).

    (`scipy.signal.lfilter`; equal to a Python loop over the frames within 2e-15, 27-65x
    faster on 10 minutes at 30 fps: 0.2-2.6 ms against 12-71 ms).
    """
    out = np.array(values, dtype=np.float64)
    if time_constant_frames <= 0 or len(out) < 2:
        return out
    forward, _ = one_pole(out, time_constant_frames)
    backward, _ = one_pole(forward[::-1], time_constant_frames)
    return backward[::-1].copy()


def _onset_peaks(onset: np.ndarray, *, fps: float, threshold: float = 0.5,
                 spacing_s: float = 0.2) -> np.ndarray:
    """Frames of the strong onsets, shape (P,): local maxima of `onset` at least `threshold`
    (1.0 = a strong beat of the song) and `spacing_s` apart, the stronger kept first."""
    reach = max(1, int(round(spacing_s * fps)))
    padded = np.pad(onset, reach, mode="constant", constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    peaks = np.flatnonzero((onset >= threshold) & (onset >= windows.max(axis=1)))
    # equal neighbours in a plateau: keep the first
    return peaks[np.r_[True, np.diff(peaks) > reach]] if len(peaks) else peaks


def beat_pulses(features: Features, config: MappingConfig) -> tuple[np.ndarray, np.ndarray]:
    """The pulse envelope of every frame and the pulse each frame belongs to.

    Pulses start on the beats where the beat grid is sure of itself. Where it is not
    (its confidence below `audiogan.beats.LOW_CONFIDENCE`: no clear pulse in the music, or
    a grid the tracker doubts), the grid's pulses fade and the strongest onsets take their
    place, so the picture still moves with what is heard rather than with a guess.

    Returns
    -------
    envelope : ndarray, shape (T,)
        0 before the first pulse; on a pulse's frame its strength, falling to 0 after
        `pulse_decay` of the way to the next pulse as ``(1 - x / decay) ** pulse_curve``.
    beat_index : ndarray, shape (T,), int
        Index of the pulse the frame shows (-1 before the first).
    """
    n = features.n_frames
    envelope = np.zeros(n)
    beat_index = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return envelope, beat_index
    onset = np.asarray(features.onset, dtype=np.float64)
    # how far the grid is trusted at each frame: fully from LOW_CONFIDENCE up
    trust = np.clip(features.frame_confidence / LOW_CONFIDENCE, 0.0, 1.0)
    beats = features.beat_frames
    weight = trust[beats] * _halftime_weight(features, config)
    if (trust < 1.0).any():
        hits = _onset_peaks(onset, fps=features.fps)
        reach = max(1, int(round(0.1 * features.fps)))
        if len(beats):  # an onset on a beat of the grid is that beat's pulse already
            nearest = np.abs(hits[:, None] - beats[None, :]).min(axis=1)
            hits = hits[nearest > reach]
        hits = hits[trust[hits] < 1.0]
        frames = np.concatenate([beats, hits])
        order = np.argsort(frames, kind="stable")
        beats, weight = frames[order], np.concatenate([weight, 1.0 - trust[hits]])[order]
    keep = weight > 0.02
    beats, weight = beats[keep], weight[keep]
    if len(beats) == 0:
        return envelope, beat_index
    # a pulse's strength: the strongest onset within one frame of it, relative to a hard hit
    near = np.stack([onset[np.clip(beats + d, 0, n - 1)] for d in (-1, 0, 1)]).max(axis=0)
    strength = weight * (config.pulse_floor + (1 - config.pulse_floor) * np.clip(near, 0.0, 1.0))
    if config.downbeat_accent > 0 and len(features.downbeats_s):
        strength = np.where(np.isin(beats, features.downbeat_frames),
                            strength * (1 + config.downbeat_accent), strength)
    gaps = np.diff(beats)
    typical_gap = float(np.median(gaps)) if len(gaps) else features.fps * 0.5
    ends = np.append(beats[1:], min(n, beats[-1] + int(round(typical_gap))))
    for b, (start, end) in enumerate(zip(beats, ends, strict=True)):
        envelope[start:end] = pulse_shape(np.arange(end - start), end - start, strength[b],
                                          config)
        beat_index[start:end] = b
    return envelope, beat_index


def _halftime_weight(features: Features, config: MappingConfig) -> np.ndarray:
    """Per beat of the grid: 0.5 on every other beat where the song is at least
    `halftime_bpm` fast (the tempo of the stretch the beat is in, for a song whose tempo
    changes), else 1.

    Listeners tap a fast song at its tempo or at half of it, and a tracker may choose
    either: at 185-199 BPM, where madmom taps 92-100, every beat pulsing alike moved the
    picture nearly as much half a beat off madmom's beats as on them (beat lift 1.96 and
    2.19). Half-strength pulses between them make both levels visible. The full pulses go
    to the half-speed beats (`Features.half_beats_s`): the tracker's choice, in 3 as in 4
    (at these tempi a grid found in 3 was a doubled grid more often than a waltz), or beats
    1 and 3 of the bars of a grid the user gave. Without them every beat pulses alike."""
    beats = features.beat_frames
    weight = np.ones(len(beats))
    if config.halftime_bpm <= 0 or len(features.half_beats_s) == 0:
        return weight
    times = beats / features.fps
    strong = np.isin(beats, np.round(features.half_beats_s * features.fps).astype(np.int64))
    for start, end, bpm in tempo_changes(features.beats_s, features.duration_s):
        if bpm >= config.halftime_bpm:
            weight[(times >= start) & (times < end) & ~strong] = 0.5
    return weight


def pulse_shape(since: np.ndarray | float, span: float, strength: float,
                config: MappingConfig) -> np.ndarray:
    """A pulse `since` frames after its beat: `strength` on the beat frame, falling as
    ``(1 - x / decay) ** pulse_curve`` to 0 after `pulse_decay` of the `span` (frames to
    the next beat: the real one offline, the predicted one live)."""
    x = np.asarray(since, dtype=np.float64) / (max(1.0, span) * config.pulse_decay)
    return strength * np.clip(1 - x, 0, 1) ** config.pulse_curve


def loudness_level(loudness_db: np.ndarray | float, low: float, high: float) -> np.ndarray:
    """Loudness in [0, 1] between a quiet `low` and a loud `high` level (dB)."""
    return np.clip((np.asarray(loudness_db, dtype=np.float64) - low) / max(high - low, 1.0),
                   0.0, 1.0)


def drift_speed(level: np.ndarray | float, mean_level: float, calm: np.ndarray | float,
                config: MappingConfig, fps: float) -> np.ndarray:
    """Drift speed in cycles per frame from the smoothed `level` (see `loudness_level`):
    at the `mean_level` it is ``drift_speed`` (cycles a minute) whatever
    ``drift_loudness`` is; `calm` scales it."""
    relative = np.asarray(level, dtype=np.float64) / max(mean_level, 1e-3)
    speed = (1 - config.drift_loudness) + config.drift_loudness * relative
    speed = speed * calm
    return config.drift_speed / 60.0 / fps * speed


def silence_calm(loudness_db: np.ndarray | float, loud_db: float) -> np.ndarray:
    """How silent each frame is, in [0, 1]: 1 from 30 dB below the loud level `loud_db`,
    0 above 20 dB below it."""
    return np.clip((loud_db - 20 - np.asarray(loudness_db, dtype=np.float64)) / 10, 0.0, 1.0)


def chroma_mix(chroma: np.ndarray, n_classes: int, config: MappingConfig) -> np.ndarray:
    """The raw class mix of each chroma row, shape (T, K), rows summing to 1: class k owns
    the k-th share of the circle of fifths, its energy there through a softmax."""
    chroma = np.asarray(chroma).reshape(-1, 12)
    fifths = (7 * np.arange(12)) % 12
    owner = np.zeros(12, dtype=np.int64)
    owner[fifths] = (np.arange(12) * n_classes) // 12
    share = np.zeros((len(chroma), n_classes))
    for k in range(n_classes):
        pitches = owner == k
        share[:, k] = chroma[:, pitches].mean(axis=1) if pitches.any() else 0.0
    logits = config.class_sharpness * share
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def drift_phase(features: Features, config: MappingConfig) -> np.ndarray:
    """Drift position in cycles at each frame, shape (T,): loudness sets its speed."""
    cycles_per_frame = drift_speeds(features, config)
    return np.concatenate([[0.0], np.cumsum(cycles_per_frame)[:-1]])


def drift_speeds(features: Features, config: MappingConfig) -> np.ndarray:
    """Drift speed of each frame in cycles per frame, shape (T,) (see `drift_speed`), with
    the song's loudness range (10th to 95th percentile) and its zero-phase smoothing."""
    loudness = features.loudness_db.astype(np.float64)
    audible = loudness > -70
    if audible.any():
        low, high = np.percentile(loudness[audible], [10, 95])
        level = loudness_level(loudness, low, high)
    else:
        level = np.zeros_like(loudness)
    level = _smooth(level, 0.5 * features.fps)
    mean_level = level.mean() if level.any() else 0.5
    return drift_speed(level, mean_level, calm_factor(features, config), config, features.fps)


def class_weights(features: Features, n_classes: int, config: MappingConfig) -> np.ndarray:
    """Mix of the classes at each frame, shape (T, K), rows summing to ``y_scale``.

    Class k owns the k-th share of the circle of fifths (C G D A E B F# ...); the frame's
    chroma energy in each share, sharpened by a softmax, sets the mix.
    """
    n = features.n_frames
    if n_classes == 1:
        return np.full((n, 1), config.y_scale, dtype=np.float32)
    weights = chroma_mix(features.chroma, n_classes, config)
    weights = _smooth(weights, config.class_smoothing_s * features.fps)
    weights /= weights.sum(axis=1, keepdims=True)
    weights = _section_mix(weights, features, config)
    return (config.y_scale * weights).astype(np.float32)


@dataclass(frozen=True)
class SectionChange:
    """A section boundary as the picture sees it.

    Attributes
    ----------
    frame : int
        The frame the change starts on: the bar line nearest the boundary.
    label : int
        Index of the new section's label (A = 0, B = 1 ...).
    drop : bool
        Whether the section starts at least `drop_db` louder with denser onsets.
    """

    frame: int
    label: int
    drop: bool


def _snap(frame: int, candidates: np.ndarray, reach: float) -> int:
    if len(candidates) == 0:
        return frame
    nearest = int(candidates[np.argmin(np.abs(candidates - frame))])
    return nearest if abs(nearest - frame) <= reach else frame


def section_changes(features: Features, config: MappingConfig) -> list[SectionChange]:
    """Every section boundary after the first section, snapped to its bar line."""
    bounds = np.asarray(features.sections_s).reshape(-1, 2)
    labels = [str(label) for label in features.section_labels]
    n, fps = features.n_frames, features.fps
    if len(bounds) < 2 or len(labels) != len(bounds):
        return []
    downbeats, beats = features.downbeat_frames, features.beat_frames
    bar = float(np.median(np.diff(downbeats))) if len(downbeats) > 1 else 2 * fps
    beat = float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5 * fps
    power = 10 ** (features.loudness_db.astype(np.float64) / 10)
    window = max(1, int(round(4 * fps)))
    changes = []
    for (start, _), label in zip(bounds[1:], labels[1:], strict=True):
        frame = int(round(start * fps))
        snapped = _snap(frame, downbeats, 0.6 * bar)
        frame = snapped if snapped != frame else _snap(frame, beats, 0.6 * beat)
        if not 0 < frame < n:
            continue
        before, after = slice(max(0, frame - window), frame), slice(frame, frame + window)
        rise_db = 10 * np.log10(max(power[after].mean(), 1e-20) /
                                max(power[before].mean(), 1e-20))
        busier = features.onset[after].mean() >= 1.2 * features.onset[before].mean()
        index = ord(label[:1] or "A") - ord("A") if label else 0
        changes.append(SectionChange(frame=frame, label=index,
                                     drop=bool(rise_db >= config.drop_db and busier)))
    return changes


def _section_matrix(label: int, amount: float, n_classes: int) -> np.ndarray:
    """(1 - amount) I + amount P, P moving class k's share to class (k + label) % K."""
    permutation = np.zeros((n_classes, n_classes))
    permutation[np.arange(n_classes), (np.arange(n_classes) - label) % n_classes] = 1.0
    return (1 - amount) * np.eye(n_classes) + amount * permutation


def _section_mix(weights: np.ndarray, features: Features, config: MappingConfig
                 ) -> np.ndarray:
    """Move the class mix at each section change, from its bar line on (see
    `section_changes`); sections labelled alike show the same mix."""
    n, n_classes = weights.shape
    changes = section_changes(features, config)
    if n_classes < 2 or config.section_shift <= 0 or not changes:
        return weights
    labels = list(features.section_labels)
    first = ord(str(labels[0])[:1] or "A") - ord("A") if labels else 0
    current = _section_matrix(first, config.section_shift, n_classes)
    out = weights @ current.T
    morph = max(1, int(round(config.section_morph_s * features.fps)))
    for k, change in enumerate(changes):
        end = changes[k + 1].frame if k + 1 < len(changes) else n
        amount = 1.0 if change.drop else config.section_shift
        new = _section_matrix(change.label, amount, n_classes)
        span = np.arange(change.frame, end)
        # the change starts on the bar frame itself; a drop completes there
        rho = np.clip((span - change.frame + 1) / (1 if change.drop else morph), 0.0, 1.0)
        segment = weights[change.frame:end]
        out[change.frame:end] = ((1 - rho)[:, None] * (segment @ current.T)
                                 + rho[:, None] * (segment @ new.T))
        current = new
    return out


def calm_factor(features: Features, config: MappingConfig) -> np.ndarray:
    """How much of the motion each frame keeps, shape (T,), in [1 - calm, 1].

    Silences (20 dB or more below the song's loud parts) and fills (beats with at least
    twice the song's typical onset activity between their hits) lower it.
    """
    n = features.n_frames
    factor = np.ones(n)
    if config.calm <= 0 or n == 0:
        return factor
    loudness = features.loudness_db.astype(np.float64)
    loud = np.percentile(loudness, 95)
    silent = silence_calm(loudness, loud)
    busy = np.zeros(n)
    beats = features.beat_frames
    if len(beats) > 2:
        onset = features.onset.astype(np.float64)
        per_beat = []
        for start, end in zip(beats[:-1], beats[1:], strict=True):
            between = onset[start + 2:end - 1]
            per_beat.append(between.mean() if len(between) else 0.0)
        activity = np.array(per_beat)
        typical = max(float(np.median(activity)), 1e-3)
        for (start, end), value in zip(zip(beats[:-1], beats[1:], strict=True), activity,
                                       strict=True):
            busy[start:end] = np.clip((value / typical - 2.0), 0.0, 1.0)
    quiet = np.maximum(silent, busy)
    return 1.0 - config.calm * _smooth(quiet, 0.1 * features.fps)


def _cue_plan(features: Features, classes: Sequence[int], config: MappingConfig,
              cues: Sequence[Cue]) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Class ids in play, class weights (T, K), intensity (T,) and truncation (T,) per frame
    under `cues` (resolved: `time_s` in seconds of the analysed audio, sorted)."""
    n, fps = features.n_frames, features.fps
    current = tuple(int(c) for c in classes)
    ids: list[int] = list(dict.fromkeys(current))
    for cue in cues:
        ids.extend(c for c in (cue.classes or ()) if c not in ids)
    column = {class_id: k for k, class_id in enumerate(ids)}
    weights = np.zeros((n, len(ids)))
    intensity = np.ones(n)
    truncation = np.full(n, float(config.truncation))
    mixes: dict[tuple[int, ...], np.ndarray] = {}

    def mix(chosen: tuple[int, ...]) -> np.ndarray:
        if chosen not in mixes:
            own = class_weights(features, len(chosen), config).astype(np.float64)
            full = np.zeros((n, len(ids)))
            for k, class_id in enumerate(chosen):
                full[:, column[class_id]] += own[:, k]
            mixes[chosen] = full
        return mixes[chosen]

    # cues come resolved (timing.resolve_cues): each has its time in seconds
    starts = [0] + [min(n, int(round(cast(float, cue.time_s) * fps))) for cue in cues]
    level, trunc = 1.0, float(config.truncation)
    previous: tuple[int, ...] | None = None
    morph = max(1, int(round(config.section_morph_s * fps)))
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else n
        if k > 0:
            cue = cues[k - 1]
            current = tuple(cue.classes) if cue.classes else current
            level = cue.intensity if cue.intensity is not None else level
            trunc = cue.truncation if cue.truncation is not None else trunc
        if end <= start:
            previous = current
            continue
        target = mix(current)[start:end]
        if previous is not None and previous != current:
            # the new classes take over from the cue's frame on
            rho = np.clip((np.arange(start, end) - start + 1) / morph, 0.0, 1.0)[:, None]
            target = (1 - rho) * mix(previous)[start:end] + rho * target
        weights[start:end] = target
        intensity[start:end] = level
        truncation[start:end] = trunc
        previous = current
    return ids, weights, intensity, truncation


@dataclass(frozen=True, eq=False)
class Motion:
    """The seeded geometry of the motion.

    Attributes
    ----------
    base : ndarray, shape (128,)
        The point z moves around.
    circles : ndarray, shape (2 * C, 128)
        Pairs of orthogonal directions: the planes of the drift circles.
    offsets : ndarray, shape (C,)
        Each circle's starting angle (radians).
    directions : ndarray, shape (P, 128)
        The directions the pulses jump in, taken in turn.
    """

    base: np.ndarray
    circles: np.ndarray
    offsets: np.ndarray
    directions: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, config: MappingConfig) -> Motion:
        """Draw the geometry from `rng` (the draws `map_features` has always made, in
        their order; later draws, such as a drop's new place, follow on the same `rng`)."""
        base = truncated_normal(rng, (Z_DIM,))
        n_circles = 3
        circles = _unit_directions(rng, 2 * n_circles)
        offsets = rng.uniform(0, 2 * np.pi, n_circles)
        directions = _unit_directions(rng, config.pulse_directions)
        return cls(base=base, circles=circles, offsets=offsets, directions=directions)


class FrameMapper:
    """The per-frame code of the mapping, shared by the offline render and the live path.

    Takes each frame's controls (drift speed, pulse envelope and the pulse it belongs to)
    and gives its z; the drift phase is carried from call to call, so the frames may come
    one at a time (live) or all at once (offline) with the same result.
    """

    def __init__(self, motion: Motion, config: MappingConfig, *,
                 ratios: Sequence[float] | None = None):
        self.motion = motion
        self.config = config
        self.phase = 0.0
        """Drift position (cycles) of the next frame."""
        self.ratios = (None if ratios is None
                       else np.asarray(ratios, dtype=np.float64).reshape(-1))
        """Turns of each circle per cycle of the drift (None: circle c turns golden**c
        times; a loop sets them so that every circle closes, see `map_features`)."""

    def drift(self, speed: np.ndarray) -> np.ndarray:
        """The drift of the next ``len(speed)`` frames, shape (n, 128), `speed` being each
        frame's cycles per frame; the phase moves on."""
        speed = np.asarray(speed, dtype=np.float64).reshape(-1)
        cycles = np.cumsum(np.concatenate([[self.phase], speed]))
        self.phase = float(cycles[-1])
        phase = 2 * np.pi * cycles[:-1]
        motion, n = self.motion, len(speed)
        drift = np.zeros((n, Z_DIM))
        for c in range(len(motion.offsets)):
            ratio = _GOLDEN**c if self.ratios is None else self.ratios[c]
            angle = phase * ratio + motion.offsets[c]
            drift += np.outer(np.cos(angle), motion.circles[2 * c]) + np.outer(
                np.sin(angle), motion.circles[2 * c + 1])
        drift *= self.config.drift_amount / np.sqrt(2 * len(motion.offsets))
        return drift

    def pulses(self, envelope: np.ndarray, beat_index: np.ndarray) -> np.ndarray:
        """The pulse displacement of each frame, shape (n, 128)."""
        directions = self.motion.directions
        index = np.maximum(np.asarray(beat_index, dtype=np.int64).reshape(-1), 0)
        chosen = directions[index % len(directions)]
        return self.config.pulse_strength * np.asarray(envelope).reshape(-1)[:, None] * chosen

    def __call__(self, speed: np.ndarray, envelope: np.ndarray, beat_index: np.ndarray, *,
                 bases: np.ndarray | None = None, intensity: np.ndarray | None = None,
                 truncation: np.ndarray | float | None = None) -> np.ndarray:
        """z of the next ``len(speed)`` frames, shape (n, 128): the base point (or `bases`,
        per frame), the drift and the pulses, scaled by `intensity` (per frame), clipped to
        [-2, 2] and times the truncation (the config's, or `truncation` per frame)."""
        drift = self.drift(speed)
        pulses = self.pulses(envelope, beat_index)
        base = self.motion.base[None, :] if bases is None else bases
        if intensity is None:
            moved = base + drift + pulses
        else:
            moved = base + np.asarray(intensity).reshape(-1, 1) * (drift + pulses)
        truncation = self.config.truncation if truncation is None else truncation
        return np.clip(moved, -2.0, 2.0) * np.asarray(truncation).reshape(-1, 1)


def close_loop(values: np.ndarray, frames: int) -> np.ndarray:
    """`values` (T, ...) eased over their last `frames` rows back to their first row, so
    that the row after the last would be the first: ``(1 - r) v[t] + r v[0]``, r rising
    smoothly (smoothstep) from 0 to 1 at the frame after the last."""
    out = np.array(values, dtype=np.float64)
    n = len(out)
    frames = min(max(1, frames), n - 1) if n > 1 else 0
    if frames == 0:
        return out
    x = (np.arange(n - frames, n) - (n - frames) + 1) / frames
    ramp = (x * x * (3 - 2 * x)).reshape(-1, *([1] * (out.ndim - 1)))
    out[n - frames:] = (1 - ramp) * out[n - frames:] + ramp * out[:1]
    return out


def limit_pulse_rate(envelope: np.ndarray, beat_index: np.ndarray, *, fps: float,
                     per_second: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Pulses thinned so that no one-second window holds more than `per_second` of them:
    going through the pulses in order of strength, one is kept only if the window around
    it still has room; a dropped pulse's frames join the pulse before (its envelope 0).

    A pulse is one jump and one fall of the picture, at most one flash in the sense of WCAG
    2.3.1, so the video then flashes at most `per_second` times a second (`--safe-flashes`).
    """
    starts = np.flatnonzero(np.diff(np.r_[-2, beat_index]) != 0)
    starts = starts[beat_index[starts] >= 0]
    if len(starts) == 0:
        return envelope, beat_index
    strength = envelope[starts]
    window = fps  # frames in one second
    limit = max(1, int(np.floor(per_second)))
    kept: list[int] = []
    for index in np.argsort(-strength, kind="stable"):
        frame = starts[index]
        # any one-second window holding `frame` stays within the limit
        near = sorted(f for f in kept if abs(f - frame) < window)
        candidate = sorted([*near, frame])
        if all(sum(1 for f in candidate if lo <= f < lo + window) <= limit
               for lo in candidate):
            kept.append(frame)
    keep = np.isin(starts, kept)
    envelope = envelope.copy()
    beat_index = beat_index.copy()
    for k, frame in enumerate(starts):
        if not keep[k]:
            end = starts[k + 1] if k + 1 < len(starts) else len(envelope)
            envelope[frame:end] = 0.0
            beat_index[frame:end] = beat_index[frame - 1] if frame > 0 else -1
    return envelope, beat_index


def _loop_ratios(speed: np.ndarray, n_circles: int) -> list[float] | None:
    """Turns per drift cycle of each circle that close a loop: circle c, which would turn
    ``E golden**c`` times over the loop's E cycles, turns the nearest whole number of times
    instead (0: the circle stands). None when the drift does not move."""
    end_cycles = float(np.cumsum(speed)[-1]) if len(speed) else 0.0
    if end_cycles <= 0:
        return None
    return [round(end_cycles * _GOLDEN**c) / end_cycles for c in range(n_circles)]


def map_features(features: Features, classes: Sequence[int], config: MappingConfig,
                 *, seed: int = 0, cues: Sequence[Cue] | None = None, loop: bool = False,
                 max_pulses_per_s: float | None = None) -> Trajectory:
    """Turn `features` into the BigGAN inputs of every frame (deterministic for `seed`).

    The controls are found with hindsight (see the module notes) and turned into z by the
    same `FrameMapper` the live path steps frame by frame. `cues` (resolved, see
    `audiogan.timing.resolve_cues`) change the classes, the intensity of the motion and the
    truncation from their frame on. `loop` makes the frame after the last the first (see
    the module's notes): the circles' turns are made whole (`FrameMapper` ``ratios``), the
    class mix (and a cue's intensity) eased home over the last bar before z is made;
    `max_pulses_per_s` thins the pulses (`limit_pulse_rate`) on the envelope.
    """
    rng = np.random.default_rng(seed)
    n = features.n_frames
    motion = Motion.draw(rng, config)
    speed = drift_speeds(features, config)

    envelope, beat_index = beat_pulses(features, config)
    if max_pulses_per_s is not None:
        envelope, beat_index = limit_pulse_rate(envelope, beat_index, fps=features.fps,
                                                per_second=max_pulses_per_s)
    # a pulse keeps the calm of its own beat frame, so it still peaks there
    calm = calm_factor(features, config)
    start_of_pulse = np.flatnonzero(np.diff(np.r_[-2, beat_index]) != 0)
    held = calm[np.repeat(start_of_pulse, np.diff(np.r_[start_of_pulse, n]))]
    envelope = envelope * held

    # a drop sends the base point to a new place on its bar frame
    base_from = [(0, motion.base)]
    if config.drop_jump > 0 and not loop:
        for change in section_changes(features, config):
            if change.drop:
                leap = config.drop_jump
                current = [base for frame, base in base_from if frame <= change.frame][-1]
                new = ((1 - leap) * current + leap * truncated_normal(rng, (Z_DIM,))
                       ) / np.sqrt((1 - leap) ** 2 + leap**2)
                base_from = [(frame, base) for frame, base in base_from
                             if frame < change.frame] + [(change.frame, new)]

    # a loop's class mix comes home over its last bar (or second, without bars)
    downbeats = features.downbeat_frames
    bar = int(np.median(np.diff(downbeats))) if len(downbeats) > 1 else int(features.fps)
    if cues:
        ids, weights, intensity, truncation = _cue_plan(features, classes, config, cues)
        if loop:
            weights, intensity = close_loop(weights, bar), close_loop(intensity, bar)
    ratios = _loop_ratios(speed, len(motion.offsets)) if loop else None
    mapper = FrameMapper(motion, config, ratios=ratios)
    # z is made a chunk of frames at a time into its float32 array, so the float64
    # temporaries (drift, pulses, bases) stay the size of a chunk however long the song
    z = np.empty((n, Z_DIM), dtype=np.float32)
    starts = np.array([frame for frame, _ in base_from])
    points = np.stack([base for _, base in base_from])
    for first in range(0, n, _CHUNK):
        last = min(n, first + _CHUNK)
        bases = points[np.searchsorted(starts, np.arange(first, last), side="right") - 1]
        part = slice(first, last)
        if cues:
            z[part] = mapper(speed[part], envelope[part], beat_index[part], bases=bases,
                             intensity=intensity[part], truncation=truncation[part])
        else:
            z[part] = mapper(speed[part], envelope[part], beat_index[part], bases=bases)
    if not cues:
        mix = class_weights(features, len(classes), config)
        if loop:
            mix = close_loop(mix, bar).astype(np.float32)
        return Trajectory(
            z=z,
            class_ids=np.asarray(classes, dtype=np.int64),
            class_weights=mix,
            truncation=float(config.truncation),
        )
    varies = bool(np.any(truncation != config.truncation))
    return Trajectory(
        z=z,
        class_ids=np.asarray(ids, dtype=np.int64),
        class_weights=weights.astype(np.float32),
        truncation=float(config.truncation),
        frame_truncation=truncation.astype(np.float32) if varies else None,
    )


@dataclass(frozen=True)
class FrameInput:
    """What the live path knows of one frame when it must make it.

    Attributes
    ----------
    onset : float
        The strongest onset heard in the frame's interval (any unit: `LiveMapper` scales it
        by its running peak).
    loudness_db : float
        The frame's level in dBFS (-100 = silence).
    chroma : ndarray, shape (12,)
        Pitch-class energy heard lately (any scale).
    beat : bool
        Whether a beat falls on this frame (predicted: the pulse peaks on it).
    beat_interval : float
        Frames from this beat to the next one (the tracker's tempo); 0 when unknown.
    """

    onset: float
    loudness_db: float
    chroma: np.ndarray
    beat: bool = False
    beat_interval: float = 0.0


class _Peak:
    """A decaying running maximum (the live stand-in for a high percentile); fed negated
    values, a running minimum."""

    def __init__(self, frames: float, start: float):
        self.keep = float(np.exp(-1.0 / max(frames, 1.0)))
        self.value = start

    def __call__(self, x: float) -> float:
        self.value = max(x, self.keep * self.value + (1 - self.keep) * x)
        return self.value


class LiveMapper:
    """The mapping one frame at a time, with no look-ahead (`audiogan live --input`).

    Controls found from the frames so far with the same functions as the offline render
    (see the module notes), turned into z by the same `FrameMapper`:

    - loudness range: a decaying peak of the loudness (20 s) for the loud level, of its
      negative for the quiet one, in place of the song's 95th and 10th percentiles;
      mean level: a 30 s running mean;
    - smoothing: the forward pass of the offline render's filters (`one_pole`);
    - pulses: on a predicted beat, with the predicted interval as the span and the
      strength of the last onset heard against its running peak; no bar accents
      (no bars are known live);
    - calm: silences only (fills are only known once they are over).

    Parameters
    ----------
    n_classes : int
        How many classes share the harmony.
    config : MappingConfig
        The same settings as a render (a preset).
    fps : float
        Frame rate.
    seed : int
        Same seed, same geometry as a render of the same seed.
    """

    def __init__(self, n_classes: int, config: MappingConfig, *, fps: float, seed: int = 0):
        self.config, self.fps, self.n_classes = config, fps, n_classes
        self.motion = Motion.draw(np.random.default_rng(seed), config)
        self.mapper = FrameMapper(self.motion, config)
        self.loud = _Peak(20.0 * fps, -100.0)
        self.quiet = _Peak(20.0 * fps, 100.0)  # of the negated loudness: a running minimum
        self.onset_peak = _Peak(8.0 * fps, 1e-9)
        self.mean_level = 0.5
        self.mean_keep = float(np.exp(-1.0 / (30.0 * fps)))
        self.states: dict[str, np.ndarray | None] = {"level": None, "calm": None,
                                                     "weights": None}
        self.recent_onset = 0.0
        self.pulse = -1
        self.pulse_since = 0
        self.pulse_span = fps * 0.5
        self.pulse_strength = 0.0
        self.frames = 0

    def _filter(self, name: str, value: np.ndarray | float, seconds: float) -> np.ndarray:
        out, self.states[name] = one_pole(np.asarray(value, dtype=np.float64)[None],
                                          seconds * self.fps, self.states[name])
        return out[0]

    def step(self, frame: FrameInput, *, intensity: float = 1.0) -> tuple[np.ndarray,
                                                                          np.ndarray]:
        """z (128,) and class weights (K,) of the next frame."""
        config = self.config
        loudness = float(frame.loudness_db)
        if loudness > -70:
            loud, quiet = self.loud(loudness), -self.quiet(-loudness)
            heard = float(loudness_level(loudness, quiet, loud))
        else:
            loud, heard = self.loud.value, 0.0
        level = float(self._filter("level", heard, 0.5))
        self.mean_level = self.mean_keep * self.mean_level + (1 - self.mean_keep) * level
        calm = 1.0 - config.calm * float(self._filter("calm", silence_calm(loudness, loud),
                                                      0.1))
        speed = drift_speed(level, self.mean_level, calm, config, self.fps)

        onset = max(float(frame.onset), 0.0)
        peak = self.onset_peak(onset)
        self.recent_onset = max(onset, 0.8 * self.recent_onset)
        if frame.beat:
            near = self.recent_onset / max(0.75 * peak, 1e-9)
            self.pulse += 1
            self.pulse_since = 0
            self.pulse_span = frame.beat_interval or self.pulse_span
            self.pulse_strength = calm * (config.pulse_floor + (1 - config.pulse_floor)
                                          * min(max(near, 0.0), 1.0))
        envelope = (pulse_shape(self.pulse_since, self.pulse_span, self.pulse_strength, config)
                    if self.pulse >= 0 else np.float64(0.0))
        self.pulse_since += 1

        z = self.mapper(np.array([speed]), np.array([envelope]), np.array([self.pulse]),
                        intensity=np.array([intensity]))[0]
        if self.n_classes == 1:
            weights = np.ones(1)
        else:
            mix = chroma_mix(np.asarray(frame.chroma)[None], self.n_classes, config)[0]
            if not np.any(frame.chroma):  # silence: the mix holds
                mix = self.states["weights"][0] if self.states["weights"] is not None else mix
            weights = self._filter("weights", mix, config.class_smoothing_s)
            weights = weights / weights.sum()
        self.frames += 1
        return z.astype(np.float32), (config.y_scale * weights).astype(np.float32)
