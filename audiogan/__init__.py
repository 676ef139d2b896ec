"""audiogan: turn a song into a BigGAN-deep music video that moves with the music.

    >>> import audiogan
    >>> audiogan.render("song.wav", classes=[398, 402])  # doctest: +SKIP

The stages (`audiogan.analysis`, `audiogan.mapping`, `audiogan.generate`, `audiogan.encode`)
can be used on their own; `audiogan.pipeline` runs them in order.
"""

from audiogan.album import TrackResult, render_album
from audiogan.errors import AudioganError, AudioLoadError, ConfigError, EncodeError, ModelLoadError
from audiogan.pipeline import RenderResult, analyze_song, render

__version__ = "0.1.0"

__all__ = [
    "AudioLoadError",
    "AudioganError",
    "ConfigError",
    "EncodeError",
    "ModelLoadError",
    "RenderResult",
    "TrackResult",
    "__version__",
    "analyze_song",
    "render",
    "render_album",
]
