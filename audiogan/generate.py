"""Generation: a `Trajectory` in, batches of uint8 frames out, never the whole video at once.

Under `torch.inference_mode()`: half precision on CUDA, float32 on the CPU (bfloat16 autocast
on request), optionally `torch.compile`d. Frames become uint8 on the device, so only the bytes
the encoder needs cross to the host; on CUDA they are copied into pinned memory
asynchronously while the GPU makes the next batch. A CUDA out-of-memory error halves the batch
and goes on.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Generator

import numpy as np
import torch

from audiogan.types import Trajectory

__all__ = ["THREADS_ENV", "ThreadTuner", "cpu_cores", "default_batch_size", "generate_frames",
           "pinned_threads"]

# By image size. On a CPU small batches are fastest: one image's activations stay in the
# caches (measured on 2 cores at 128 px, float32: batch 2 makes 6.1 frames/s, 8 makes 4.4,
# 24 makes 3.7; benchmarks/RESULTS.md). A GPU wants large batches to stay fed.
_CPU_BATCH = {128: 2, 256: 1, 512: 1}
_CUDA_BATCH = {128: 64, 256: 32, 512: 16}


def default_batch_size(resolution: int, device: torch.device | str) -> int:
    table = _CUDA_BATCH if torch.device(device).type == "cuda" else _CPU_BATCH
    return table.get(resolution, 4)


class _Generator:
    """The model on its device and dtype, called on fixed-size batches when compiled."""

    def __init__(self, model: torch.nn.Module, device: torch.device, dtype: torch.dtype,
                 compile_model: bool):
        self.device = device
        # on the CPU bfloat16 runs as autocast over float32 weights; elsewhere the weights
        # themselves take the dtype
        self.autocast = device.type == "cpu" and dtype == torch.bfloat16
        self.input_dtype = torch.float32 if self.autocast else dtype
        self.model: Callable[..., torch.Tensor] = model.to(device=device,
                                                           dtype=self.input_dtype)
        self.compiled = compile_model
        if compile_model:
            # fixed shapes (the last batch is padded) let CUDA graphs replay every call
            mode = "reduce-overhead" if device.type == "cuda" else None
            self.model = torch.compile(self.model, dynamic=False, mode=mode)

    def __call__(self, z: np.ndarray, y: np.ndarray, truncation: float,
                 batch_size: int) -> torch.Tensor:
        """uint8 frames (n, H, W, 3) on the device for the n rows of `z` and `y`."""
        n = len(z)
        if n < batch_size:
            # one shape for every call: a compiled graph is never rebuilt for the last batch,
            # and a frame comes out bit for bit the same whichever batch makes it (kernels
            # pick their blocking by batch size), so a split render equals the whole one
            z = np.concatenate([z, np.repeat(z[-1:], batch_size - n, axis=0)])
            y = np.concatenate([y, np.repeat(y[-1:], batch_size - n, axis=0)])
        z_t = torch.from_numpy(z).to(self.device, self.input_dtype, non_blocking=True)
        y_t = torch.from_numpy(y).to(self.device, self.input_dtype, non_blocking=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            images = self.model(z_t, y_t, truncation)[:n]
        frames = ((images.float() + 1.0) * 127.5).round_().clamp_(0, 255)
        return frames.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


THREADS_ENV = "AUDIOGAN_THREADS"
"""Pins the model's CPU threads (as ``OMP_NUM_THREADS`` does); unset, they are measured."""
RETUNE_S = 30.0


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pinned_threads() -> int | None:
    """The thread count the user fixed ($AUDIOGAN_THREADS, else $OMP_NUM_THREADS), if any."""
    for variable in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


