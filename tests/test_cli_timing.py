"""The command line with the user's timing, cues, stems and the analysis plot."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import synth
from tests.synth import run


@pytest.fixture(scope="module")
def clicks_song(tmp_path_factory):
    y, beats = synth.click_track(120.0, 6.0)
    folder = tmp_path_factory.mktemp("timing")
    return synth.write_wav(folder / "clicks.wav", y), beats


def test_analyze_with_a_beats_file_and_bpm(tmp_path, clicks_song):
    song, _ = clicks_song
    beats = tmp_path / "beats.csv"
    beats.write_text("time,downbeat\n" + "".join(f"{0.7 + 0.6 * k:.1f},{int(k % 3 == 0)}\n"
                                                 for k in range(9)))
    code, stdout, stderr = run("analyze", str(song), "--json", "--beats", str(beats))
    assert code == 0, stderr
    report = json.loads(stdout)
    np.testing.assert_allclose(report["beats_s"], 0.7 + 0.6 * np.arange(9))
    np.testing.assert_allclose(report["downbeats_s"], [0.7, 2.5, 4.3])
    assert report["meter"] == 3 and report["tempo_bpm"] == pytest.approx(100.0)
    code, stdout, _ = run("analyze", str(song), "--json", "--bpm", "90", "--beat-offset",
                          "1.0")
    report = json.loads(stdout)
    np.testing.assert_allclose(report["beats_s"][:3], [1 / 3, 1.0, 5 / 3], atol=1e-3)
    assert all(bpm == pytest.approx(90, abs=0.01) for _, bpm in report["tempo_curve"])
    # the half-speed beats of the user's grid: beats 1 and 3 of its bars, from 1.0 s
    np.testing.assert_allclose(report["half_beats_s"], report["beats_s"][1::2])
    assert set(report["downbeats_s"]) <= set(report["half_beats_s"])
    # none in the waltz of the beats file
    assert json.loads(run("analyze", str(song), "--json", "--beats",
                          str(beats))[1])["half_beats_s"] == []


def test_beat_shift_moves_the_beats_found_and_is_checked(clicks_song):
    song, _ = clicks_song
    found = json.loads(run("analyze", str(song), "--json")[1])
    code, stdout, stderr = run("analyze", str(song), "--json", "--beat-shift", "0.5")
    assert code == 0, stderr
    moved = json.loads(stdout)
    beats = np.array(found["beats_s"])
    halfway = (beats[:-1] + beats[1:]) / 2
    np.testing.assert_allclose([b for b in moved["beats_s"] if beats[0] < b < beats[-1]],
                               halfway, atol=2e-4)
    assert moved["tempo_bpm"] == pytest.approx(found["tempo_bpm"], rel=0.01)
    assert set(moved["downbeats_s"]) <= set(moved["beats_s"])
    code, _, stderr = run("analyze", str(song), "--beat-shift", "0.7")
    assert code == 1 and stderr.strip() == ("audiogan: error: beat_shift must be in "
                                            "[-0.5, 0.5], got 0.7")


def test_a_render_moved_half_a_beat_pulses_between_the_clicks(tmp_path, clicks_song,
                                                              tiny_weights):
    song, clicks = clicks_song
    target = tmp_path / "out.mp4"
    code, _, stderr = run(str(song), "--classes", "398", "--weights", str(tiny_weights),
                          "--fps", "20", "--beat-shift", "0.5", "-o", str(target))
    assert code == 0, stderr
    assert "moved +0.5 beat" in stderr
    frames, fps = synth.read_video(target)
    motion = synth.motion(frames)
    on_clicks = np.round(np.asarray(clicks) * fps).astype(int)
    between = np.round((np.asarray(clicks) + 0.25) * fps).astype(int)
    assert motion[between[between < len(motion)]].mean() > 3 * motion[on_clicks].mean()


def test_analyze_plot_writes_a_png(tmp_path, clicks_song):
    song, _ = clicks_song
    target = tmp_path / "analysis.png"
    code, _, stderr = run("analyze", str(song), "--plot", str(target))
    assert code == 0, stderr
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 1000)
    assert not list(tmp_path.glob(".*.png"))


def test_render_with_cues_and_stems(tmp_path, clicks_song, tiny_weights):
    song, _ = clicks_song
    cues = tmp_path / "cues.toml"
    cues.write_text('[[cue]]\ntime = 2.0\nclasses = ["goldfish"]\nintensity = 0.5\n'
                    "truncation = 0.8\n")
    target = tmp_path / "out.mp4"
    code, _, stderr = run(str(song), "--classes", "398", "--weights", str(tiny_weights),
                          "--cues", str(cues), "--stem", f"drums={song}", "--fps", "10",
                          "-o", str(target), "-q")
    assert code == 0, stderr
    frames, fps = synth.read_video(target)
    assert len(frames) == 60 and fps == 10


@pytest.mark.parametrize(("files", "message"), [
    ({"cues.toml": "[[cue]]\ntime = 1\nintensity = 'loud'\n"},
     "cues.toml line 3: intensity 'loud' must be a number in [0, 4]"),
    ({"cues.toml": "[[cue]]\nbar = 99\n"}, "cues.toml line 1: bar 99 is past the last bar"),
    ({"beats.txt": "0.5\n1.0\nsoon\n"}, "beats.txt line 3: 'soon' is not a time in seconds"),
])
def test_bad_timing_files_get_one_line_and_no_video(tmp_path, clicks_song, tiny_weights,
                                                    files, message):
    song, _ = clicks_song
    args = [str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "out.mp4")]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        args += ["--cues" if name.endswith(".toml") else "--beats", str(tmp_path / name)]
    code, _, stderr = run(*args)
    lines = stderr.strip().splitlines()
    assert code == 1 and len(lines) == 1, stderr
    assert message in lines[0] and str(tmp_path) in lines[0]
    assert not (tmp_path / "out.mp4").exists()


def test_bad_bpm_and_stem_flags(tmp_path, clicks_song):
    song, _ = clicks_song
    code, _, stderr = run("analyze", str(song), "--bpm", "1000")
    assert code == 1 and stderr.strip() == ("audiogan: error: bpm must be in [20, 400], "
                                            "got 1000.0")
    code, _, stderr = run("analyze", str(song), "--stem", "voice=x.wav")
    assert code == 1 and "unknown stem 'voice': use drums, bass or other" in stderr
    code, _, stderr = run("analyze", str(song), "--plot", str(tmp_path / "a.jpg"))
    assert code == 1 and "name it *.png" in stderr


def test_a_beatless_song_says_so_in_one_line(tmp_path, tiny_weights):
    rng = np.random.default_rng(1)
    sr, seconds = 22050, 12.0
    t = np.arange(int(seconds * sr)) / sr
    drone = sum(np.interp(t, np.linspace(0, seconds, 5), rng.uniform(0.2, 1.0, 5))
                * np.sin(2 * np.pi * hz * t) for hz in (110.0, 164.8, 220.0, 277.2))
    song = synth.write_wav(tmp_path / "drone.wav", (0.1 * drone).astype(np.float32), sr)
    code, out, err = run("analyze", str(song), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["beat_confidence"] < 0.5
    notes = [line for line in err.splitlines() if line.startswith("audiogan: note:")]
    assert notes == [
        f"audiogan: note: drone.wav has no clear beat (beat confidence "
        f"{report['beat_confidence']:.2f}): the picture follows its strongest onsets; if you "
        "know the beat, give --bpm and --beat-offset, or --beats FILE"]
    # the plain report and the render's summary give no tempo as a fact, nor its "changes"
    code, out, err = run("analyze", str(song))
    text = " ".join(out.split())
    assert code == 0 and "no clear beat)" in text and "tempo changes" not in text
    code, _, err = run(str(song), "--weights", str(tiny_weights), "--duration", "4", "--fps",
                       "5", "-o", str(tmp_path / "drone.mp4"))
    summary = " ".join(err.split())
    assert code == 0 and "no clear beat (confidence 0." in summary
    assert "the pulses followed the onsets" in summary and " BPM (" not in summary
    # the user's own grid is trusted: no note, full confidence
    code, out, err = run("analyze", str(song), "--json", "--bpm", "90")
    assert code == 0 and "note:" not in err
    assert json.loads(out)["beat_confidence"] == 1.0
    code, out, _ = run("analyze", str(song), "--bpm", "90")
    assert "90.0 BPM" in out and "no clear beat" not in out


def test_tempo_range_steers_the_level_and_is_checked(clicks_song):
    song, _ = clicks_song
    code, out, err = run("analyze", str(song), "--json", "--tempo-range", "40:80")
    assert code == 0, err
    assert json.loads(out)["tempo_bpm"] == pytest.approx(60.0, rel=0.03)
    code, _, err = run("analyze", str(song), "--tempo-range", "140")
    assert code == 1
    assert err.strip() == ("audiogan: error: tempo range '140': write SLOWEST:FASTEST in BPM, "
                           "e.g. 70:140")
