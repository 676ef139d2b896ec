"""Several ffmpeg encoders over consecutive chunks: the same video as one encoder."""

from __future__ import annotations

import numpy as np
import pytest

from audiogan import render
from audiogan.encode import AudioTrack, ParallelVideoWriter, probe_video
from audiogan.pipeline import encoder_count
from tests import synth


def test_chunks_join_in_order_with_the_audio_once(tmp_path, clicks_120):
    song, _ = clicks_120
    target = tmp_path / "out.mp4"
    # 61 frames in batches of 7 over chunks of at least 10: batches straddle chunk edges,
    # and no 1-frame chunk is left at the end (it would upset the joined file's frame rate)
    with ParallelVideoWriter(target, size=(64, 64), fps=30, workers=3, chunk_frames=10,
                             total_frames=61,
                             audio=AudioTrack(song, duration=61 / 30)) as writer:
        for first in range(0, 61, 7):
            writer.write(synth.numbered_frames(first, min(61, first + 7)))
    frames, fps = synth.read_video(target)
    assert fps == 30 and len(frames) == 61
    levels = frames[:, 32, 32, 0].astype(int)
    assert np.abs(levels - np.arange(61) * 4 % 256).max() <= 2  # every frame, in order
    facts = probe_video(target)
    assert facts is not None and facts.frames == 61 and facts.has_audio
    muxed, original = synth.read_audio(target), synth.read_audio(song)[: len(synth.read_audio(
        target))]
    assert abs(len(muxed) - 61 / 30 * 22050) < 22050 / 30
    assert np.corrcoef(muxed, original)[0, 1] > 0.99
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no chunks left


def test_a_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.mp4"
    with (pytest.raises(RuntimeError, match="model crashed"),
          ParallelVideoWriter(target, size=(64, 64), fps=30, workers=2, chunk_frames=5) as writer):
        writer.write(synth.numbered_frames(0, 12))
        raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []


def test_render_with_several_encoders_equals_one(tmp_path, clicks_120, tiny_weights):
    song, _ = clicks_120
    videos = []
    for encoders in (1, 3):
        target = tmp_path / f"enc{encoders}.mp4"
        result = render(song, target, classes=[1, 2], weights=tiny_weights, duration=2.0,
                        encoders=encoders, device="cpu")
        assert result.frames == 60
        videos.append(synth.read_video(target)[0])
    assert videos[0].shape == videos[1].shape == (60, 128, 128, 3)
    # chunks restart x264's reference chain, so allow its rounding, no more
    assert np.abs(videos[0].astype(int) - videos[1].astype(int)).mean() < 1.5


def test_encoder_count():
    assert encoder_count(3, "cpu") == 3
    assert encoder_count(0, "cpu") == 1


def test_a_render_clears_what_a_killed_render_left(tmp_path, clicks_120, tiny_weights):
    import subprocess

    song, _ = clicks_120
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".clip.mp4.{dead.pid}.partial"
    stale.write_bytes(b"half a video")
    result = render(song, tmp_path / "clip.mp4", classes=[1, 2], weights=tiny_weights,
                    duration=1.0, device="cpu")
    assert result.frames == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.json", "clip.mp4"]  # + record
