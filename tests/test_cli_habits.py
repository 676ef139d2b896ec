"""The command line's manners: help, version, exit codes, hints, plain progress in a log,
one weights check for a batch, readable limits and the weights from the environment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from audiogan import cli
from audiogan import model as biggan
from tests import synth
from tests.synth import run


def test_h_is_help_everywhere():
    for args in (["-h"], ["--help"]):
        code, stdout, _ = run(*args)
        assert code == 0 and stdout.startswith("Usage: audiogan [OPTIONS] COMMAND")
    code, short, _ = run("render", "-h")
    assert code == 0 and "Usage: audiogan render" in short
    assert run("render", "--help")[1] == short
    code, stdout, _ = run("tempo", "-h")
    assert code == 0 and "--num-beats" in stdout


def test_version():
    from audiogan import __version__

    code, stdout, _ = run("--version")
    assert (code, stdout.strip()) == (0, f"audiogan {__version__}")


def test_usage_errors_exit_2_with_the_command_to_ask():
    code, stdout, stderr = run("batch", "x", "-o", "y", "--frobnicate")
    assert code == 2 and stdout == ""
    assert stderr == ("audiogan: error: No such option: --frobnicate (see `audiogan batch "
                      "--help`)\n")
    # tempo's count of beats is --num-beats; --beats is render's and analyze's beat file
    code, _, stderr = run("tempo", "--beats", "4")
    assert code == 2 and stderr.startswith("audiogan: error: No such option: --beats")
    assert stderr.rstrip().endswith("(see `audiogan tempo --help`)")


@pytest.mark.parametrize(("typed", "meant"), [("renderr", "render"), ("anlyze", "analyze"),
                                              ("bacth", "batch")])
def test_a_mistyped_command_gets_a_suggestion(typed, meant):
    code, stdout, stderr = run(typed, "song.wav")
    assert (code, stdout) == (2, "")
    assert stderr == (f"audiogan: error: no such command {typed!r}; did you mean {meant!r}? "
                      "(see `audiogan --help`)\n")


def test_a_song_named_like_a_command_is_still_a_song(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.mistyped_command("renderr") == "render"
    Path("renderr").write_bytes(b"")  # an existing file is a song, however it is named
    assert cli.mistyped_command("renderr") is None
    assert cli.mistyped_command("render.wav") is None
    assert cli.mistyped_command("mysong") is None  # close to nothing: taken for a song


def test_no_blank_line_before_an_error_in_a_log(tmp_path):
    code, stdout, stderr = run(str(tmp_path / "nope.wav"), "-o", str(tmp_path / "x.mp4"))
    assert (code, stdout) == (1, "")
    assert stderr == f"audiogan: error: {tmp_path / 'nope.wav'}: no such file; check the path\n"


def test_plain_progress_lines_when_not_a_terminal(capsys):
    lines = cli._PlainLines(every_s=0.0)  # a line at every call
    lines("frames", "generating frames", "frames", 0, 480)
    lines("frames", "generating frames", "frames", 120, 480)
    lines("frames", "generating frames", "frames", 480, 480)
    lines("frames", "generating frames", "frames", 480, 480)  # the end is said once ...
    printed = capsys.readouterr().err.splitlines()
    assert printed[0] == "generating frames 0/480"
    assert re.fullmatch(r"generating frames 120/480, [\d.]+ frames/s, \d+ s left",
                        printed[1]), printed[1]
    assert len(printed) == 2
    lines("encoding", "encoding", "frames", 480, 480)  # ... when the next stage starts
    lines.flush()
    printed = capsys.readouterr().err.splitlines()
    assert len(printed) == 2
    assert re.fullmatch(r"generating frames 480/480, [\d.]+ frames/s", printed[0])
    assert printed[1] == "encoding 480/480 frames"
    # between the periodic lines nothing is printed
    hourly = cli._PlainLines(every_s=3600.0)
    hourly("analysis", "analysing audio", "s", 0.0, 16.0)
    hourly("analysis", "analysing audio", "s", 8.0, 16.0)
    hourly("analysis", "analysing audio", "s", 16.0, 16.0)
    assert capsys.readouterr().err == ""
    hourly.flush()
    assert capsys.readouterr().err == "analysing audio 16.0/16.0 s\n"


def test_a_render_in_a_log_prints_plain_lines(clicks_120, tiny_weights, tmp_path):
    code, _, stderr = run(str(clicks_120[0]), "--weights", str(tiny_weights), "--duration",
                          "1", "--fps", "12", "-o", str(tmp_path / "x.mp4"))
    assert code == 0, stderr
    lines = stderr.splitlines()
    assert "generating frames 12/12, " in " ".join(lines)
    assert not any(line.strip() == "" for line in lines)  # no bars, no blank lines
    assert not any("\x1b" in line or "━" in line for line in lines)


def test_batch_without_weights_says_so_once(tmp_path, monkeypatch):
    album = synth.make_album(tmp_path / "songs")
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUDIOGAN_WEIGHTS", raising=False)
    nowhere = "http://weights.invalid/biggan-deep-128"  # .invalid never resolves
    monkeypatch.setitem(biggan.PRETRAINED_CONFIG_ARCHIVE_MAP, "biggan-deep-128",
                        nowhere + ".json")
    monkeypatch.setattr(biggan, "_from_hub", lambda *args: None)
    code, _, stderr = run("batch", str(album), "-o", str(tmp_path / "videos"), "--fps", "6")
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("audiogan: error: could not download the biggan-deep-128 "
                               "weights (archive: ")
    assert not list((tmp_path / "videos").glob("*.mp4"))


def test_render_takes_the_weights_from_the_environment(clicks_120, tiny_weights, tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv("AUDIOGAN_WEIGHTS", str(tiny_weights))
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "empty-cache"))  # nothing to fall on
    code, _, stderr = run(str(clicks_120[0]), "--duration", "1", "--fps", "6", "-o",
                          str(tmp_path / "x.mp4"), "-q")
    assert code == 0, stderr
    assert synth.read_video(tmp_path / "x.mp4")[0].shape == (6, 128, 128, 3)
    monkeypatch.setenv("AUDIOGAN_WEIGHTS", str(tmp_path / "nowhere"))
    code, _, stderr = run(str(clicks_120[0]), "-o", str(tmp_path / "y.mp4"))
    assert code == 1
    assert stderr.strip() == (f"audiogan: error: weights folder {tmp_path / 'nowhere'} not "
                              "found: give a folder with config.json and pytorch_model.bin")


def test_limits_read_as_numbers(tmp_path):
    song = synth.write_wav(tmp_path / "s.wav", synth.click_track(120, 2.0)[0])
    for flag, value, message in (
            ("--seed", "-1", "seed must be in [0, 2^63 - 1], got -1"),
            ("--duration", "-1", "duration must be greater than 0, got -1.0"),
            ("--start", "-1", "start must be at least 0, got -1.0")):
        code, _, stderr = run(str(song), flag, value, "-o", str(tmp_path / "x.mp4"))
        assert (code, stderr) == (1, f"audiogan: error: {message}\n")


def test_analyze_reports_the_peak_before_the_mixdown(tmp_path):
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(3 * 44100) / 44100)
    clicks = synth.click_track(120, 3.0)[0]
    # the right channel is the left upside down: the mono mix holds only the clicks
    stereo = np.stack([tone + 0.2 * clicks, -tone + 0.2 * clicks], axis=1)
    song = synth.write_wav(tmp_path / "wide.wav", stereo)
    code, stdout, stderr = run("analyze", str(song), "--json")
    assert code == 0, stderr
    peak = json.loads(stdout)["peak_dbfs"]
    loudest = 20 * np.log10(np.abs(np.clip(stereo, -1, 1)).max())
    assert abs(peak - loudest) < 0.5, (peak, loudest)
    code, stdout, _ = run("analyze", str(song))
    printed = re.search(r"peak (-?[\d.]+) dBFS", stdout)
    assert code == 0 and printed and abs(float(printed[1]) - peak) < 0.06, stdout
