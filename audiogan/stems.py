"""Stems: drums drive the pulses, bass the drift, the other instruments the class morph.

numpy only. Each stem is analysed like the song (`audiogan.analysis.analyze`); `combine`
then takes from each what it moves best, keeping the mix's beat grid and sections:

- **drums** -> the onset strength, so each pulse is as strong as the drum hit on its beat;
- **bass** -> the loudness, which sets the speed of the slow drift;
- **other** (chords, keys, guitars, vocals) -> the chroma, which sets the class mix.

A stem that is not given leaves that part to the mix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from audiogan.errors import ConfigError
from audiogan.types import Features

__all__ = ["STEM_NAMES", "combine"]

STEM_NAMES = ("drums", "bass", "other")
"""The stems audiogan routes (`combine`) and separates (`audiogan.separate`)."""


def _fit(values: np.ndarray, n: int, fill: float) -> np.ndarray:
    """`values` cut or padded (with `fill`) to `n` rows."""
    if len(values) >= n:
        return values[:n]
    pad = np.full((n - len(values), *values.shape[1:]), fill, dtype=values.dtype)
    return np.concatenate([values, pad])


def combine(mix: Features, *, drums: Features | None = None, bass: Features | None = None,
            other: Features | None = None) -> Features:
    """The mix's features with the onset of `drums`, the loudness of `bass` and the chroma
    of `other` (each optional; stems shorter or longer than the mix are padded or cut).

    Raises `ConfigError` for a stem analysed at another frame rate than the mix."""
    for name, stem in (("drums", drums), ("bass", bass), ("other", other)):
        if stem is not None and abs(stem.fps - mix.fps) > 1e-9:
            raise ConfigError(f"the {name} stem was analysed at {stem.fps} fps, the mix at "
                             f"{mix.fps}")
    n = mix.n_frames
    changes: dict[str, Any] = {}
    if drums is not None:
        onset = drums.onset
        # rescale so that 1.0 is a strong drum hit on the mix's beats
        beats = mix.beat_frames[mix.beat_frames < len(onset)]
        if len(beats) >= 4:
            scale = np.percentile(onset[beats], 75)
            onset = onset / scale if scale > 1e-9 else onset
        changes["onset"] = _fit(onset.astype(np.float32), n, 0.0)
    if bass is not None:
        changes["loudness_db"] = _fit(bass.loudness_db, n, -100.0)
    if other is not None:
        changes["chroma"] = _fit(other.chroma, n, 0.0)
    return dataclasses.replace(mix, **changes)
