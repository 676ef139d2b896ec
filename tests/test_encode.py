from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audiogan.encode import AudioTrack, VideoSettings, VideoWriter, aac_options, probe_video
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
    # the same in both, to within the coding noise (at 384 kb/s or more the two equal
    # channels are coded apart, see aac_options: their difference is 50 dB under the sound)
    left, right = samples[:, 0].astype(float), samples[:, 1].astype(float)
    assert 10 * np.log10(((left - right) ** 2).sum() / (left ** 2).sum()) < -50


@pytest.fixture(scope="module")
def mono_groove(sample_song, tmp_path_factory) -> Path:
    """3 s of samples/groove.wav (drums, bass, pad) mixed down to mono."""
    return synth.convert(sample_song, tmp_path_factory.mktemp("mono") / "groove_mono.wav",
                         "-ss", "4", "-t", "3", "-ac", "1")


@pytest.mark.parametrize("which", ["groove", "mono groove", "mono clicks", "stereo noise"])
def test_aac_is_48_khz_stereo_at_384_kbps_or_more(tmp_path, sample_song, mono_groove,
                                                  clicks_120, which):
    """ffmpeg's AAC encoder aims at -b:a but stops short on simple music (samples/groove.wav:
    310 kb/s at -b:a 384k, 241 as mono); audiogan measures and keeps 384 or more."""
    if which == "stereo noise":  # two independent channels, the most an encoder can be asked
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, (44100 * 3, 2)).astype(np.float32)
        audio = AudioTrack(synth.write_wav(tmp_path / "noise.wav", noise))
    else:
        song = {"groove": sample_song, "mono groove": mono_groove,
                "mono clicks": clicks_120[0]}[which]
        audio = AudioTrack(song, 4.0 if which == "groove" else 0.0, 3.0)
    target = tmp_path / "out.mp4"
    with VideoWriter(target, size=(64, 64), fps=30, audio=audio) as writer:
        writer.write(_colour_frames(90))
    bit_rate, sample_rate, channels = synth.audio_stream(target)
    assert bit_rate >= 384_000 and sample_rate == 48000 and channels == 2


def test_aac_below_the_measured_rates_is_twoloop_as_asked(clicks_120):
    song, _ = clicks_120
    assert aac_options(AudioTrack(song, 0.0, 1.0), VideoSettings(audio_kbps=128)) == [
        "-c:a", "aac", "-b:a", "128k"]


def test_aac_a_pure_tone_keeps_the_default_coder_and_says_so(tmp_path, caplog):
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(44100 * 2) / 44100).astype(np.float32)
    audio = AudioTrack(synth.write_wav(tmp_path / "tone.wav", tone))
    with caplog.at_level("WARNING", logger="audiogan"):
        options = aac_options(audio, VideoSettings())
    assert options == ["-c:a", "aac", "-b:a", "384k"]  # 227 kb/s; the fast coder makes ~100
    assert re.search(r"note: the audio is AAC at \d+ kb/s, under the 384 kb/s asked",
                     caplog.text)


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
