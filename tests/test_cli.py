"""End to end, as a user runs it: the command line, real files in, a real mp4 out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audiogan.cli import normalise_argv
from tests import synth
from tests.synth import run


@pytest.fixture(scope="module")
def sample_render(tmp_path_factory, sample_song, tiny_weights) -> Path:
    target = tmp_path_factory.mktemp("render") / "groove.mp4"
    code, _, stderr = run(str(sample_song), "--classes", "398", "402", "--weights",
                          str(tiny_weights), "-o", str(target))
    assert code == 0, stderr
    return target


def test_render_frames_duration_codecs(sample_render):
    frames, fps = synth.read_video(sample_render)
    assert fps == 30
    assert len(frames) == 480  # round(16.0 s * 30 fps)
    assert frames.shape[1:] == (128, 128, 3)
    facts = synth.stream_facts(sample_render)
    assert "Video: h264" in facts and "yuv420p" in facts
    # issue F: 48 kHz stereo AAC by default (was the song's own 44.1 kHz)
    assert "Audio: aac" in facts and "48000 Hz, stereo" in facts


def test_audio_is_the_original_and_in_sync(sample_render, sample_song):
    muxed, original = synth.read_audio(sample_render), synth.read_audio(sample_song)
    assert abs(len(muxed) - len(original)) / 22050 < 1 / 30
    n = min(len(muxed), len(original))
    lags = range(-200, 201, 10)
    scores = [np.dot(np.roll(muxed[:n], -lag), original[:n]) for lag in lags]
    assert list(lags)[int(np.argmax(scores))] == 0
    assert np.corrcoef(muxed[:n], original[:n])[0, 1] > 0.99


def test_summary_and_progress(sample_song, tiny_weights, tmp_path):
    code, _, stderr = run(str(sample_song), "--weights", str(tiny_weights), "-o",
                          str(tmp_path / "x.mp4"), "--duration", "2")
    assert code == 0
    for words in ("analysing audio", "generating frames", "encoding", "60 frames at 30 fps",
                  "128x128", "frames/s", "min per minute of music", str(tmp_path / "x.mp4")):
        assert words in stderr


def test_same_seed_same_frames(clicks_120, tiny_weights, tmp_path):
    song, _ = clicks_120
    videos = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        target = tmp_path / f"{name}.mp4"
        assert run(str(song), "-c", "1,2", "--seed", seed, "--weights", str(tiny_weights),
                   "--duration", "3", "-o", str(target), "-q")[0] == 0
        videos.append(synth.read_video(target)[0])
    np.testing.assert_array_equal(videos[0], videos[1])
    assert np.abs(videos[0].astype(int) - videos[2].astype(int)).mean() > 5


def test_motion_lands_on_the_beats_of_a_click_track(clicks_120, tiny_weights, tmp_path):
    song, beats = clicks_120
    target = tmp_path / "clicks.mp4"
    assert run(str(song), "-c", "980", "--weights", str(tiny_weights), "-o", str(target),
               "-q")[0] == 0
    frames, fps = synth.read_video(target)
    motion = synth.motion(frames)
    beat_frames = np.round(beats * fps).astype(int)
    beat_frames = beat_frames[(beat_frames > 1) & (beat_frames < len(frames) - 2)]

    def around(frames_at):
        return np.mean([motion[f - 1:f + 2].max() for f in frames_at])

    half_beat = int(round(0.25 * fps))
    lift = around(beat_frames) / around(beat_frames + half_beat)
    assert lift > 3, lift
    # and the jump is onto the beat frame itself, not a frame later
    on_time = np.mean([motion[f] >= motion[f - 1:f + 2].max() for f in beat_frames])
    assert on_time >= 0.9, on_time


def test_default_output_is_beside_the_song(song_copy, tiny_weights):
    code, _, _ = run(str(song_copy), "--weights", str(tiny_weights), "--duration", "1.5", "-q")
    assert code == 0
    assert (song_copy.parent / "song.mp4").is_file()
    code, _, _ = run(str(song_copy), "--weights", str(tiny_weights), "--preview", "-q")
    assert code == 0
    frames, fps = synth.read_video(song_copy.parent / "song.preview.mp4")
    assert fps == 12 and len(frames) == 96  # 8 s at the preview's 12 fps


def test_excerpt(clicks_120, tiny_weights, tmp_path):
    song, _ = clicks_120
    target = tmp_path / "excerpt.mp4"
    assert run(str(song), "--start", "2", "--duration", "3", "--fps", "24", "--weights",
               str(tiny_weights), "-o", str(target), "-q")[0] == 0
    frames, fps = synth.read_video(target)
    assert len(frames) == 72
    muxed = synth.read_audio(target)
    original = synth.read_audio(song)[2 * 22050:5 * 22050]
    n = min(len(muxed), len(original))
    assert abs(len(muxed) / 22050 - 3.0) < 1 / 24
    assert np.corrcoef(muxed[:n], original[:n])[0, 1] > 0.99


def test_analyze_json(sample_song):
    code, stdout, _ = run("analyze", str(sample_song), "--json")
    assert code == 0
    report = json.loads(stdout)
    assert report["duration_s"] == 16.0
    assert report["tempo_bpm"] == pytest.approx(112, abs=1.5)
    # samples/groove.wav has a beat every 60/112 s from 0 (hi-hats only in the first bar,
    # drums from 2.143 s): the grid holds through the intro
    grid = 60 / 112 * np.arange(0, 30)
    assert all(np.min(np.abs(grid - b)) < 0.03 for b in report["beats_s"])
    assert len(report["beats_s"]) >= 28
    # bars of 4 beats, tempo 112 throughout, sections tiling the song
    assert report["meter"] == 4
    assert all(np.min(np.abs(grid[::4] - b)) < 0.03 for b in report["downbeats_s"])
    assert len(report["downbeats_s"]) >= 7
    assert all(abs(bpm - 112) < 2 for _, bpm in report["tempo_curve"])
    # the half-speed beat: every other beat
    index = np.searchsorted(report["beats_s"], report["half_beats_s"])
    assert len(index) >= 14 and set(np.diff(index)) == {2}
    sections = report["sections"]
    assert sections[0]["start"] == 0.0 and sections[-1]["end"] == 16.0
    assert all(set(s) == {"start", "end", "label"} for s in sections)


def test_analyze_names_the_tempo_of_each_part_of_a_song_whose_tempo_changes(tmp_path):
    from audiogan.testing import band_song

    song = band_song("tempo_change")  # 96 BPM, then 140 from 40.3 s
    wav = synth.write_wav(tmp_path / "faster.wav", song.y, song.sr)
    code, stdout, _ = run("analyze", str(wav), "--json")
    assert code == 0
    changes = json.loads(stdout)["tempo_changes"]
    assert [change["bpm"] for change in changes] == [pytest.approx(96, rel=0.02),
                                                      pytest.approx(140, rel=0.02)]
    assert changes[0]["start"] == 0.0
    assert changes[-1]["end"] == pytest.approx(len(song.y) / song.sr, abs=0.001)
    assert changes[1]["start"] == pytest.approx(40.3, abs=0.05)
    code, stdout, _ = run("analyze", str(wav))
    text = " ".join(stdout.split())
    assert "the tempo changes: 95" in text and "BPM from 40.3 s" in text
    # a steady song is one stretch, and the plain report does not mention it
    code, stdout, _ = run("analyze", str(Path(__file__).parent.parent / "samples" / "groove.wav"))
    assert "tempo changes" not in stdout


def test_render_summary_names_the_tempo_of_each_part(tmp_path, tiny_weights):
    from audiogan.testing import band_song

    song = band_song("tempo_change")  # 96 BPM, then 140 from 40.3 s
    wav = synth.write_wav(tmp_path / "faster.wav", song.y, song.sr)
    # 15.3 s at 96 BPM and 16.7 s at 140, at a few frames a second to be quick
    code, _, stderr = run(str(wav), "--weights", str(tiny_weights), "--start", "25",
                          "--duration", "32", "--fps", "5", "-o", str(tmp_path / "f.mp4"))
    assert code == 0
    assert "96 -> 140 BPM (" in " ".join(stderr.split())


def test_classes_command():
    code, stdout, _ = run("classes", "guitar")
    assert code == 0
    assert "402" in stdout and "acoustic guitar" in stdout and "546" in stdout


def test_argv_forms():
    assert normalise_argv(["song.wav", "--classes", "398", "402", "--fps", "24"]) == [
        "render", "song.wav", "--classes", "398,402", "--fps", "24"]
    assert normalise_argv(["--classes", "goldfish", "abacus", "song.wav"]) == [
        "render", "--classes", "goldfish,abacus", "song.wav"]
    assert normalise_argv(["analyze", "x.wav"]) == ["analyze", "x.wav"]


def test_entry_points_run_as_commands(sample_song, tmp_path):
    for command in (["audiogan"], [sys.executable, "-m", "audiogan"]):
        if command[0] == "audiogan" and shutil.which("audiogan") is None:
            continue
        result = subprocess.run([*command, "analyze", str(sample_song), "--json"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["tempo_bpm"] > 100


# -- bad input: one line, non-zero exit, nothing written, the input untouched -----------------

def _silence(path: Path, seconds: float) -> Path:
    return synth.write_wav(path, np.zeros(int(seconds * 44100), np.float32))


def _bad_cases(tmp: Path, song: Path, weights: Path) -> list[tuple[list[str], str]]:
    text = tmp / "lyrics.wav"
    text.write_text("not audio at all\n")
    whole = synth.convert(song, tmp / "whole.mp3")
    cut = tmp / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    short = synth.write_wav(tmp / "short.wav", synth.click_track(120, 0.4, first_beat=0.1)[0])
    exists = tmp / "exists.mp4"
    exists.write_bytes(b"an earlier render")
    corrupt = tmp / "corrupt"
    shutil.copytree(weights, corrupt)
    (corrupt / "pytorch_model.bin").write_bytes(b"\x00" * 64)
    other = tmp / "other"
    shutil.copytree(weights, other)
    config = json.loads((other / "config.json").read_text())
    config["channel_width"] = 16
    (other / "config.json").write_text(json.dumps(config))
    unwritable = Path("/sys") if os.geteuid() == 0 else tmp / "locked"
    if os.geteuid() != 0:
        unwritable.mkdir()
        unwritable.chmod(0o555)
    w = ["--weights", str(weights)]
    out = ["-o", str(tmp / "out.mp4")]
    return [
        ([str(tmp / "missing.wav"), *w, *out],
         f"{tmp / 'missing.wav'}: no such file; check the path"),
        ([str(tmp), *w, *out], f"{tmp} is a folder; give one audio file (wav, flac, mp3, ...)"),
        ([str(text), *w, *out], f"{text} is not an audio file ffmpeg can read (or it is "
                                "damaged); give a wav, flac, ogg, mp3 or m4a file"),
        ([str(cut), *w, *out], f"{cut} is damaged or truncated: its header says 8.0 s but only"
                               " 4.0 s could be decoded; re-export or re-download it"),
        ([str(_silence(tmp / "silence.wav", 5)), *w, *out],
         "silence.wav is silent (peak -inf dBFS): there is nothing to react to; check the file"
         " or choose --start/--duration"),
        ([str(short), *w, *out], "short.wav is 0.40 s long, shorter than a beat; audiogan "
                                 "needs at least 1 s of audio"),
        ([str(song), "--classes", "398", "1000", *w, *out],
         "class 1000 does not exist: ImageNet ids run from 0 to 999 (list them with "
         "`audiogan classes`)"),
        ([str(song), "--classes", "qwxz", *w, *out],
         "unknown class 'qwxz': search the names with `audiogan classes qwxz`"),
        ([str(song), "--fps", "0", *w, *out], "fps must be in (0, 120], got 0.0"),
        ([str(song), "--model", "biggan-deep-64", *out],
         "unknown model 'biggan-deep-64': choose biggan-deep-128, biggan-deep-256 or "
         "biggan-deep-512"),
        ([str(song), *w, "-o", str(exists)],
         f"{exists} already exists; pass --overwrite to replace it or choose another -o"),
        ([str(song), *w, "-o", str(song)], f"output {song} is the input song; choose another -o"),
        ([str(song), *w, "-o", str(unwritable / "out.mp4")],
         f"cannot write to {unwritable} (Permission denied); choose another -o"),
        ([str(song), "--weights", str(corrupt), *out],
         f"{corrupt / 'pytorch_model.bin'} is not a readable PyTorch checkpoint "
         "(UnpicklingError); re-download it or point --weights at another folder"),
        ([str(song), "--weights", str(other), *out],
         f"{other / 'pytorch_model.bin'} does not fit the BigGAN-deep described in "
         f"{other / 'config.json'}: "),
        ([str(song), "--fps", "fast", *w, *out], "Invalid value for '--fps': "),
        ([str(song), "--frobnicate", *w, *out], "No such option: --frobnicate"),
    ]


def test_bad_input_gets_one_clear_line(tmp_path, song_copy, tiny_weights):
    before = song_copy.read_bytes()
    for args, message in _bad_cases(tmp_path, song_copy, tiny_weights):
        code, stdout, stderr = run(*args)
        lines = stderr.strip().splitlines()
        assert code != 0, args
        assert len(lines) == 1, (args, stderr)
        assert lines[0].startswith(f"audiogan: error: {message}"), (args, lines[0])
        assert "Traceback" not in stderr
        assert not (tmp_path / "out.mp4").exists(), args
        assert not list(tmp_path.glob(".*.partial")), args
    assert song_copy.read_bytes() == before
    assert (tmp_path / "exists.mp4").read_bytes() == b"an earlier render"


def test_bad_input_from_a_real_shell(tmp_path):
    """The installed command itself: exit code 1, one line, no traceback."""
    result = subprocess.run([sys.executable, "-m", "audiogan", str(tmp_path / "nope.mp3")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == f"audiogan: error: {tmp_path / 'nope.mp3'}: no such file; " \
                                    "check the path"


def test_a_dependency_that_will_not_load_is_one_line(sample_song, tmp_path):
    """A broken installation (seen: soundfile without its cffi backend) gets one line too."""
    blocked = ("import sys; sys.modules['soundfile'] = None; "
               "from audiogan.cli import main; main()")
    # a cache of its own: an analysis cached by an earlier test would need no librosa at all
    result = subprocess.run([sys.executable, "-c", blocked, "analyze", str(sample_song)],
                            capture_output=True, text=True,
                            env={**os.environ, "AUDIOGAN_CACHE": str(tmp_path)})
    assert result.returncode == 4
    assert result.stderr.strip() == (
        "audiogan: error: a package audiogan needs would not load (import of soundfile halted; "
        "None in sys.modules); reinstall audiogan with its dependencies: pip install "
        "--force-reinstall audiogan")


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_interrupted_render_leaves_nothing(tmp_path, tiny_weights, signal_name):
    import contextlib
    import signal
    import time

    y, _ = synth.click_track(120.0, 20.0)
    song = synth.write_wav(tmp_path / "long.wav", y)
    target = tmp_path / "long.mp4"
    process = subprocess.Popen([sys.executable, "-m", "audiogan", str(song), "--weights",
                                str(tiny_weights), "--fps", "60", "-o", str(target), "-q"],
                               stderr=subprocess.PIPE, text=True)
    def encoded_bytes() -> int:
        total = 0
        for partial in tmp_path.glob(".long.mp4.*.partial"):
            with contextlib.suppress(OSError):  # renamed away when the render ends
                total += partial.stat().st_size
        return total

    # interrupted once ffmpeg has written frames (the render is then well under way), not
    # after a guessed time that a fast machine could finish the render in
    deadline = time.time() + 60
    while encoded_bytes() == 0 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the render ended before it could be interrupted"
    process.send_signal(getattr(signal, signal_name))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == {"SIGINT": 130, "SIGTERM": 143}[signal_name]
    assert stderr.strip() == "audiogan: interrupted; no partial output was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]
