"""Tempo mode's trajectories (gan-video-synth's `generate_in_tempo`): the mapping stage's
second source of BigGAN inputs, beside `audiogan.mapping`'s song-driven one.

One noise vector is held still and sets of its axes move by ``func(phase) * magnitude``,
the phase turning once every `period` beats, so the picture pulses at a tempo (the
functions are `audiogan.waves`'). numpy only; every random draw comes from an explicit
`numpy.random.Generator` made from the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from audiogan.mapping import truncated_normal
from audiogan.types import Trajectory
from audiogan.waves import TAU

if TYPE_CHECKING:
    from audiogan.config import TempoConfig

__all__ = ["axis_trajectory", "frame_count", "trajectory"]


def frame_count(num_beats: float, bpm: float, fps: float) -> int:
    """The seed's length: ``int(num_beats * 60 / bpm * fps)`` frames."""
    return int(num_beats * 60 / bpm * fps)


def _label(vocab_size: int, classes: Sequence[int], *, y_scale: float, truncation: float,
           random_label: bool, quantize_label: bool, seed: int) -> np.ndarray:
    """The class vector (1, vocab_size): the classes (or a random vector) scaled to norm
    `y_scale`, then quantised to 0/1 at 0.5 when asked."""
    if random_label:
        rng = np.random.default_rng((seed + 1) % 2**32)  # apart from the noise's draws
        y = truncation * truncated_normal(rng, (1, vocab_size))
    else:
        y = np.zeros((1, vocab_size))
        for class_id in classes:
            y[0, class_id] += 1
    norm = np.linalg.norm(y)
    y = y / norm * y_scale if norm > 0 else y
    if quantize_label:
        y = (np.abs(y) > 0.5).astype(np.float64)
    return y.astype(np.float32)


def axis_trajectory(dim_z: int, vocab_size: int, *, bpm: float, fps: float,
                    num_frames: int, classes: Sequence[int], y_scale: float,
                    truncation: float, random_label: bool, quantize_label: bool,
                    axis_sets: Sequence[Sequence[int] | None],
                    magnitudes: Sequence[float | None], periods: Sequence[float | None],
                    funcs: Sequence[Callable], seed: int,
                    first_beat_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """z (num_frames, dim_z) and the class vector y (1, vocab_size) of a tempo render.

    Frame ``i`` is at ``i / fps`` seconds, ``(i / fps - first_beat_s) * bpm / 60`` beats from
    the first beat; each set of axes moves by ``func(2*pi * beats / period) * magnitude``
    around a base point drawn from `seed`. A set whose axes, magnitude or period is None
    stays still, the seed's way of switching one off; sets past the shortest list are left
    out, as the seed's ``zip`` did.
    """
    y = _label(vocab_size, classes, y_scale=y_scale, truncation=truncation,
               random_label=random_label, quantize_label=quantize_label, seed=seed)
    base = truncation * truncated_normal(np.random.default_rng(seed), (dim_z,))
    zs = np.repeat(base[None, :], num_frames, axis=0)
    beats = (np.arange(num_frames) / fps - first_beat_s) * (bpm / 60.0)
    for axes, magnitude, period, func in zip(axis_sets, magnitudes, periods, funcs,
                                             strict=False):
        if axes is None or magnitude is None or period is None:
            continue
        offset = np.asarray(func(TAU * beats / period), dtype=np.float64) * magnitude
        for axis in axes:
            zs[:, axis] += offset
    return zs.astype(np.float32), y


def trajectory(config: TempoConfig, *, seed: int, dim_z: int, vocab_size: int,
               num_frames: int | None = None, bpm: float | None = None,
               first_beat_s: float = 0.0) -> Trajectory:
    """The `Trajectory` of a tempo render with `config`: ``frame_count(...)`` frames unless
    `num_frames` is given, at `bpm` (default the config's; a song's tempo overrides it).
    Only the classes in play travel as columns."""
    bpm = config.bpm if bpm is None else bpm
    if num_frames is None:
        num_frames = frame_count(config.num_beats, bpm, config.fps)
    zs, y = axis_trajectory(
        dim_z, vocab_size, bpm=bpm, fps=config.fps, num_frames=num_frames,
        classes=config.classes, y_scale=config.y_scale, truncation=config.truncation,
        random_label=config.random_label, quantize_label=config.quantize_label,
        axis_sets=config.axis_sets, magnitudes=config.magnitudes, periods=config.periods,
        funcs=config.functions(), seed=seed, first_beat_s=first_beat_s)
    class_ids = np.flatnonzero(y[0]) if np.any(y) else np.array([0])
    return Trajectory(z=zs, class_ids=class_ids.astype(np.int64),
                      class_weights=np.repeat(y[:, class_ids], len(zs), axis=0),
                      truncation=float(config.truncation))
