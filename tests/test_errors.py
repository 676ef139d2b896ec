"""The error family: one root, a kind per trouble, one readable line each."""

from __future__ import annotations

import pickle

import pytest

from audiogan import errors
from audiogan.errors import (
    AudioganError,
    AudioLoadError,
    ConfigError,
    InputError,
    MissingPackageError,
    describe,
)


def test_every_kind_has_the_one_root():
    kinds = [getattr(errors, name) for name in errors.__all__ if name != "describe"]
    assert all(issubclass(kind, AudioganError) for kind in kinds)
    # bad input is a ValueError too, so `except ValueError` callers keep working
    assert issubclass(ConfigError, InputError) and issubclass(AudioLoadError, InputError)
    assert issubclass(InputError, ValueError)
    assert not issubclass(MissingPackageError, InputError)


def test_a_missing_package_says_what_to_install():
    error = MissingPackageError("--separate", "demucs", extra="stems",
                                hint=", or give the stems with --stem")
    assert str(error) == ('--separate needs demucs: pip install "audiogan[stems]", or give '
                          "the stems with --stem")
    assert (error.package, error.install) == ("demucs", 'pip install "audiogan[stems]"')
    # it crosses process boundaries (Ray, multiprocessing) whole
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is MissingPackageError and str(copy) == str(error)
    assert copy.extra == "stems"


def test_describe_gives_one_line():
    assert describe(ConfigError("seed must be >= 0")) == "seed must be >= 0"
    assert describe(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"
    assert describe(KeyError()) == "KeyError"


def test_raised_and_caught_by_kind():
    with pytest.raises(AudioganError, match="^--plot needs matplotlib"):
        raise MissingPackageError("--plot", "matplotlib", extra="plot")
