"""Settings, resolved once: built-in defaults < TOML preset < explicit options.

The defaults live here and only here: the fields of `RenderConfig`, `MappingConfig` and
`TempoConfig` (the frame rate in `DEFAULT_FPS`). A preset is a TOML file that overrides some
of them: ``[render]`` and ``[mapping]`` tables for a render (``configs/calm.toml``), one
``[tempo]`` table for tempo mode (``configs/tempo-smooth.toml``). The CLI's flags, ``--set``,
album files and the Python API all end in `resolve_config` (or `resolve_tempo_config`),
which checks every value against one range table (`RANGES`) and returns a frozen config
that every stage reads. The device and dtype are settled there too, once per render.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from audiogan.beats import BEAT_TRACKERS, TEMPO_RANGE
from audiogan.classes import parse_classes
from audiogan.errors import ConfigError
from audiogan.stems import STEM_NAMES
from audiogan.types import NUM_CLASSES, Z_DIM
from audiogan.waves import FUNCTIONS, axis_functions

__all__ = [
    "DEFAULT_FPS",
    "FUNCTION_NAMES",
    "MODEL_NAMES",
    "RANGES",
    "FITS",
    "MappingConfig",
    "RELEASES",
    "Range",
    "RenderConfig",
    "TempoConfig",
    "WEIGHTS_ENV",
    "available_presets",
    "check_classes",
    "check_size",
    "check_setting",
    "cpu_has_bfloat16",
    "load_preset",
    "load_tempo_preset",
    "presets_dir",
    "read_toml",
    "resolve_config",
    "resolve_device",
    "resolve_dtype",
    "resolve_hardware",
    "resolve_tempo_config",
    "split_options",
    "weights_from_env",
]

DEFAULT_FPS = 30.0
"""The frame rate of every render, tempo render and analysis unless told otherwise."""
PREVIEW_FPS = 12.0
MAX_FPS = 120.0
MODEL_NAMES = ("biggan-deep-128", "biggan-deep-256", "biggan-deep-512")
DEFAULT_MODEL = MODEL_NAMES[0]
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
ENCODER_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                  "slower", "veryslow")
FUNCTION_NAMES = tuple(FUNCTIONS)
"""The periodic functions a tempo preset may name (`audiogan.waves.FUNCTIONS`)."""
FITS = ("wide", "crop", "blur", "mirror")
"""How a square frame fills another aspect (see `audiogan.encode.FITS`)."""
CODECS = ("h264", "prores")
MAX_SIDE = 8192

RELEASES: dict[str, dict[str, Any]] = {
    # YouTube Help, "Recommended upload encoding settings" (support.google.com/youtube/answer/
    # 1722171): MP4; H.264 High profile, progressive, 2 consecutive B-frames, closed GOP of
    # half the frame rate, 4:2:0, BT.709; AAC-LC stereo at 48 kHz, 384 kb/s
    "youtube": {"size": (1920, 1080), "fps": 30.0, "crf": 18, "audio_bitrate": 384},
    # Shorts: the same encoding, vertical 9:16 (support.google.com/youtube/answer/10059070)
    "shorts": {"size": (1080, 1920), "fps": 30.0, "crf": 18, "audio_bitrate": 384},
    # Instagram reels (developers.facebook.com/docs/instagram-platform/instagram-graph-api/
    # reference/ig-user/media, "Reel specifications"): MOV or MP4, moov atom at the front,
    # H.264 progressive closed GOP 4:2:0, 23-60 fps, 9:16 1080x1920 recommended, VBR at most
    # 25 Mb/s; AAC at most 48 kHz, 1 or 2 channels, 128 kb/s
    "reels": {"size": (1080, 1920), "fps": 30.0, "crf": 18, "maxrate": 20000,
              "audio_bitrate": 128},
    # TikTok for Developers, Content Posting API, "Media transfer guide" / video restrictions:
    # MP4 (recommended), H.264 (recommended), 23-60 fps, 360-4096 px a side; 9:16
    "tiktok": {"size": (1080, 1920), "fps": 30.0, "crf": 18, "audio_bitrate": 384},
    # Instagram feed: 1:1 at 1080x1080 (the same Meta reference, "Image specifications" for
    # the square size; the reel rules for the video)
    "square": {"size": (1080, 1080), "fps": 30.0, "crf": 18, "maxrate": 20000,
               "audio_bitrate": 128},
    # Spotify for Artists, "Canvas guidelines" (support.spotify.com/artists/article/
    # canvas-guidelines): 3-8 s, vertical 9:16, 720-1080 px tall, MP4; no sound (the song
    # plays); a loop. 6 Mb/s at most keeps 8 s under 8 MB.
    "canvas": {"size": (608, 1080), "fps": 30.0, "crf": 20, "maxrate": 6000, "silent": True},
    # an intermediate for an editor: Apple ProRes 422 HQ (Apple, "Apple ProRes" white paper)
    # in a QuickTime .mov with 24-bit PCM at 48 kHz
    "editor": {"size": (1920, 1080), "fps": 30.0, "codec": "prores"},
}
"""The settings of each ``--for`` release preset; a flag the user gives still wins."""


@dataclass(frozen=True)
class MappingConfig:
    """How musical features become BigGAN inputs (see `audiogan.mapping`)."""

    truncation: float = 0.5
    """BigGAN truncation in (0, 1]: lower is cleaner and calmer, higher is wilder."""
    y_scale: float = 1.0
    """Scale of the class vector (the sum of its class weights)."""
    pulse_strength: float = 0.8
    """How far z jumps on a beat, in units of z's own spread."""
    pulse_decay: float = 0.8
    """Fraction of the beat interval over which a pulse dies away (0, 1]."""
    pulse_curve: float = 2.0
    """Shape of the decay: 1 is linear, higher falls faster after the hit."""
    pulse_floor: float = 0.3
    """Strength of a pulse on the weakest beat, relative to a strong one, in [0, 1]."""
    pulse_directions: int = 4
    """Number of directions the pulses cycle through (beat 1, 2, 3, 4 of a bar...)."""
    drift_amount: float = 0.8
    """Size of the slow wandering of z, in units of z's own spread."""
    drift_speed: float = 3.0
    """Drift cycles per minute at the song's average loudness."""
    drift_loudness: float = 0.7
    """How much loudness sets the drift speed: 0 constant, 1 silence stops it."""
    class_sharpness: float = 4.0
    """How decisively the harmony picks one class: 0 an even mix, 10 almost one at a time."""
    class_smoothing_s: float = 0.3
    """Time constant of the class morph, in seconds."""
    downbeat_accent: float = 0.3
    """Extra pulse on the first beat of a bar, relative to the beat's own (0: none)."""
    halftime_bpm: float = 150.0
    """From this tempo (BPM) up, every other beat pulses at half strength, so that the
    picture moves with the half-speed beat that many listeners tap at fast tempos (the
    beats the network hears more) as well as with every beat (0: never)."""
    section_shift: float = 0.6
    """How far a new section moves the class mix, on its bar line: 0 not at all, 1 the
    classes trade places completely."""
    section_morph_s: float = 1.0
    """Seconds over which a section change completes, starting on the bar line."""
    drop_db: float = 6.0
    """A section that starts this much louder (dB), with denser onsets, is a drop."""
    drop_jump: float = 0.7
    """How far z leaps to a new place on a drop (0 none, 1 a wholly new point); the class
    change of a drop is complete and immediate."""
    calm: float = 0.6
    """How much fills and silences calm the motion: 0 not at all, 1 they stop it."""


