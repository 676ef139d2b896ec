"""Videos ready to publish, from the command line: sizes and fits, colours and codec
settings, release presets (``--for``), PNG frames, loops, flash counts and the record.

Each test renders a few seconds with the tiny random BigGAN of `tiny_weights` and checks
what a user (or a platform's upload check) sees in the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audiogan.encode import probe_video
from tests import synth
from tests.synth import run


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    """3 s of clicks at 120 BPM, mono at 44.1 kHz."""
    y, _ = synth.click_track(120.0, 3.0, first_beat=0.25)
    return synth.write_wav(tmp_path_factory.mktemp("song") / "clicks.wav", y)


def fails_with(args: tuple[str, ...], message: str) -> None:
    code, stdout, stderr = run(*args)
    assert code == 1, stderr
    assert (stdout, stderr.strip()) == ("", f"audiogan: error: {message}")


@pytest.fixture(scope="module")
def youtube(song, tiny_weights, tmp_path_factory):
    """One second rendered --for youtube, with its frames as PNGs."""
    folder = tmp_path_factory.mktemp("youtube")
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--duration", "1",
                          "--for", "youtube", "--frames", str(folder / "frames"),
                          "-o", str(folder / "yt.mp4"))
    assert code == 0, stderr
    return folder / "yt.mp4", folder / "frames", stderr


def test_for_youtube_is_1080p_h264_high_bt709_with_48k_stereo_aac(youtube):
    video, _, stderr = youtube
    facts = synth.stream_facts(video)
    assert re.search(r"Video: h264 \(High\).*yuv420p\(tv, bt709, progressive\), 1920x1080",
                     facts)
    assert re.search(r"Audio: aac \(LC\).*48000 Hz, stereo", facts)  # from a mono song
    # YouTube's 384 kb/s, as ffprobe reads the stream (ffmpeg's AAC alone gives 226 here)
    bit_rate, sample_rate, channels = synth.audio_stream(video)
    assert bit_rate >= 384_000 and sample_rate == 48000 and channels == 2
    probed = probe_video(video)
    assert probed is not None and probed.frames == 30 and probed.fps == 30
    assert abs(probed.duration_s - 1.0) < 0.03
    keys = [i for i, (_, key) in enumerate(synth.frame_types(video)) if key]
    assert keys == [0, 15]  # a closed GOP of half the frame rate
    assert "1920x1080" in " ".join(stderr.split())


def test_frames_pngs_match_what_a_bt709_player_shows(youtube):
    video, frames, _ = youtube
    pngs = sorted(frames.glob("frame_*.png"))
    assert len(pngs) == 30 and pngs[0].name == "frame_000001.png"
    written = np.stack([np.asarray(Image.open(p)) for p in pngs]).astype(int)
    assert written.shape == (30, 1080, 1920, 3)
    shown = synth.read_video_bt709(video).astype(int)
    assert np.abs(shown - written).mean() < 3  # within a few levels on average


def test_size_and_fit_wide_from_the_command_line(song, tiny_weights, tmp_path):
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--fps", "6",
                          "--size", "144x256", "--fit", "wide", "-o", str(tmp_path / "t.mp4"))
    assert code == 0, stderr
    frames, _ = synth.read_video(tmp_path / "t.mp4")
    assert frames.shape[1:] == (256, 144, 3) and len(frames) == 18
    # a taller picture, not a square with bars: the top and bottom are picture too
    assert frames[:, :40].std() > 10 and frames[:, -40:].std() > 10


@pytest.mark.parametrize(("args", "message"), [
    (("--size", "1920"), "size '1920': write WIDTHxHEIGHT in pixels, e.g. 1920x1080"),
    (("--size", "1921x1080"), "size 1921x1080: both sides must be even (H.264 stores colour "
                              "at half resolution), e.g. 1922x1080"),
    (("--size", "9x9000"), "size 9x9000: each side must be 16 to 8192 px"),
    (("--fit", "stretch"), "fit must be one of wide, crop, blur, mirror, got 'stretch'"),
    (("--for", "myspace"), "unknown release preset 'myspace' (--for): choose one of youtube, "
                           "shorts, reels, tiktok, square, canvas, editor"),
])
def test_bad_publishing_options_say_what_is_wrong(song, tiny_weights, tmp_path, args, message):
    fails_with((str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "x.mp4"),
                *args), message)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def waltz_clicks(tmp_path_factory) -> Path:
    """12 s of clicks at 120 BPM from 0.5 s (audiogan hears 3 beats a bar: bars of 1.5 s)."""
    y, _ = synth.click_track(120.0, 12.0, first_beat=0.5)
    return synth.write_wav(tmp_path_factory.mktemp("loop") / "clicks12.wav", y)


def _bars_s(song: Path) -> np.ndarray:
    from audiogan.pipeline import analyze_song

    return analyze_song(song, fps=12)[1].downbeats_s


def test_loop_is_exactly_n_bars_and_closes_smoothly(waltz_clicks, tiny_weights, tmp_path):
    target = tmp_path / "loop.mp4"
    code, _, stderr = run(str(waltz_clicks), "--weights", str(tiny_weights), "--fps", "12",
                          "--loop", "2", "-o", str(target))
    assert code == 0, stderr
    bar_s = float(np.median(np.diff(_bars_s(waltz_clicks))))
    frames, _ = synth.read_video(target)
    assert len(frames) == round(2 * bar_s * 12)
    probed = probe_video(target)
    audio = synth.read_audio(target)
    assert probed is not None and abs(len(audio) / 22050 - len(frames) / 12) < 0.03
    # the jump from the last frame back to the first is no larger than a typical step
    steps = synth.motion(frames)[1:]
    wrap = np.abs(frames[0].astype(float).mean(-1) - frames[-1].astype(float).mean(-1)).mean()
    assert wrap <= np.median(steps)


def test_loop_needs_enough_bars(waltz_clicks, tiny_weights, tmp_path):
    fails_with((str(waltz_clicks), "--weights", str(tiny_weights), "--loop", "9", "-o",
                str(tmp_path / "x.mp4")),
               f"--loop 9: only {len(_bars_s(waltz_clicks)) - 1} whole bars follow --start 0 "
               f"in {waltz_clicks.name}; choose fewer bars or an earlier --start")


def test_for_canvas_is_a_silent_vertical_loop_under_8_mb(waltz_clicks, tiny_weights, tmp_path):
    target = tmp_path / "canvas.mp4"
    code, _, stderr = run(str(waltz_clicks), "--weights", str(tiny_weights), "--for",
                          "canvas", "--loop", "4", "--fps", "12", "-o", str(target))
    assert code == 0, stderr
    facts = synth.stream_facts(target)
    assert "Audio:" not in facts
    probed = probe_video(target)
    assert probed is not None and (probed.width, probed.height) == (608, 1080)
    assert 3.0 <= probed.duration_s <= 8.0 and probed.height >= 720
    assert abs(probed.width / probed.height - 9 / 16) < 0.005
    assert target.stat().st_size < 8 * 1024 * 1024
    frames, _ = synth.read_video(target)
    steps = synth.motion(frames)[1:]
    wrap = np.abs(frames[0].astype(float).mean(-1) - frames[-1].astype(float).mean(-1)).mean()
    assert wrap <= np.median(steps)


def test_for_canvas_refuses_a_loop_longer_than_8_s(waltz_clicks, tiny_weights, tmp_path):
    bar_s = float(np.median(np.diff(_bars_s(waltz_clicks))))
    fails_with((str(waltz_clicks), "--weights", str(tiny_weights), "--for", "canvas",
                "--loop", "6", "-o", str(tmp_path / "x.mp4")),
               f"--for canvas: 6 bars of {waltz_clicks.name} last {6 * bar_s:.1f} s, and a "
               f"Spotify Canvas is 3-8 s; use --loop {int(8 // bar_s)}")


def test_the_record_renders_the_same_video_again(song, tiny_weights, tmp_path):
    first = tmp_path / "first.mp4"
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--fps", "6", "--seed",
                          "5", "--set", "pulse_strength=1.3", "--size", "160x90", "--fit",
                          "blur", "--preset", "punchy", "-o", str(first))
    assert code == 0, stderr
    import hashlib
    import json

    record = json.loads((tmp_path / "first.json").read_text("utf-8"))
    assert record["song"] == {"name": song.name,
                              "sha256": hashlib.sha256(song.read_bytes()).hexdigest()}
    assert record["seed"] == 5 and record["settings"]["size"] == [160, 90]
    assert record["settings"]["mapping"]["pulse_strength"] == 1.3
    assert record["versions"]["audiogan"] and record["versions"]["torch"]
    # the same record is in the video's metadata
    assert '"sha256":"' + record["song"]["sha256"] in synth.stream_facts(first)
    again = tmp_path / "again.mp4"
    code, _, stderr = run("render", "--settings", str(tmp_path / "first.json"), str(song),
                          "-o", str(again))
    assert code == 0, stderr
    first_frames, again_frames = synth.read_video(first)[0], synth.read_video(again)[0]
    assert first_frames.shape == again_frames.shape == (18, 90, 160, 3)
    np.testing.assert_array_equal(first_frames, again_frames)
    # flags still win over the record
    code, _, stderr = run("render", "--settings", str(tmp_path / "first.json"), str(song),
                          "--seed", "6", "-o", str(tmp_path / "other.mp4"))
    assert code == 0 and not np.array_equal(synth.read_video(tmp_path / "other.mp4")[0],
                                            first_frames)


def test_a_bad_record_says_so(song, tiny_weights, tmp_path):
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    fails_with(("render", "--settings", str(tmp_path / "bad.json"), str(song), "-o",
                str(tmp_path / "x.mp4")),
               f"--settings {tmp_path / 'bad.json'} is not a video record written by audiogan "
               "(KeyError: 'settings')")


def test_flashes_are_counted_and_safe_flashes_keeps_them_within_3(tiny_weights, tmp_path):
    y, _ = synth.click_track(300.0, 4.0, first_beat=0.1, accents=False)  # 5 beats a second
    fast = synth.write_wav(tmp_path / "fast.wav", y)
    code, _, stderr = run(str(fast), "--weights", str(tiny_weights), "--set",
                          "pulse_strength=4", "--tempo-range", "150:400", "-o",
                          str(tmp_path / "fast.mp4"))
    assert code == 0, stderr
    counted = re.search(r"(\d+) flashes \(WCAG 2.3.1\), at most (\d+) in any second",
                        " ".join(stderr.split()))
    assert counted is not None
    code, _, stderr = run(str(fast), "--weights", str(tiny_weights), "--set",
                          "pulse_strength=4", "--tempo-range", "150:400", "--safe-flashes",
                          "-o", str(tmp_path / "safe.mp4"))
    assert code == 0, stderr
    safe = re.search(r"(\d+) flashes \(WCAG 2.3.1\), at most (\d+) in any second",
                     " ".join(stderr.split()))
    assert safe is not None and int(safe[2]) <= 3 and "more than the 3" not in stderr
    print(counted.groups(), safe.groups())


def test_for_editor_writes_prores_hq_in_a_mov_and_flags_win(song, tiny_weights, tmp_path):
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--for", "editor",
                          "--size", "320x180", "--fps", "12", "--duration", "1", "-o",
                          str(tmp_path))
    assert code == 0, stderr
    video = tmp_path / "clicks.mov"  # the container the preset names
    facts = synth.stream_facts(video)
    assert "prores (HQ)" in facts and "320x180" in facts and "12 fps" in facts
    assert re.search(r"Audio: pcm_s24le.*48000 Hz, stereo", facts)
    fails_with((str(song), "--weights", str(tiny_weights), "--for", "editor", "-o",
                str(tmp_path / "x.mp4")),
               f"output {tmp_path / 'x.mp4'}: ProRes (--for editor, codec prores) goes in a "
               ".mov; choose -o NAME.mov")


def test_for_youtube_takes_the_users_fps_and_gop(song, tiny_weights, tmp_path):
    target = tmp_path / "yt24.mp4"
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--for", "youtube",
                          "--fps", "24", "--size", "256x144", "--duration", "2", "-o",
                          str(target))
    assert code == 0, stderr
    probed = probe_video(target)
    assert probed is not None and (probed.width, probed.height, probed.fps) == (256, 144, 24)
    assert probed.frames == 48
    assert [i for i, (_, key) in enumerate(synth.frame_types(target)) if key] == [0, 12, 24, 36]
