"""Generation: a `Trajectory` in, batches of uint8 frames out, never the whole video at once.

Under `torch.inference_mode()`: half precision on CUDA, float32 on the CPU (bfloat16 autocast
on request), optionally `torch.compile`d. Frames become uint8 on the device, so only the bytes
the encoder needs cross to the host; on CUDA they are copied into pinned memory
asynchronously while the GPU makes the next batch. A CUDA out-of-memory error halves the batch
and goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from audiogan.types import Trajectory

__all__ = ["default_batch_size", "generate_frames"]

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


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def generate_frames(model: torch.nn.Module, trajectory: Trajectory, *, batch_size: int,
                    device: torch.device | str, dtype: torch.dtype | str = "float32",
                    compile_model: bool = False, start: int = 0,
                    stop: int | None = None) -> Iterator[np.ndarray]:
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
    with torch.inference_mode():
        while first < stop:
            # a batch never spans a change of truncation (cues may set one per section)
            truncation, run_end = trajectory.truncation_run(first)
            last = min(stop, first + batch_size, run_end)
            try:
                frames = generator(trajectory.z[first:last], trajectory.class_vectors(first, last),
                                   truncation, batch_size)
            except RuntimeError as error:
                if not _is_out_of_memory(error) or batch_size == 1:
                    raise
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                batch_size //= 2
                continue
            first = last
            if device.type != "cuda":
                yield frames.numpy()
                continue
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