@dataclass(frozen=True)
class RenderConfig:
    """Everything one render needs besides the song.

    Made by `resolve_config`, which settles `model`, `device` and `dtype`: `model` stays
    None only when `weights` is given and no model was asked for (the checkpoint decides);
    `device` becomes ``cpu``, ``cuda`` or ``cuda:N`` and `dtype` a torch dtype name.
    """

    classes: tuple[int, ...] = (973, 980, 970)
    """ImageNet ids, in order: the order decides which share of the harmony each gets."""
    model: str | None = None
    weights: Path | None = None
    fps: float = DEFAULT_FPS
    batch_size: int | None = None
    device: str = "auto"
    seed: int = 0
    start: float = 0.0
    duration: float | None = None
    preview: bool = False
    crf: int = 18
    encoder_speed: str = "medium"
    analysis_cache: bool = True
    dtype: str = "auto"
    compile: bool = False
    encoders: int = 0
    """ffmpeg processes encoding at once (0: one on the CPU, several beside a GPU)."""
    bpm: float | None = None
    beat_offset: float | None = None
    beat_shift: float = 0.0
    """Every beat moved by this share of a beat (0.5: on to the off-beats; see
    `audiogan.timing.shift_beats`), the user's grid or the one found."""
    beats: Path | None = None
    cues: Path | None = None
    stems: tuple[tuple[str, Path], ...] = ()
    separate: bool = False
    beat_tracker: str = "auto"
    """Who finds the beats: auto, audiogan or beat_this (see `audiogan.beatthis`)."""
    beat_model: Path | None = None
    """A Beat This! checkpoint to use instead of the pretrained one."""
    tempo_range: tuple[float, float] = TEMPO_RANGE
    """Slowest and fastest beat (BPM) audiogan's tracker considers."""
    release: str | None = None
    """The ``--for`` release preset these settings came from (a key of `RELEASES`)."""
    size: tuple[int, int] | None = None
    """Output (width, height); None: the model's own square."""
    fit: str = "wide"
    """How the square model fills another aspect: wide, crop, blur or mirror (`FITS`)."""
    codec: str = "h264"
    """h264 (an mp4) or prores (ProRes 422 HQ in a .mov, PCM audio): `CODECS`."""
    maxrate: int | None = None
    """Ceiling on the video bitrate in kb/s (None: the crf alone decides)."""
    gop: int | None = None
    """Frames from keyframe to keyframe, closed GOP (None: half the frame rate)."""
    bframes: int = 2
    audio_bitrate: int = 384
    """AAC bitrate in kb/s (stereo, at `audio_rate`)."""
    audio_rate: int = 48000
    silent: bool = False
    """No audio track."""
    frames_dir: Path | None = None
    """Also write every frame as a PNG into this folder."""
    loop: int | None = None
    """Render exactly this many bars from the first bar line after `start` as a seamless
    loop (None: the song, or the excerpt `start`/`duration` give)."""
    safe_flashes: bool = False
    """Limit the pulses so that the picture flashes at most 3 times a second (WCAG 2.3.1)."""
    mapping: MappingConfig = field(default_factory=MappingConfig)


