"""The live viewer: play ``npys/out.npy`` (or a video) in a window, in a loop.

As gan-video-synth's ``view_npy.py`` did, the viewer checks at the end of every loop whether
the .npy has changed on disk (``last_hash.txt`` beside it, written by `generate_in_tempo`
after the array is in place, or the file's size and time) and, if so, plays the new frames
from the next loop on. So one process renders with ``generate_in_tempo(...)`` or ``audiogan
tempo`` while another shows the latest loop. ``q``, Esc, closing the window or Ctrl-C quit.

Needs pygame (``pip install 'audiogan[view]'``). Without a screen it runs with
``SDL_VIDEODRIVER=dummy`` (no window, the same loop), which the tests use.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiogan.config import DEFAULT_FPS
from audiogan.errors import ConfigError, DisplayError, MissingPackageError

__all__ = ["ViewStats", "load_frames", "open_display", "view"]

HASH_NAME = "last_hash.txt"


@dataclass
class ViewStats:
    """What a viewing session showed."""

    frames_shown: int = 0
    loops: int = 0
    """Loops played to their end."""
    reloads: int = 0
    """New versions of the file switched to."""


def _hash_file(source: Path) -> Path:
    return source.with_name(HASH_NAME)


def _npy_fps(source: Path) -> float | None:
    try:
        lines = _hash_file(source).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines[1:]:
        key, _, value = line.partition("=")
        if key.strip() == "fps":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def signature(source: Path) -> tuple:
    """What changes when a new version of `source` lands: its size and time, and for a .npy
    the hash file beside it (the seed's signal, also written by hand-made renders)."""
    try:
        stat = source.stat()
        found: tuple = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        found = ("missing",)
    hash_file = _hash_file(source)
    if source.suffix == ".npy" and hash_file.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            found += (hash_file.read_text("utf-8"),)
    return found


def load_frames(source: str | Path) -> tuple[np.ndarray, float | None]:
    """Frames (n, H, W, 3) uint8 of a .npy or a video, and their fps when the file says."""
    source = Path(source)
    if not source.is_file():
        hint = (" run generate_in_tempo(...) or `audiogan tempo` first"
                if source.suffix == ".npy" else " check the path")
        raise ConfigError(f"{source} not found;{hint}")
    if source.suffix == ".npy":
        try:
            frames = np.load(source)
        except (OSError, ValueError, EOFError) as exc:
            raise ConfigError(f"{source} is not a readable .npy ({exc})") from None
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
            raise ConfigError(f"{source} holds an array of shape {frames.shape}; the viewer "
                              "plays frames of shape (n, H, W, 3)")
        if frames.dtype != np.uint8:
            if not np.issubdtype(frames.dtype, np.number):
                raise ConfigError(f"{source} holds {frames.dtype}, not image frames")
            frames = np.clip(frames, 0, 255).astype(np.uint8)
        return frames, _npy_fps(source)
    import imageio_ffmpeg

    try:
        reader = imageio_ffmpeg.read_frames(str(source))
        meta = next(reader)
        width, height = meta["size"]
        frames = np.stack([np.frombuffer(f, dtype=np.uint8).reshape(height, width, 3)
                           for f in reader])
    except (OSError, RuntimeError, StopIteration, ValueError) as exc:
        raise ConfigError(f"{source} is not a video ffmpeg can read "
                          f"({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})"
                          ) from None
    return frames, float(meta["fps"]) if meta.get("fps") else None


def _import_pygame():
    if sys.platform.startswith("linux") and not any(
            os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")):
        raise DisplayError("no display to open the viewer on (DISPLAY is not set): run it "
                           "on a desktop or over ssh -X, or set SDL_VIDEODRIVER=dummy to run "
                           "it without a window")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError:
        raise MissingPackageError("the viewer", "pygame", extra="view") from None
    return pygame


def open_display():
    """pygame with its display started (for `audiogan live`'s window); the same one-line
    errors as the viewer's when pygame or a screen is missing."""
    pygame = _import_pygame()
    try:
        pygame.display.init()
    except pygame.error as exc:
        raise DisplayError(f"cannot open a window ({exc}); set SDL_VIDEODRIVER=dummy to run "
                           "without one") from None
    return pygame


def view(source: str | Path = "npys/out.npy", *, fps: float | None = None, scale: float = 1.0,
         seconds: float | None = None, max_loops: int | None = None,
         log: Callable[[str], None] | None = None,
         on_frame: Callable[[int, np.ndarray], None] | None = None) -> ViewStats:
    """Play `source` in a loop until ``q``/Esc/Ctrl-C, `seconds` or `max_loops`.

    Parameters
    ----------
    source : path
        A .npy of uint8 frames (n, H, W, 3), such as ``npys/out.npy``, or a video file.
    fps : float, optional
        Playback rate; default the file's (``fps=`` in ``last_hash.txt``, or the video's),
        else 30.
    on_frame : callable, optional
        Called as ``on_frame(index_in_loop, frame)`` for every frame shown.
    """
    source = Path(source)
    if fps is not None and not 0 < fps <= 240:
        raise ConfigError(f"fps must be in (0, 240], got {fps}")
    if not 0 < scale <= 8:
        raise ConfigError(f"scale must be in (0, 8], got {scale}")
    last_signature = signature(source)
    frames, file_fps = load_frames(source)
    pygame = _import_pygame()
    stats = ViewStats()
    say = log or (lambda line: None)
    try:
        pygame.display.init()
    except pygame.error as exc:
        raise DisplayError(f"cannot open a window ({exc}); set SDL_VIDEODRIVER=dummy to run "
                           "without one") from None
    try:
        return _play(pygame, source, frames, file_fps, last_signature, fps, scale, seconds,
                     max_loops, say, on_frame, stats)
    except KeyboardInterrupt:  # Ctrl-C is the seed's way to stop: a clean exit
        return stats
    finally:
        pygame.display.quit()


def _open_window(pygame, frames: np.ndarray, scale: float, source: Path):
    height, width = frames.shape[1:3]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    try:
        screen = pygame.display.set_mode(size)
    except pygame.error as exc:
        raise DisplayError(f"cannot open a {size[0]}x{size[1]} window ({exc})") from None
    pygame.display.set_caption(f"audiogan view: {source}  (q quits)")
    return screen, size


def _play(pygame, source, frames, file_fps, last_signature, fps, scale, seconds, max_loops,
          say, on_frame, stats) -> ViewStats:
    rate = fps or file_fps or DEFAULT_FPS
    screen, size = _open_window(pygame, frames, scale, source)
    say(f"viewer: {source}, {len(frames)} frames at {rate:g} fps; q quits")
    started = time.perf_counter()
    next_time = started
    failed_signature = None
    index = 0
    while True:
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in (
                    pygame.K_q, pygame.K_ESCAPE)):
                return stats
        if index >= len(frames):
            index = 0
            stats.loops += 1
            if max_loops is not None and stats.loops >= max_loops:
                return stats
            current = signature(source)
            if current != last_signature and current != failed_signature:
                try:
                    new_frames, new_fps = load_frames(source)
                except ConfigError as exc:
                    failed_signature = current  # say it once, keep playing the old loop
                    say(f"viewer: keeping the old loop: {exc}")
                else:
                    if new_frames.shape[1:3] != frames.shape[1:3]:
                        screen, size = _open_window(pygame, new_frames, scale, source)
                    frames, last_signature = new_frames, current
                    rate = fps or new_fps or DEFAULT_FPS
                    stats.reloads += 1
                    say(f"viewer: new loop from {source}: {len(frames)} frames at {rate:g} fps")
        frame = frames[index]
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        if surface.get_size() != size:
            surface = pygame.transform.smoothscale(surface, size)
        screen.blit(surface, (0, 0))
        pygame.display.flip()
        if on_frame is not None:
            on_frame(index, frame)
        stats.frames_shown += 1
        index += 1
        # keep to the frame clock over the whole run rather than sleeping a fixed time
        next_time += 1.0 / rate
        delay = next_time - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            next_time = time.perf_counter()  # fell behind: do not rush to catch up
        # (a microsecond early counts: n additions of 1/rate fall short of n/rate)
        if seconds is not None and time.perf_counter() - started >= seconds - 1e-6:
            return stats
