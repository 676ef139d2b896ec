"""The beat grid: beats, downbeats (bar starts), meter and tempo over time.

numpy only, over onset envelopes at STFT hop rate (a few numbers per hop, so a whole song's
worth is small). The steps:

1. **tracking envelope**: the onset strength, each stretch divided by its own local level,
   so that the soft chords of a quiet drumless intro pull the tracker as hard as the drums
   that follow (the grid then runs back through the intro along them);
2. **local tempo**: the autocorrelation of that envelope over a sliding window, searched for
   the beat period around the global tempo, and smoothed by a Viterbi path so the period
   may glide (a ramp) but not jump;
3. **beats**: dynamic programming (Ellis 2007) with that time-varying period: every frame
   gets the best score of a chain of beats ending on it, where a chain earns the envelope at
   its beats and pays for each gap that strays from the local period. No beat is trimmed at
   the ends: the grid runs through a quiet intro and outro, and only stretches of silence
   lose their beats;
4. **downbeats**: for 3 and 4 beats a bar and every phase, how much more the bass-drum
   onsets and the chord changes land on the candidate bar lines than between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BeatGrid", "track_grid", "tracking_envelope", "local_period", "dp_beats",
           "find_downbeats", "tempo_at", "grid_from_bpm"]

MIN_BPM, MAX_BPM = 40.0, 240.0


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
    """

    beats_s: np.ndarray
    downbeats_s: np.ndarray
    meter: int
    tempo_bpm: float


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


