"""The tempo generator of gan-video-synth, on PyTorch: the seed's names, working as its README
shows.

    >>> from audiogan.synth import *
    >>> gvs = GanVideoSynth()                                    # doctest: +SKIP
    >>> generate_in_tempo(gvs, bpm=135, num_beats=16, classes=[398, 402], ext=".mp4",
    ...                   seed=7)                                # doctest: +SKIP

`generate_in_tempo` holds one noise vector still and moves sets of its axes with periodic
functions whose periods are counted in beats, so the picture pulses in time with a song of
that tempo. The frames go to ``npys/out.npy`` (with ``npys/last_hash.txt`` beside it, which
changes when the frames do, for ``audiogan view``) and, with ``ext``, to
``renders/<timestamp><ext>``; both folders are relative to the current directory, as in the
seed. Unlike the seed, a render can be repeated: pass ``seed=``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import truncnorm

from audiogan.config import read_toml
from audiogan.errors import AudioLoadError, ConfigError, EncodeError, ModelLoadError

__all__ = [
    "FUNCTIONS",
    "GanVideoSynth",
    "MODEL_STRINGS",
    "TAU",
    "TempoConfig",
    "TempoResult",
    "fit_to_ratio",
    "generate",
    "generate_in_tempo",
    "interpolate",
    "load_tempo_preset",
    "one_hot",
    "ramp",
    "saw",
    "square",
    "tempo_trajectory",
    "triangle",
    "truncated_z_sample",
    "write_gif",
]

TAU = 2 * np.pi
MODEL_STRINGS = {"128-deep": "biggan-deep-128", "256-deep": "biggan-deep-256",
                 "512-deep": "biggan-deep-512"}
WEIGHTS_ENV = "AUDIOGAN_WEIGHTS"
HASH_NAME = "last_hash.txt"


# --- the seed's helpers -------------------------------------------------------------------

def truncated_z_sample(batch_size: int, dim: int, truncation: float = 1.,
                       seed: int | None = None) -> np.ndarray:
    """Noise of shape (batch_size, dim): a normal truncated to [-2, 2], times `truncation`."""
    state = None if seed is None else np.random.RandomState(seed)
    values = truncnorm.rvs(-2, 2, size=(batch_size, dim), random_state=state)
    return (truncation * values).astype(np.float32)


def one_hot(index: int | Sequence[int] | np.ndarray, vocab_size: int = 1000) -> np.ndarray:
    """Rows of one-hot vectors, shape (n, vocab_size), for class ids `index` (one or many)."""
    index = np.atleast_1d(np.asarray(index))
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise ConfigError(f"one_hot takes class ids (integers), got {index.dtype} "
                          f"of shape {index.shape}")
    if len(index) and (index.min() < 0 or index.max() >= vocab_size):
        raise ConfigError(f"class ids must be in [0, {vocab_size}), got {index.tolist()}")
    output = np.zeros((len(index), vocab_size), dtype=np.float32)
    output[np.arange(len(index)), index] = 1
    return output


def interpolate(A: np.ndarray, B: np.ndarray, num_interps: int) -> np.ndarray:
    """`num_interps` points on the line from `A` to `B` (both ends included)."""
    A, B = np.asarray(A), np.asarray(B)
    if A.shape != B.shape:
        raise ConfigError(f"A and B must have the same shape to interpolate, got {A.shape} "
                          f"and {B.shape}")
    alphas = np.linspace(0, 1, num_interps).reshape((-1,) + (1,) * A.ndim)
    return (1 - alphas) * A + alphas * B


def ramp(x: np.ndarray | float, phase: float = 0) -> np.ndarray:
    """Saw wave with period 2*pi, rising from 0 to 2*pi: ``(x + phase) mod 2*pi``."""
    value = np.mod(np.asarray(x, dtype=np.float64) + phase, TAU)
    # a whole number of periods must give 0, not 2*pi less a rounding error
    return np.where(np.isclose(value, TAU, rtol=0, atol=1e-9), 0.0, value)


saw = ramp


def square(x: np.ndarray | float) -> np.ndarray:
    """Square wave with period 2*pi: 1 for the first half of each period, -1 for the second."""
    return np.where(ramp(x) < np.pi, 1.0, -1.0)


def triangle(x: np.ndarray | float) -> np.ndarray:
    """Triangle wave with period 2*pi in [-1, 1], in phase with `np.sin`."""
    return 2 / np.pi * np.arcsin(np.sin(np.asarray(x, dtype=np.float64)))


FUNCTIONS: dict[str, Callable] = {"sin": np.sin, "cos": np.cos, "saw": ramp, "ramp": ramp,
                                  "square": square, "triangle": triangle}


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def fit_to_ratio(ims: np.ndarray, aspect_ratio: float = 16 / 9) -> np.ndarray:
    """Pad frames (n, H, W, 3) or one frame (H, W, 3) to `aspect_ratio` (width / height) by
    mirroring their sides (top and bottom for a ratio below the frame's own).

    The padded side is rounded to an even number of pixels, as H.264 needs.
    """
    ims = np.asarray(ims)
    if ims.ndim not in (3, 4) or ims.shape[-1] != 3:
        raise ConfigError(f"fit_to_ratio takes frames (n, H, W, 3) or (H, W, 3), got "
                          f"{ims.shape}")
    if not aspect_ratio > 0:
        raise ConfigError(f"aspect_ratio must be positive, got {aspect_ratio}")
    height, width = ims.shape[-3], ims.shape[-2]
    pad = [(0, 0)] * ims.ndim
    if width / height < aspect_ratio:
        extra = _even(height * aspect_ratio) - width
        pad[-2] = (extra // 2, extra - extra // 2)
    else:
        extra = _even(width / aspect_ratio) - height
        pad[-3] = (extra // 2, extra - extra // 2)
    if extra <= 0:
        return ims
    return np.pad(ims, pad, mode="symmetric")


# --- the model --------------------------------------------------------------------------

class GanVideoSynth:
    """BigGAN-deep, loaded once, that turns noise and class vectors into uint8 frames.

    Parameters
    ----------
    model_string : str
        ``'128-deep'``, ``'256-deep'`` or ``'512-deep'`` (default): the image size. With
        `weights` (or ``$AUDIOGAN_WEIGHTS``) and no `model_string`, the checkpoint decides.
    weights : path, optional
        A folder with ``config.json`` and ``pytorch_model.bin`` (e.g. from ``audiogan
        test-checkpoint``); default ``$AUDIOGAN_WEIGHTS``, else the pretrained weights,
        downloaded once and cached.
    device : str, optional
        ``auto`` (default: CUDA when there is a GPU), ``cpu`` or ``cuda``.
    """

    def __init__(self, model_string: str | None = None, *, weights: str | Path | None = None,
                 device: str | None = None, dtype: str | None = None):
        from audiogan import generate, model

        if model_string is not None and str(model_string).startswith("biggan-deep-"):
            model_string = f"{str(model_string)[len('biggan-deep-'):]}-deep"
        if model_string is not None and model_string not in MODEL_STRINGS:
            if str(model_string).rstrip("-") in ("128", "256", "512"):
                raise ModelLoadError(
                    f"model {model_string!r} (BigGAN without -deep) has no PyTorch port; use "
                    f"'{str(model_string).rstrip('-')}-deep'")
            raise ModelLoadError(f"unknown model {model_string!r}: choose one of "
                                 f"{', '.join(repr(m) for m in MODEL_STRINGS)}")
        device, dtype = device or "auto", dtype or "auto"
        if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
        if dtype not in generate.DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(generate.DTYPES)}, got {dtype!r}")
        if weights is None and os.environ.get(WEIGHTS_ENV):
            weights = os.environ[WEIGHTS_ENV]
        if weights is None and model_string is None:
            model_string = "512-deep"
        name = MODEL_STRINGS[model_string] if model_string is not None else None
        self.model = model.load_biggan(name, weights)
        self.device = generate.pick_device(device)
        self.dtype = generate.pick_dtype(dtype, self.device)
        self.resolution = int(self.model.config.output_dim)
        self.model_string = f"{self.resolution}-deep"

    @property
    def dim_z(self) -> int:
        """Length of a noise vector (128)."""
        return int(self.model.config.z_dim)

    @property
    def vocab_size(self) -> int:
        """Length of a class vector (1000 ImageNet classes)."""
        return int(self.model.config.num_classes)

    def write_gif(self, ims: np.ndarray, duration: float, out_dir: str | Path = "renders",
                  fps: float = 20, ext: str = ".gif") -> Path:
        """The seed's method: `ims` over `duration` seconds to ``out_dir/<timestamp><ext>``."""
        return write_gif(ims, duration=duration, fps=fps, fname=_render_path(Path(out_dir), ext))

    def _class_vectors(self, ys: Any, num: int) -> np.ndarray:
        ys = np.asarray(ys)
        if ys.ndim == 0:
            ys = np.repeat(ys[None], num)
        if ys.ndim == 1:
            if not np.issubdtype(ys.dtype, np.integer):
                raise ConfigError(f"ys must be class ids (integers) or class vectors "
                                  f"(n, {self.vocab_size}), got {ys.dtype} of shape {ys.shape}")
            ys = one_hot(ys, self.vocab_size)
        if ys.ndim != 2 or ys.shape[1] != self.vocab_size:
            raise ConfigError(f"ys must be class ids or class vectors (n, {self.vocab_size}), "
                              f"got shape {ys.shape}")
        if len(ys) != num:
            raise ConfigError(f"got {num} z samples but {len(ys)} y samples; give one class "
                              "(id or vector) per z, or a single class id for all")
        return ys.astype(np.float32)

    def iter_sample(self, zs: Any, ys: Any, truncation: float = 1.,
                    batch_size: int = 16) -> Iterator[np.ndarray]:
        """`sample`, batch by batch: yields uint8 frames (n, H, W, 3) in order."""
        from audiogan import generate
        from audiogan.types import Trajectory

        zs = np.asarray(zs, dtype=np.float32)
        if zs.ndim != 2 or zs.shape[1] != self.dim_z:
            raise ConfigError(f"zs must have shape (n, {self.dim_z}), got {zs.shape}")
        ys = self._class_vectors(ys, len(zs))
        if not 0 < truncation <= 1:
            raise ConfigError(f"truncation must be in (0, 1], got {truncation}")
        if int(batch_size) < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        # only the classes in play travel as columns; the generator rebuilds dense vectors
        class_ids = np.flatnonzero(np.any(ys != 0, axis=0))
        if len(class_ids) == 0:
            class_ids = np.array([0])
        trajectory = Trajectory(z=zs, class_ids=class_ids.astype(np.int64),
                                class_weights=ys[:, class_ids], truncation=float(truncation),
                                fps=30.0)
        yield from generate.generate_frames(self.model, trajectory, batch_size=int(batch_size),
                                            device=self.device, dtype=self.dtype)

    def sample(self, zs: Any, ys: Any, truncation: float = 1., batch_size: int = 16
               ) -> np.ndarray:
        """Frames for noise `zs` (n, dim_z) and classes `ys`: uint8 array (n, H, W, 3).

        `ys` is one class id for all, n class ids, or n class vectors (n, vocab_size).
        """
        batches = list(self.iter_sample(zs, ys, truncation, batch_size))
        if not batches:
            return np.zeros((0, self.resolution, self.resolution, 3), dtype=np.uint8)
        return np.concatenate(batches)


# --- tempo mode -------------------------------------------------------------------------

def _default_axis_sets() -> list[range]:
    return [range(start, start + 8) for start in range(0, 80, 8)]


def _shifted_ramp(x: np.ndarray) -> np.ndarray:
    return ramp(x, phase=np.pi)


DEFAULT_MAGNITUDES = (1,) * 10
DEFAULT_PERIODS = (1, 1, 2, 2, 4, 4, 8, 8, 16, 16)
DEFAULT_FUNCS = (ramp, _shifted_ramp, ramp, np.sin, np.cos, np.sin, np.cos, np.sin, np.cos,
                 np.sin)


@dataclass(frozen=True)
class TempoConfig:
    """Every setting of a tempo render (the parameters of `generate_in_tempo`).

    Presets (``configs/tempo-*.toml``) fill it from a ``[tempo]`` table; function names are
    those of `FUNCTIONS`, each optionally shifted by ``phases`` (in periods: 0.5 = half).
    """

    bpm: float = 120.0
    num_beats: float = 16
    classes: tuple[int, ...] = (309,)
    y_scale: float = 1.0
    truncation: float = 1.0
    random_label: bool = False
    quantize_label: bool = False
    fps: float = 30.0
    axis_sets: tuple[tuple[int, ...], ...] = tuple(tuple(r) for r in _default_axis_sets())
    magnitudes: tuple[float, ...] = DEFAULT_MAGNITUDES
    periods: tuple[float, ...] = DEFAULT_PERIODS
    funcs: tuple[str, ...] = ("saw", "saw", "saw", "sin", "cos", "sin", "cos", "sin", "cos",
                              "sin")
    phases: tuple[float, ...] = (0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0)
    ext: str | None = None
    seed: int | None = None
    batch_size: int | None = None

    def functions(self) -> list[Callable]:
        """The callables of `funcs`, each shifted by its phase."""
        result = []
        for name, phase in zip(self.funcs, self.phases, strict=True):
            func = FUNCTIONS[name]
            if phase:
                result.append(lambda x, f=func, p=phase * TAU: f(np.asarray(x) + p))
            else:
                result.append(func)
        return result


def _parse_axis_set(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, str):
        start, sep, stop = value.partition(":")
        try:
            if not sep:
                raise ValueError
            return tuple(range(int(start), int(stop)))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a range; write \"0:8\" (axes 0 to 7) "
                              "or a list of axes such as [0, 1, 2]") from None
    if isinstance(value, list | tuple | range) and all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    raise ConfigError(f"{where}: {value!r} is not an axis set; write \"0:8\" or [0, 1, 2]")


