"""A learned beat activation: how much each hop sounds like a beat, from the log-mel frames.

A small temporal convolutional network (after Davies and Boeck 2019, "Temporal
convolutional networks for musical audio beat tracking"), numpy only at run time:

1. the log-mel frames (`HopFeatures.mel_db`, 64 bands at the STFT hop rate), levelled to
   the song's loud frames, and their rise since the previous hop (two input planes);
2. three 2-D convolutions over time and frequency, with pooling over frequency, that reduce
   each hop to `CHANNELS` numbers;
3. residual 1-D convolutions over time, dilated 1, 2, 4 ... 128 hops, that see about 6 s
   either side: enough for the pattern of a bar, so a loud off-beat is told from the beat;
4. per hop, the probability of a beat and of a downbeat;
5. an ensemble: the mean of a few such networks, trained alike from different seeds, which
   disagree less on the beats than on their mistakes.

It was trained (``benchmarks/train_beatnet.py``) on music with exact beats that the
benchmark does not hold: rendered MIDI compositions and MMA accompaniments in a hundred
styles (``benchmarks/beat_train_data.py``). The weights ship with the package
(`audiogan/data/beatnet.npz`, read without unpickling). Long songs are run in overlapping
chunks, so memory does not grow with the song.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["activations", "load_weights", "normalise", "Weights", "CHANNELS", "DILATIONS", "N_MELS",
           "CONTEXT"]

N_MELS = 64
CHANNELS = 24
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128)
KERNEL = 5
POOL = (4, 4)
CONTEXT = 2 + sum((KERNEL // 2) * d for d in DILATIONS)
"""Hops either side that one output depends on."""
WEIGHTS = "beatnet.npz"


def normalise(mel_db: np.ndarray) -> np.ndarray:
    """The two input planes, shape (2, F, N_MELS), float32: the log-mel levelled so that the
    song's loud frames sit near 0 (in units of 20 dB), and its rise since the previous hop."""
    mel = np.asarray(mel_db, dtype=np.float32)
    if len(mel) == 0:
        return np.zeros((2, 0, N_MELS), np.float32)
    top = float(np.percentile(mel, 99))
    level = np.clip((mel - top) / 20.0, -4.0, 1.0)
    rise = np.maximum(np.diff(level, axis=0, prepend=level[:1]), 0.0)
    return np.stack([level, rise]).astype(np.float32)


Weights = list[dict[str, np.ndarray]]
"""The members of the ensemble, each a mapping of parameter names to arrays."""


def load_weights(path: str | Path | None = None) -> Weights:
    """The ensemble's weights, from `path` or the packaged file.

    Each member's parameters are stored under ``m<index>.<name>`` in one ``.npz``, read with
    ``allow_pickle=False``: a file that holds Python objects is refused, never unpickled.
    """
    if path is None:
        return [dict(member) for member in _packaged()]
    with np.load(path, allow_pickle=False) as data:
        return _members({name: data[name] for name in data.files})


@lru_cache(maxsize=1)
def _packaged() -> tuple[tuple[tuple[str, np.ndarray], ...], ...]:
    with resources.as_file(resources.files("audiogan.data") / WEIGHTS) as path, \
            np.load(path, allow_pickle=False) as data:
        members = _members({name: data[name] for name in data.files})
    return tuple(tuple(member.items()) for member in members)


def _members(arrays: dict[str, np.ndarray]) -> Weights:
    members: dict[int, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        index, _, name = key.partition(".")
        if not index.startswith("m") or not index[1:].isdigit():
            raise ValueError(f"{key!r} is not a beat network weight (m<index>.<name>)")
        members.setdefault(int(index[1:]), {})[name] = value.astype(np.float32)
    return [members[index] for index in sorted(members)]


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, pad_f: int) -> np.ndarray:
    """x (C, T, F), weight (O, C, kt, kf): zero-padded 'same' over time, `pad_f` over
    frequency; one matrix product per kernel tap."""
    channels, t, f = x.shape
    out_channels, _, kt, kf = weight.shape
    padded = np.pad(x, ((0, 0), (kt // 2, kt // 2), (pad_f, pad_f)))
    width = f + 2 * pad_f - kf + 1
    out = np.empty((out_channels, t * width), np.float32)
    out[:] = bias[:, None]
    for i in range(kt):
        for j in range(kf):
            tap = padded[:, i:i + t, j:j + width].reshape(channels, t * width)
            out += weight[:, :, i, j] @ tap
    return out.reshape(out_channels, t, width)


def _pool_f(x: np.ndarray, size: int) -> np.ndarray:
    c, t, f = x.shape
    return x[:, :, : f // size * size].reshape(c, t, f // size, size).max(axis=3)


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
    """x (C, T), weight (O, C, k): zero-padded 'same', dilated."""
    _, _, k = weight.shape
    reach = (k // 2) * dilation
    padded = np.pad(x, ((0, 0), (reach, reach)))
    t = x.shape[1]
    out = np.repeat(bias[:, None], t, axis=1).astype(np.float32)
    for j in range(k):
        out += weight[:, :, j] @ padded[:, j * dilation: j * dilation + t]
    return out


def _forward(planes: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    """Logits (2, T) of beat and downbeat for input planes (2, T, N_MELS)."""
    x = _pool_f(_elu(_conv2d(planes, w["conv1.weight"], w["conv1.bias"], 1)), POOL[0])
    x = _pool_f(_elu(_conv2d(x, w["conv2.weight"], w["conv2.bias"], 1)), POOL[1])
    x = _elu(_conv2d(x, w["conv3.weight"], w["conv3.bias"], 0))[:, :, 0]
    for index, dilation in enumerate(DILATIONS):
        inner = _elu(_conv1d(x, w[f"tcn.{index}.dilated.weight"], w[f"tcn.{index}.dilated.bias"],
                             dilation))
        x = x + _conv1d(inner, w[f"tcn.{index}.mix.weight"], w[f"tcn.{index}.mix.bias"], 1)
    return _conv1d(_elu(x), w["head.weight"], w["head.bias"], 1)


def activations(mel_db: np.ndarray, *, weights: Weights | None = None,
                chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Beat and downbeat probability per hop, each shape (F,), in [0, 1]: the mean of the
    ensemble's members.

    `mel_db` (shape (F, N_MELS)) is `HopFeatures.mel_db`. The song is run `chunk` hops at
    a time with `CONTEXT` hops either side, which gives the same numbers as one pass.
    """
    members = load_weights() if weights is None else weights
    planes = normalise(mel_db)
    n = planes.shape[1]
    probability = np.zeros((2, n), np.float32)
    for start in range(0, n, chunk):
        first, last = max(0, start - CONTEXT), min(n, start + chunk + CONTEXT)
        end = min(n, start + chunk)
        for w in members:
            logits = _forward(planes[:, first:last], w)[:, start - first:end - first]
            probability[:, start:end] += 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
    probability /= max(1, len(members))
    return probability[0], probability[1]
