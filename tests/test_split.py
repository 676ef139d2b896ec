"""Frame-range segments joined by `concat_segments`: the same video as one unsplit render."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest

from audiogan import render
from audiogan.encode import AudioTrack, VideoWriter, concat_segments, probe_video
from audiogan.errors import EncodeError
from audiogan.ffmpeg import ffmpeg_exe
from audiogan.files import remove_stale_partials
from tests import synth


def _pts(path) -> np.ndarray:
    text = subprocess.run([ffmpeg_exe(), "-i", str(path), "-map", "0:v", "-vf", "showinfo",
                           "-f", "null", "-"], capture_output=True, text=True).stderr
    return np.array([float(t) for t in re.findall(r"pts_time:([\d.]+)", text)])


def test_segments_join_without_repeated_or_missing_frames(tmp_path, clicks_120):
    song, _ = clicks_120
    segments = []
    for n, (first, last) in enumerate(((0, 17), (17, 40), (40, 60))):
        path = tmp_path / f"{n}.mp4"
        with VideoWriter(path, size=(64, 64), fps=30, crf=0) as writer:
            writer.write(synth.numbered_frames(first, last))
        segments.append(path)
    target = concat_segments(segments, tmp_path / "joined.mp4",
                             audio=AudioTrack(song, start=1.0, duration=2.0))
    frames, fps = synth.read_video(target)
    assert fps == 30 and len(frames) == 60
    index = np.round(frames[:, 32, 32, 0] / 4).astype(int)
    np.testing.assert_array_equal(index, np.arange(60))  # in order, none twice, none lost
    np.testing.assert_allclose(np.diff(_pts(target)), 1 / 30, atol=1e-3)
    audio = synth.read_audio(target)
    original = synth.read_audio(song)[22050:3 * 22050]
    assert abs(len(audio) - len(original)) < 22050 / 30
    n = min(len(audio), len(original))
    assert np.corrcoef(audio[:n], original[:n])[0, 1] > 0.99
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.mp4", "1.mp4", "2.mp4",
                                                          "joined.mp4"]


def test_failed_join_leaves_nothing(tmp_path):
    bogus = tmp_path / "0.mp4"
    bogus.write_bytes(b"not a video")
    with pytest.raises(EncodeError, match="could not join the segments of"):
        concat_segments([bogus], tmp_path / "joined.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.mp4"]


def test_probe_video_counts_frames_and_rejects_a_cut_file(tmp_path):
    path = tmp_path / "v.mp4"
    with VideoWriter(path, size=(64, 64), fps=25) as writer:
        writer.write(synth.numbered_frames(0, 40))
    facts = probe_video(path)
    assert (facts.frames, facts.width, facts.fps, facts.has_audio) == (40, 64, 25.0, False)
    assert abs(facts.duration_s - 1.6) < 0.05
    path.write_bytes(path.read_bytes()[:-2000])
    assert probe_video(path) is None
    assert probe_video(tmp_path / "missing.mp4") is None


def test_stale_partials_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".a.mp4.{dead.pid}.partial"
    stale_dir = tmp_path / f".a.mp4.segments.{dead.pid}.partial"
    live = tmp_path / f".b.mp4.{os.getpid()}.partial"
    for path in (stale, live):
        path.write_bytes(b"x")
    stale_dir.mkdir()
    (stale_dir / "0000.mp4").write_bytes(b"x")
    (tmp_path / "c.mp4").write_bytes(b"x")
    assert sorted(remove_stale_partials(tmp_path)) == sorted([stale, stale_dir])
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "c.mp4"]


@pytest.fixture(scope="module")
def split_and_whole(tmp_path_factory, sample_song, tiny_weights):
    """The same 3.3 s excerpt rendered whole and in 3 frame ranges (lossless, batches of 8
    that do not line up with the ranges)."""
    folder = tmp_path_factory.mktemp("split")
    options = dict(weights=tiny_weights, start=2.0, duration=3.3, batch_size=8, crf=0)
    whole = render(sample_song, folder / "whole.mp4", **options)
    split = render(sample_song, folder / "split.mp4", split_frames=3, **options)
    return whole, split


def test_split_render_matches_the_whole_frame_for_frame(split_and_whole):
    whole, split = split_and_whole
    assert whole.frames == split.frames == 99
    whole_frames, _ = synth.read_video(whole.output)
    split_frames, _ = synth.read_video(split.output)
    assert len(split_frames) == 99
    difference = np.abs(whole_frames.astype(int) - split_frames.astype(int))
    assert difference.max() <= 1
    # the joins at frames 33 and 66 hold distinct consecutive pictures, as in the whole video
    motion = synth.motion(split_frames)
    assert motion[33] > 0 and motion[66] > 0
    np.testing.assert_allclose(motion, synth.motion(whole_frames), atol=0.5)
    np.testing.assert_allclose(np.diff(_pts(split.output)), 1 / 30, atol=1e-3)
    assert not [p for p in split.output.parent.iterdir() if p.name.startswith(".")]


def test_split_render_audio_is_continuous(split_and_whole, sample_song):
    _, split = split_and_whole
    muxed = synth.read_audio(split.output)
    original = synth.read_audio(sample_song)[2 * 22050:round(5.3 * 22050)]
    assert abs(len(muxed) - len(original)) < 22050 / 30
    n = min(len(muxed), len(original))
    assert np.corrcoef(muxed[:n], original[:n])[0, 1] > 0.99
    # no gap or click at the joins: every 1/30 s window correlates with the original
    window = 22050 // 30
    for join in (33, 66):
        a = join * window - window
        b = join * window + window
        assert np.corrcoef(muxed[a:b], original[a:b])[0, 1] > 0.98


def test_split_frames_cli_and_default_quality(sample_song, tiny_weights, tmp_path):
    from tests.synth import run

    code, _, stderr = run(str(sample_song), "--weights", str(tiny_weights), "--duration", "2",
                          "--fps", "12", "--split-frames", "2", "-o", str(tmp_path / "s.mp4"),
                          "-q")
    assert code == 0, stderr
    assert probe_video(tmp_path / "s.mp4").frames == 24
    code, _, stderr = run(str(sample_song), "--weights", str(tiny_weights), "--split-frames",
                          "0", "-o", str(tmp_path / "z.mp4"))
    assert code == 1 and "--split-frames must be at least 1, got 0" in stderr