def _seed_axis_sets() -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(range(start, start + 8)) for start in range(0, 80, 8))


@dataclass(frozen=True)
class TempoConfig:
    """Every setting of a tempo render (the parameters of `audiogan.synth.generate_in_tempo`).

    The defaults are the seed's. Presets (``configs/tempo-*.toml``) fill it from a ``[tempo]``
    table; `funcs` are names of `FUNCTION_NAMES` (or, from Python, any callables), each
    shifted by its `phases` entry (in periods: 0.5 = half). A `magnitudes` or `periods`
    entry of None switches its axis set off, as in the seed.
    """

    bpm: float = 120.0
    num_beats: float = 16
    classes: tuple[int, ...] = (309,)
    y_scale: float = 1.0
    truncation: float = 1.0
    random_label: bool = False
    quantize_label: bool = False
    fps: float = DEFAULT_FPS
    axis_sets: tuple[tuple[int, ...], ...] = field(default_factory=_seed_axis_sets)
    magnitudes: tuple[float | None, ...] = (1.0,) * 10
    periods: tuple[float | None, ...] = (1, 1, 2, 2, 4, 4, 8, 8, 16, 16)
    funcs: tuple[str | Callable, ...] = ("saw", "saw", "saw", "sin", "cos", "sin", "cos",
                                         "sin", "cos", "sin")
    phases: tuple[float, ...] = (0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0)
    ext: str | None = None
    seed: int | None = None
    batch_size: int | None = None

    def functions(self) -> list[Callable]:
        """The callables of `funcs`, each shifted by its phase."""
        return axis_functions(self.funcs, self.phases)


