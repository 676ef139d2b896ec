"""A render as a moviepy clip, for compositing: titles, logos or lyrics laid over the picture
and written with moviepy.

    >>> video = audiogan.clip("song.wav", classes=[398, 402])     # doctest: +SKIP
    >>> video.duration, video.fps, video.audio is not None        # doctest: +SKIP

The clip's frames are made when moviepy asks for them, a batch at a time and in order (a
jump back or ahead starts the generator again from there), so a long song never sits in
memory; its audio is the song (or the excerpt or loop the settings choose).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from audiogan import pipeline
from audiogan.config import RenderConfig
from audiogan.errors import ConfigError

__all__ = ["clip"]


class _LazyFrames:
    """Frame `i` of a plan on request, from a generator that runs on in order."""

    def __init__(self, plan: pipeline.RenderPlan, generator: Any):
        self.plan, self.generator = plan, generator
        self.made = 0  # frames the model has made, for the curious (and the tests)
        self._batches: Any = None
        self._batch = np.zeros((0,), np.uint8)
        self._first = self._next = 0

    def _restart(self, index: int) -> None:
        self._batches = pipeline.frame_batches(
            self.generator, self.plan.trajectory, device=self.plan.config.device,
            dtype=self.plan.config.dtype, batch_size=self.plan.config.batch_size,
            start=index)
        self._first = self._next = index
        self._batch = np.zeros((0,), np.uint8)

    def __call__(self, t: float) -> np.ndarray:
        n, fps = self.plan.n_frames, self.plan.config.fps
        index = min(n - 1, max(0, int(np.floor(t * fps + 1e-6))))
        if not self._first <= index < self._first + len(self._batch):
            if self._batches is None or not self._next <= index:
                self._restart(index)
            while not self._first <= index < self._first + len(self._batch):
                self._batch = next(self._batches)
                self._first, self._next = self._next, self._next + len(self._batch)
                self.made += len(self._batch)
        return _fit(self._batch[index - self._first], self.plan.config)


def _fit(frame: np.ndarray, config: RenderConfig) -> np.ndarray:
    """`frame` scaled (lanczos) to cover ``config.size`` and cropped to it."""
    if config.size is None or frame.shape[1::-1] == config.size:
        return frame
    from PIL import Image

    width, height = config.size
    scale = max(width / frame.shape[1], height / frame.shape[0])
    scaled_w = max(width, round(frame.shape[1] * scale))
    scaled_h = max(height, round(frame.shape[0] * scale))
    image = Image.fromarray(frame).resize((scaled_w, scaled_h), Image.Resampling.LANCZOS)
    left, top = (scaled_w - width) // 2, (scaled_h - height) // 2
    return np.asarray(image.crop((left, top, left + width, top + height)))


def clip(song: str | Path, *, config: RenderConfig | None = None,
         preset: str | Path | None = None, **options: Any) -> Any:
    """`song` rendered as a moviepy ``VideoClip`` with the song as its audio.

    Takes the settings of `audiogan.render` (``classes``, ``seed``, ``preset``, ``start``,
    ``duration``, ``loop``, ``size`` ...). With a `size` of another aspect the frames are
    drawn wide (``fit="wide"``, the default) or cropped (``fit="crop"``). The clip carries
    ``bars_s``, the times of the bar lines in it, for placing titles on the music.
    """
    from moviepy import AudioFileClip, VideoClip  # a dependency of audiogan itself
    plan = pipeline.prepare_frames(song, config=config, preset=preset, **options)
    if plan.config.fit not in ("wide", "crop"):
        raise ConfigError(f"audiogan.clip draws fit wide or crop frames, not {plan.config.fit}; "
                          "lay a background under the clip with moviepy instead")
    frames = _LazyFrames(plan, pipeline.load_generator(plan))
    fps = plan.config.fps
    video = VideoClip(frame_function=frames, duration=plan.n_frames / fps).with_fps(fps)
    track = plan.audio_track
    if track is not None:
        sound = AudioFileClip(str(track.path))
        end = min(sound.duration, track.start + (track.duration or sound.duration))
        video = video.with_audio(sound.subclipped(track.start, end))
    video.bars_s = np.asarray(plan.features.downbeats_s, dtype=float)
    video.audiogan_frames = frames
    return video