def _autocorrelation_frames(envelope: np.ndarray, centres: np.ndarray,
                            win: int) -> np.ndarray:
    """Windowed autocorrelation (lags 0..win-1) of `envelope` around each centre frame."""
    padded = np.pad(envelope, (win // 2, win - win // 2), mode="constant")
    window = np.hanning(win)
    frames = np.stack([padded[c:c + win] for c in centres])
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames *= window
    spectrum = np.fft.rfft(frames, n=2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :win]
    return ac / np.maximum(ac[:, :1], 1e-12)


def local_period(envelope: np.ndarray, *, fps: float, global_bpm: float, win_s: float = 6.0,
                 step: int = 8, spread: float = 1.3, jump_cost: float = 8.0,
                 chunk: int = 512) -> np.ndarray:
    """The beat period (in hops, fractional) at every hop, shape (F,).

    Searched within a factor `spread` of the global tempo's period: the autocorrelation peak,
    followed by a Viterbi path that pays `jump_cost` per octave of change between steps.
    """
    n = len(envelope)
    base = 60.0 * fps / global_bpm
    low_lag = max(2, int(np.floor(base / spread)))
    win = int(round(win_s * fps))
    high_lag = min(int(np.ceil(base * spread)), win - 2)
    if n == 0 or high_lag <= low_lag:
        return np.full(n, base)
    lags = np.arange(low_lag, high_lag + 1)
    centres = np.arange(0, n, step)
    emissions = np.empty((len(centres), len(lags)))
    for first in range(0, len(centres), chunk):
        ac = _autocorrelation_frames(envelope, centres[first:first + chunk], win)
        # a beat period is also supported by twice its lag (the next beat but one)
        double = np.clip(2 * lags, 0, win - 1)
        score = ac[:, lags] + 0.5 * ac[:, double]
        emissions[first:first + chunk] = score
    # prefer the global period mildly (log-normal prior, one octave wide)
    prior = -0.5 * (np.log2(lags / base) / 0.5) ** 2
    log_lags = np.log2(lags)
    transition = -jump_cost * np.abs(log_lags[:, None] - log_lags[None, :])
    scores = emissions[0] + 0.1 * prior
    back = np.zeros((len(centres), len(lags)), dtype=np.int32)
    for k in range(1, len(centres)):
        candidates = scores[:, None] + transition  # from (rows) -> to (columns)
        back[k] = np.argmax(candidates, axis=0)
        scores = candidates[back[k], np.arange(len(lags))] + emissions[k] + 0.1 * prior
    path = np.empty(len(centres), dtype=np.int64)
    path[-1] = int(np.argmax(scores))
    for k in range(len(centres) - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    # sub-hop precision: a parabola through the chosen lag and its neighbours
    chosen = lags[path].astype(np.float64)
    for k, index in enumerate(path):
        if 0 < index < len(lags) - 1:
            a, b, c = emissions[k, index - 1:index + 2]
            denominator = a - 2 * b + c
            if denominator < 0:
                chosen[k] += float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))
    smooth = _moving_average(chosen, max(1, round(2.0 * fps / step)))
    return np.interp(np.arange(n), centres, smooth)


def dp_beats(envelope: np.ndarray, period: np.ndarray, *, tightness: float = 100.0) -> np.ndarray:
    """Beat frames by dynamic programming over a time-varying `period` (hops), shape (B,)."""
    n = len(envelope)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    score = np.asarray(envelope, dtype=np.float64).copy()
    backlink = np.full(n, -1, dtype=np.int64)
    for t in range(1, n):
        p = period[t]
        first, last = int(max(0, np.floor(t - 2 * p))), int(np.ceil(t - p / 2))
        last = min(last, t - 1)
        if last < first:
            continue
        candidates = np.arange(first, last + 1)
        gap = (t - candidates) / p
        value = score[first:last + 1] - tightness * np.log(gap) ** 2
        best = int(np.argmax(value))
        if value[best] > 0:  # else a chain starting here does better
            score[t] = envelope[t] + value[best]
            backlink[t] = candidates[best]
    # the last beat: the best-scoring frame within the last period
    p_end = int(np.ceil(period[-1]))
    tail = score[max(0, n - p_end):]
    beat = max(0, n - p_end) + int(np.argmax(tail))
    beats = [beat]
    while backlink[beats[-1]] >= 0:
        beats.append(int(backlink[beats[-1]]))
    return np.array(beats[::-1], dtype=np.int64)


def find_downbeats(beats_s: np.ndarray, accent: np.ndarray, change: np.ndarray,
                   meters: tuple[int, ...] = (4, 3)) -> tuple[np.ndarray, int]:
    """Bar starts among the beats, and the meter.

    `accent` and `change` hold, per beat, the bass-drum onset strength at it and the harmonic
    change into it. Each meter and phase is scored by how much higher these sit on its bar
    lines than between them (in units of their spread); the best pair wins.
    """
    n = len(beats_s)
    if n < 2 * min(meters):
        return beats_s[:1].copy(), meters[0] if n else 0

    def standard(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        spread = values.std()
        return (values - values.mean()) / spread if spread > 1e-12 else np.zeros_like(values)

    evidence = standard(accent) + 1.5 * standard(change)
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


def _trim_ends(frames: np.ndarray, envelope: np.ndarray, ratio: float = 0.2) -> np.ndarray:
    """Drop the beats at either end of the grid that no onset supports (a fading tail, the
    lead-in before the first note); weak beats inside the song stay.

    The envelope is locally normalised, so the beats of a quiet intro are not weak here.
    """
    if len(frames) < 4:
        return frames
    support = _peak_near(envelope, frames, 2)
    threshold = ratio * float(np.median(support))
    strong = np.flatnonzero(support >= threshold)
    if len(strong) == 0:
        return frames[:0]
    return frames[strong[0]:strong[-1] + 1]


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


def track_grid(onset: np.ndarray, onset_low: np.ndarray, chroma: np.ndarray,
               rms: np.ndarray, *, fps: float, chroma_fps: float, global_bpm: float,
               delay_s: float = 0.0) -> BeatGrid:
    """The beat grid of a song from its hop-rate envelopes (all shape (F,), rate `fps`).

    `chroma` (shape (F2, 12), rate `chroma_fps`) gives the chord changes that mark bar
    lines, `rms` the level of each hop; `delay_s` is subtracted from every time (the onset
    envelope's own lag).
    """
    empty = BeatGrid(np.zeros(0), np.zeros(0), 0, 0.0)
    onset = np.asarray(onset, dtype=np.float64)
    if len(onset) < 8 or not np.any(onset > 0) or global_bpm <= 0:
        return empty
    envelope = tracking_envelope(onset, fps=fps)
    period = local_period(envelope, fps=fps, global_bpm=global_bpm)
    frames = _trim_ends(dp_beats(envelope, period), envelope)
    # silence keeps no beats: the level around each beat against the song's loud parts
    level = np.sqrt(_moving_average(np.asarray(rms, dtype=np.float64) ** 2, round(fps)))
    loud = float(np.percentile(level, 95)) if len(level) else 0.0
    if loud <= 0:
        return empty
    audible = level[np.clip(frames, 0, len(level) - 1)] > max(loud * 10 ** (-40 / 20), 1e-4)
    frames = frames[audible]
    if len(frames) == 0:
        return empty
    beats_s = np.maximum(frames / fps - delay_s, 0.0)
    accent = _peak_near(np.asarray(onset_low, dtype=np.float64), frames, 2)
    change = _beat_chroma_change(chroma, chroma_fps, beats_s + delay_s)
    downbeats_s, meter = find_downbeats(beats_s, accent, change)
    tempo = float(np.median(60.0 / np.diff(beats_s))) if len(beats_s) > 1 else 0.0
    return BeatGrid(beats_s=beats_s, downbeats_s=downbeats_s, meter=meter, tempo_bpm=tempo)
