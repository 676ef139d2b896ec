"""Albums: `audiogan batch` and `audiogan.render_album`, resumable and fault-isolated."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from audiogan.album import render_album, track_seed
from audiogan.encode import probe_video
from tests import synth
from tests.synth import run

FPS = "12"


@pytest.fixture(scope="module")
def album(tmp_path_factory) -> Path:
    """Three short songs, a corrupt one, a silent one, and a file that is not audio."""
    folder = synth.make_album(tmp_path_factory.mktemp("album") / "songs")
    (folder / "04 broken.wav").write_bytes(b"RIFF" + os.urandom(3000))
    synth.write_wav(folder / "05 silence.wav", np.zeros(44100 * 2, np.float32))
    (folder / "cover.jpg").write_bytes(b"not a song")
    return folder


@pytest.fixture(scope="module")
def first_run(album, tiny_weights, tmp_path_factory):
    out = tmp_path_factory.mktemp("videos")
    code, _, stderr = run("batch", str(album), "-o", str(out), "--weights", str(tiny_weights),
                          "--fps", FPS, "--classes", "1", "2", "--seed", "3")
    return out, code, stderr


def _batch(album: Path, out: Path, weights: Path, *extra: str) -> tuple[int, str, str]:
    return run("batch", str(album), "-o", str(out), "--weights", str(weights), "--fps", FPS,
               "--classes", "1", "2", "--seed", "3", *extra)


def test_three_videos_one_clear_failure(first_run, album):
    out, code, stderr = first_run
    assert code == 1
    assert sorted(p.name for p in out.glob("*.mp4")) == ["01 track.mp4", "02 track.mp4",
                                                         "03 track.mp4"]
    for name, seconds in (("01", 2.0), ("02", 2.5), ("03", 2.0)):
        facts = probe_video(out / f"{name} track.mp4")
        assert facts is not None and facts.has_audio
        assert facts.frames == round(seconds * 12)
    failure = [line for line in stderr.splitlines() if line.startswith("audiogan: error:")]
    assert len(failure) == 2
    assert failure[0].startswith("audiogan: error: 04 broken.wav: ")
    assert "not an audio file ffmpeg can read" in failure[0]
    assert failure[1].startswith("audiogan: error: 05 silence.wav: 05 silence.wav is silent")
    assert "note: skipping cover.jpg: not an audio file" in stderr
    assert "2 of 5 tracks failed (3 done)" in stderr
    assert "Traceback" not in stderr
    # the summary table: track, duration, frames, wall time, status
    assert "01 track.wav" in stderr and "rendered" in stderr and "failed" in stderr


def test_manifest_records_settings_versions_and_statuses(first_run):
    out, _, _ = first_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["seed"] == 3
    assert manifest["settings"]["options"]["fps"] == 12.0
    assert {"audiogan", "torch", "librosa"} <= set(manifest["versions"])
    tracks = manifest["tracks"]
    assert [tracks[f"0{n} track.wav"]["status"] for n in (1, 2, 3)] == ["done"] * 3
    assert tracks["01 track.wav"]["frames"] == 24 and tracks["02 track.wav"]["frames"] == 30
    assert tracks["01 track.wav"]["wall_s"] > 0
    assert tracks["01 track.wav"]["seed"] == track_seed(3, "01 track.wav")
    broken = tracks["04 broken.wav"]
    assert broken["status"] == "failed" and "not an audio file" in broken["error"]
    assert tracks["05 silence.wav"]["status"] == "failed"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


def test_second_run_renders_nothing_new(first_run, album, tiny_weights):
    out, _, _ = first_run
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    results = render_album(album, out, weights=tiny_weights, fps=12.0, classes=[1, 2], seed=3)
    assert [r.status for r in results] == ["skipped"] * 3 + ["failed"] * 2
    assert [r.frames for r in results[:3]] == [24, 30, 24]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == before
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tracks"]["02 track.wav"]["last_run"] == "skipped"
    assert manifest["tracks"]["02 track.wav"]["status"] == "done"


def test_damaged_or_changed_output_is_rendered_again(album, tiny_weights, tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    for name in ("01 track.wav", "02 track.wav"):
        (songs / name).write_bytes((album / name).read_bytes())
    out = tmp_path / "videos"
    assert _batch(songs, out, tiny_weights, "-q")[0] == 0
    first = out / "01 track.mp4"
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])  # cut short
    results = render_album(songs, out, weights=tiny_weights, fps=12.0, classes=[1, 2], seed=3)
    assert [r.status for r in results] == ["rendered", "skipped"]
    assert probe_video(first).frames == 24
    # another album seed is another look: both are made again
    results = render_album(songs, out, weights=tiny_weights, fps=12.0, classes=[1, 2], seed=4)
    assert [r.status for r in results] == ["rendered", "rendered"]


def test_seeds_derive_from_the_album_seed_and_album_toml_overrides(album, tiny_weights,
                                                                   tmp_path):
    songs = synth.make_album(tmp_path / "songs", seconds=(1.5, 1.5))
    (songs / "album.toml").write_text('[tracks."02 track.wav"]\nseed = 11\nclasses = [5, 9]\n'
                                      "beat_shift = 0.5\n")
    out = tmp_path / "videos"
    results = render_album(songs, out, weights=tiny_weights, fps=12.0, classes=[1, 2], seed=3)
    assert [r.seed for r in results] == [track_seed(3, "01 track.wav"), 11]
    # stable everywhere: a digest of the album seed and the name, not Python's hash()
    assert track_seed(3, "01 track.wav") == 821497834139324839
    assert track_seed(3, "01 track.wav") != track_seed(3, "02 track.wav")
    # the album's second track is exactly `audiogan render` with its seed, classes and shift
    single = tmp_path / "single.mp4"
    code, _, stderr = run(str(songs / "02 track.wav"), "-c", "5,9", "--seed", "11",
                          "--beat-shift", "0.5", "--weights", str(tiny_weights), "--fps", FPS,
                          "-o", str(single), "-q")
    assert code == 0, stderr
    np.testing.assert_array_equal(synth.read_video(single)[0],
                                  synth.read_video(out / "02 track.mp4")[0])


@pytest.mark.parametrize(("toml", "message"), [
    ('[tracks."01 track.wav"]\ncolours = 3\n',
     "album.toml: track '01 track.wav': unknown key 'colours'; allowed: classes, preset, seed, "
     "beat_shift"),
    ('[tracks."01 track.wav"]\nbeat_shift = 0.7\n',
     "album.toml: track '01 track.wav': beat_shift must be in [-0.5, 0.5], got 0.7"),
    ('[tracks."09 missing.wav"]\nseed = 1\n',
     "album.toml: track '09 missing.wav' is not an audio file in the album folder"),
    ('[tracks."01 track.wav"]\npreset = "loud"\n', "unknown preset 'loud'"),
])
def test_bad_album_toml_is_one_line_and_nothing_is_written(tiny_weights, tmp_path, toml,
                                                           message):
    songs = synth.make_album(tmp_path / "songs", seconds=(2.0,))
    (songs / "album.toml").write_text(toml)
    code, _, stderr = _batch(songs, tmp_path / "videos", tiny_weights)
    assert code == 1
    assert message in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "videos").exists()


@pytest.mark.slow
def test_killed_run_leaves_no_partial_video_and_the_next_run_finishes(tiny_weights, tmp_path):
    songs = synth.make_album(tmp_path / "songs", seconds=(1.5, 3.0))
    out = tmp_path / "videos"
    command = [sys.executable, "-m", "audiogan", "batch", str(songs), "-o", str(out),
               "--weights", str(tiny_weights), "--fps", FPS, "-q"]
    env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "/tmp/numba")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if out.is_dir() and any(p.name.startswith(".02 track.mp4.") for p in out.iterdir()):
                break
            assert process.poll() is None, "the render ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the second track never started")
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert probe_video(out / "01 track.mp4").frames == 18
    assert not (out / "02 track.mp4").exists()
    assert any(p.name.endswith(".partial") for p in out.iterdir())
    results = render_album(songs, out, weights=tiny_weights, fps=12.0)
    assert [r.status for r in results] == ["skipped", "rendered"]
    assert probe_video(out / "02 track.mp4").frames == 36
    # each video with its VIDEO.json record beside it (issue F), nothing partial
    assert sorted(p.name for p in out.iterdir()) == ["01 track.json", "01 track.mp4",
                                                     "02 track.json", "02 track.mp4",
                                                     "manifest.json"]


def test_publishing_options_apply_to_every_track(tiny_weights, tmp_path):
    """`batch` takes render's --for, --size, --fit and --safe-flashes, resolved per track by
    the one config: each video has the size, the colour tags, the audio and the record."""
    songs = synth.make_album(tmp_path / "songs", seconds=(1.0, 1.5))
    out = tmp_path / "videos"
    code, _, stderr = _batch(songs, out, tiny_weights, "--for", "youtube", "--size", "192x108",
                             "--fit", "crop", "--safe-flashes", "-q")
    assert code == 0, stderr
    for name, seconds in (("01 track", 1.0), ("02 track", 1.5)):
        video = out / f"{name}.mp4"
        facts = synth.stream_facts(video)
        assert re.search(r"Video: h264 \(High\).*yuv420p\(tv, bt709, progressive\), 192x108",
                         facts)
        probed = probe_video(video)
        assert probed is not None and (probed.width, probed.height) == (192, 108)
        assert probed.frames == round(seconds * 12)  # --fps 12 wins over youtube's 30
        bit_rate, sample_rate, channels = synth.audio_stream(video)
        assert bit_rate >= 384_000 and sample_rate == 48000 and channels == 2
        record = json.loads((out / f"{name}.json").read_text("utf-8"))
        assert record["release"] == "youtube" and record["seed"] == track_seed(3, f"{name}.wav")
        settings = record["settings"]
        assert (settings["size"], settings["fit"], settings["safe_flashes"], settings["crf"],
                settings["fps"]) == ([192, 108], "crop", True, 18, 12.0)
        assert '"release":"youtube"' in facts  # the record in the video's comment tag
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["settings"]["options"]["size"] == "192x108"
    assert manifest["settings"]["options"]["release"] == "youtube"


def test_for_editor_makes_a_prores_mov_per_track(tiny_weights, tmp_path):
    songs = synth.make_album(tmp_path / "songs", seconds=(1.0,))
    out = tmp_path / "videos"
    code, _, stderr = _batch(songs, out, tiny_weights, "--for", "editor", "--size", "192x108",
                             "-q")
    assert code == 0, stderr
    facts = synth.stream_facts(out / "01 track.mov")
    assert re.search(r"Video: prores \(HQ\).*yuv422p10le.*192x108", facts)
    assert re.search(r"Audio: pcm_s24le.*48000 Hz, stereo", facts)
    assert sorted(p.name for p in out.iterdir()) == ["01 track.json", "01 track.mov",
                                                     "manifest.json"]


@pytest.mark.parametrize(("args", "message"), [
    (("--size", "1921x1080"), "size 1921x1080: both sides must be even (H.264 stores colour "
                              "at half resolution), e.g. 1922x1080"),
    (("--fit", "stretch"), "fit must be one of wide, crop, blur, mirror, got 'stretch'"),
    (("--for", "myspace"), "unknown release preset 'myspace' (--for): choose one of youtube, "
                           "shorts, reels, tiktok, square, canvas, editor"),
])
def test_bad_publishing_options_for_an_album(tiny_weights, tmp_path, args, message):
    songs = synth.make_album(tmp_path / "songs", seconds=(1.0,))
    code, stdout, stderr = _batch(songs, tmp_path / "videos", tiny_weights, *args)
    assert code == 1
    assert (stdout, stderr.strip()) == ("", f"audiogan: error: {message}")
    assert not (tmp_path / "videos").exists()


def test_empty_folder_and_missing_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    code, _, stderr = run("batch", str(tmp_path), "-o", str(tmp_path / "out"))
    assert code == 1 and "holds no audio files" in stderr
    code, _, stderr = run("batch", str(tmp_path / "nope"), "-o", str(tmp_path / "out"))
    assert code == 1 and "album folder" in stderr and "not found" in stderr
