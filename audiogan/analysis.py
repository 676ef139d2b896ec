"""What the music does, frame by frame: beats and tempo, onset strength, loudness, chroma.

librosa and numpy only (Beat This!, an optional tracker on torch, is imported only when
asked for). The signal arrives in blocks (see `audiogan.audio.stream_mono`) and
is reduced to a few numbers per STFT hop as it comes, so a one-hour song costs no more
memory than a one-minute one. The per-hop features are then sampled once, in
`sample_at_frames`, at the video's frame times ``t = i / fps``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import librosa
import numpy as np
import scipy.ndimage

from audiogan import beatnet
from audiogan.beats import (
    TEMPO_RANGE,
    BeatGrid,
    half_beats,
    range_ratio,
    tempo_at,
    tempo_changes,
    track_grid,
)
from audiogan.structure import Sections, bar_features, segment
from audiogan.types import Features

__all__ = ["HopFeatures", "analyze", "beat_grid", "global_tempo", "hop_features",
           "sample_at_frames", "song_sections"]

SILENCE_DB = -100.0
N_MFCC = 13
N_MELS = 64
LOW_HZ = 200.0
HIGH_HZ = 2000.0
EDGE_HOPS = 6


@dataclass(frozen=True, eq=False)
class HopFeatures:
    """Features at STFT hop resolution (frame ``k`` is centred at ``k * hop_length / sr``).

    Attributes
    ----------
    onset : ndarray, shape (F,)
        Onset strength: mean positive change of the log-mel spectrogram (librosa's
        `onset_strength`), placed midway between the two frames it compares, where the hit
        happened.
    rms : ndarray, shape (F,)
        Root-mean-square level of each STFT frame (1.0 = full scale).
    chroma : ndarray, shape (F2, 12)
        Pitch-class energy (unnormalised) at `chroma_hop_length`, from a longer window that
        tells the bass notes apart.
    onset_low : ndarray, shape (F,)
        The same flux over the mel bands below 200 Hz only (bass drum and bass), which
        marks the strong beats of a bar.
    mfcc : ndarray, shape (F, 13)
        Mel-frequency cepstral coefficients (the timbre) of each frame.
    onset_high : ndarray, shape (F,)
        The flux over the mel bands above 2 kHz only (hi-hats, snares, the attack of
        plucked and struck notes).
    onset_vibrato : ndarray, shape (F,)
        The flux against the previous frame widened by a maximum over neighbouring bands
        (SuperFlux, Boeck and Widmer 2013): a vibrato or glide does not count as a new note,
        so bowed strings, voices and synth leads show their note starts only.
    mel_db : ndarray, shape (F, 64), float16
        The log-mel spectrogram (dB, floor -100) itself: the input of the learned beat
        activation (`audiogan.beatnet`).
    n_samples : int
        Number of samples analysed.
    peak : float
        Largest absolute sample value.
    """

    sr: int
    hop_length: int
    chroma_hop_length: int
    onset: np.ndarray
    rms: np.ndarray
    chroma: np.ndarray
    n_samples: int
    peak: float
    onset_low: np.ndarray = None  # type: ignore[assignment]
    mfcc: np.ndarray = None  # type: ignore[assignment]
    onset_high: np.ndarray = None  # type: ignore[assignment]
    onset_vibrato: np.ndarray = None  # type: ignore[assignment]
    mel_db: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("onset_low", "onset_high", "onset_vibrato"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.zeros_like(self.onset))
        if self.mfcc is None:
            object.__setattr__(self, "mfcc", np.zeros((len(self.onset), N_MFCC), np.float32))
        if self.mel_db is None:
            object.__setattr__(self, "mel_db", np.full((len(self.onset), N_MELS), -100.0,
                                                       np.float16))

    @property
    def fps(self) -> float:
        """Hops per second."""
        return self.sr / self.hop_length

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sr


class _StreamingSTFT:
    """Power spectra of a centred STFT (``librosa.stft(center=True)``) fed block by block."""

    def __init__(self, n_fft: int, hop_length: int):
        self.n_fft, self.hop_length = n_fft, hop_length
        self.window = librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float32)
        self.buffer = np.zeros(n_fft // 2, dtype=np.float32)  # the left padding
        self.frames = 0

    def _take(self, limit: int | None = None) -> np.ndarray:
        count = 1 + (len(self.buffer) - self.n_fft) // self.hop_length
        if limit is not None:
            count = min(count, limit - self.frames)
        if count <= 0:
            return np.zeros((1 + self.n_fft // 2, 0), dtype=np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(self.buffer, self.n_fft)
        frames = frames[:: self.hop_length][:count]
        self.buffer = self.buffer[count * self.hop_length:]
        self.frames += count
        return (np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2).T.astype(np.float32)

    def feed(self, block: np.ndarray) -> np.ndarray:
        """Spectra, shape (1 + n_fft / 2, n), of the frames `block` completes."""
        self.buffer = np.concatenate([self.buffer, block])
        return self._take()

    def flush(self, n_samples: int) -> np.ndarray:
        """The last frames, up to librosa's count of ``1 + n_samples // hop_length``."""
        self.buffer = np.concatenate([self.buffer, np.zeros(self.n_fft, dtype=np.float32)])
        return self._take(limit=1 + n_samples // self.hop_length)


def hop_features(
    blocks: Iterable[np.ndarray],
    *,
    sr: int = 22050,
    n_fft: int = 1024,
    hop_length: int = 256,
    chroma_n_fft: int = 4096,
    chroma_hop_length: int = 1024,
    n_mels: int = N_MELS,
    progress: Callable[[float], None] | None = None,
) -> HopFeatures:
    """Stream mono blocks through two centred STFTs and keep onset, RMS and chroma.

    A short window (`n_fft`, 46 ms at 22050 Hz) times the hits closely; a long one
    (`chroma_n_fft`) resolves the pitches. The frames are those of ``librosa.stft`` over
    the whole signal, whatever the block sizes; `progress` gets the seconds analysed so far.
    """
    short = _StreamingSTFT(n_fft, hop_length)
    long = _StreamingSTFT(chroma_n_fft, chroma_hop_length)
    mel_basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    chroma_basis = librosa.filters.chroma(sr=sr, n_fft=chroma_n_fft)
    window_energy = float(np.sum(short.window**2))
    band_hz = librosa.mel_frequencies(n_mels=n_mels + 2, fmax=sr / 2)[1:-1]
    low_bands = band_hz < LOW_HZ
    low_bands[:2] = True
    high_bands = band_hz >= HIGH_HZ
    dct = _dct_matrix(N_MFCC, n_mels)
    onsets, lows, highs, vibratos, levels, chromas, cepstra, mels = [], [], [], [], [], [], [], []
    previous_mel_db: np.ndarray | None = None
    n_samples, peak = 0, 0.0

    def reduce(power: np.ndarray, pitched: np.ndarray) -> None:
        nonlocal previous_mel_db
        chromas.append((chroma_basis @ pitched).T)
        if power.shape[1] == 0:
            return
        mel_db = librosa.power_to_db(mel_basis @ power, ref=1.0, amin=1e-10, top_db=None)
        if previous_mel_db is None:
            previous_mel_db = mel_db[:, :1]
        both = np.concatenate([previous_mel_db, mel_db], axis=1)
        flux = np.maximum(np.diff(both, axis=1), 0.0)
        onsets.append(flux.mean(axis=0))
        lows.append(flux[low_bands].mean(axis=0))
        highs.append(flux[high_bands].mean(axis=0))
        widened = scipy.ndimage.maximum_filter1d(both[:, :-1], size=3, axis=0)
        vibratos.append(np.maximum(mel_db - widened, 0.0).mean(axis=0))
        cepstra.append((dct @ np.maximum(mel_db, -100.0)).T.astype(np.float32))
        mels.append(np.maximum(mel_db, -100.0).T.astype(np.float16))
        previous_mel_db = mel_db[:, -1:]
        # Parseval: mean power of the windowed frame, corrected for the window's energy
        levels.append(np.sqrt(power.sum(axis=0) * 2 / (n_fft * window_energy)))

    for block in blocks:
        block = np.asarray(block, dtype=np.float32)
        if block.size == 0:
            continue
        n_samples += block.size
        peak = max(peak, float(np.max(np.abs(block))))
        reduce(short.feed(block), long.feed(block))
        if progress is not None:
            progress(n_samples / sr)
    reduce(short.flush(n_samples), long.flush(n_samples))

    # the flux of frame k compares frames k-1 and k: the change happened between their
    # centres, half a hop before frame k; a hit shows as soon as the window's leading edge
    # reaches it, n_fft / 2 early, which librosa's onset_strength(center=True) delays back
    lag = n_fft // (2 * hop_length)

    def delay(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros(lag), values[: max(0, len(values) - lag)]])

    def joined(parts: list[np.ndarray]) -> np.ndarray:
        return delay(np.concatenate(parts) if parts else np.zeros(0)).astype(np.float32)

    return HopFeatures(
        sr=sr, hop_length=hop_length, chroma_hop_length=chroma_hop_length,
        onset=joined(onsets),
        rms=(np.concatenate(levels) if levels else np.zeros(0)).astype(np.float32),
        chroma=(np.concatenate(chromas) if chromas else np.zeros((0, 12))).astype(np.float32),
        n_samples=n_samples, peak=peak,
        onset_low=joined(lows), onset_high=joined(highs), onset_vibrato=joined(vibratos),
        mfcc=(np.concatenate(cepstra) if cepstra else np.zeros((0, N_MFCC))).astype(np.float32),
        mel_db=(np.concatenate(mels) if mels else np.zeros((0, n_mels))).astype(np.float16),
    )