# --- the one range table -------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    """Allowed values of a number: ``[low, high]``, or ``(low, high]`` when `low_open`.
    `noun` (``"a number"``) is said in the message where a setting has its own entry."""

    low: float
    high: float
    low_open: bool = False
    noun: str = ""

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def __str__(self) -> str:
        """``in [1, 64]``, ``in [0, 2^63 - 1]``, ``greater than 0`` (no upper bound), or
        ``at least 1``."""
        if self.high == math.inf:
            return f"{'greater than' if self.low_open else 'at least'} {_number(self.low)}"
        return f"in {'(' if self.low_open else '['}{_number(self.low)}, {_number(self.high)}]"


def _number(value: float) -> str:
    """A limit as a reader writes it: ``64``, ``0.5``, ``2^63 - 1`` (not ``9.22337e+18``)."""
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 2**53:
        whole = int(value)
        if whole >= 2**31 and (whole + 1) & whole == 0:  # 2^k - 1
            return f"2^{(whole + 1).bit_length() - 1} - 1"
        return str(whole)
    return f"{value:g}"


RANGES: dict[str, Range] = {
    # mapping
    "truncation": Range(0.0, 1.0, low_open=True),
    "y_scale": Range(0.0, 10.0, low_open=True),
    "pulse_strength": Range(0.0, 4.0),
    "pulse_decay": Range(0.0, 1.0, low_open=True),
    "pulse_curve": Range(0.1, 10.0),
    "pulse_floor": Range(0.0, 1.0),
    "pulse_directions": Range(1, 64),
    "drift_amount": Range(0.0, 4.0),
    "drift_speed": Range(0.0, 600.0),
    "drift_loudness": Range(0.0, 1.0),
    "class_sharpness": Range(0.0, 50.0),
    "class_smoothing_s": Range(0.0, 60.0),
    "downbeat_accent": Range(0.0, 4.0),
    "halftime_bpm": Range(0.0, 400.0),
    "section_shift": Range(0.0, 1.0),
    "section_morph_s": Range(0.0, 60.0),
    "drop_db": Range(0.0, 60.0),
    "drop_jump": Range(0.0, 1.0),
    "calm": Range(0.0, 1.0),
    # render (fps, truncation and batch_size serve tempo mode too)
    "fps": Range(0.0, MAX_FPS, low_open=True),
    "batch_size": Range(1, 1024),
    "encoders": Range(0, 64),
    "seed": Range(0, 2**63 - 1),
    "start": Range(0.0, math.inf),
    "duration": Range(0.0, math.inf, low_open=True),
    "crf": Range(0, 51),
    "maxrate": Range(100, 1_000_000),
    "gop": Range(1, 1000),
    "bframes": Range(0, 16),
    "audio_bitrate": Range(32, 512),
    "loop": Range(1, 64),
    "bpm": Range(20.0, 400.0),
    "beat_offset": Range(0.0, math.inf),
    "beat_shift": Range(-0.5, 0.5),
    # tempo mode's own: the seed took any tempo, and a 32-bit seed
    "tempo.bpm": Range(0, 1000, low_open=True, noun="a number"),
    "tempo.num_beats": Range(0, 10000, low_open=True, noun="a number"),
    "tempo.y_scale": Range(0, 100, low_open=True, noun="a number"),
    "tempo.seed": Range(0, 2**32 - 1, noun="an integer"),
}


def check_setting(name: str, value: Any, kind: type[int] | type[float] = float, *, where: str = "",
                  scope: str | None = None) -> Any:
    """`value` as a `kind` (int or float) within ``RANGES[name]`` (``RANGES["scope.name"]``
    where the scope has its own); else a `ConfigError` naming the setting, the value and
    what is allowed."""
    key = f"{scope}.{name}" if scope and f"{scope}.{name}" in RANGES else name
    allowed = RANGES.get(key)
    if not isinstance(value, bool):  # numpy scalars too
        if kind is float and isinstance(value, numbers.Real):
            value = float(value)
        elif kind is int and isinstance(value, numbers.Integral):
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        noun = "an integer" if kind is int else "a number"
        if allowed is not None and allowed.noun:
            raise ConfigError(f"{where}{name} must be {noun} {allowed}, got {value!r}")
        raise ConfigError(f"{where}{name} must be {noun}, got {value!r}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where}{name} must be a finite number, got {value!r}")
    if allowed is not None and value not in allowed:
        noun = f"{allowed.noun} " if allowed.noun else ""
        raise ConfigError(f"{where}{name} must be {noun}{allowed}, got {value!r}")
    return value


def check_classes(values: Any, *, where: str = "") -> tuple[int, ...]:
    """Class ids from ids or names (see `audiogan.classes.parse_classes`); ids given as
    integers are checked against the 1000 ImageNet classes here."""
    items = list(values) if isinstance(values, list | tuple) else [values]
    as_ids = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    if items and as_ids and not all(0 <= v < NUM_CLASSES for v in items):
        raise ConfigError(f"{where}classes must be ImageNet ids in [0, {NUM_CLASSES}), "
                              f"got {items}")
    return parse_classes(items)


# --- the device ----------------------------------------------------------------------------

def resolve_device(name: str) -> str:
    """``auto`` takes CUDA when there is a GPU; asking for ``cuda`` without one is an error."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA GPU is available here; use --device cpu "
                          "or auto")
    return name


