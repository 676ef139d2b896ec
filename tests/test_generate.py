from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

from audiogan.config import MappingConfig, resolve_device
from audiogan.errors import ConfigError
from audiogan.generate import default_batch_size, generate_frames
from audiogan.mapping import map_features
from audiogan.model import load_biggan
from tests import synth

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def trajectory():
    features = synth.features(20, beats_s=[0.1, 0.4], onset=np.r_[1.0, np.zeros(19)])
    return map_features(features, [1, 2], MappingConfig(), seed=3)


@pytest.fixture(scope="module")
def generator(tiny_weights):
    return load_biggan(None, tiny_weights)


def _render(model, trajectory, batch_size=8, **options) -> np.ndarray:
    """All frames `generate_frames` makes on the CPU, in one array."""
    return np.concatenate(list(generate_frames(model, trajectory, batch_size=batch_size,
                                               device=CPU, **options)))


@pytest.fixture(scope="module")
def reference(generator, trajectory):
    """The float32 frames in batches of 8, which every other way of making them must match."""
    return _render(generator, trajectory)


def test_batches_of_uint8_frames(generator, trajectory):
    batches = list(generate_frames(generator, trajectory, batch_size=8, device=CPU))
    assert [len(b) for b in batches] == [8, 8, 4]
    assert all(b.dtype == np.uint8 and b.shape[1:] == (128, 128, 3) for b in batches)
    frames = np.concatenate(batches)
    assert frames.std() > 20  # a picture, not a flat field


def test_same_inputs_same_frames_whatever_the_batch_size(generator, trajectory, reference):
    a = reference
    b = _render(generator, trajectory)
    c = _render(generator, trajectory, batch_size=3)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).max() <= 1


def test_frame_range(generator, trajectory, reference):
    whole = reference
    part = _render(generator, trajectory, batch_size=4, start=5, stop=13)
    assert np.abs(whole[5:13].astype(int) - part.astype(int)).max() <= 1


def test_devices():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU is available here; use --device cpu"):
            resolve_device("cuda")
    assert default_batch_size(128, torch.device("cpu")) == 2
    assert default_batch_size(512, torch.device("cuda")) == 16


class _SmallMemory(torch.nn.Module):
    """The real model behind a GPU that runs out of memory above `limit` images a call."""

    def __init__(self, model, limit):
        super().__init__()
        self.model, self.limit, self.calls = model, limit, []

    def forward(self, z, y, truncation):
        self.calls.append(len(z))
        if len(z) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.model(z, y, truncation)


def test_out_of_memory_halves_the_batch_and_goes_on(generator, trajectory, reference):
    expected = reference
    small = _SmallMemory(generator, limit=5)
    frames = _render(small, trajectory, batch_size=16)
    assert small.calls[:3] == [16, 8, 4]
    assert len(frames) == 20
    assert np.abs(frames.astype(int) - expected.astype(int)).max() <= 1


def test_bfloat16_autocast_stays_close_to_float32(generator, trajectory, reference):
    full = reference
    half = _render(generator, trajectory, dtype=torch.bfloat16)
    mse = np.mean((full.astype(np.float64) - half.astype(np.float64)) ** 2)
    psnr = 10 * np.log10(255**2 / max(mse, 1e-12))
    assert psnr > 25, psnr


def test_compiled_generator_pads_the_last_batch_to_one_shape(generator, trajectory, reference,
                                                             monkeypatch):
    # inductor takes minutes on two cores; the eager backend runs the same dynamo capture,
    # so it shows that 20 frames in batches of 8 build one graph, not one per batch shape
    import functools

    import torch._dynamo

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    plain = reference
    compiled = _render(generator, trajectory, compile_model=True)
    assert compiled.shape == plain.shape == (20, 128, 128, 3)
    assert np.abs(compiled.astype(int) - plain.astype(int)).max() <= 1
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    torch._dynamo.reset()


def test_thread_tuner_keeps_the_fastest_thread_count(monkeypatch):
    from audiogan import generate

    tuner = generate.ThreadTuner([1, 2], retune_s=3600.0)
    used = []
    for _ in range(10):  # a busy machine: two threads make each frame five times slower
        threads = tuner.next_threads()
        used.append(threads)
        tuner.measured(threads, 2, 0.2 if threads == 1 else 1.0)
    assert used[:3] == [1, 1, 2]  # warm-up, then one measured batch of each, fewest first
    assert used[3:] == [1] * 7 and tuner.choice == 1
    # on free cores the other way round
    tuner = generate.ThreadTuner([1, 2], retune_s=3600.0)
    for _ in range(6):
        threads = tuner.next_threads()
        tuner.measured(threads, 2, 0.4 if threads == 1 else 0.25)
    assert tuner.choice == 2 and tuner.next_threads() == 2
    # a count the user pinned is kept, and nothing is measured
    monkeypatch.setenv("AUDIOGAN_THREADS", "1")
    assert generate.ThreadTuner.for_cpu() is None and torch.get_num_threads() == 1


def test_a_render_abandoned_midway_leaves_the_caller_out_of_inference_mode(generator,
                                                                          trajectory):
    # a failed encode stops taking frames mid-song; the caller goes on in the same thread
    # (a batch render loads the next song's model), and the suspended generator is
    # collected some time later
    frames = generate_frames(generator, trajectory, batch_size=8, device=CPU)
    next(frames)
    assert not torch.is_inference_mode_enabled()
    built_meanwhile = torch.nn.Linear(4, 4)
    del frames
    gc.collect()
    assert not torch.is_inference_mode_enabled()
    # its parameters are ordinary tensors: weights can still be loaded into them (inference
    # tensors refuse it once the mode is off: the failure this guards against)
    built_meanwhile.load_state_dict({"weight": torch.ones(4, 4), "bias": torch.zeros(4)})
