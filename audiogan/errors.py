"""The errors audiogan raises: one root, and one subclass for each kind of trouble.

Each message is one line that says what is wrong and how to fix it; the CLI prints it
as is and exits with the code of its kind. Anything else that escapes is a bug and keeps
its traceback.

    AudioganError                  the root: catch this to catch them all
    ├── InputError                 the user's input cannot be used (a ValueError too)
    │   ├── ConfigError            an option, value, preset, class name or album file
    │   └── AudioLoadError         the song cannot be read, or holds nothing to render
    ├── MissingPackageError        an optional package is not installed; says what to install
    ├── ResourceError              the machine refused: disk full, no permission, no ffmpeg
    ├── ModelLoadError             the BigGAN weights cannot be found, downloaded or loaded
    ├── EncodeError                ffmpeg could not write the video
    └── DisplayError               there is no screen to show the viewer's window on
"""

__all__ = [
    "AudioLoadError",
    "AudioganError",
    "ConfigError",
    "DisplayError",
    "EncodeError",
    "InputError",
    "MissingPackageError",
    "ModelLoadError",
    "ResourceError",
    "describe",
]


class AudioganError(Exception):
    """Root of every error caused by the user's input or environment, not by a bug."""


class InputError(AudioganError, ValueError):
    """Something the user gave (an option, a value, a file) cannot be used."""


class ConfigError(InputError):
    """An option, preset, class name or album file that cannot be used."""


class AudioLoadError(InputError):
    """The song cannot be read, or holds nothing to render."""


class MissingPackageError(AudioganError):
    """An optional package that a feature needs is not installed.

    The message names the feature, the package and the ``pip install`` line to run:

    >>> str(MissingPackageError("--plot", "matplotlib", extra="plot"))
    '--plot needs matplotlib: pip install "audiogan[plot]"'

    Parameters
    ----------
    feature : str
        What the user asked for (a flag such as ``"--plot"``, or ``"the viewer"``).
    package : str
        The import that failed, as the user knows it (``"matplotlib"``).
    extra : str
        The audiogan extra that installs it (``pyproject.toml``'s optional-dependencies).
    hint : str
        Optional rest of the sentence, e.g. another way to get the same result.
    """

    def __init__(self, feature: str, package: str, *, extra: str, hint: str = "") -> None:
        self.feature, self.package, self.extra, self.hint = feature, package, extra, hint
        self.install = f'pip install "audiogan[{extra}]"'
        super().__init__(f"{feature} needs {package}: {self.install}{hint}")

    def __reduce__(self):
        # Keyword-only arguments do not survive the default pickling (Ray, processes).
        return _missing_package, (self.feature, self.package, self.extra, self.hint)


def _missing_package(feature: str, package: str, extra: str, hint: str) -> MissingPackageError:
    return MissingPackageError(feature, package, extra=extra, hint=hint)


class ResourceError(AudioganError):
    """The machine refused: a full or read-only disk, a folder without permission, a
    temporary file that cannot be made, an ffmpeg that will not start."""


class ModelLoadError(AudioganError):
    """Model weights (BigGAN's, the beat tracker's) cannot be found, downloaded or loaded."""


class EncodeError(AudioganError):
    """ffmpeg could not write the video."""


class DisplayError(AudioganError):
    """There is no screen (or no pygame) to show the viewer's window on."""


def describe(error: BaseException) -> str:
    """One line for `error`: the message of an `AudioganError` as it is (it was written for
    the user), else ``"TypeName: message"`` (the type alone when there is no message), as a
    batch run reports a track that failed for a reason audiogan did not foresee.

    >>> describe(ConfigError("seed must be a whole number >= 0, got -1"))
    'seed must be a whole number >= 0, got -1'
    >>> describe(ZeroDivisionError("division by zero"))
    'ZeroDivisionError: division by zero'
    """
    if isinstance(error, AudioganError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