def resolve_dtype(name: str, device: str) -> str:
    """``auto``: float16 on CUDA, float32 on the CPU; a dtype the device cannot run is an
    error."""
    on_cpu = not device.startswith("cuda")
    if name == "auto":
        return "float32" if on_cpu else "float16"
    if name == "float16" and on_cpu:
        raise ConfigError("dtype float16 is for CUDA; on the CPU use float32 or bfloat16")
    if name == "bfloat16" and on_cpu and not cpu_has_bfloat16():
        raise ConfigError("dtype bfloat16: this CPU has no bfloat16 instructions "
                          "(AVX512-BF16 or AMX), so it would be slower; use float32")
    return name


def resolve_hardware(device: str = "auto", dtype: str = "auto") -> tuple[str, str]:
    """(device, dtype) names checked and settled: what a render or `GanVideoSynth` runs on."""
    device = resolve_device(_check_device(device))
    return device, resolve_dtype(_check_dtype(dtype), device)


def cpu_has_bfloat16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _check_device(name: Any, where: str = "") -> str:
    if not isinstance(name, str) or not (name in DEVICES or name.startswith("cuda:")):
        raise ConfigError(f"{where}device must be auto, cpu or cuda, got {name!r}")
    return name


def _check_dtype(name: Any, where: str = "") -> str:
    if name not in DTYPES:
        raise ConfigError(f"{where}dtype must be auto, float32, float16 or bfloat16, "
                          f"got {name!r}")
    return name


# --- presets -------------------------------------------------------------------------------

def presets_dir() -> Path:
    """configs/ of the repository; an installed wheel carries it as audiogan/configs/."""
    installed = Path(__file__).parent / "configs"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "configs"


