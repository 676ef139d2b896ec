"""On a real machine: nothing finished is replaced by accident, any name the filesystem
allows renders, and a full disk or a dead encoder stops the render at once, leaving nothing.

Two renders (or two batches) into one place at once, a 250-character song name, ffmpeg
killed mid-render, a disk that fills up (a small tmpfs, where the tests may mount one).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

from audiogan import ffmpeg, pipeline
from audiogan.encode import VideoWriter, probe_video
from audiogan.errors import ConfigError, EncodeError
from audiogan.files import MAX_NAME_BYTES, hidden_sibling, lock, lock_path, publish
from tests import synth
from tests.synth import run


def _frames(n: int, size: int = 64) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 255, (n, size, size, 3), dtype=np.uint8)


# -- nothing finished is replaced by accident -----------------------------------------------

def test_publish_never_replaces_a_file_unless_asked(tmp_path):
    partial, target = tmp_path / ".a.partial", tmp_path / "a.mp4"
    partial.write_bytes(b"new")
    target.write_bytes(b"finished first")
    with pytest.raises(FileExistsError):
        publish(partial, target)
    assert target.read_bytes() == b"finished first" and partial.read_bytes() == b"new"
    publish(partial, target, replace=True)
    assert target.read_bytes() == b"new" and not partial.exists()
    partial.write_bytes(b"again")
    publish(partial, tmp_path / "b.mp4")
    assert (tmp_path / "b.mp4").read_bytes() == b"again" and not partial.exists()


def test_a_video_that_appeared_meanwhile_is_kept(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(ConfigError) as caught, \
            VideoWriter(target, size=(64, 64), fps=10, overwrite=False) as writer:
        writer.write(_frames(10))
        target.write_bytes(b"another render finished first")
    assert str(caught.value) == (
        f"{target} appeared while this render ran (another run finished it first) and was "
        "kept; this render's video was dropped: choose another -o, or pass --overwrite to "
        "replace it")
    assert target.read_bytes() == b"another render finished first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    # with overwrite (what --overwrite asks for) the new video takes the name
    with VideoWriter(target, size=(64, 64), fps=10, overwrite=True) as writer:
        writer.write(_frames(10))
    assert probe_video(target).frames == 10


@pytest.mark.slow
def test_two_renders_to_one_output_one_wins(tmp_path, tiny_weights):
    song = synth.write_wav(tmp_path / "song.wav", synth.click_track(120, 4.0)[0])
    target = tmp_path / "video.mp4"
    command = [sys.executable, "-m", "audiogan", str(song), "--weights", str(tiny_weights),
               "--fps", "10", "-o", str(target), "-q", "--no-cache"]
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read().strip()) for p in runs]  # type: ignore[union-attr]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1], outcomes
    (loser,) = [message for code, message in outcomes if code == 1]
    # it lost at the start (the file was there) or at the end (it appeared meanwhile)
    assert loser in (
        f"audiogan: error: {target} already exists; pass --overwrite to replace it or "
        "choose another -o",
        f"audiogan: error: {target} appeared while this render ran (another run finished it "
        "first) and was kept; this render's video was dropped: choose another -o, or pass "
        "--overwrite to replace it"), loser
    assert probe_video(target).frames == 40
    # the winner's video with its VIDEO.json record beside it (issue F)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav", "video.json", "video.mp4"]


def test_lock_is_exclusive_and_leaves_no_file(tmp_path):
    target = tmp_path / "a.mp4"
    with lock(lock_path(target)) as held:
        assert held and lock_path(target).name == ".~lock.a.mp4"
        with lock(lock_path(target), wait=False) as again:  # another open file: refused
            assert again is False
    assert list(tmp_path.iterdir()) == []
    with lock(tmp_path) as held:  # a folder is locked as it is
        assert held
    assert list(tmp_path.iterdir()) == []


def _rendered_tracks(stderr: str) -> list[str]:
    """Track names of the summary table's rows with status "rendered"."""
    return re.findall(r"^(\d\d track\.wav)\s.*\srendered\s*$", stderr, re.MULTILINE)


@pytest.mark.slow
def test_two_batches_into_one_folder_render_each_track_once(tmp_path, tiny_weights):
    songs = synth.make_album(tmp_path / "songs", seconds=(1.5, 2.0, 1.5))
    out = tmp_path / "videos"
    command = [sys.executable, "-m", "audiogan", "batch", str(songs), "-o", str(out),
               "--weights", str(tiny_weights), "--fps", "8", "--no-cache"]
    env = {**os.environ, "COLUMNS": "200"}
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
    outcomes = [(p.wait(timeout=600), p.stderr.read()) for p in runs]  # type: ignore[union-attr]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    rendered = sorted(_rendered_tracks(outcomes[0][1]) + _rendered_tracks(outcomes[1][1]))
    assert rendered == ["01 track.wav", "02 track.wav", "03 track.wav"], outcomes
    tracks = json.loads((out / "manifest.json").read_text())["tracks"]
    assert sorted(tracks) == rendered
    assert all(entry["status"] == "done" for entry in tracks.values())
    assert [probe_video(out / f"0{n} track.mp4").frames for n in (1, 2, 3)] == [12, 16, 12]
    # each video with its VIDEO.json record beside it (issue F)
    assert sorted(p.name for p in out.iterdir()) == ["01 track.json", "01 track.mp4",
                                                     "02 track.json", "02 track.mp4",
                                                     "03 track.json", "03 track.mp4",
                                                     "manifest.json"]


