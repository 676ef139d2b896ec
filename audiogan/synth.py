"""The tempo generator of gan-video-synth, on PyTorch: the seed's names, working as its README
shows.

    >>> from audiogan.synth import *
    >>> gvs = GanVideoSynth()                                    # doctest: +SKIP
    >>> generate_in_tempo(gvs, bpm=135, num_beats=16, classes=[398, 402], ext=".mp4",
    ...                   seed=7)                                # doctest: +SKIP

A façade: the settings go through `audiogan.config.resolve_tempo_config`, the trajectory
comes from `audiogan.tempo`, and the frames and files from `audiogan.pipeline`, as every
other render's do. The frames go to ``npys/out.npy`` (with ``npys/last_hash.txt`` beside
it, which changes when the frames do, for ``audiogan view``) and, with ``ext``, to
``renders/<timestamp><ext>``; both folders are relative to the current directory, as in the
seed. Unlike the seed, a render can be repeated: pass ``seed=``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audiogan import pipeline
from audiogan.config import (
    DEFAULT_FPS,
    TempoConfig,
    check_setting,
    load_tempo_preset,
    resolve_hardware,
    resolve_tempo_config,
    weights_from_env,
)
from audiogan.errors import ConfigError, ModelLoadError
from audiogan.mapping import truncated_normal
from audiogan.pipeline import TempoResult, fit_to_ratio
from audiogan.tempo import axis_trajectory, frame_count
from audiogan.types import NUM_CLASSES, Z_DIM, Trajectory
from audiogan.waves import FUNCTIONS, TAU, ramp, saw, square, triangle

__all__ = [
    "FUNCTIONS",
    "GanVideoSynth",
    "MODEL_STRINGS",
    "TAU",
    "TempoConfig",
    "TempoResult",
    "fit_to_ratio",
    "generate",
    "generate_from_config",
    "generate_in_tempo",
    "interpolate",
    "load_tempo_preset",
    "one_hot",
    "ramp",
    "resolve_tempo_config",
    "saw",
    "square",
    "tempo_trajectory",
    "triangle",
    "truncated_z_sample",
    "write_gif",
]

MODEL_STRINGS = {"128-deep": "biggan-deep-128", "256-deep": "biggan-deep-256",
                 "512-deep": "biggan-deep-512"}


# --- the seed's helpers -------------------------------------------------------------------

def truncated_z_sample(batch_size: int, dim: int, truncation: float = 1.,
                       seed: int | None = None) -> np.ndarray:
    """Noise of shape (batch_size, dim): a normal truncated to [-2, 2], times `truncation`
    (drawn from ``numpy.random.default_rng(seed)``)."""
    rng = np.random.default_rng(seed)
    return (truncation * truncated_normal(rng, (batch_size, dim))).astype(np.float32)


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
    device, dtype : str, optional
        ``auto`` (default: CUDA when there is a GPU), ``cpu`` or ``cuda``; ``auto``,
        ``float32``, ``float16`` or ``bfloat16``.
    """

    def __init__(self, model_string: str | None = None, *, weights: str | Path | None = None,
                 device: str | None = None, dtype: str | None = None):
        from audiogan import model

        if model_string is not None and str(model_string).startswith("biggan-deep-"):
            model_string = f"{str(model_string)[len('biggan-deep-'):]}-deep"
        if model_string is not None and model_string not in MODEL_STRINGS:
            if str(model_string).rstrip("-") in ("128", "256", "512"):
                raise ModelLoadError(
                    f"model {model_string!r} (BigGAN without -deep) has no PyTorch port; use "
                    f"'{str(model_string).rstrip('-')}-deep'")
            raise ModelLoadError(f"unknown model {model_string!r}: choose one of "
                                 f"{', '.join(repr(m) for m in MODEL_STRINGS)}")
        self.device, self.dtype = resolve_hardware(device or "auto", dtype or "auto")
        if weights is None:
            weights = weights_from_env()
        if weights is None and model_string is None:
            model_string = "512-deep"
        name = MODEL_STRINGS[model_string] if model_string is not None else None
        self.model = model.load_biggan(name, weights)
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
        return write_gif(ims, duration=duration, fps=fps,
                         fname=pipeline.timestamped_path(Path(out_dir), ext))

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
        zs = np.asarray(zs, dtype=np.float32)
        if zs.ndim != 2 or zs.shape[1] != self.dim_z:
            raise ConfigError(f"zs must have shape (n, {self.dim_z}), got {zs.shape}")
        ys = self._class_vectors(ys, len(zs))
        truncation = check_setting("truncation", truncation)
        batch_size = check_setting("batch_size", batch_size, int)
        # only the classes in play travel as columns; the generator rebuilds dense vectors
        class_ids = np.flatnonzero(np.any(ys != 0, axis=0))
        if len(class_ids) == 0:
            class_ids = np.array([0])
        trajectory = Trajectory(z=zs, class_ids=class_ids.astype(np.int64),
                                class_weights=ys[:, class_ids], truncation=truncation)
        yield from pipeline.frame_batches(self.model, trajectory, device=self.device,
                                          dtype=self.dtype, batch_size=batch_size)

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