def available_presets() -> list[str]:
    """Names of the presets that ship with audiogan."""
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The tables of the TOML file at `path`; a `ConfigError` naming the `what` (``preset``,
    ``cue``, ``album``) and the path when it is missing or not TOML."""
    if not path.is_file():
        raise ConfigError(f"{what} file {path} not found: check the path")
    try:
        return tomllib.loads(path.read_text("utf-8-sig"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None


def _preset_path(name_or_file: str | Path, prefixes: tuple[str, ...], kind: str) -> Path:
    path = Path(name_or_file)
    if path.suffix == ".toml" or path.exists():
        return path
    for prefix in prefixes:
        candidate = presets_dir() / f"{prefix}{name_or_file}.toml"
        if candidate.is_file():
            return candidate
    tempo = kind == "tempo preset"
    names = [n for n in available_presets() if n.startswith("tempo-") == tempo]
    raise ConfigError(f"unknown {kind} {str(name_or_file)!r}: choose one of "
                      f"{', '.join(names)} or give the path of a .toml file")


def load_preset(name_or_file: str | Path) -> dict[str, dict[str, Any]]:
    """Read a preset by name (``calm``) or path (``my.toml``) into ``{table: {key: value}}``."""
    path = _preset_path(name_or_file, ("",), "preset")
    data = read_toml(path, "preset")
    if "tempo" in data:
        raise ConfigError(f"preset {path} is a tempo preset: use it with "
                          f"`audiogan tempo --preset {path.stem}`")
    for table, values in data.items():
        if table not in ("render", "mapping") or not isinstance(values, dict):
            raise ConfigError(
                f"preset {path}: unknown table [{table}]; a preset has [render] and [mapping]"
            )
    return {"render": dict(data.get("render", {})), "mapping": dict(data.get("mapping", {}))}


_TEMPO_KEYS = tuple(f.name for f in fields(TempoConfig))


def load_tempo_preset(name_or_file: str | Path) -> dict[str, Any]:
    """The ``[tempo]`` table of a preset (``tempo-smooth``, ``smooth`` or a path)."""
    path = _preset_path(name_or_file, ("", "tempo-"), "tempo preset")
    data = read_toml(path, "preset")
    if set(data) != {"tempo"} or not isinstance(data["tempo"], dict):
        raise ConfigError(f"preset {path}: a tempo preset has one table, [tempo]; found "
                          f"{', '.join(f'[{t}]' for t in data) or 'none'}")
    values = dict(data["tempo"])
    unknown = sorted(set(values) - set(_TEMPO_KEYS))
    if unknown:
        raise ConfigError(f"preset {path}: unknown key {unknown[0]!r} in [tempo]; allowed: "
                          f"{', '.join(sorted(_TEMPO_KEYS))}")
    return values


# --- render settings -----------------------------------------------------------------------

_MAPPING_TYPES: dict[str, Any] = {  # int or float: the type of each field's default
    f.name: type(f.default) for f in fields(MappingConfig)}
_RENDER_NAMES = tuple(f.name for f in fields(RenderConfig) if f.name != "mapping")
_FLOATS = ("fps", "start", "duration", "bpm", "beat_offset", "beat_shift")
_INTS = ("batch_size", "seed", "crf", "encoders", "maxrate", "gop", "bframes",
         "audio_bitrate", "loop")
_FLAGS = ("preview", "analysis_cache", "compile", "separate", "silent", "safe_flashes")
_PATHS = ("weights", "beats", "cues", "beat_model", "frames_dir")
_AUDIO_RATES = (44100, 48000, 96000)


def _mapping_from(values: dict[str, Any], where: str) -> dict[str, Any]:
    checked = {}
    for name, value in values.items():
        if name not in _MAPPING_TYPES:
            raise ConfigError(
                f"{where}unknown mapping setting {name!r}; known: {', '.join(_MAPPING_TYPES)}"
            )
        checked[name] = check_setting(name, value, _MAPPING_TYPES[name], where=where)
    return checked


def _render_value(name: str, value: Any, where: str) -> Any:
    if name == "classes":
        classes = check_classes(value, where=where)
        if not classes:
            raise ConfigError(f"{where}classes is empty: name at least one class")
        return classes
    if name == "model":
        if value not in MODEL_NAMES:
            raise ConfigError(f"{where}unknown model {value!r}: choose "
                              f"{', '.join(MODEL_NAMES[:-1])} or {MODEL_NAMES[-1]}")
        return value
    if name == "device":
        return _check_device(value, where)
    if name == "dtype":
        return _check_dtype(value, where)
    if name == "tempo_range":
        return check_tempo_range(value, where)
    if name == "beat_tracker":
        if value not in BEAT_TRACKERS:
            raise ConfigError(f"{where}beat_tracker must be auto, audiogan or beat_this, "
                              f"got {value!r}")
        return value
    if name == "size":
        return check_size(value, where)
    if name == "fit":
        if value not in FITS:
            raise ConfigError(f"{where}fit must be one of {', '.join(FITS)}, got {value!r}")
        return value
    if name == "codec":
        if value not in CODECS:
            raise ConfigError(f"{where}codec must be h264 or prores, got {value!r}")
        return value
    if name == "release":
        if value not in RELEASES:
            raise ConfigError(f"{where}unknown release preset {value!r} (--for): choose one of "
                              f"{', '.join(RELEASES)}")
        return value
    if name == "audio_rate":
        if value not in _AUDIO_RATES:
            raise ConfigError(f"{where}audio_rate must be 44100, 48000 or 96000, got {value!r}")
        return value
    if name == "encoder_speed":
        if value not in ENCODER_SPEEDS:
            raise ConfigError(f"{where}encoder_speed must be one of {', '.join(ENCODER_SPEEDS)}")
        return value
    if name in _PATHS:
        return Path(value).expanduser()
    if name == "stems":
        return _parse_stems(value, where)
    if name in _FLAGS:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}{name} must be true or false, got {value!r}")
        return value
    if name in _FLOATS:
        return check_setting(name, value, float, where=where)
    if name in _INTS:
        return check_setting(name, value, int, where=where)
    raise ConfigError(f"{where}unknown render setting {name!r}")


def _render_from(values: dict[str, Any], where: str) -> dict[str, Any]:
    return {name: _render_value(name, value, where) for name, value in values.items()
            if value is not None}


def check_size(value: Any, where: str = "") -> tuple[int, int]:
    """``"1920x1080"`` or a (width, height) pair into even sides within 16..8192 px."""
    if isinstance(value, str):
        parts: list[Any] = value.lower().replace("×", "x").split("x")
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = []
    try:
        width, height = (int(part) for part in parts)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}size {value!r}: write WIDTHxHEIGHT in pixels, e.g. "
                          "1920x1080") from None
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
        raise ConfigError(f"{where}size {width}x{height}: each side must be 16 to "
                          f"{MAX_SIDE} px")
    if width % 2 or height % 2:
        raise ConfigError(f"{where}size {width}x{height}: both sides must be even (H.264 "
                          f"stores colour at half resolution), e.g. {width + width % 2}x"
                          f"{height + height % 2}")
    return (width, height)


def check_tempo_range(value: Any, where: str = "") -> tuple[float, float]:
    """``"70:140"``, ``"70-140"`` or a pair of numbers into (slowest, fastest) BPM."""
    if isinstance(value, str):
        parts = value.replace("-", ":").split(":")
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = []
    try:
        low, high = (float(part) for part in parts)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}tempo range {value!r}: write SLOWEST:FASTEST in BPM, "
                          "e.g. 70:140") from None
    if not 20 <= low < high <= 400 or high < 1.5 * low:
        raise ConfigError(f"{where}tempo range {low:g}:{high:g}: give BPM within 20..400, the "
                          "fastest at least 1.5 times the slowest (e.g. 70:140)")
    return (low, high)


def _parse_stems(value: Any, where: str) -> tuple[tuple[str, Path], ...]:
    """``{"drums": PATH}`` or ``["drums=PATH", ...]`` into ((name, path), ...)."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, list | tuple) and len(item) == 2:
                items.append((str(item[0]), item[1]))
                continue
            name, sep, path = str(item).partition("=")
            if not sep or not path.strip():
                raise ConfigError(f"{where}--stem {item!r}: write NAME=PATH, e.g. "
                                  "--stem drums=drums.wav")
            items.append((name.strip(), path.strip()))
    stems: dict[str, Path] = {}
    for name, path in items:
        if name not in STEM_NAMES:
            raise ConfigError(f"{where}unknown stem {name!r}: use drums, bass or other")
        if name in stems:
            raise ConfigError(f"{where}stem {name!r} is given twice")
        stems[name] = Path(path).expanduser()
    return tuple(stems.items())


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Flat options (any `RenderConfig` or `MappingConfig` field) into (render, mapping)."""
    render, mapping = {}, {}
    for name, value in options.items():
        if name in _MAPPING_TYPES:
            mapping[name] = value
        elif name in _RENDER_NAMES:
            render[name] = value
        else:
            raise ConfigError(f"unknown option {name!r}")
    return render, mapping


WEIGHTS_ENV = "AUDIOGAN_WEIGHTS"
"""A weights folder every command uses when none is given (render, batch, tempo, synth)."""


def weights_from_env() -> Path | None:
    """``$AUDIOGAN_WEIGHTS`` as a path, or None when it is not set (or empty)."""
    value = os.environ.get(WEIGHTS_ENV, "").strip()
    return Path(value).expanduser() if value else None


def resolve_config(preset: str | Path | None = None, render: dict[str, Any] | None = None,
                   mapping: dict[str, Any] | None = None, *, hardware: bool = True,
                   **options: Any) -> RenderConfig:
    """Merge built-in defaults < preset < explicit options, validate, and settle the model,
    device and dtype.

    `render` and `mapping` hold options given explicitly (CLI flags or API arguments), as do
    the flat keyword `options` (any field of either); ``None`` values count as not given.
    ``hardware=False`` leaves ``device`` and ``dtype`` as written (``auto``) for callers that
    only analyse, so torch is not imported.
    """
    flat_render, flat_mapping = split_options(options)
    table = load_preset(preset) if preset is not None else {"render": {}, "mapping": {}}
    where = f"preset {preset}: "
    render_values = _render_from(table["render"], where)
    mapping_values = _mapping_from(table["mapping"], where)
    explicit = _render_from({**(render or {}), **flat_render}, "")
    release = explicit.get("release", render_values.get("release"))
    if release is not None:  # a release preset sits between the look preset and the flags
        render_values.update(RELEASES[release], release=release)
    render_values.update(explicit)
    mapping_values.update(_mapping_from({k: v for k, v in {**(mapping or {}),
                                                           **flat_mapping}.items()
                                         if v is not None}, ""))
    config = RenderConfig(**render_values, mapping=MappingConfig(**mapping_values))
    if config.weights is None:
        config = dataclasses.replace(config, weights=weights_from_env())
    model = config.model
    if config.weights is None and (model is None or config.preview):
        model = DEFAULT_MODEL  # a preview downloads the smallest model
    changes: dict[str, Any] = {"model": model}
    if config.preview:
        changes.update(fps=min(config.fps, PREVIEW_FPS), encoder_speed="veryfast")
    if hardware:
        changes["device"], changes["dtype"] = resolve_hardware(config.device, config.dtype)
    return dataclasses.replace(config, **changes)


# --- tempo settings ------------------------------------------------------------------------

def _axis_set(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        start, sep, stop = value.partition(":")
        try:
            if not sep:
                raise ValueError
            return tuple(range(int(start), int(stop)))
        except ValueError:
            raise ConfigError(f"axis_sets: {value!r} is not a range; write \"0:8\" (axes 0 to "
                              "7) or a list of axes such as [0, 1, 2]") from None
    if isinstance(value, list | tuple | range) and all(
            isinstance(v, int) and not isinstance(v, bool) or hasattr(v, "__index__")
            for v in value):
        axes = tuple(int(v) for v in value)
        bad = [a for a in axes if not 0 <= a < Z_DIM]
        if bad:
            raise ConfigError(f"axis_sets: axis {bad[0]} is outside the noise vector; axes "
                              f"are 0 to {Z_DIM - 1}")
        return axes
    raise ConfigError(f"axis_sets: {value!r} is not an axis set; write \"0:8\" or [0, 1, 2]")


def _per_set(values: dict[str, Any], key: str, n: int, *, none_ok: bool) -> tuple:
    raw = values[key]
    try:
        items = tuple(None if (v is None and none_ok) else float(v) for v in raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a list of numbers, got {raw!r}") from None
    if len(items) != n:
        raise ConfigError(f"{key} has {len(items)} entries but axis_sets has {n}; give one "
                          "entry per axis set")
    return items


def resolve_tempo_config(preset: str | Path | None = None, **options: Any) -> TempoConfig:
    """Defaults < preset < `options` (None values are ignored), validated once.

    Lists left out follow the axis sets given: the seed's defaults for the first ten sets
    (magnitude 1, its periods and functions), magnitude 1, period 1 and ``sin`` past them;
    phases are 0 unless the default functions are kept.
    """
    values: dict[str, Any] = load_tempo_preset(preset) if preset is not None else {}
    values.update({k: v for k, v in options.items() if v is not None})
    unknown = sorted(set(values) - set(_TEMPO_KEYS))
    if unknown:
        raise ConfigError(f"unknown tempo setting {unknown[0]!r}; known: "
                          f"{', '.join(sorted(_TEMPO_KEYS))}")
    defaults = TempoConfig()
    v = {name: values.get(name, getattr(defaults, name)) for name in _TEMPO_KEYS}
    for key in ("bpm", "num_beats", "y_scale", "truncation", "fps"):
        v[key] = check_setting(key, v[key], float, scope="tempo")
    for key in ("random_label", "quantize_label"):
        if not isinstance(v[key], bool):
            raise ConfigError(f"{key} must be true or false, got {v[key]!r}")
    if not isinstance(v["axis_sets"], list | tuple | range):
        raise ConfigError("axis_sets must be a list of sets such as [\"0:8\", \"8:16\"], got "
                          f"{v['axis_sets']!r}")
    v["axis_sets"] = tuple(_axis_set(s) for s in v["axis_sets"])
    n = len(v["axis_sets"])
    fill = {"magnitudes": 1.0, "periods": 1.0, "funcs": "sin", "phases": 0.0}
    for key, extra in fill.items():
        if key not in values:
            if key == "phases" and "funcs" in values:
                v[key] = (0.0,) * n  # the default phases belong to the default functions
            else:
                default = tuple(getattr(defaults, key))
                v[key] = default[:n] + (extra,) * max(0, n - len(default))
    v["magnitudes"] = _per_set(v, "magnitudes", n, none_ok=True)
    v["periods"] = _per_set(v, "periods", n, none_ok=True)
    if any(p is not None and p <= 0 for p in v["periods"]):
        raise ConfigError(f"periods must be positive numbers of beats, got {list(v['periods'])}")
    v["phases"] = _per_set(v, "phases", n, none_ok=False)
    funcs = tuple(v["funcs"]) if isinstance(v["funcs"], list | tuple) else (v["funcs"],)
    if len(funcs) != n:
        raise ConfigError(f"funcs has {len(funcs)} entries but axis_sets has {n}; give one "
                          "entry per axis set")
    for func in funcs:
        if not callable(func) and str(func) not in FUNCTION_NAMES:
            raise ConfigError(f"funcs: unknown function {func!r}; choose one of "
                              "sin, cos, saw, square, triangle")
    v["funcs"] = tuple(f if callable(f) else str(f) for f in funcs)
    if not v["random_label"] or "classes" in values:
        v["classes"] = check_classes(v["classes"])
        if not v["classes"] and not v["random_label"]:
            raise ConfigError("classes is empty: give at least one ImageNet class, or "
                              "random_label")
    if v["ext"] is not None and v["ext"] not in (".gif", ".mp4", ".npy"):
        raise ConfigError(f"ext must be .gif, .mp4 or .npy, got {v['ext']!r}")
    for key in ("seed", "batch_size"):
        if v[key] is not None:
            v[key] = check_setting(key, v[key], int, scope="tempo")
    return TempoConfig(**v)
