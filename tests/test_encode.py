from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from audiogan.encode import AudioTrack, VideoSettings, VideoWriter, probe_video
from audiogan.ffmpeg import ffmpeg_exe
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


def _colour_frames(n: int, width: int = 64, height: int = 64) -> np.ndarray:
    """Smooth colour fields that move, with a patch of (32, 192, 64) in the corner."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    frames = np.empty((n, height, width, 3), np.uint8)
    for i in range(n):
        frames[i, ..., 0] = 127 + 100 * np.sin(6 * x + i / 5)
        frames[i, ..., 1] = 127 + 100 * np.cos(5 * y + i / 7)
        frames[i, ..., 2] = 127 + 100 * np.sin(3 * (x + y) + i / 3)
    frames[:, :16, :16] = (32, 192, 64)
    return frames


def test_bt709_tv_range_tagged_and_decoded_right(tmp_path):
    """A BT.709 player shows the colours written: the issue's (32,192,64) came back as
    (18,167,58) from the untagged BT.601 stream."""
    target, pngs = tmp_path / "out.mp4", tmp_path / "frames"
    pngs.mkdir()
    frames = _colour_frames(30)
    with VideoWriter(target, size=(64, 64), fps=30,
                     settings=VideoSettings(frames_dir=pngs)) as writer:
        writer.write(frames)
    facts = synth.stream_facts(target)
    assert "h264 (High)" in facts and "yuv420p(tv, bt709, progressive)" in facts
    shown = synth.read_video_bt709(target).astype(int)
    assert len(shown) == 30
    assert np.abs(shown - frames).mean() < 3
    assert np.abs(shown[:, 4:12, 4:12] - (32, 192, 64)).max() <= 4
    written = sorted(pngs.iterdir())
    assert [p.name for p in written[:2]] == ["frame_000001.png", "frame_000002.png"]
    assert len(written) == 30
    np.testing.assert_array_equal(np.asarray(Image.open(written[7])), frames[7])


def test_closed_gop_of_half_the_frame_rate_with_two_b_frames(tmp_path):
    for fps, gop in ((30, 15), (24, 12), (25, 12)):
        target = tmp_path / f"{fps}.mp4"
        with VideoWriter(target, size=(64, 64), fps=fps) as writer:
            writer.write(_colour_frames(50))
        types = synth.frame_types(target)
        assert len(types) == 50
        assert [i for i, (_, key) in enumerate(types) if key] == list(range(0, 50, gop))
        run = longest = 0
        for kind, _ in types:
            run = run + 1 if kind == "B" else 0
            longest = max(longest, run)
        assert longest == 2


def test_mono_song_muxed_as_48_khz_stereo_aac(tmp_path, clicks_120):
    song, _ = clicks_120  # mono, 44.1 kHz
    target = tmp_path / "out.mp4"
    with VideoWriter(target, size=(64, 64), fps=30,
                     audio=AudioTrack(song, 0.0, 3.0)) as writer:
        writer.write(_colour_frames(90))
    facts = synth.stream_facts(target)
    assert re.search(r"Audio: aac \(LC\).*48000 Hz, stereo", facts)
    facts_video = probe_video(target)
    assert facts_video is not None and facts_video.frames == 90
    assert abs(facts_video.duration_s - 3.0) < 0.03
    left_right = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(target), "-vn", "-f",
                                 "f32le", "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(left_right, np.float32).reshape(-1, 2)
    assert abs(len(samples) / 48000 - 3.0) < 0.03
    np.testing.assert_allclose(samples[:, 0], samples[:, 1], atol=1e-4)  # the same in both


def test_aac_asks_for_384_kbps_and_gets_it_on_full_music(tmp_path):
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (44100 * 4, 2)).astype(np.float32)
    song = synth.write_wav(tmp_path / "noise.wav", noise)
    target = tmp_path / "out.mp4"
    with VideoWriter(target, size=(64, 64), fps=30, audio=AudioTrack(song)) as writer:
        writer.write(_colour_frames(120))
    rate = re.search(r"Audio: aac.*?, (\d+) kb/s", synth.stream_facts(target))
    assert rate is not None and int(rate[1]) >= 370


def _blurriness(region: np.ndarray) -> float:
    grey = region.astype(float).mean(axis=-1)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


def _checker(n: int, side: int = 64) -> np.ndarray:
    """Sharp, asymmetric frames: a checkerboard with a bright bar on the left."""
    y, x = np.mgrid[0:side, 0:side]
    frame = (((x // 8 + y // 8) % 2) * 200 + 30).astype(np.uint8)
    frame = np.repeat(frame[..., None], 3, axis=2)
    frame[:, 4:12, 0] = 255
    return np.repeat(frame[None], n, axis=0)


@pytest.mark.parametrize("fit", ["crop", "blur", "mirror"])
def test_fits_fill_another_aspect(tmp_path, fit):
    target = tmp_path / f"{fit}.mp4"
    with VideoWriter(target, size=(64, 64), fps=30,
                     settings=VideoSettings(size=(192, 108), fit=fit)) as writer:
        writer.write(_checker(10))
    shown = synth.read_video_bt709(target)
    assert shown.shape == (10, 108, 192, 3)
    frame = shown[5].astype(int)
    middle = frame[:, 42:150]  # where the square sits when it is scaled to the height
    if fit == "crop":  # scaled to the width (3x), the middle rows kept: checks of 24 px
        assert frame.shape[1] == 192 and _blurriness(frame[:, :40]) > 10
        assert abs(frame[:, 16:32, 0].mean() - 255) < 20  # the red bar, scaled 3x, at x 12-36
    elif fit == "blur":  # the sharp frame in the middle, a blurred copy at the sides
        assert _blurriness(middle) > 10
        assert _blurriness(frame[:, :36]) < _blurriness(middle) / 3
        assert frame[:, :36].mean() > 40  # not black bars
    else:  # mirror: the left border is the frame's left edge reflected
        np.testing.assert_allclose(frame[:, 22:42], frame[:, 42:62][:, ::-1], atol=40)
        assert _blurriness(frame[:, :36]) > 10


def test_prores_422_hq_mov_with_pcm(tmp_path, clicks_120):
    song, _ = clicks_120
    target = tmp_path / "edit.mov"
    with VideoWriter(target, size=(64, 64), fps=30, audio=AudioTrack(song, 0.0, 1.0),
                     settings=VideoSettings(codec="prores")) as writer:
        writer.write(_colour_frames(30))
    facts = synth.stream_facts(target)
    assert "prores (HQ)" in facts and "yuv422p10le(tv, bt709" in facts
    assert re.search(r"Audio: pcm_s24le.*48000 Hz, stereo", facts)
    shown = synth.read_video_bt709(target).astype(int)
    assert len(shown) == 30 and np.abs(shown - _colour_frames(30)).mean() < 2
