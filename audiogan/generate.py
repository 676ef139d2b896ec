"""Generation: a `Trajectory` in, batches of uint8 frames out, never the whole video at once.

Half precision on CUDA, float32 on the CPU, all under `torch.inference_mode()`. Frames are
converted to uint8 on the device, so only the bytes the encoder needs cross to the host.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from audiogan.errors import ConfigError
from audiogan.types import Trajectory

__all__ = ["pick_device", "default_batch_size", "generate_frames"]

# batch sizes that keep a CPU busy without long stalls, and a GPU fed; by image size
_CPU_BATCH = {128: 8, 256: 4, 512: 2}
_CUDA_BATCH = {128: 64, 256: 32, 512: 16}


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA when there is a GPU; asking for ``cuda`` without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available here; use --device cpu "
                          "or auto")
    return torch.device(name)


def default_batch_size(resolution: int, device: torch.device) -> int:
    table = _CUDA_BATCH if device.type == "cuda" else _CPU_BATCH
    return table.get(resolution, 4)


def generate_frames(model: torch.nn.Module, trajectory: Trajectory, *, batch_size: int,
                    device: torch.device, start: int = 0,
                    stop: int | None = None) -> Iterator[np.ndarray]:
    """Yield frames ``start:stop`` of `trajectory` as uint8 arrays of shape (n, H, W, 3).

    The model is moved to `device` (half precision on CUDA) and used as is.
    """
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    model = model.to(device=device, dtype=dtype)
    stop = trajectory.n_frames if stop is None else stop
    with torch.inference_mode():
        for first in range(start, stop, batch_size):
            last = min(stop, first + batch_size)
            z = torch.from_numpy(trajectory.z[first:last]).to(device, dtype)
            y = torch.from_numpy(trajectory.class_vectors(first, last)).to(device, dtype)
            images = model(z, y, trajectory.truncation)
            frames = ((images.float() + 1.0) * 127.5).round_().clamp_(0, 255)
            yield frames.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()