class ThreadTuner:
    """The model's intra-op thread count on the CPU, chosen by measuring it as frames are made.

    On free cores one thread per core is fastest (2 cores at 128 px: 8.9 frames/s against 5.3
    on one thread), but beside another busy process the same setting collapses: the OpenMP
    threads spin at their barriers while the one they wait for has no core (0.3 frames/s;
    benchmarks/bench_load.py). No setting fixed in advance is right for both, so each thread
    count in `candidates` makes a batch now and then, and the one with the fewest seconds a
    frame makes the rest. The fewest threads go first (a trial of too many threads on a busy
    machine is the costly one), and the trials come every `retune_s` seconds, twice as long
    apart each time they change nothing (up to 8 times). Frames made on different thread
    counts can differ by one level in a few pixels (floating-point sums in another order).
    """

    def __init__(self, candidates: list[int], retune_s: float = RETUNE_S):
        self.candidates = candidates
        self.first_retune_s = self.retune_s = retune_s
        self.seconds_per_frame: dict[int, float] = {}
        self.trials: list[int] = list(candidates)
        self.choice = candidates[-1]
        self.chosen_at = 0.0
        self.warm = False

    @classmethod
    def for_cpu(cls) -> ThreadTuner | None:
        """A tuner over 1 .. cores threads, or None when the count is pinned or there is one
        core (then it is set here once)."""
        pinned = pinned_threads()
        cores = cpu_cores()
        if pinned is not None or cores == 1:
            torch.set_num_threads(pinned or 1)
            return None
        return cls(sorted({1, max(1, cores // 2), cores}))

    def next_threads(self) -> int:
        """The thread count for the next batch (set in torch)."""
        if not self.trials and time.monotonic() - self.chosen_at > self.retune_s:
            self.trials = [n for n in self.candidates if n != self.choice] + [self.choice]
        threads = self.trials[0] if self.trials else self.choice
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return threads

    def measured(self, threads: int, frames: int, seconds: float) -> None:
        """`frames` took `seconds` on `threads` threads."""
        if not self.warm:  # the first batch pays for allocations: not a measure
            self.warm = True
            return
        self.seconds_per_frame[threads] = seconds / max(frames, 1)
        if self.trials and self.trials[0] == threads:
            self.trials.pop(0)
            if not self.trials:
                best = min(self.seconds_per_frame, key=self.seconds_per_frame.__getitem__)
                self.retune_s = (min(8 * self.first_retune_s, 2 * self.retune_s)
                                 if best == self.choice else self.first_retune_s)
                self.choice = best
                self.chosen_at = time.monotonic()


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def generate_frames(model: torch.nn.Module, trajectory: Trajectory, *, batch_size: int,
                    device: torch.device | str, dtype: torch.dtype | str = "float32",
                    compile_model: bool = False, start: int = 0,
                    stop: int | None = None) -> Generator[np.ndarray, None, None]:
    """Yield frames ``start:stop`` of `trajectory` as uint8 arrays of shape (n, H, W, 3).

    `device` and `dtype` as torch objects or names (``"cuda"``, ``"float16"``), as
    `audiogan.config.resolve_config` settles them (a render's ``auto`` is float16 on CUDA).
    Batches are yielded in order;
    after an out-of-memory error the rest of the video goes in batches half the size.
    """
    device = torch.device(device)
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    generator = _Generator(model, device, dtype, compile_model)
    stop = trajectory.n_frames if stop is None else stop
    pending: tuple[torch.Tensor, torch.cuda.Event] | None = None
    first = start
    threads_before = torch.get_num_threads()
    tuner = ThreadTuner.for_cpu() if device.type == "cpu" else None
    # inference mode is held over each batch's work, never across a yield: a generator
    # suspended inside it would hold the caller's thread in inference mode too, and one
    # abandoned mid-song (a failed encode) would leave it so until it is collected, when
    # leaving it could turn the mode off under a model the caller is building meanwhile
    # (its parameters then inference tensors that cannot be loaded into)
    with contextlib.ExitStack() as stack:
        stack.callback(torch.set_num_threads, threads_before)  # the caller's setting back
        while first < stop:
            # a batch never spans a change of truncation (cues may set one per section)
            truncation, run_end = trajectory.truncation_run(first)
            last = min(stop, first + batch_size, run_end)
            threads = tuner.next_threads() if tuner is not None else 0
            began = time.perf_counter()
            try:
                with torch.inference_mode():
                    frames = generator(trajectory.z[first:last],
                                       trajectory.class_vectors(first, last), truncation,
                                       batch_size)
            except RuntimeError as error:
                if not _is_out_of_memory(error) or batch_size == 1:
                    raise
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                batch_size //= 2
                continue
            if tuner is not None:
                tuner.measured(threads, last - first, time.perf_counter() - began)
            first = last
            if device.type != "cuda":
                yield frames.numpy()
                continue
            with torch.inference_mode():
                host = torch.empty(frames.shape, dtype=torch.uint8, pin_memory=True)
                host.copy_(frames, non_blocking=True)
                copied = torch.cuda.Event()
                copied.record()
            if pending is not None:  # the previous batch's copy ran while this one computed
                pending[1].synchronize()
                yield pending[0].numpy()
            pending = (host, copied)
        if pending is not None:
            pending[1].synchronize()
            yield pending[0].numpy()
