"""Flash counting after WCAG 2.3.1, on frames whose flashes are known."""

from __future__ import annotations

import numpy as np

from audiogan.flashes import FlashCounter, relative_luminance


def _count(frames: np.ndarray, fps: float = 30.0, batch: int = 7):
    counter = FlashCounter(fps)
    for first in range(0, len(frames), batch):
        counter.update(frames[first:first + batch])
    return counter.report()


def _blink(seconds: float, per_second: float, fps: float = 30.0, size: int = 64,
           area: float = 1.0, levels: tuple[int, int] = (20, 230)) -> np.ndarray:
    """Frames that turn bright and dark `per_second` times a second over `area` of the
    frame (a centred square), the rest mid grey."""
    n = int(seconds * fps)
    frames = np.full((n, size, size, 3), 128, np.uint8)
    side = int(round(size * area**0.5))
    lo = (size - side) // 2
    bright = (np.floor(np.arange(n) / fps * per_second * 2) % 2).astype(bool)
    for i in range(n):
        frames[i, lo:lo + side, lo:lo + side] = levels[1] if bright[i] else levels[0]
    return frames


def test_relative_luminance_of_white_black_and_green():
    colours = np.array([[255, 255, 255], [0, 0, 0], [0, 255, 0]], np.uint8)
    np.testing.assert_allclose(relative_luminance(colours), [1.0, 0.0, 0.7152], atol=1e-4)


def test_a_full_screen_blink_counts_its_flashes():
    report = _count(_blink(4.0, 5.0))  # bright-dark 5 times a second
    assert report.max_per_second == 5 and abs(report.flashes - 20) <= 1
    assert not report.safe
    assert _count(_blink(4.0, 2.0)).max_per_second == 2 and _count(_blink(4, 2.0)).safe


def test_small_dim_or_slow_changes_are_not_flashes():
    assert _count(_blink(3.0, 5.0, area=0.01)).flashes == 0          # a speck
    assert _count(_blink(3.0, 5.0, levels=(240, 255))).flashes == 0  # both sides bright
    assert _count(_blink(3.0, 5.0, levels=(100, 110))).flashes == 0  # a small change
    fade = np.repeat(np.linspace(0, 255, 90).astype(np.uint8), 64 * 64 * 3).reshape(
        90, 64, 64, 3)
    assert _count(fade).flashes == 0  # one slow rise is one transition, not a flash


def test_limit_eases_frames_until_at_most_3_flashes_a_second():
    counter = FlashCounter(30.0)
    blink = _blink(4.0, 5.0)
    shown = np.concatenate([counter.limit(blink[i:i + 8]) for i in range(0, len(blink), 8)])
    assert shown.shape == blink.shape
    assert counter.report().max_per_second <= 3
    assert _count(shown).max_per_second <= 3  # counted afresh, the same
    assert _count(shown).flashes >= 8  # eased, not frozen
