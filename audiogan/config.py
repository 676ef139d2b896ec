"""Settings, resolved once: built-in defaults < TOML preset < explicit options.

A preset is a TOML file with a ``[render]`` and a ``[mapping]`` table (see
``configs/default.toml``); ``--preset NAME`` finds ``configs/NAME.toml``, ``--preset FILE``
reads any file. The result is a frozen `RenderConfig`, validated in one place, that the
pipeline passes down.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from audiogan.classes import parse_classes
from audiogan.errors import ConfigError

__all__ = [
    "MODEL_NAMES",
    "MappingConfig",
    "RenderConfig",
    "available_presets",
    "load_preset",
    "resolve_config",
]

MODEL_NAMES = ("biggan-deep-128", "biggan-deep-256", "biggan-deep-512")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
PREVIEW_FPS = 12.0
MAX_FPS = 120.0


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
    """Everything one render needs besides the song."""

    classes: tuple[int, ...] = (970, 973, 980)
    model: str = "biggan-deep-128"
    weights: Path | None = None
    fps: float = 30.0
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
    beats: Path | None = None
    cues: Path | None = None
    stems: tuple[tuple[str, Path], ...] = ()
    separate: bool = False
    beat_tracker: str = "auto"
    """Who finds the beats: auto, audiogan or beat_this (see `audiogan.beatthis`)."""
    beat_model: Path | None = None
    """A Beat This! checkpoint to use instead of the pretrained one."""
    mapping: MappingConfig = field(default_factory=MappingConfig)


_RANGES: dict[str, tuple[float, float, bool]] = {
    # name: (low, high, low is exclusive)
    "truncation": (0.0, 1.0, True),
    "y_scale": (0.0, 10.0, True),
    "pulse_strength": (0.0, 4.0, False),
    "pulse_decay": (0.0, 1.0, True),
    "pulse_curve": (0.1, 10.0, False),
    "pulse_floor": (0.0, 1.0, False),
    "pulse_directions": (1, 64, False),
    "drift_amount": (0.0, 4.0, False),
    "drift_speed": (0.0, 600.0, False),
    "drift_loudness": (0.0, 1.0, False),
    "class_sharpness": (0.0, 50.0, False),
    "class_smoothing_s": (0.0, 60.0, False),
    "downbeat_accent": (0.0, 4.0, False),
    "section_shift": (0.0, 1.0, False),
    "section_morph_s": (0.0, 60.0, False),
    "drop_db": (0.0, 60.0, False),
    "drop_jump": (0.0, 1.0, False),
    "calm": (0.0, 1.0, False),
    "fps": (0.0, MAX_FPS, True),
    "batch_size": (1, 1024, False),
    "encoders": (0, 64, False),
    "seed": (0, 2**63 - 1, False),
    "start": (0.0, math.inf, False),
    "duration": (0.0, math.inf, True),
    "crf": (0, 51, False),
    "bpm": (20.0, 400.0, False),
    "beat_offset": (0.0, math.inf, False),
}
STEM_NAMES = ("drums", "bass", "other")
BEAT_TRACKERS = ("auto", "audiogan", "beat_this")
_ENCODER_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                   "slower", "veryslow")


def _presets_dir() -> Path:
    """configs/ of the repository; an installed wheel carries it as audiogan/configs/."""
    installed = Path(__file__).parent / "configs"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "configs"


def available_presets() -> list[str]:
    """Names of the presets that ship with audiogan."""
    return sorted(p.stem for p in _presets_dir().glob("*.toml"))


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The tables of the TOML file at `path`; a `ConfigError` naming the `what` (``preset``,
    ``cue``, ``album``) and the path when it is missing or not TOML."""
    if not path.is_file():
        raise ConfigError(f"{what} file {path} not found: check the path")
    try:
        return tomllib.loads(path.read_text("utf-8-sig"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None


def load_preset(name_or_file: str | Path) -> dict[str, dict[str, Any]]:
    """Read a preset by name (``calm``) or path (``my.toml``) into ``{table: {key: value}}``."""
    path = Path(name_or_file)
    if path.suffix != ".toml" and not path.exists():
        path = _presets_dir() / f"{name_or_file}.toml"
        if not path.is_file():
            raise ConfigError(
                f"unknown preset {str(name_or_file)!r}: choose one of "
                f"{', '.join(available_presets())} or give the path of a .toml file"
            )
    data = read_toml(path, "preset")
    known = {"render", "mapping"}
    if "tempo" in data:
        raise ConfigError(f"preset {path} is a tempo preset: use it with "
                          f"`audiogan tempo --preset {path.stem}`")
    for table, values in data.items():
        if table not in known or not isinstance(values, dict):
            raise ConfigError(
                f"preset {path}: unknown table [{table}]; a preset has [render] and [mapping]"
            )
    return {"render": dict(data.get("render", {})), "mapping": dict(data.get("mapping", {}))}


def _check_value(name: str, value: Any, kind: type, where: str) -> Any:
    """Coerce `value` to `kind` and check its range; raise one clear line if it can't be."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, kind)):
        raise ConfigError(f"{where}{name} must be a number, got {value!r}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where}{name} must be a finite number, got {value!r}")
    if name in _RANGES:
        low, high, exclusive = _RANGES[name]
        below = value <= low if exclusive else value < low
        if below or value > high:
            bracket = "(" if exclusive else "["
            upper = "" if high == math.inf else f"{high:g}"
            raise ConfigError(
                f"{where}{name} must be in {bracket}{low:g}, {upper}], got {value!r}"
            )
    return value


_MAPPING_TYPES = {f.name: type(f.default) for f in fields(MappingConfig)}


def _mapping_from(values: dict[str, Any], where: str) -> dict[str, Any]:
    checked = {}
    for name, value in values.items():
        if name not in _MAPPING_TYPES:
            raise ConfigError(
                f"{where}unknown mapping setting {name!r}; known: {', '.join(_MAPPING_TYPES)}"
            )
        checked[name] = _check_value(name, value, _MAPPING_TYPES[name], where)
    return checked


def _render_from(values: dict[str, Any], where: str) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name == "classes":
            items = value if isinstance(value, list | tuple) else [value]
            checked[name] = parse_classes(items)
            if not checked[name]:
                raise ConfigError(f"{where}classes is empty: name at least one class")
        elif name == "model":
            if value not in MODEL_NAMES:
                raise ConfigError(
                    f"{where}unknown model {value!r}: choose {', '.join(MODEL_NAMES[:-1])}"
                    f" or {MODEL_NAMES[-1]}"
                )
            checked[name] = value
        elif name == "device":
            if value not in DEVICES:
                raise ConfigError(f"{where}device must be auto, cpu or cuda, got {value!r}")
            checked[name] = value
        elif name == "encoder_speed":
            if value not in _ENCODER_SPEEDS:
                raise ConfigError(
                    f"{where}encoder_speed must be one of {', '.join(_ENCODER_SPEEDS)}"
                )
            checked[name] = value
        elif name == "weights":
            checked[name] = Path(value).expanduser()
        elif name == "dtype":
            if value not in DTYPES:
                raise ConfigError(f"{where}dtype must be auto, float32, float16 or bfloat16, "
                                  f"got {value!r}")
            checked[name] = value
        elif name in ("beats", "cues", "beat_model"):
            checked[name] = Path(value).expanduser()
        elif name == "beat_tracker":
            if value not in BEAT_TRACKERS:
                raise ConfigError(f"{where}beat_tracker must be auto, audiogan or beat_this, "
                                  f"got {value!r}")
            checked[name] = value
        elif name == "stems":
            checked[name] = _parse_stems(value, where)
        elif name in ("preview", "analysis_cache", "compile", "separate"):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}{name} must be true or false, got {value!r}")
            checked[name] = value
        elif name in ("fps", "start", "duration", "bpm", "beat_offset"):
            checked[name] = _check_value(name, value, float, where)
        elif name in ("batch_size", "seed", "crf", "encoders"):
            checked[name] = _check_value(name, value, int, where)
        else:
            raise ConfigError(f"{where}unknown render setting {name!r}")
    return checked


def _parse_stems(value: Any, where: str) -> tuple[tuple[str, Path], ...]:
    """``{"drums": PATH}`` or ``["drums=PATH", ...]`` into ((name, path), ...)."""
    items = value.items() if isinstance(value, dict) else []
    if not isinstance(value, dict):
        pairs = []
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((str(item[0]), item[1]))
                continue
            name, sep, path = str(item).partition("=")
            if not sep or not path.strip():
                raise ConfigError(f"{where}--stem {item!r}: write NAME=PATH, e.g. "
                                  "--stem drums=drums.wav")
            pairs.append((name.strip(), path.strip()))
        items = pairs
    stems: dict[str, Path] = {}
    for name, path in items:
        if name not in STEM_NAMES:
            raise ConfigError(f"{where}unknown stem {name!r}: use drums, bass or other")
        if name in stems:
            raise ConfigError(f"{where}stem {name!r} is given twice")
        stems[name] = Path(path).expanduser()
    return tuple(stems.items())


def resolve_config(
    preset: str | Path | None = None,
    render: dict[str, Any] | None = None,
    mapping: dict[str, Any] | None = None,
) -> RenderConfig:
    """Merge defaults < preset (``default`` when none) < explicit options, and validate.

    `render` and `mapping` hold options given explicitly (CLI flags or API arguments);
    ``None`` values count as not given.
    """
    table = load_preset(preset if preset is not None else "default")
    where = f"preset {preset}: " if preset is not None else "preset default: "
    render_values = _render_from(table["render"], where)
    mapping_values = _mapping_from(table["mapping"], where)
    render_values.update(_render_from(render or {}, ""))
    mapping_values.update(_mapping_from({k: v for k, v in (mapping or {}).items()
                                         if v is not None}, ""))
    config = RenderConfig(**render_values, mapping=MappingConfig(**mapping_values))
    if config.preview:
        config = dataclasses.replace(
            config, fps=min(config.fps, PREVIEW_FPS), encoder_speed="veryfast",
            model="biggan-deep-128" if config.weights is None else config.model,
        )
    return config