_TEMPO_KEYS = {f.name for f in dataclasses.fields(TempoConfig)}


def _tempo_presets_dir() -> Path:
    from audiogan.config import _presets_dir

    return _presets_dir()


def load_tempo_preset(name_or_file: str | Path) -> dict[str, Any]:
    """The ``[tempo]`` table of a preset (``tempo-smooth`` or a path), checked and typed."""
    path = Path(name_or_file)
    if path.suffix != ".toml" and not path.exists():
        folder = _tempo_presets_dir()
        path = folder / f"{name_or_file}.toml"
        if not path.is_file():
            path = folder / f"tempo-{name_or_file}.toml"
        if not path.is_file():
            names = sorted(p.stem for p in folder.glob("tempo-*.toml"))
            raise ConfigError(f"unknown tempo preset {str(name_or_file)!r}: choose one of "
                              f"{', '.join(names)} or give the path of a .toml file")
    data = read_toml(path, "preset")
    if set(data) != {"tempo"} or not isinstance(data["tempo"], dict):
        raise ConfigError(f"preset {path}: a tempo preset has one table, [tempo]; found "
                          f"{', '.join(f'[{t}]' for t in data) or 'none'}")
    values = dict(data["tempo"])
    unknown = sorted(set(values) - _TEMPO_KEYS)
    if unknown:
        raise ConfigError(f"preset {path}: unknown key {unknown[0]!r} in [tempo]; allowed: "
                          f"{', '.join(sorted(_TEMPO_KEYS))}")
    return values


