"""A causal beat tracker: beats as the music arrives, with no look-ahead (numpy; librosa
for the networks' mel filters alone).

`audiogan.beats` finds the grid of a whole song (the Viterbi path of a tempo-and-phase DBN,
with percentiles over the whole song). A live instrument hears the song once, as it is
played, so this module does the same job one STFT hop at a time:

1. **features** (`StreamFeatures`): the signal arrives in blocks of any size; every hop of
   256 samples (11.6 ms at 22050 Hz) the last 1024 samples give one log-mel spectral flux
   (all bands, bass, treble), the log-mel frame the networks read, an RMS level, and every
   fourth hop the last 4096 samples a chroma vector. A frame is complete when its last
   sample arrives, so a hop's values are known one hop after the time they describe, and
   never later.
2. **activation** (`audiogan.beatnet.StreamingNet`): how much each hop sounds like a beat,
   from causal networks: the offline tracker's network with every convolution reaching
   back in time only, trained alike (`benchmarks/train_beatnet.py --causal`) on the log-mel
   frames levelled to the loudest band heard so far. They run one hop at a time, each
   layer keeping the few past inputs its kernel reaches. On a hop some 60 dB under the
   music's level they are not listened to. (`learned=False`: the onset fluxes, each
   divided by a slowly decaying peak of itself and by a one-sided local level, as before
   the networks; on game soundtracks they found the beat far less often.)
3. **tempo and phase** (`CausalTracker`): the *forward* pass of the same DBN as
   `audiogan.beats.dbn_beats` (the state space `audiogan.beats.TempoStates`): the
   posterior over (beat interval, position in the beat) given everything heard so far.
   The most probable tempo and its phase predict the next beat, so a pulse can be started
   *on* the beat instead of a frame or two after it was heard. The tempo changes when the
   music does (the DBN's tempo transitions). Over the onset fluxes the posterior is held
   near a running tempogram's tempo, with librosa's preference around 120 BPM, which keeps
   a busy hi-hat from doubling the tempo; the networks hear the beat rather than the
   busiest onsets and need no such hold. A `tempo_range` that leaves that
   tempo out halves or doubles it, as offline: the tracker follows the pulse it hears and
   reports every second (fourth ...) beat of it, those with the heavier bass, or adds the
   midpoints.
4. **silence**: after a second of silence the posterior is reset (every tempo and phase
   equally likely) and no beats are reported; when the music comes back, the tracker
   locks on again from scratch within a few beats.

`track_causal(y, sr)` runs all of it over a signal and returns the beats it reported, each
at the moment it was due (a beat is committed when the prediction says it is now, from the
audio up to one hop before).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from audiogan import beatnet
from audiogan.beats import TEMPO_RANGE, TempoStates, range_level

__all__ = ["StreamFeatures", "HopValues", "Activation", "CausalTracker", "CausalBeats",
           "track_causal", "SILENCE_DB"]

ACCENT_HOPS = (-2, 3)
"""Where a beat's bass is looked for, in hops around it (halving: which beats to keep)."""

LEARNED_DELAY = -1.0
"""Hops by which the learned activation describes a time before the newest hop. A frame of
`StreamFeatures` is the offline analysis's centred frame of the hop before (one hop), but
the causal networks fire as a beat's onset enters that window, some two hops before the
beat: on the band songs the beats came 25 ms early at 1; at -1 they land -9 to +4 ms from
the true beats on average, song by song."""

