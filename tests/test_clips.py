"""`audiogan.clip`: a render as a moviepy clip, and the README's example as written."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

import audiogan
from audiogan import pipeline
from audiogan.encode import probe_video

README = Path(__file__).resolve().parent.parent / "README.md"


def test_clip_frames_are_made_lazily_in_order_with_the_song_as_audio(clicks_120,
                                                                     tiny_weights):
    song, _ = clicks_120
    video = audiogan.clip(song, weights=tiny_weights, fps=10, duration=2.0, batch_size=4)
    assert video.duration == 2.0 and video.fps == 10 and tuple(video.size) == (128, 128)
    assert video.audio is not None and abs(video.audio.duration - 2.0) < 0.05
    frames = video.audiogan_frames
    assert frames.made == 4  # one batch only: moviepy looked at the first frame for its size
    first = video.get_frame(0.0)
    assert first.shape == (128, 128, 3) and first.dtype == np.uint8 and frames.made == 4
    pictures = [video.get_frame(i / 10) for i in range(20)]
    assert frames.made == 20  # in order: each frame made once
    assert np.array_equal(pictures[0], first)
    # the very frames a render of the same settings hands its encoder
    plan = pipeline.prepare_frames(song, weights=tiny_weights, fps=10, duration=2.0,
                                   batch_size=4)
    rendered = np.concatenate(list(pipeline.frame_batches(
        pipeline.load_generator(plan), plan.trajectory, device=plan.config.device,
        dtype=plan.config.dtype, batch_size=4)))
    np.testing.assert_array_equal(rendered, np.stack(pictures))
    # a jump back starts again from there, and gives the same picture
    np.testing.assert_array_equal(video.get_frame(0.5), pictures[5])


def test_readme_title_example_runs_as_written(tmp_path, monkeypatch, clicks_120, tiny_weights):
    code = re.search(r"```python\n(import audiogan\nfrom moviepy.*?)```", README.read_text(
        "utf-8"), re.DOTALL)
    assert code is not None
    (tmp_path / "song.wav").write_bytes(clicks_120[0].read_bytes())
    monkeypatch.chdir(tmp_path)
    # offline: the tiny checkpoint instead of the pretrained weights, and a short excerpt
    monkeypatch.setattr(audiogan, "clip", functools.partial(
        audiogan.clip, weights=tiny_weights, fps=10))
    exec(compile(code[1], "README.md", "exec"), {})
    facts = probe_video(tmp_path / "song-titled.mp4")
    assert facts is not None and facts.frames == 80 and facts.has_audio  # 8 s at 10 fps
