"""The data the stages hand on: `Features` (analysis -> mapping) and `Trajectory`
(mapping -> generation). Plain frozen dataclasses over numpy arrays, so every stage can
be used, tested and replaced on its own.

Time base: every per-frame array has one row per video frame, frame ``i`` standing for the
time ``t = i / fps`` seconds after the start of the rendered audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Cue", "Features", "Trajectory", "NUM_CLASSES", "Z_DIM"]

NUM_CLASSES = 1000
Z_DIM = 128


@dataclass(frozen=True, eq=False)
class Features:
    """What the music does, sampled once at the video's frame times.

    Attributes
    ----------
    fps : float
        Video frame rate the features are sampled at.
    duration_s : float
        Length of the analysed audio in seconds (decoded samples / sample rate).
    sample_rate : int
        Sample rate the audio was analysed at (mono).
    tempo_bpm : float
        Global tempo estimate; 0.0 when no beat was found.
    beats_s : ndarray, shape (B,)
        Beat times in seconds, increasing.
    onset : ndarray, shape (T,)
        Onset strength (spectral flux of the log-mel spectrogram), the largest value within
        each frame's interval, scaled so that 1.0 is a strong beat of this song (the upper
        quartile of the onsets on its beats).
    loudness_db : ndarray, shape (T,)
        RMS level of each frame's interval in dBFS (full-scale sine = -3 dB, silence -100).
    chroma : ndarray, shape (T, 12)
        Energy of the 12 pitch classes (C, C#, ..., B), each row scaled to a maximum of 1
        (all zeros where the frame is silent).
    peak_dbfs : float
        Highest absolute sample level of the whole track, in dBFS.
    downbeats_s : ndarray, shape (D,)
        Bar starts in seconds, a subset of `beats_s`.
    meter : int
        Beats per bar (3 or 4; 0 when unknown).
    tempo_curve : ndarray, shape (T,)
        Local tempo (BPM) at each frame, from the beat intervals (0 without beats).
    sections_s : ndarray, shape (S, 2)
        Start and end (s) of each section (intro, verse, drop ...); they tile the song and
        their boundaries fall on bar lines.
    section_labels : ndarray, shape (S,), str
        A letter per section; sections that sound alike share it.
    beat_confidence : float
        How sure the beat grid is, in [0, 1] (see `audiogan.beats.BeatGrid.confidence`):
        1.0 for a grid the user gave, 0.0 without beats.
    confidence_curve : ndarray, shape (T,)
        The grid's confidence at each frame (from the beats either side); empty means
        `beat_confidence` everywhere.
    beat_tracker : str
        Which tracker found the beats: ``audiogan`` (its own) or ``beat_this`` (Beat This!).
    half_beats_s : ndarray, shape (H,)
        Every other beat, a subset of `beats_s`: the half-speed beat many listeners tap in a
        fast song (see `audiogan.beats.half_beats`); empty where the tracker did not choose.
    """

    fps: float
    duration_s: float
    sample_rate: int
    tempo_bpm: float
    beats_s: np.ndarray
    onset: np.ndarray
    loudness_db: np.ndarray
    chroma: np.ndarray
    peak_dbfs: float
    downbeats_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    meter: int = 0
    tempo_curve: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sections_s: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    section_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    beat_confidence: float = 1.0
    confidence_curve: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beat_tracker: str = "audiogan"
    half_beats_s: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_frames(self) -> int:
        """Number of video frames, ``round(duration_s * fps)``."""
        return len(self.onset)

    @property
    def frame_confidence(self) -> np.ndarray:
        """The grid's confidence at each frame, shape (T,), in [0, 1]."""
        if len(self.confidence_curve) == self.n_frames:
            return np.asarray(self.confidence_curve, dtype=np.float64)
        return np.full(self.n_frames, float(self.beat_confidence))

    @property
    def beat_frames(self) -> np.ndarray:
        """Index of the video frame nearest each beat, shape (B,), within [0, T)."""
        frames = np.round(self.beats_s * self.fps).astype(np.int64)
        return np.unique(frames[(frames >= 0) & (frames < self.n_frames)])

    @property
    def downbeat_frames(self) -> np.ndarray:
        """Index of the video frame nearest each bar start, shape (D,), within [0, T)."""
        frames = np.round(np.asarray(self.downbeats_s) * self.fps).astype(np.int64)
        return np.unique(frames[(frames >= 0) & (frames < self.n_frames)])


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The BigGAN inputs of every frame.

    Attributes
    ----------
    z : ndarray, shape (T, 128), float32
        Noise vectors, already multiplied by `truncation`.
    class_ids : ndarray, shape (K,), int64
        ImageNet ids of the classes in play.
    class_weights : ndarray, shape (T, K), float32
        How much of each class every frame shows (rows are scaled by ``y_scale``).
    truncation : float
        BigGAN truncation in (0, 1] of the render (of frames `frame_truncation` leaves
        unset).
    frame_truncation : ndarray, shape (T,), optional
        A truncation per frame, where cues change it from section to section.
    """

    z: np.ndarray
    class_ids: np.ndarray
    class_weights: np.ndarray
    truncation: float
    frame_truncation: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return len(self.z)

    def truncation_run(self, start: int) -> tuple[float, int]:
        """The truncation at frame `start` and the first frame after it that has another."""
        if self.frame_truncation is None:
            return self.truncation, self.n_frames
        values = self.frame_truncation
        value = float(values[start])
        other = np.flatnonzero(values[start:] != values[start])
        return value, start + int(other[0]) if len(other) else self.n_frames

    def class_vectors(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Dense class vectors of frames ``start:stop``, shape (n, 1000), float32.

        Built on demand so that a long song never holds a [T, 1000] array.
        """
        weights = self.class_weights[start:stop]
        y = np.zeros((len(weights), NUM_CLASSES), dtype=np.float32)
        # np.add.at sums weights when one class id is given twice
        for k, class_id in enumerate(self.class_ids):
            y[:, class_id] += weights[:, k]
        return y


@dataclass(frozen=True)
class Cue:
    """What the user asks for from a point of the song on (see `audiogan.timing`).

    Attributes
    ----------
    time_s : float, optional
        Start in seconds (of the song as read; of the analysed audio once resolved).
    bar : int, optional
        Start as a bar number, 1 = the first bar (replaced by `time_s` once resolved).
    classes : tuple of int, optional
        The classes to show from here on (unset: keep the current ones).
    intensity : float, optional
        Scale of the pulses and the drift from here on (unset: keep; 1 at the start).
    truncation : float, optional
        BigGAN truncation from here on (unset: keep the preset's).
    line, source : int, str
        Where the cue was written, for messages.
    """

    time_s: float | None = None
    bar: int | None = None
    classes: tuple[int, ...] | None = None
    intensity: float | None = None
    truncation: float | None = None
    line: int = 0
    source: str = ""
