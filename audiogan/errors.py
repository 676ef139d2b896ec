"""The errors audiogan raises for bad input: one root, a few kinds.

Each message is one line that says what is wrong and how to fix it; the CLI prints it
as is and exits non-zero. Anything else that escapes is a bug and keeps its traceback.
"""

__all__ = [
    "AudioganError",
    "AudioLoadError",
    "ConfigError",
    "DisplayError",
    "EncodeError",
    "ModelLoadError",
]


class AudioganError(Exception):
    """Root of every error caused by the user's input or environment."""


class ConfigError(AudioganError, ValueError):
    """An option, preset or class name that cannot be used."""


class AudioLoadError(AudioganError):
    """The song cannot be read, or holds nothing to render."""


class ModelLoadError(AudioganError):
    """Model weights (BigGAN's, the beat tracker's) cannot be found, downloaded or loaded."""


class EncodeError(AudioganError):
    """ffmpeg could not write the video."""


class DisplayError(AudioganError):
    """There is no screen (or no pygame) to show the viewer's window on."""