# -- any name the filesystem allows --------------------------------------------------------

def test_hidden_names_always_fit():
    for name in ("a.mp4", "x" * 246 + ".mp4", "é" * 125 + ".mp4", "ü" * 127):
        target = Path("/videos") / name
        for path in (hidden_sibling(target), hidden_sibling(target, "segments"),
                     lock_path(target)):
            assert len(path.name.encode()) <= MAX_NAME_BYTES, path.name
            assert path.name.startswith(".") and path.parent == target.parent
    short = hidden_sibling(Path("/videos/a.mp4"))
    assert short.name == f".a.mp4.{os.getpid()}.partial"
    # two long names that differ only at their end get different hidden names
    one, two = ("y" * 240 + end + ".mp4" for end in ("1", "2"))
    assert hidden_sibling(Path(one)) != hidden_sibling(Path(two))


def test_a_song_with_a_250_character_name_renders_beside_itself(tmp_path, tiny_weights):
    name = "a" * 246 + ".wav"
    song = synth.write_wav(tmp_path / name, synth.click_track(120, 1.5)[0])
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--fps", "8", "-q")
    assert code == 0, stderr
    video = tmp_path / ("a" * 246 + ".mp4")
    assert probe_video(video).frames == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name, video.name, video.with_suffix(".json").name])  # + its record (issue F)


# -- a full disk or a dead encoder ----------------------------------------------------------

# with a GPU the video is encoded in chunks by several ffmpegs (--encoders): the error still
# names the video asked for, not a chunk of it
@pytest.mark.parametrize("encoders", [1, 2])
def test_a_killed_encoder_stops_the_render_at_once(tmp_path, tiny_weights, monkeypatch,
                                                   encoders):
    song = synth.write_wav(tmp_path / "long.wav", synth.click_track(120, 20.0)[0])
    processes: list[subprocess.Popen] = []
    real_popen = ffmpeg.popen

    def popen(arguments, **options):
        process = real_popen(arguments, **options)
        if "rawvideo" in arguments:
            processes.append(process)
        return process

    monkeypatch.setattr(ffmpeg, "popen", popen)
    made_after_kill = []

    def progress(stage, done, total):
        if stage != "frames" or done == 0:
            return
        if not processes[0].returncode and not made_after_kill:
            processes[0].kill()
            processes[0].wait()
            made_after_kill.append(done)
        made_after_kill.append(done)

    target = tmp_path / "long.mp4"
    threads = torch.get_num_threads()
    with pytest.raises(EncodeError) as caught:
        pipeline.render(song, target, weights=tiny_weights, fps=12, batch_size=4,
                        encoders=encoders, progress=progress)
    assert str(caught.value) == f"ffmpeg could not write {target}: it was killed (signal 9)"
    # the process is left as it was for the next render (a batch goes on to the next song)
    assert torch.get_num_threads() == threads and not torch.is_inference_mode_enabled()
    # the render stopped at the next batch, not after the 240 frames of the song
    assert made_after_kill[-1] - made_after_kill[0] <= 4, made_after_kill
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]


@contextlib.contextmanager
def _small_disk(root: Path, size: str):
    """A tmpfs of `size` mounted at a new folder of `root` (root only; else the test skips)."""
    folder = root / f"disk-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                                            "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("encoders", [1, 2])
def test_a_full_disk_stops_the_render_with_one_line(tmp_path, tiny_weights, encoders):
    song = synth.write_wav(tmp_path / "song.wav", synth.click_track(120, 8.0)[0])
    with _small_disk(tmp_path, "96k") as disk:
        # lossless frames fill 96 kB within the first second of video
        code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--fps", "30",
                              "--set", "crf=0", "--encoders", str(encoders),
                              "-o", str(disk / "video.mp4"), "-q")
        left = sorted(p.name for p in disk.iterdir())
    lines = stderr.strip().splitlines()
    assert code == 4, stderr
    assert lines[0].startswith(f"audiogan: note: {disk} has 0 MB free and the video may need "
                               "up to"), lines
    assert len(lines) == 2
    assert lines[1].startswith(f"audiogan: error: the disk is full: {disk / 'video.mp4'} "
                               "could not be written ("), lines[1]
    assert lines[1].endswith("No space left on device); free some space or choose another -o")
    assert left == []


def test_free_space_note_before_a_long_render(tmp_path, tiny_weights, monkeypatch, caplog):
    song = synth.write_wav(tmp_path / "song.wav", synth.click_track(120, 2.0)[0])
    plan = pipeline.prepare(song, tmp_path / "v.mp4", weights=tiny_weights, fps=10)
    assert 0 < pipeline.estimated_bytes(plan, 128) < 20 * 128 * 128 * 3  # below raw frames
    usage = type("usage", (), {"free": 10_000, "total": 10**9, "used": 0})
    monkeypatch.setattr(pipeline.shutil, "disk_usage", lambda path: usage)
    with caplog.at_level("WARNING", logger="audiogan"):
        pipeline.check_free_space(plan, 128)
    needed = pipeline.estimated_bytes(plan, 128) / 1e6
    assert [r.getMessage() for r in caplog.records] == [
        f"note: {tmp_path} has 0 MB free and the video may need up to {needed:.0f} MB; if "
        "the disk fills, the render stops and leaves nothing"]
    caplog.clear()
    monkeypatch.setattr(pipeline.shutil, "disk_usage",
                        lambda path: type("usage", (), {"free": 10**12}))
    pipeline.check_free_space(plan, 128)
    assert caplog.records == []

