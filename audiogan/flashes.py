"""How often the picture flashes, in the sense of WCAG 2.3.1 (three flashes or below).

WCAG 2.1 defines a *general flash* as a pair of opposing changes in relative luminance of
10 % or more of the maximum, where the darker image is below 0.80, over a combined area
larger than 25 % of any 10-degree visual field (about a 341 x 256 px rectangle of a
1024 x 768 screen, a third of its width and height); content that flashes more than three
times in any one second fails 2.3.1. (https://www.w3.org/TR/WCAG21/#dfn-general-flash-and-red-flash-thresholds)

`FlashCounter` follows that definition on frames as they stream past (numpy only, a few
hundred cells a frame): each frame's relative luminance (sRGB linearised, BT.709 weights)
is averaged over a grid of cells; a cell makes a *transition* when its luminance has moved
0.1 or more against the direction of its last transition (from the extreme it reached
since), the darker side below 0.8; a cell flashes when it makes the transition opposite to
its last unpaired one; and the picture flashes on a frame where the cells that flash cover
25 % of some window a third of the frame wide and high. The red-flash rule is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FlashCounter", "FlashReport", "relative_luminance"]

CHANGE = 0.1
DARK = 0.8
AREA = 0.25
GRID = 24
"""Cells along the longer side of a frame."""


def relative_luminance(frames: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of uint8 sRGB `frames` (..., 3), in [0, 1]."""
    c = frames.astype(np.float32) / 255.0
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class FlashReport:
    """What `FlashCounter` found in a video."""

    flashes: int
    """General flashes in the whole video."""
    max_per_second: int
    """The most flashes within any one second (WCAG 2.3.1 allows 3)."""
    worst_s: float
    """Where that second starts, in seconds of the video."""

    @property
    def safe(self) -> bool:
        return self.max_per_second <= 3


class FlashCounter:
    """Count general flashes in frames fed in order (`update`), at `fps` frames a second."""

    def __init__(self, fps: float):
        self.fps = fps
        self.frames = 0
        self._reference: np.ndarray | None = None  # each cell's luminance at its extreme
        self._trend: np.ndarray | None = None      # +1 rising, -1 falling, 0 not yet moved
        self._pending: np.ndarray | None = None    # a transition waiting for its opposite
        self._flash_frames: list[int] = []
        self._previous: np.ndarray | None = None

    def _cells(self, frames: np.ndarray) -> np.ndarray:
        luminance = relative_luminance(frames)
        n, height, width = luminance.shape
        step = max(1, max(height, width) // GRID)
        rows, columns = height // step, width // step
        trimmed = luminance[:, :rows * step, :columns * step]
        return trimmed.reshape(n, rows, step, columns, step).mean(axis=(2, 4))

    def update(self, frames: np.ndarray) -> None:
        """Take the next uint8 frames (n, H, W, 3)."""
        if len(frames) == 0:
            return
        for cells in self._cells(frames):
            self._commit(self._step(cells))

    def limit(self, frames: np.ndarray, per_second: int = 3) -> np.ndarray:
        """`frames` (n, H, W, 3), counted as `update` does, with any frame that would make
        the picture flash more than `per_second` times within a second eased towards the
        frame before it (half, a quarter ... of the way, or held) until it does not: the
        guarantee behind ``--safe-flashes``. Returns the frames as counted."""
        out = np.array(frames, copy=True)
        for i in range(len(out)):
            state = self._step(self._cells(out[i:i + 1])[0])
            if state[3] and self._recent() + 1 > per_second and self._previous is not None:
                previous = self._previous.astype(np.float32)
                for share in (0.5, 0.25, 0.125, 0.0):
                    eased = np.round(previous + share * (out[i] - previous)).astype(np.uint8)
                    state = self._step(self._cells(eased[None])[0])
                    if not state[3]:
                        out[i] = eased
                        break
            self._commit(state)
            self._previous = out[i]
        return out

    def _recent(self) -> int:
        """Flashes within the second that ends with the frame about to be taken."""
        return sum(1 for frame in self._flash_frames if frame > self.frames - self.fps)

    def _commit(self, state: tuple) -> None:
        self._reference, self._trend, self._pending, flashed = state
        if flashed:
            self._flash_frames.append(self.frames)
        self.frames += 1

    def _step(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """The cells' state after `cells`, and whether the picture flashes there."""
        if self._reference is None:
            return (cells.copy(), np.zeros(cells.shape, dtype=np.int8),
                    np.zeros(cells.shape, dtype=bool), False)
        assert self._trend is not None and self._pending is not None
        reference, trend = self._reference.copy(), self._trend.copy()
        pending = self._pending.copy()
        rising = cells - reference
        darker = np.minimum(cells, reference) < DARK
        up = (trend <= 0) & (rising >= CHANGE) & darker
        down = (trend >= 0) & (-rising >= CHANGE) & darker
        # an extreme moves on while the cell keeps going its way
        extend = ((trend > 0) & (cells > reference)) | ((trend < 0) & (cells < reference))
        turned = up | down
        reference[turned | extend] = cells[turned | extend]
        trend[up], trend[down] = 1, -1
        # a transition after an unpaired one (always the opposite way) completes a flash
        flashed = turned & pending
        pending[turned] = ~pending[turned]
        return reference, trend, pending, _covers(flashed, AREA)

    def report(self) -> FlashReport:
        """The flashes so far and the worst second."""
        frames = np.asarray(self._flash_frames)
        if len(frames) == 0:
            return FlashReport(flashes=0, max_per_second=0, worst_s=0.0)
        # flashes within [f, f + fps) for each flash frame f: the busiest second starts on one
        ends = np.searchsorted(frames, frames + self.fps, side="left")
        counts = ends - np.arange(len(frames))
        worst = int(np.argmax(counts))
        return FlashReport(flashes=len(frames), max_per_second=int(counts[worst]),
                           worst_s=float(frames[worst] / self.fps))


def _covers(mask: np.ndarray, share: float) -> bool:
    """Whether the cells of `mask` fill `share` of some window a third of its size."""
    rows, columns = mask.shape
    window_rows, window_columns = max(1, round(rows / 3)), max(1, round(columns / 3))
    total = np.pad(mask.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (total[window_rows:, window_columns:] - total[:-window_rows, window_columns:]
            - total[window_rows:, :-window_columns] + total[:-window_rows, :-window_columns])
    return bool(sums.max() >= share * window_rows * window_columns)
