from __future__ import annotations

import numpy as np
import pytest

from audiogan.encode import AudioTrack, VideoWriter
from tests import synth


def _frames(n: int, size: int = 64) -> np.ndarray:
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    frames = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        frames[i] = ((ramp[None, :, None] + 8 * i) % 256).astype(np.uint8)
    return frames


def test_h264_yuv420p_aac_with_exact_frame_count(tmp_path, clicks_120):
    song, _ = clicks_120
    target = tmp_path / "out.mp4"
    with VideoWriter(target, size=(64, 64), fps=25, audio=AudioTrack(song, 1.0, 2.0)) as writer:
        for start in range(0, 50, 16):
            writer.write(_frames(50)[start:start + 16])
    facts = synth.stream_facts(target)
    assert "Video: h264" in facts and "yuv420p" in facts and "Audio: aac" in facts
    frames, fps = synth.read_video(target)
    assert len(frames) == 50 and fps == 25
    audio = synth.read_audio(target)
    assert abs(len(audio) / 22050 - 2.0) < 0.04
    original = synth.read_audio(song)[22050:3 * 22050]
    n = min(len(audio), len(original))
    assert np.corrcoef(audio[:n], original[:n])[0, 1] > 0.99


def test_error_inside_leaves_nothing(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(target, size=(64, 64),
                                                                 fps=25) as writer:
        writer.write(_frames(10))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_only_on_success(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"the previous render")
    with pytest.raises(KeyboardInterrupt), VideoWriter(target, size=(64, 64), fps=25) as writer:
        writer.write(_frames(5))
        raise KeyboardInterrupt
    assert target.read_bytes() == b"the previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_wrong_frame_shape(tmp_path):
    with pytest.raises(ValueError, match=r"frames must be uint8 \(n, 64, 64, 3\)"), \
            VideoWriter(tmp_path / "x.mp4", size=(64, 64), fps=25) as writer:
        writer.write(np.zeros((2, 32, 32, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