def tempo_trajectory(dim_z: int = Z_DIM, vocab_size: int = NUM_CLASSES, *, bpm: float = 120,
                     num_beats: float = 16, classes: Sequence[int] = (309,),
                     y_scale: float = 1, truncation: float = 1, random_label: bool = False,
                     fps: float = DEFAULT_FPS,
                     axis_sets: Sequence[Sequence[int] | None] | None = None,
                     magnitudes: Sequence[float | None] | None = None,
                     periods: Sequence[float | None] | None = None,
                     funcs: Sequence[Callable] | None = None, quantize_label: bool = False,
                     seed: int = 0, num_frames: int | None = None,
                     first_beat_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of a tempo render: z (T, dim_z) and the class vector y (1, vocab_size).

    T is ``int(num_beats * 60 / bpm * fps)`` unless `num_frames` is given; lists left out
    are the seed's defaults (`TempoConfig`'s). See `audiogan.tempo.axis_trajectory`.
    """
    defaults = TempoConfig()
    return axis_trajectory(
        dim_z, vocab_size, bpm=bpm, fps=fps,
        num_frames=frame_count(num_beats, bpm, fps) if num_frames is None else num_frames,
        classes=classes, y_scale=y_scale, truncation=truncation, random_label=random_label,
        quantize_label=quantize_label,
        axis_sets=defaults.axis_sets if axis_sets is None else axis_sets,
        magnitudes=defaults.magnitudes if magnitudes is None else magnitudes,
        periods=defaults.periods if periods is None else periods,
        funcs=defaults.functions() if funcs is None else funcs, seed=seed,
        first_beat_s=first_beat_s)


def generate_in_tempo(gvs: GanVideoSynth, bpm: float = 120, num_beats: float = 16,
                      classes: Sequence[int] = (309,), y_scale: float = 1,
                      truncation: float = 1, random_label: bool = False,
                      ext: str | None = None, fps: float = DEFAULT_FPS,
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
    drawn fresh, as the seed's clock did, and reported in the result) fixes the noise.
    ``audio`` takes the tempo and first beat from a song instead of `bpm`, renders its
    length, and muxes it into the ``.mp4``. Lists left out are the seed's defaults.
    """
    lists = {"axis_sets": axis_sets, "magnitudes": magnitudes, "periods": periods,
             "funcs": funcs}
    given: dict[str, Any] = {key: list(value) for key, value in lists.items()
                             if value is not None}
    config = resolve_tempo_config(
        bpm=bpm, num_beats=num_beats, classes=list(classes), y_scale=y_scale,
        truncation=truncation, random_label=random_label, quantize_label=quantize_label,
        fps=fps, ext=ext, seed=seed, batch_size=batch_size,
        **given)
    return generate_from_config(gvs, config, audio=audio, npy_dir=npy_dir,
                                render_dir=render_dir, progress=progress)


def generate_from_config(gvs: GanVideoSynth, config: TempoConfig, *,
                         audio: str | Path | None = None, npy_dir: str | Path = "npys",
                         render_dir: str | Path = "renders",
                         progress: Callable[[str, float, float | None], None] | None = None
                         ) -> TempoResult:
    """`generate_in_tempo` with the settings of a `TempoConfig` (what ``audiogan tempo`` runs):
    `audiogan.pipeline.prepare_tempo`, then `audiogan.pipeline.render_tempo` on `gvs`."""
    plan = pipeline.prepare_tempo(config, audio=audio, progress=progress)
    return pipeline.render_tempo(plan, gvs.model, device=gvs.device, dtype=gvs.dtype,
                                 npy_dir=npy_dir, render_dir=render_dir, progress=progress)


def write_gif(ims: np.ndarray, duration: float = 4, fps: float = DEFAULT_FPS,
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
    return pipeline.write_clip(picked, fname, fps)


def generate(gan_video_synth: GanVideoSynth, fps: float = DEFAULT_FPS, *,
             seed: int | None = None, out_dir: str | Path = "renders",
             ext: str = ".gif") -> Path:
    """The seed's first demo: one second of z circling around a random point, class 309,
    written to ``renders/<timestamp>.gif``."""
    gvs = gan_video_synth
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
    return write_gif(ims, duration=1, fps=fps,
                     fname=pipeline.timestamped_path(Path(out_dir), ext))
