from __future__ import annotations

import os

# One thread per math library, set before numpy, torch or numba load (and inherited by the
# CLI subprocesses): on a busy 2-core machine, libraries that each start a thread per core
# fight over the cores and the suite takes several times longer. Results do not change.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                  "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_variable] = "1"

import contextlib  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import synth  # noqa: E402

# never reach for the network from a test: the hub client answers at once when offline
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_runtest_setup(item):
    """torch's pools too, should torch have loaded before the variables above were set."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)
        with contextlib.suppress(RuntimeError):  # only possible before any parallel work
            torch.set_num_interop_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Analyses and weights cached by the tests go to a scratch folder, not ~/.cache (and
    torch's hub cache too, where beat_this keeps its checkpoint, so that no checkpoint on
    this machine changes what ``--beat-tracker auto`` picks)."""
    os.environ["AUDIOGAN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["TORCH_HOME"] = str(tmp_path_factory.mktemp("torch"))


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A random BigGAN-deep 128 of the real layer list, 8 channels wide, saved as a checkpoint."""
    from audiogan.model import make_random_checkpoint

    return make_random_checkpoint(tmp_path_factory.mktemp("tiny128"), channel_width=8)


@pytest.fixture(scope="session")
def clicks_120(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """An 8 s click track at 120 BPM (first beat at 0.5 s) and its beat times."""
    y, beats = synth.click_track(120.0, 8.0)
    return synth.write_wav(tmp_path_factory.mktemp("clicks") / "clicks.wav", y), beats


@pytest.fixture(scope="session")
def sample_song() -> Path:
    return Path(__file__).resolve().parent.parent / "samples" / "groove.wav"


@pytest.fixture()
def song_copy(tmp_path, clicks_120) -> Path:
    """A private copy of the click track, so a test may write beside it."""
    target = tmp_path / "song.wav"
    target.write_bytes(clicks_120[0].read_bytes())
    return target