def resolve_tempo_config(preset: str | Path | None = None, **options: Any) -> TempoConfig:
    """Defaults < preset < `options` (None values are ignored), validated once."""
    values: dict[str, Any] = load_tempo_preset(preset) if preset is not None else {}
    values.update({k: v for k, v in options.items() if v is not None})
    unknown = sorted(set(values) - _TEMPO_KEYS)
    if unknown:
        raise ConfigError(f"unknown tempo setting {unknown[0]!r}; known: "
                          f"{', '.join(sorted(_TEMPO_KEYS))}")
    return _validate(values)


def _number_list(values: dict, key: str, n: int | None) -> tuple[float, ...]:
    raw = values[key]
    try:
        items = tuple(float(v) for v in raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a list of numbers, got {raw!r}") from None
    if n is not None and len(items) != n:
        raise ConfigError(f"{key} has {len(items)} entries but axis_sets has {n}; give one "
                          "per axis set")
    return items


def _validate(values: dict[str, Any]) -> TempoConfig:
    from audiogan.classes import parse_classes

    defaults = TempoConfig()
    v = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(TempoConfig)}
    n_given = len(values["axis_sets"]) if "axis_sets" in values else None
    if n_given is not None:
        # sets of another count than the defaults': fill unspecified lists to match
        for key, fill in (("magnitudes", 1.0), ("periods", 1.0), ("phases", 0.0)):
            if key not in values and n_given != 10:
                values[key] = [fill] * n_given
        if "funcs" not in values and n_given != 10:
            values["funcs"] = ["sin"] * n_given
    if "funcs" in values and "phases" not in values and isinstance(values["funcs"], list | tuple):
        # the default phases belong to the default functions
        values["phases"] = [0.0] * len(values["funcs"])
    v.update(values)
    for key, low, high, low_open in (("bpm", 0, 1000, True), ("num_beats", 0, 10000, True),
                                     ("y_scale", 0, 100, True), ("truncation", 0, 1, True),
                                     ("fps", 0, 120, True)):
        value = v[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                (low < value if low_open else low <= value) and value <= high):
            raise ConfigError(f"{key} must be a number in {'(' if low_open else '['}{low}, "
                              f"{high}], got {value!r}")
    classes = v["classes"]
    if isinstance(classes, int | str):
        classes = [classes]
    v["classes"] = parse_classes(list(classes))
    if not v["classes"] and not v["random_label"]:
        raise ConfigError("classes is empty: give at least one ImageNet class, or "
                          "random_label")
    if not isinstance(v["axis_sets"], list | tuple):
        raise ConfigError(f"axis_sets must be a list of sets such as [\"0:8\", \"8:16\"], got "
                          f"{v['axis_sets']!r}")
    axis_sets = tuple(_parse_axis_set(s, "axis_sets") for s in v["axis_sets"])
    for axes in axis_sets:
        bad = [a for a in axes if not 0 <= a < 128]
        if bad:
            raise ConfigError(f"axis_sets: axis {bad[0]} is outside the noise vector; axes "
                              "are 0 to 127")
    v["axis_sets"] = axis_sets
    n = len(axis_sets)
    v["magnitudes"] = _number_list(v, "magnitudes", n)
    v["periods"] = _number_list(v, "periods", n)
    if any(p <= 0 for p in v["periods"]):
        raise ConfigError(f"periods must be positive numbers of beats, got {list(v['periods'])}")
    funcs = tuple(str(f) for f in v["funcs"])
    if len(funcs) != n:
        raise ConfigError(f"funcs has {len(funcs)} entries but axis_sets has {n}; give one "
                          "per axis set")
    for name in funcs:
        if name not in FUNCTIONS:
            raise ConfigError(f"funcs: unknown function {name!r}; choose one of "
                              "sin, cos, saw, square, triangle")
    v["funcs"] = funcs
    v["phases"] = _number_list(v, "phases", n)
    if v["ext"] is not None and v["ext"] not in (".gif", ".mp4", ".npy"):
        raise ConfigError(f"ext must be .gif, .mp4 or .npy, got {v['ext']!r}")
    if v["seed"] is not None and not (isinstance(v["seed"], int) and 0 <= v["seed"] < 2**32):
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {v['seed']!r}")
    if v["batch_size"] is not None and not (isinstance(v["batch_size"], int)
                                            and v["batch_size"] >= 1):
        raise ConfigError(f"batch_size must be a positive integer, got {v['batch_size']!r}")
    return TempoConfig(**v)


