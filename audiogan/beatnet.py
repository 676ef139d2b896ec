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
CAUSAL_WEIGHTS = "beatnet-causal.npz"
"""The causal networks (each hop from the hops up to it alone), for the live tracker."""
TOP_FALL_DB = 20.0 / (20.0 * 22050 / 256)
"""How far (dB a hop) the causal level's reference falls while nothing louder is heard."""


def normalise(mel_db: np.ndarray, *, causal: bool = False) -> np.ndarray:
    """The two input planes, shape (2, F, N_MELS), float32: the log-mel levelled so that the
    song's loud frames sit near 0 (in units of 20 dB), and its rise since the previous hop.

    `causal`: levelled instead to the loudest band heard so far, falling `TOP_FALL_DB` a
    hop (`causal_top`), as a live tracker can: the same numbers hop by hop as a song grows."""
    mel = np.asarray(mel_db, dtype=np.float32)
    if len(mel) == 0:
        return np.zeros((2, 0, N_MELS), np.float32)
    top = causal_top(mel)[:, None] if causal else float(np.percentile(mel, 99))
    level = np.clip((mel - top) / 20.0, -4.0, 1.0)
    rise = np.maximum(np.diff(level, axis=0, prepend=level[:1]), 0.0)
    return np.stack([level, rise]).astype(np.float32)


def causal_top(mel_db: np.ndarray) -> np.ndarray:
    """Per hop, shape (F,): the loudest band of any hop so far, less `TOP_FALL_DB` for each
    hop since (a peak that falls 20 dB in about 20 s), so that a quiet song is levelled up
    within its first loud hop and a loud one that turns quiet within half a minute."""
    loudest = np.asarray(mel_db, dtype=np.float64).max(axis=1)
    fall = TOP_FALL_DB * np.arange(len(loudest))
    return (np.maximum.accumulate(loudest + fall) - fall).astype(np.float32)


Weights = list[dict[str, np.ndarray]]
"""The members of the ensemble, each a mapping of parameter names to arrays."""


def load_weights(path: str | Path | None = None) -> Weights:
    """The ensemble's weights, from `path` or the packaged file.

    Each member's parameters are stored under ``m<index>.<name>`` in one ``.npz``, read with
    ``allow_pickle=False``: a file that holds Python objects is refused, never unpickled.
    """
    if path is None:
        return [dict(member) for member in _packaged(WEIGHTS)]
    with np.load(path, allow_pickle=False) as data:
        return _members({name: data[name] for name in data.files})


