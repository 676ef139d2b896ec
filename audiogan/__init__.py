"""audiogan: turn a song into a BigGAN-deep music video that moves with the music.

    >>> import audiogan
    >>> audiogan.render("song.wav", classes=[398, 402])  # doctest: +SKIP

The stages (`audiogan.analysis`, `audiogan.mapping`, `audiogan.generate`, `audiogan.encode`)
can be used on their own; `audiogan.pipeline` runs them in order.

The names below are imported on first use (PEP 562), so ``import audiogan`` (and
``audiogan --help``) loads neither librosa nor torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from audiogan.errors import (
    AudioganError,
    AudioLoadError,
    ConfigError,
    DisplayError,
    EncodeError,
    InputError,
    MissingPackageError,
    ModelLoadError,
    ResourceError,
)

if TYPE_CHECKING:
    from audiogan.album import TrackResult, render_album
    from audiogan.clips import clip
    from audiogan.pipeline import RenderResult, analyze_song, render

__version__ = "0.1.0"

# public name -> the module that defines it, imported when the name is first asked for
_LAZY = {
    "TrackResult": "audiogan.album",
    "render_album": "audiogan.album",
    "RenderResult": "audiogan.pipeline",
    "clip": "audiogan.clips",
    "analyze_song": "audiogan.pipeline",
    "render": "audiogan.pipeline",
}

__all__ = [
    "AudioLoadError",
    "AudioganError",
    "ConfigError",
    "DisplayError",
    "EncodeError",
    "InputError",
    "MissingPackageError",
    "ModelLoadError",
    "RenderResult",
    "ResourceError",
    "TrackResult",
    "__version__",
    "analyze_song",
    "clip",
    "render",
    "render_album",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'audiogan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