def tempo_trajectory(dim_z: int = 128, vocab_size: int = 1000, *, bpm: float = 120,
                     num_beats: float = 16, classes: Sequence[int] = (309,),
                     y_scale: float = 1, truncation: float = 1, random_label: bool = False,
                     fps: float = 30, axis_sets: Sequence[Sequence[int]] | None = None,
                     magnitudes: Sequence[float | None] | None = None,
                     periods: Sequence[float | None] | None = None,
                     funcs: Sequence[Callable] | None = None, quantize_label: bool = False,
                     seed: int = 0, num_frames: int | None = None,
                     first_beat_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of a tempo render: z (T, dim_z) and the class vector y (1, vocab_size).

    T is ``int(num_beats * 60 / bpm * fps)`` unless `num_frames` is given. Frame ``i`` is at
    ``i / fps`` seconds, ``(i / fps - first_beat_s) * bpm / 60`` beats from the first beat;
    each set of axes moves by ``func(2*pi * beats / period) * magnitude``. Numpy only.
    """
    if num_frames is None:
        num_frames = int(num_beats * 60 / bpm * fps)
    if random_label:
        y = truncated_z_sample(1, vocab_size, truncation, (seed + 1) % 2**32)
    else:
        y = np.zeros((1, vocab_size), dtype=np.float32)
        for class_id in classes:
            y[0, class_id] += 1
    norm = np.linalg.norm(y)
    y = y / norm * y_scale if norm > 0 else y
    if quantize_label:
        y = (np.abs(y) > 0.5).astype(np.float32)

    axis_sets = _default_axis_sets() if axis_sets is None else axis_sets
    magnitudes = DEFAULT_MAGNITUDES if magnitudes is None else magnitudes
    periods = DEFAULT_PERIODS if periods is None else periods
    funcs = DEFAULT_FUNCS if funcs is None else funcs
    z0 = truncated_z_sample(1, dim_z, truncation, seed)
    zs = np.repeat(z0, num_frames, axis=0).astype(np.float64)
    beats = (np.arange(num_frames) / fps - first_beat_s) * (bpm / 60.0)
    for axes, magnitude, period, func in zip(axis_sets, magnitudes, periods, funcs,
                                             strict=False):
        if axes is None or magnitude is None or period is None:
            continue  # the seed's way of switching a set off
        offset = np.asarray(func(TAU * beats / period), dtype=np.float64) * magnitude
        for axis in axes:
            zs[:, axis] += offset
    return zs.astype(np.float32), y.astype(np.float32)


@dataclass(frozen=True)
class TempoResult:
    """What `generate_in_tempo` made."""

    frames: np.ndarray
    """uint8 (T, H, W, 3), 16:9, read from `npy` (memory-mapped)."""
    npy: Path
    hash: str
    video: Path | None
    seed: int
    bpm: float
    fps: float
    first_beat_s: float
    wall_s: float

    @property
    def n_frames(self) -> int:
        return len(self.frames)


def _render_path(folder: Path, ext: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    target = folder / f"{stamp}{ext}"
    n = 1
    while target.exists():  # two renders in one second keep both
        target = folder / f"{stamp}-{n}{ext}"
        n += 1
    return target


def _write_gif_file(frames: np.ndarray, path: Path, fps: float) -> None:
    """An endlessly looping GIF, written under a temporary name and renamed when done."""
    from PIL import Image

    from audiogan.encode import temporary_path

    partial = temporary_path(path)
    try:
        images = [Image.fromarray(np.asarray(frame)) for frame in frames]
        images[0].save(partial, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0, optimize=False)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _song_timing(audio: str | Path, fps: float, progress: Callable | None
                 ) -> tuple[float, float, int, Any]:
    from audiogan.encode import AudioTrack
    from audiogan.pipeline import analyze_song

    info, features = analyze_song(audio, fps=fps, progress=progress)
    if features.tempo_bpm <= 0 or len(features.beats_s) == 0:
        raise AudioLoadError(f"{info.path.name} has no beat audiogan can hear; give --bpm "
                             "instead of --audio")
    track = AudioTrack(info.path, duration=features.duration_s, sample_rate=info.sample_rate)
    # the phase starts on the first bar line, so periods of 4 or 8 beats follow the bars
    first = features.downbeats_s[0] if len(features.downbeats_s) else features.beats_s[0]
    return float(features.tempo_bpm), float(first), features.n_frames, track


def generate_in_tempo(gvs: GanVideoSynth, bpm: float = 120, num_beats: float = 16,
                      classes: Sequence[int] = (309,), y_scale: float = 1,
                      truncation: float = 1, random_label: bool = False,
                      ext: str | None = None, fps: float = 30,
                      axis_sets: Sequence[Sequence[int]] | None = None,
                      magnitudes: Sequence[float] | None = None,
                      periods: Sequence[float] | None = None,
                      funcs: Sequence[Callable] | None = None, quantize_label: bool = False,
                      *, seed: int | None = None, batch_size: int | None = None,
                      audio: str | Path | None = None, npy_dir: str | Path = "npys",
                      render_dir: str | Path = "renders",
                      progress: Callable[[str, float, float | None], None] | None = None
                      ) -> TempoResult:
    """Render `num_beats` beats at `bpm` that pulse in time, as the seed did.

    Writes ``npys/out.npy`` (uint8 (T, H, W, 3), padded to 16:9) and ``npys/last_hash.txt``;
    with ``ext='.gif'`` or ``'.mp4'`` also ``renders/<timestamp><ext>``. ``seed`` (default:
    from the clock, as in the seed, and reported in the result) fixes the noise. ``audio``
    takes the tempo and first beat from a song instead of `bpm`, renders its length, and
    muxes it into the ``.mp4``.
    """
    from audiogan.encode import AudioTrack, temporary_path

    started = time.perf_counter()
    if ext not in (None, ".gif", ".mp4", ".npy"):
        raise ConfigError(f"ext must be None, '.gif', '.mp4' or '.npy', got {ext!r}")
    if seed is None:
        seed = (int(datetime.now().strftime("%f")) ^ (os.getpid() << 8)) % 2**32
    if not (isinstance(seed, int | np.integer) and 0 <= seed < 2**32):
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    for name, value in (("bpm", bpm), ("num_beats", num_beats), ("fps", fps)):
        if not value > 0:
            raise ConfigError(f"{name} must be positive, got {value}")
    sets = [axis_sets, magnitudes, periods, funcs]
    lengths = {len(s) for s in sets if s is not None}
    if len(lengths) > 1:
        raise ConfigError("axis_sets, magnitudes, periods and funcs must have one entry per "
                          f"axis set, got lengths {[None if s is None else len(s) for s in sets]}")
    if not 0 < truncation <= 1:
        raise ConfigError(f"truncation must be in (0, 1], got {truncation}")
    if not y_scale > 0:
        raise ConfigError(f"y_scale must be positive, got {y_scale}")
    for axes in axis_sets or []:
        bad_axes = [a for a in (axes or []) if not 0 <= int(a) < gvs.dim_z]
        if bad_axes:
            raise ConfigError(f"axis_sets: axis {bad_axes[0]} is outside the noise vector; "
                              f"axes are 0 to {gvs.dim_z - 1}")
    if not random_label:
        bad = [c for c in classes if not 0 <= int(c) < gvs.vocab_size]
        if bad or not len(classes):
            raise ConfigError(f"classes must be ImageNet ids in [0, {gvs.vocab_size}), got "
                              f"{list(classes)}")

    track: AudioTrack | None = None
    num_frames, first_beat_s = None, 0.0
    if audio is not None:
        bpm, first_beat_s, num_frames, track = _song_timing(audio, fps, progress)
    zs, y = tempo_trajectory(
        gvs.dim_z, gvs.vocab_size, bpm=bpm, num_beats=num_beats, classes=classes,
        y_scale=y_scale, truncation=truncation, random_label=random_label, fps=fps,
        axis_sets=axis_sets, magnitudes=magnitudes, periods=periods, funcs=funcs,
        quantize_label=quantize_label, seed=int(seed), num_frames=num_frames,
        first_beat_s=first_beat_s)
    if len(zs) == 0:
        raise ConfigError(f"{num_beats} beats at {bpm} BPM is less than one frame at {fps} fps")

    from audiogan import generate

    batch_size = batch_size or generate.default_batch_size(gvs.resolution, gvs.device)
    npy_dir, render_dir = Path(npy_dir), Path(render_dir)
    npy_dir.mkdir(parents=True, exist_ok=True)
    npy_path = npy_dir / "out.npy"
    partial = temporary_path(npy_path)
    shape = fit_to_ratio(np.zeros((1, gvs.resolution, gvs.resolution, 3), np.uint8)).shape[1:]
    digest = hashlib.sha256(f"{len(zs)}x{shape}@{fps:g}".encode())
    try:
        array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                          shape=(len(zs), *shape))
        done = 0
        if progress is not None:
            progress("frames", 0, len(zs))
        for batch in gvs.iter_sample(zs, np.repeat(y, len(zs), axis=0), truncation,
                                     batch_size):
            padded = fit_to_ratio(batch)
            array[done:done + len(padded)] = padded
            digest.update(padded.tobytes())
            done += len(padded)
            if progress is not None:
                progress("frames", done, len(zs))
        array.flush()
        del array
        os.replace(partial, npy_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    frame_hash = digest.hexdigest()
    # the seed's view_npy.py compares the whole file; the second line tells the viewer the fps
    (npy_dir / f".{HASH_NAME}.partial").write_text(f"{frame_hash}\nfps={fps:g}\n",
                                                   encoding="utf-8")
    os.replace(npy_dir / f".{HASH_NAME}.partial", npy_dir / HASH_NAME)
    frames = np.load(npy_path, mmap_mode="r")

    video = None
    if ext in (".gif", ".mp4"):
        try:
            render_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EncodeError(f"cannot create {render_dir} ({exc.strerror})") from None
        video = _render_path(render_dir, ext)
        if ext == ".gif":
            _write_gif_file(frames, video, fps)
        else:
            _write_video(frames, video, fps, track)
    return TempoResult(frames=frames, npy=npy_path, hash=frame_hash, video=video, seed=int(seed),
                       bpm=float(bpm), fps=float(fps), first_beat_s=first_beat_s,
                       wall_s=time.perf_counter() - started)


def _write_video(frames: np.ndarray, path: Path, fps: float, audio: Any = None) -> None:
    from audiogan.encode import VideoWriter

    frames = fit_to_ratio(frames, frames.shape[2] / frames.shape[1])  # even sides for H.264
    height, width = frames.shape[1:3]
    with VideoWriter(path, size=(width, height), fps=fps, audio=audio) as writer:
        for first in range(0, len(frames), 64):
            writer.write(np.ascontiguousarray(frames[first:first + 64]))


def write_gif(ims: np.ndarray, duration: float = 4, fps: float = 30,
              fname: str | Path = "ani.gif") -> Path:
    """The seed's writer: `ims` (n, H, W, 3) stretched over `duration` seconds at `fps`, to a
    ``.gif`` or ``.mp4`` by the name's suffix."""
    ims = np.asarray(ims)
    fname = Path(fname)
    if fname.suffix not in (".gif", ".mp4"):
        raise ConfigError(f"fname must end in .gif or .mp4, got {fname}")
    if ims.ndim != 4 or len(ims) == 0 or ims.dtype != np.uint8:
        raise ConfigError(f"ims must be uint8 frames (n, H, W, 3), got {ims.dtype} {ims.shape}")
    count = max(1, round(duration * fps))
    picked = ims[(np.arange(count) * len(ims) / count).astype(int)]
    fname.parent.mkdir(parents=True, exist_ok=True)
    if fname.suffix == ".gif":
        _write_gif_file(picked, fname, fps)
    else:
        _write_video(picked, fname, fps)
    return fname


def generate(gan_video_synth: GanVideoSynth, fps: float = 30, *, seed: int | None = None,
             out_dir: str | Path = "renders", ext: str = ".gif") -> Path:
    """The seed's first demo: one second of z circling around a random point, class 309,
    written to ``renders/<timestamp>.gif``."""
    gvs = gan_video_synth
    if seed is None:
        seed = int(datetime.now().strftime("%f"))
    num = int(fps)
    y = np.zeros((1, gvs.vocab_size), dtype=np.float32)
    y[0, 309] = 0.9
    zs = np.repeat(truncated_z_sample(1, gvs.dim_z, 1, seed), num, axis=0)
    for turns, magnitude, sines, cosines in ((1, 1.0, range(0, 32), range(110, 120)),
                                             (2, 0.8, range(70, 80), range(80, 90)),
                                             (4, 0.7, range(100, 110), range(32, 64))):
        phase = np.linspace(0, turns * TAU, num=num)
        zs[:, list(sines)] += np.sin(phase)[:, None] * magnitude
        zs[:, list(cosines)] += np.cos(phase)[:, None] * magnitude
    ims = gvs.sample(zs, np.repeat(y, num, axis=0), truncation=1)
    return write_gif(ims, duration=1, fps=fps, fname=_render_path(Path(out_dir), ext))


def generate_from_config(gvs: GanVideoSynth, config: TempoConfig, **kwargs: Any) -> TempoResult:
    """`generate_in_tempo` with the settings of a `TempoConfig` (what ``audiogan tempo`` runs)."""
    ext = None if config.ext == ".npy" else config.ext
    return generate_in_tempo(
        gvs, bpm=config.bpm, num_beats=config.num_beats, classes=config.classes,
        y_scale=config.y_scale, truncation=config.truncation,
        random_label=config.random_label, ext=ext, fps=config.fps,
        axis_sets=config.axis_sets, magnitudes=config.magnitudes, periods=config.periods,
        funcs=config.functions(), quantize_label=config.quantize_label, seed=config.seed,
        batch_size=config.batch_size, **kwargs)