def _dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II rows (what librosa's MFCC applies to the log-mel bands).

    Kept over ``scipy.fft.dct``: the same numbers (within 1.4e-6), and one small matrix
    product per block is about 20 % faster than a transform call per block.
    """
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


def global_tempo(onset: np.ndarray, *, sr: int, hop_length: int, ac_size: float = 8.0,
                 chunk: int = 1024) -> float:
    """librosa's tempo estimate (mean tempogram, log-normal prior around 120 BPM), computed
    over chunks of the onset envelope so that its memory does not grow with the song.

    The same number at any `chunk`; a chunk's tempogram and its FFTs are the peak, about
    100 MB at 4096 hops (48 s), which a 30 s song never filled, so longer songs peaked
    70 MB higher; at 1024 it is a quarter of that, and twice as fast.
    """
    win_length = int(librosa.time_to_frames(ac_size, sr=sr, hop_length=hop_length))
    padded = np.pad(onset.astype(np.float64), win_length // 2, mode="linear_ramp")
    total, windows = np.zeros(win_length), 0
    for first in range(0, len(onset), chunk):
        piece = padded[first:first + chunk + win_length - 1]
        if len(piece) < win_length:
            break
        tempogram = librosa.feature.tempogram(onset_envelope=piece, sr=sr, hop_length=hop_length,
                                              win_length=win_length, center=False)
        total += tempogram.sum(axis=1)
        windows += tempogram.shape[1]
    mean = (total / max(windows, 1))[:, None]
    tempo = librosa.feature.tempo(tg=mean, sr=sr, hop_length=hop_length, aggregate=None)
    return float(np.atleast_1d(tempo).ravel()[0])


def beat_grid(hop: HopFeatures, *, tempo_range: tuple[float, float] = TEMPO_RANGE,
              learned_activation: bool = True) -> BeatGrid:
    """Beats, downbeats, meter, tempo and confidence of the song (see `audiogan.beats`);
    the beats keep to `tempo_range` (slowest, fastest BPM). The grid follows the learned
    beat activation (`audiogan.beatnet`), or with `learned_activation` off the onsets alone."""
    if len(hop.onset) < 8 or not np.any(hop.onset > 0):
        return BeatGrid(np.zeros(0), np.zeros(0), 0, 0.0, confidence=0.0)
    low, high = tempo_range

    def tempogram_bpm(start: int, end: int) -> float:
        """The tempogram's choice over hops start .. end, moved into the range asked for
        by octaves (or by thirds, where a range narrower than an octave holds none)."""
        bpm = global_tempo(hop.onset[start:end], sr=hop.sr, hop_length=hop.hop_length)
        return bpm / range_ratio(bpm, (low, high)) if bpm > 0 else bpm

    envelopes = []
    for envelope in (hop.onset, hop.onset_low, hop.onset_high, hop.onset_vibrato):
        # the first frames' flux is the window filling up from the zero padding, not a hit
        envelope = envelope.copy()
        envelope[:EDGE_HOPS] = 0.0
        envelopes.append(envelope)
    # an onset frame's flux belongs half a hop earlier (see `hop_features`), and the flux
    # of a hit peaks about half a hop after its leading edge
    learned, downbeat = (beatnet.activations(hop.mel_db) if learned_activation
                         else (None, None))
    return track_grid(envelopes, hop.onset_low, hop.chroma, hop.rms, fps=hop.fps,
                      chroma_fps=hop.sr / hop.chroma_hop_length,
                      global_bpm=tempogram_bpm(0, len(hop.onset)), section_bpm=tempogram_bpm,
                      delay_s=hop.hop_length / hop.sr, tempo_range=tempo_range,
                      learned=learned, learned_downbeat=downbeat, edge_hops=EDGE_HOPS)


def _bin_by_frame(values: np.ndarray, frame_of_hop: np.ndarray, n_frames: int,
                  how: str) -> np.ndarray:
    """Reduce hop-rate rows into video frames (max or mean); empty frames are interpolated."""
    values = values.reshape(len(values), -1)
    out = np.zeros((n_frames, values.shape[1]), dtype=np.float64)
    counts = np.bincount(frame_of_hop, minlength=n_frames)[:n_frames]
    if how == "max":
        out[:] = -np.inf
        np.maximum.at(out, frame_of_hop, values)
    else:
        np.add.at(out, frame_of_hop, values)
        out /= np.maximum(counts, 1)[:, None]
    filled = counts > 0
    if not filled.all() and filled.any():
        # video frames faster than the hop rate: take the nearest hops' values
        index = np.arange(n_frames)
        for column in range(out.shape[1]):
            out[~filled, column] = np.interp(index[~filled], index[filled], out[filled, column])
    out[~np.isfinite(out)] = 0.0
    return out


def song_sections(hop: HopFeatures, downbeats_s: np.ndarray) -> Sections:
    """Sections of the song on its bar lines (2 s blocks without a grid)."""
    duration = hop.duration_s
    inner = np.asarray(downbeats_s, dtype=np.float64)
    if len(inner) >= 2:
        # a lead-in or tail shorter than half a bar belongs to the bar beside it
        bar = float(np.median(np.diff(inner)))
        inner = inner[(inner > 0.5 * bar) & (inner < duration - 0.5 * bar)]
    if len(inner) < 2:
        inner = np.arange(2.0, duration - 0.1, 2.0)
    edges = np.concatenate([[0.0], inner, [duration]])
    if len(hop.onset) == 0:
        return Sections(np.array([[0.0, duration]]), np.array(["A"]))
    rows = bar_features(edges, fps=hop.fps, chroma=hop.chroma,
                        chroma_fps=hop.sr / hop.chroma_hop_length, mfcc=hop.mfcc,
                        onset=hop.onset, rms=hop.rms)
    return segment(edges, rows, duration_s=duration)


def sample_at_frames(hop: HopFeatures, *, fps: float, tempo_bpm: float,
                     beats_s: np.ndarray, grid: BeatGrid | None = None,
                     sections: Sections | None = None) -> Features:
    """Sample the hop features once at the video frame times ``t = i / fps``.

    Frame ``i`` stands for the interval ``[t - 0.5 / fps, t + 0.5 / fps)``: onset strength
    takes the largest value in it (a hit is never missed between two frames), loudness and
    chroma the mean.
    """
    n_frames = max(1, round(hop.duration_s * fps))
    def frame_of(count: int, hop_length: int) -> np.ndarray:
        times = np.arange(count) * hop_length / hop.sr
        return np.clip(np.round(times * fps).astype(np.int64), 0, n_frames - 1)

    frame_of_hop = frame_of(len(hop.onset), hop.hop_length)

    onset = _bin_by_frame(hop.onset, frame_of_hop, n_frames, "max")[:, 0]
    # 1.0 = a strong beat of this song: the upper quartile of the onsets on the beats
    beat_frames = np.round(beats_s * fps).astype(np.int64)
    beat_frames = beat_frames[(beat_frames >= 0) & (beat_frames < n_frames)]
    if len(beat_frames) >= 4:
        near = np.stack([onset[np.clip(beat_frames + d, 0, n_frames - 1)] for d in (-1, 0, 1)])
        scale = np.percentile(near.max(axis=0), 75)
    else:
        scale = np.percentile(onset, 99)
    onset = onset / scale if scale > 1e-9 else np.zeros_like(onset)

    power = _bin_by_frame(hop.rms.astype(np.float64) ** 2, frame_of_hop, n_frames, "mean")[:, 0]
    loudness_db = np.maximum(10 * np.log10(np.maximum(power, 1e-20)), SILENCE_DB)

    chroma = _bin_by_frame(hop.chroma, frame_of(len(hop.chroma), hop.chroma_hop_length),
                           n_frames, "mean")
    top = chroma.max(axis=1, keepdims=True)
    chroma = np.where(top > 1e-10, chroma / np.maximum(top, 1e-10), 0.0)

    peak_dbfs = 20 * np.log10(hop.peak) if hop.peak > 0 else -np.inf
    extra: dict[str, Any] = {}
    if grid is not None:
        times = np.arange(n_frames) / fps
        curve = (np.interp(times, grid.beats_s, grid.beat_confidence) if len(grid.beats_s)
                 else np.zeros(n_frames))
        extra.update(downbeats_s=grid.downbeats_s, half_beats_s=grid.half_beats_s,
                     meter=grid.meter,
                     tempo_curve=tempo_at(grid.beats_s, times).astype(np.float32),
                     beat_confidence=float(grid.confidence),
                     confidence_curve=curve.astype(np.float32))
    if sections is not None:
        extra.update(sections_s=sections.bounds_s, section_labels=sections.labels)
    return Features(
        fps=float(fps),
        duration_s=hop.duration_s,
        sample_rate=hop.sr,
        tempo_bpm=tempo_bpm,
        beats_s=beats_s,
        onset=onset.astype(np.float32),
        loudness_db=loudness_db.astype(np.float32),
        chroma=chroma.astype(np.float32),
        peak_dbfs=float(peak_dbfs),
        **extra,
    )


def _keeping(blocks: Iterable[np.ndarray], kept: list[np.ndarray]) -> Iterable[np.ndarray]:
    """The blocks as they come, each also appended to `kept`."""
    for block in blocks:
        block = np.asarray(block, dtype=np.float32)
        kept.append(block)
        yield block


def analyze(
    blocks: Iterable[np.ndarray],
    *,
    sr: int = 22050,
    fps: float,
    hop_length: int = 256,
    tempo_range: tuple[float, float] = TEMPO_RANGE,
    progress: Callable[[float], None] | None = None,
    beat_tracker: str = "audiogan",
    beat_model: str | Path | None = None,
) -> Features:
    """Analyse a mono signal given as blocks (a single array works too) into `Features`
    sampled at `fps`.

    `beat_tracker` picks who finds the beats: ``audiogan`` (`beat_grid`, keeping to
    `tempo_range`, the slowest and fastest BPM), ``beat_this`` (Beat This!, on the
    checkpoint `beat_model` or the pretrained one; needs the optional beat-this package and
    torch, and holds the whole signal in memory) or ``auto`` (see
    `audiogan.beatthis.resolve_tracker`).
    """
    if isinstance(blocks, np.ndarray):
        blocks = [blocks]
    if beat_tracker != "audiogan":
        from audiogan import beatthis

        beat_tracker, beat_model = beatthis.resolve_tracker(beat_tracker, beat_model)
    signal: list[np.ndarray] = []
    if beat_tracker == "beat_this":
        blocks = _keeping(blocks, signal)
    hop = hop_features(blocks, sr=sr, hop_length=hop_length, progress=progress)
    if beat_tracker == "beat_this":
        y = np.concatenate(signal) if signal else np.zeros(0, dtype=np.float32)
        # resolve_tracker names a checkpoint whenever it picks beat_this
        grid = beatthis.beat_grid(y, sr, checkpoint=cast(Path, beat_model))
        # its half-speed beats by the same ear as audiogan's own grid's: the network's
        grid = dataclasses.replace(grid, half_beats_s=half_beats(
            grid.beats_s, np.round(grid.beats_s * hop.fps).astype(np.int64),
            beatnet.activations(hop.mel_db)[0], tempo_changes(grid.beats_s, hop.duration_s)))
    else:
        grid = beat_grid(hop, tempo_range=tempo_range)
    sections = song_sections(hop, grid.downbeats_s)
    features = sample_at_frames(hop, fps=fps, tempo_bpm=grid.tempo_bpm, beats_s=grid.beats_s,
                                grid=grid, sections=sections)
    return dataclasses.replace(features, beat_tracker=beat_tracker)