@lru_cache(maxsize=2)
def _packaged(name: str) -> tuple[tuple[tuple[str, np.ndarray], ...], ...]:
    """The members of the packaged weights file `name`, read once."""
    with resources.as_file(resources.files("audiogan.data") / name) as path, \
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


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, pad_f: int,
            causal: bool = False) -> np.ndarray:
    """x (C, T, F), weight (O, C, kt, kf): zero-padded 'same' over time (or before the first
    hop alone, `causal`), `pad_f` over frequency; one matrix product per kernel tap."""
    channels, t, f = x.shape
    out_channels, _, kt, kf = weight.shape
    before = kt - 1 if causal else kt // 2
    padded = np.pad(x, ((0, 0), (before, kt - 1 - before), (pad_f, pad_f)))
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


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int,
            causal: bool = False) -> np.ndarray:
    """x (C, T), weight (O, C, k): zero-padded 'same' (or before the first hop alone,
    `causal`), dilated."""
    _, _, k = weight.shape
    before = (k - 1 if causal else k // 2) * dilation
    padded = np.pad(x, ((0, 0), (before, (k - 1) * dilation - before)))
    t = x.shape[1]
    out = np.repeat(bias[:, None], t, axis=1).astype(np.float32)
    for j in range(k):
        out += weight[:, :, j] @ padded[:, j * dilation: j * dilation + t]
    return out


def _forward(planes: np.ndarray, w: dict[str, np.ndarray], causal: bool = False
             ) -> np.ndarray:
    """Logits (2, T) of beat and downbeat for input planes (2, T, N_MELS); `causal`: each
    hop's from the hops up to it alone (the networks in `CAUSAL_WEIGHTS`)."""
    x = _pool_f(_elu(_conv2d(planes, w["conv1.weight"], w["conv1.bias"], 1, causal)), POOL[0])
    x = _pool_f(_elu(_conv2d(x, w["conv2.weight"], w["conv2.bias"], 1, causal)), POOL[1])
    x = _elu(_conv2d(x, w["conv3.weight"], w["conv3.bias"], 0))[:, :, 0]
    for index, dilation in enumerate(DILATIONS):
        inner = _elu(_conv1d(x, w[f"tcn.{index}.dilated.weight"], w[f"tcn.{index}.dilated.bias"],
                             dilation, causal))
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


def load_causal_weights() -> Weights:
    """The packaged causal networks (`CAUSAL_WEIGHTS`), read as `load_weights` reads."""
    return [dict(member) for member in _packaged(CAUSAL_WEIGHTS)]


def causal_activations(mel_db: np.ndarray, *, weights: Weights | None = None) -> np.ndarray:
    """Beat probability per hop, shape (F,), of the causal networks over a whole song at
    once: what `StreamingNet` gives hop by hop (for measuring; the live tracker streams)."""
    members = load_causal_weights() if weights is None else weights
    planes = normalise(mel_db, causal=True)
    probability = np.zeros(planes.shape[1], np.float32)
    for w in members:
        logits = _forward(planes, w, causal=True)[0]
        probability += 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
    return probability / max(1, len(members))


class StreamingNet:
    """The causal networks run one hop at a time: `step` takes a hop's log-mel frame
    (``HopFeatures.mel_db``'s bands and units) and gives that hop's beat probability.

    Each layer keeps the few inputs its kernel reaches back to (the 3-hop convolutions two,
    the dilated ones up to 512 hops), zero before the first hop, so the numbers are those
    of `causal_activations` over the song so far, and the memory is fixed. About 0.5 ms a
    hop for one network on this project's CPU (4 % of a core live; an hour of music in
    some 2.5 min).
    """

    def __init__(self, weights: Weights | None = None):
        self.members = load_causal_weights() if weights is None else weights
        self.top: float | None = None
        self.previous: np.ndarray | None = None
        self.planes = [np.zeros((2, 3, N_MELS), np.float32) for _ in self.members]
        self.pooled = [np.zeros((CHANNELS, 3, N_MELS // POOL[0]), np.float32)
                       for _ in self.members]
        self.history = [[np.zeros((CHANNELS, (KERNEL - 1) * d + 1), np.float32)
                         for d in DILATIONS] for _ in self.members]

    def step(self, mel_db: np.ndarray) -> float:
        mel = np.asarray(mel_db, dtype=np.float32)
        loudest = float(mel.max())
        self.top = loudest if self.top is None else max(loudest, self.top - TOP_FALL_DB)
        level = np.clip((mel - self.top) / 20.0, -4.0, 1.0)
        rise = np.zeros_like(level) if self.previous is None \
            else np.maximum(level - self.previous, 0.0)
        self.previous = level
        planes = np.stack([level, rise])
        total = 0.0
        for index, w in enumerate(self.members):
            total += 1.0 / (1.0 + np.exp(-np.clip(self._member(index, w, planes), -30.0, 30.0)))
        return total / max(1, len(self.members))

    def _member(self, index: int, w: dict[str, np.ndarray], planes: np.ndarray) -> float:
        window = self.planes[index]
        window[:, :-1] = window[:, 1:]
        window[:, -1] = planes
        x = _pool_f(_elu(_newest(window, w["conv1.weight"], w["conv1.bias"])), POOL[0])
        pooled = self.pooled[index]
        pooled[:, :-1] = pooled[:, 1:]
        pooled[:, -1] = x[:, 0]
        x = _pool_f(_elu(_newest(pooled, w["conv2.weight"], w["conv2.bias"])), POOL[1])
        x = _elu(_conv2d(x, w["conv3.weight"], w["conv3.bias"], 0))[:, 0, 0]
        for layer, dilation in enumerate(DILATIONS):
            past = self.history[index][layer]
            past[:, :-1] = past[:, 1:]
            past[:, -1] = x
            taps = past[:, ::dilation]  # KERNEL of them, the oldest first
            weight = w[f"tcn.{layer}.dilated.weight"]
            inner = _elu(np.einsum("ocj,cj->o", weight, taps) + w[f"tcn.{layer}.dilated.bias"])
            x = x + w[f"tcn.{layer}.mix.weight"][:, :, 0] @ inner + w[f"tcn.{layer}.mix.bias"]
        head = w["head.weight"][:, :, 0] @ _elu(x) + w["head.bias"]
        return float(head[0])


def _newest(window: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The causal 3x3 convolution's output for the newest hop of `window` (C, 3, F), shape
    (O, 1, F): one tensor product over the channels, the three hops and the three bands
    (zero-padded by one) around each band."""
    padded = np.pad(window, ((0, 0), (0, 0), (1, 1)))
    bands = window.shape[2]
    taps = np.stack([padded[:, :, j:j + bands] for j in range(weight.shape[3])], axis=2)
    out = np.tensordot(weight, taps, axes=([1, 2, 3], [0, 1, 2])) + bias[:, None]
    return out[:, None, :].astype(np.float32)