SILENCE_DB = -60.0
"""A hop this far below the recent loud level (or below -80 dBFS) counts as silence."""


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filters(sr: int, n_fft: int, n_mels: int, fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, 1 + n_fft / 2), each of unit area."""
    fmax = sr / 2 if fmax is None else fmax
    bins_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(fmax), n_mels + 2))
    filters = np.zeros((n_mels, len(bins_hz)))
    for m in range(n_mels):
        low, centre, high = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins_hz - low) / max(centre - low, 1e-9)
        falling = (high - bins_hz) / max(high - centre, 1e-9)
        filters[m] = np.maximum(0.0, np.minimum(rising, falling)) * 2.0 / (high - low)
    return filters


def chroma_filters(sr: int, n_fft: int, low_hz: float = 50.0,
                   high_hz: float = 5000.0) -> np.ndarray:
    """Pitch-class weights of the FFT bins, shape (12, 1 + n_fft / 2): each bin between
    `low_hz` and `high_hz` goes to the pitch class of its nearest semitone, weighted by
    how close to that semitone it is."""
    bins_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    filters = np.zeros((12, len(bins_hz)))
    inside = (bins_hz >= low_hz) & (bins_hz <= high_hz)
    midi = 69.0 + 12.0 * np.log2(bins_hz[inside] / 440.0)
    nearest = np.round(midi)
    closeness = 1.0 - 2.0 * np.abs(midi - nearest)
    filters[nearest.astype(np.int64) % 12, np.flatnonzero(inside)] = closeness
    return filters


@dataclass(frozen=True)
class HopValues:
    """The features of the hops one block completed (all arrays share their first axis).

    Attributes
    ----------
    times_s : ndarray, shape (n,)
        The time each hop describes, seconds from the start of the stream (hop ``k`` at
        ``k * hop_length / sr``); its values are known one hop later.
    onset, onset_low, onset_high : ndarray, shape (n,)
        Mean positive change of the log-mel spectrum over all bands, those below 200 Hz
        and those above 2 kHz.
    rms : ndarray, shape (n,)
        RMS level of the hop's window (1.0 = full scale).
    chroma : ndarray, shape (n, 12)
        Pitch-class energy of the last 4096 samples (updated every fourth hop, held
        between).
    mel_db : ndarray, shape (n, 64)
        The log-mel frame the learned activation reads (`audiogan.beatnet`), in the bands
        and units of `audiogan.analysis.HopFeatures.mel_db`: the same window as the offline
        analysis's frame of the hop before (a centred frame needs half a window after it).
    """

    times_s: np.ndarray
    onset: np.ndarray
    onset_low: np.ndarray
    onset_high: np.ndarray
    rms: np.ndarray
    chroma: np.ndarray
    mel_db: np.ndarray = field(default_factory=lambda: np.zeros((0, beatnet.N_MELS)))

    def __len__(self) -> int:
        return len(self.times_s)


class StreamFeatures:
    """Onset, level and chroma of a signal fed in blocks, causally (see the module notes).

    State carried from block to block: the last `chroma_n_fft` samples, the previous
    log-mel frame, the hop count and the last chroma.
    """

    def __init__(self, *, sr: int = 22050, n_fft: int = 1024, hop_length: int = 256,
                 chroma_n_fft: int = 4096, n_mels: int = 64):
        self.sr, self.n_fft, self.hop_length = sr, n_fft, hop_length
        self.chroma_n_fft = max(chroma_n_fft, n_fft)
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
        self.chroma_window = np.hanning(self.chroma_n_fft + 1)[:-1].astype(np.float32)
        self.mel = mel_filters(sr, n_fft, n_mels).astype(np.float32)
        import librosa  # the offline analysis's bands, which the learned activation reads

        self.learned_mel = librosa.filters.mel(sr=sr, n_fft=n_fft,
                                               n_mels=beatnet.N_MELS).astype(np.float32)
        self.chroma_basis = chroma_filters(sr, self.chroma_n_fft).astype(np.float32)
        band_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))[1:-1]
        self.low_bands = band_hz < 200.0
        self.low_bands[:2] = True
        self.high_bands = band_hz >= 2000.0
        self.window_energy = float(np.sum(self.window.astype(np.float64) ** 2))
        self.buffer = np.zeros(self.chroma_n_fft, dtype=np.float32)
        self.pending = np.zeros(0, dtype=np.float32)
        self.previous_db: np.ndarray | None = None
        self.hops = 0
        self.chroma = np.zeros(12, dtype=np.float32)

    @property
    def fps(self) -> float:
        """Hops per second."""
        return self.sr / self.hop_length

    def feed(self, block: np.ndarray) -> HopValues:
        """The hops that `block` (mono float samples at `sr`) completes."""
        self.pending = np.concatenate([self.pending, np.asarray(block, dtype=np.float32)])
        count = len(self.pending) // self.hop_length
        values: dict[str, list] = {key: [] for key in ("onset", "low", "high", "rms", "chroma",
                                                       "mel_db")}
        times = []
        for k in range(count):
            hop = self.pending[k * self.hop_length:(k + 1) * self.hop_length]
            self.buffer = np.concatenate([self.buffer[self.hop_length:], hop])
            frame = self.buffer[-self.n_fft:] * self.window
            power = np.abs(np.fft.rfft(frame)) ** 2
            mel_db = 10.0 * np.log10(np.maximum(self.mel @ power, 1e-10))
            previous = mel_db if self.previous_db is None else self.previous_db
            flux = np.maximum(mel_db - previous, 0.0)
            self.previous_db = mel_db
            values["onset"].append(flux.mean())
            values["low"].append(flux[self.low_bands].mean())
            values["high"].append(flux[self.high_bands].mean())
            values["rms"].append(np.sqrt(power.sum() * 2 / (self.n_fft * self.window_energy)))
            if self.hops % 4 == 0:
                long = np.abs(np.fft.rfft(self.buffer * self.chroma_window)) ** 2
                self.chroma = (self.chroma_basis @ long).astype(np.float32)
            values["chroma"].append(self.chroma)
            values["mel_db"].append(np.maximum(10.0 * np.log10(np.maximum(
                self.learned_mel @ power, 1e-10)), -100.0))
            times.append(self.hops * self.hop_length / self.sr)
            self.hops += 1
        self.pending = self.pending[count * self.hop_length:]
        return HopValues(
            times_s=np.asarray(times, dtype=np.float64),
            onset=np.asarray(values["onset"], dtype=np.float64),
            onset_low=np.asarray(values["low"], dtype=np.float64),
            onset_high=np.asarray(values["high"], dtype=np.float64),
            rms=np.asarray(values["rms"], dtype=np.float64),
            chroma=np.asarray(values["chroma"], dtype=np.float32).reshape(-1, 12),
            mel_db=np.asarray(values["mel_db"], dtype=np.float32).reshape(-1, beatnet.N_MELS),
        )


class _PeakFollower:
    """The running top of a signal: jumps to a new maximum, decays towards the signal
    with time constant `decay_s` (the causal stand-in for a high percentile)."""

    def __init__(self, fps: float, decay_s: float, floor: float = 1e-9):
        self.keep = float(np.exp(-1.0 / (decay_s * fps)))
        self.value = floor
        self.floor = floor

    def __call__(self, x: float) -> float:
        self.value = max(x, self.floor, self.keep * self.value + (1 - self.keep) * x)
        return self.value


class _Average:
    """A one-pole running mean with time constant `seconds`."""

    def __init__(self, fps: float, seconds: float):
        self.alpha = 1.0 - float(np.exp(-1.0 / (seconds * fps)))
        self.value: float | None = None

    def __call__(self, x: float) -> float:
        self.value = x if self.value is None else self.value + self.alpha * (x - self.value)
        return self.value


class Activation:
    """How much each hop sounds like a beat, in [0, 0.9], from its fluxes and level.

    The causal counterpart of `audiogan.beats.beat_activation`: each flux over its own
    running peak (4 s decay), summed, over its one-sided local level (1.5 s RMS, never
    below a tenth of the loud parts' level), over that ratio's running peak, squared.
    Also says whether the hop is silent (`silent`, see `SILENCE_DB`).
    """

    def __init__(self, fps: float):
        self.tops = [_PeakFollower(fps, 4.0) for _ in range(3)]
        self.local = _Average(fps, 1.5)
        self.loud_local = _PeakFollower(fps, 20.0)
        self.ratio_top = _PeakFollower(fps, 4.0)
        self.level = _Average(fps, 0.3)
        self.loud_level = _PeakFollower(fps, 20.0, floor=1e-10)
        self.silent = True
        self.hushed = True

    def __call__(self, onset: float, onset_low: float, onset_high: float,
                 rms: float) -> float:
        power = self.level(rms * rms)
        loud = self.loud_level(power)
        level_db = 10 * np.log10(max(power, 1e-20))
        self.silent = level_db < -80.0 or power < loud * 10 ** (SILENCE_DB / 10)
        # this hop alone that quiet (the level above lags by a second or more)
        self.hushed = rms * rms < loud * 10 ** (SILENCE_DB / 10)
        if self.silent:
            return 0.0
        total = sum(value / top(value) for value, top in
                    zip((onset, onset_low, onset_high), self.tops, strict=True))
        local = np.sqrt(self.local(total * total))
        floor = 0.1 * self.loud_local(local)
        ratio = total / max(local, floor, 1e-9)
        scaled = min(1.0, ratio / self.ratio_top(ratio))
        return 0.9 * scaled * scaled


@dataclass
class CausalBeats:
    """What `track_causal` heard.

    Attributes
    ----------
    beats_s : ndarray, shape (B,)
        Beat times in seconds, each reported when it was due.
    tempo_bpm : ndarray, shape (F,)
        The tempo the tracker believed at each hop (0 while it had none).
    hop_s : float
        Seconds per hop.
    """

    beats_s: np.ndarray
    tempo_bpm: np.ndarray
    hop_s: float
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))


class CausalTracker:
    """The forward filter of the beat DBN, one hop at a time (see the module notes).

    Parameters
    ----------
    fps : float
        Hops per second.
    tempo_range : (float, float)
        Slowest and fastest beat, BPM. The pulse is followed over the default range as well,
        and halved or doubled into this one.
    lookahead_s : float
        How far ahead a beat is committed: a beat predicted within this of now is reported
        now (at its predicted time), so that a picture made now can show it on time.
    learned : bool
        Hear the beat through the causal networks (`audiogan.beatnet.StreamingNet`, given
        each hop's `mel_db`), rather than through the onset fluxes alone. Their activation
        describes the hop before the newest (`LEARNED_DELAY`), which the predictions allow
        for.
    """

    def __init__(self, fps: float, *, tempo_range: tuple[float, float] = TEMPO_RANGE,
                 transition_lambda: float = 100.0, observation_lambda: int = 16,
                 lookahead_s: float = 0.0, silence_reset_s: float = 1.0,
                 learned: bool = True):
        self.fps = fps
        self.network = beatnet.StreamingNet() if learned else None
        self.delay = LEARNED_DELAY if learned else 0
        self.tempo_range = tempo_range
        self.states = TempoStates(fps=fps, min_bpm=min(tempo_range[0], TEMPO_RANGE[0]),
                                  max_bpm=max(tempo_range[1], TEMPO_RANGE[1]),
                                  transition_lambda=transition_lambda,
                                  observation_lambda=observation_lambda)
        self.transition = np.exp(self.states.log_transition)
        self.observation_lambda = observation_lambda
        self.tempo_of_state = np.repeat(np.arange(len(self.states.intervals)),
                                        self.states.intervals)
        self.position = (np.arange(self.states.count)
                         - np.repeat(self.states.first, self.states.intervals))
        self.not_last = np.ones(self.states.count, dtype=bool)
        self.not_last[self.states.last] = False
        self.lookahead = lookahead_s * fps
        self.silence_reset = silence_reset_s * fps
        self.activation = Activation(fps)
        # the tempo level people tap: a running tempogram of the activation (8 s memory)
        lags = self.states.intervals
        self.history = np.zeros(int(lags.max()) + 2)
        self.autocorrelation = np.zeros(len(lags))
        self.correlation_keep = float(np.exp(-1.0 / (8.0 * fps)))
        bpm = 60.0 * fps / lags
        self.tempo_prior = np.exp(-0.5 * (np.log2(bpm / 120.0)) ** 2)
        self.band = 1.4
        self.reset()
        self.hop = -1
        self.last_beat = -np.inf
        self.beats: list[float] = []
        # halving: the pulse's beats counted, and the bass heard on each kind of them (the
        # first, second ... of each group of 2 ** level)
        self.pulses = 0
        self.last_pulse = -np.inf
        self.accent = np.zeros(1)
        self.kept = 0
        self.bass = np.zeros(ACCENT_HOPS[1] - ACCENT_HOPS[0] + 1)

    def reset(self) -> None:
        """Every tempo and phase equally likely; no beats until the music is heard again."""
        self.alpha = np.full(self.states.count, 1.0 / self.states.count)
        self.level = 0
        self._settle()
        self.heard = 0
        self.quiet = 0
        self.autocorrelation[:] = 0.0
        self.history[:] = 0.0

    @property
    def interval(self) -> float:
        """The beat interval in hops, at the level of `tempo_range` (0 before the tracker is
        locked)."""
        return self._pulse_interval() * 2.0 ** self.level if self.locked else 0.0

    def _pulse_interval(self) -> float:
        """The interval of the pulse heard, in hops."""
        return float(self.states.intervals[self.tempo_index])

    def _settle(self) -> None:
        """After the posterior moved: the pulse's tempo (`tempo_index`), and how often it is
        halved (negative: doubled) to fit `tempo_range`, as offline (`range_level`). A tempo
        within 5 % outside the range keeps the level it had, so that a song swaying across
        an edge of the range is not halved and doubled by turns."""
        self.tempo_index = self._tempo()
        bpm = 60.0 * self.fps / self._pulse_interval()
        low, high = self.tempo_range
        if not low / 1.05 <= bpm / 2.0 ** self.level <= high * 1.05:
            self.level = range_level(bpm, self.tempo_range)

    @property
    def locked(self) -> bool:
        """Whether the tracker has heard enough music since the last silence to trust."""
        return self.heard >= 2.0 * self.fps

    @property
    def tempo_bpm(self) -> float:
        interval = self.interval
        return 60.0 * self.fps / interval if interval else 0.0

    def _tempo(self) -> int:
        per_tempo = np.bincount(self.tempo_of_state, weights=self.alpha,
                                minlength=len(self.states.intervals))
        # a gliding tempo spreads over neighbouring intervals: their mass counts together
        return int(np.argmax(np.convolve(per_tempo, np.ones(3), mode="same")))

    def _band(self) -> np.ndarray | None:
        """Per state, whether its tempo is within a factor `band` of the tempo the running
        tempogram favours (None while the tempogram is empty)."""
        weight = self.tempo_prior * np.maximum(self.autocorrelation, 0.0)
        if not weight.any():
            return None
        favoured = self.states.intervals[int(np.argmax(weight))]
        ratio = self.states.intervals / favoured
        inside = (ratio < self.band) & (ratio > 1 / self.band)
        return inside[self.tempo_of_state]

    def _next_pulse(self) -> float:
        """Hops from the current hop to the pulse's next predicted beat."""
        tempo = self.tempo_index
        first = self.states.first[tempo]
        interval = self.states.intervals[tempo]
        slice_ = self.alpha[first:first + interval]
        position = int(np.argmax(slice_))
        return float((interval - position) % interval)

    def next_beat(self) -> float:
        """Hops from the hop the activation last described (`delay` before the newest) to
        the next predicted beat (0: the beat is then)."""
        pulse, interval = self._next_pulse(), self._pulse_interval()
        level = self.level
        if level < 0:  # the points between too
            return pulse % (interval / 2 ** -level)
        # halved: the pulse's beats up to the next of the kind kept are dropped
        return pulse + ((self.kept - self.pulses) % 2 ** level) * interval

    def phase(self, ahead: float = 0.0) -> float:
        """Position within the beat, in [0, 1), `ahead` hops from the current hop
        (0 = on the beat); 0 before the tracker is locked."""
        if not self.locked:
            return 0.0
        interval = self.interval
        return float(((interval - self.next_beat() + ahead + self.delay) % interval)
                     / interval)

    def update(self, onset: float, onset_low: float = 0.0, onset_high: float = 0.0,
               rms: float = 1.0, mel_db: np.ndarray | None = None) -> float | None:
        """Take one hop's features; return the time (s) of a beat committed now, or None."""
        self.hop += 1
        activation = self.activation(onset, onset_low, onset_high, rms)
        if self.network is not None:
            if mel_db is None:
                raise ValueError("a tracker with learned=True needs each hop's mel_db")
            learned = self.network.step(mel_db)
            # the networks hear a faint beat in a silence's first seconds: none there
            activation = 0.0 if self.activation.hushed else learned
        if self.activation.silent:
            self.quiet += 1
            if self.quiet >= self.silence_reset and self.heard:
                self.reset()
            return None
        self.quiet = 0
        self.heard += 1
        self._correlate(activation)
        a = min(max(activation, 1e-6), 1 - 1e-6)
        moved = np.empty_like(self.alpha)
        moved[1:] = self.alpha[:-1]
        moved[self.states.first] = self.alpha[self.states.last] @ self.transition
        moved *= np.where(self.states.on_beat, a, (1 - a) / (self.observation_lambda - 1))
        # the networks hear the beat itself, not the busiest onsets: no band for them (on
        # game soundtracks it held the tracker off the beat more often than on it)
        band = self._band() if self.heard >= self.fps and self.network is None else None
        if band is not None:
            # the DBN alone runs at double speed over busy eighths (as offline, see
            # `audiogan.beats.tapped_beats`): it may only move within the band of the
            # tempogram's tempo, which a little mass everywhere in it lets it re-enter
            moved = np.where(band, moved + 1e-9 * moved.max(), 0.0)
        total = moved.sum()
        self.alpha = moved / total if total > 0 else np.full_like(moved, 1 / len(moved))
        self._settle()
        if not self.locked:
            return None
        interval = self.interval
        due = _signed(self.next_beat(), interval) - self.delay
        beat = None
        if (due <= self.lookahead and self.hop + due - self.last_beat > 0.6 * interval
                and not self.activation.hushed):
            self.last_beat = self.hop + due
            beat = self.last_beat / self.fps
        if self.level > 0:
            self._count_pulse(onset_low)
        return beat

    def _count_pulse(self, onset_low: float) -> None:
        """Halving: count the pulse's beats as they pass, weigh the bass around each beat of
        either kind, and keep the heavier kind (by a margin, so that the beat does not
        flip)."""
        kinds = 2 ** self.level
        if len(self.accent) != kinds:  # a new level: its kinds are weighed afresh
            self.accent, self.kept = np.zeros(kinds), 0
        self.bass = np.roll(self.bass, -1)
        self.bass[-1] = onset_low
        if self.hop - self.last_pulse == ACCENT_HOPS[1]:  # the bass is heard around it now
            kind = (self.pulses - 1) % kinds
            self.accent[kind] = 0.8 * self.accent[kind] + float(self.bass.max())
            heaviest = int(np.argmax(self.accent))
            if self.accent[heaviest] > 1.25 * self.accent[self.kept]:
                self.kept = heaviest
        interval = self._pulse_interval()
        due = _signed(self._next_pulse(), interval)  # counted as the activation hears it
        if due <= 0 and self.hop + due - self.last_pulse > 0.6 * interval:
            self.last_pulse = self.hop + round(due)
            self.pulses += 1

    def _correlate(self, activation: float) -> None:
        self.history = np.roll(self.history, 1)
        self.history[0] = activation
        lagged = self.history[self.states.intervals]
        self.autocorrelation = (self.correlation_keep * self.autocorrelation
                                + (1 - self.correlation_keep) * activation * lagged)


def _signed(due: float, interval: float) -> float:
    """Hops to a predicted beat, negative when it is just past: a prediction more than half
    a beat away means the beat was just now."""
    return due - interval if due > interval / 2 else due


def track_causal(blocks: Iterable[np.ndarray] | np.ndarray, sr: int = 22050, *,
                 tempo_range: tuple[float, float] = TEMPO_RANGE,
                 lookahead_s: float = 0.0, block_size: int = 512,
                 learned: bool = True) -> CausalBeats:
    """Run the causal tracker over a signal (blocks as they would arrive, or one array).

    Each beat is reported when it is due; with `lookahead_s` up to that much before.
    `learned=False` hears the beat through the onset fluxes alone (`CausalTracker`).
    """
    if isinstance(blocks, np.ndarray):
        signal = np.asarray(blocks, dtype=np.float32)
        blocks = (signal[i:i + block_size] for i in range(0, len(signal), block_size))
    features = StreamFeatures(sr=sr)
    tracker = CausalTracker(features.fps, tempo_range=tempo_range, lookahead_s=lookahead_s,
                            learned=learned)
    beats: list[float] = []
    tempo: list[float] = []
    for block in blocks:
        hops = features.feed(block)
        for k in range(len(hops)):
            beat = tracker.update(hops.onset[k], hops.onset_low[k], hops.onset_high[k],
                                  hops.rms[k], hops.mel_db[k])
            if beat is not None:
                beats.append(beat)
            tempo.append(tracker.tempo_bpm)
    return CausalBeats(beats_s=np.asarray(beats), tempo_bpm=np.asarray(tempo),
                       hop_s=1.0 / features.fps)
