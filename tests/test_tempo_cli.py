"""`audiogan tempo` end to end, and its presets: the seed's two calls.py examples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from audiogan.errors import ConfigError
from audiogan.synth import ramp, resolve_tempo_config, tempo_trajectory
from tests import synth
from tests.synth import run

SEED_AXIS_SETS = tuple(tuple(range(start, start + 8)) for start in range(0, 80, 8))
SEED_MAGNITUDES = (0.15, 0.15, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
SEED_PERIODS = (1, 1, 2, 2, 4, 4, 8, 8, 16, 16)


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("preset,funcs", [
    ("tempo-smooth", [np.cos, np.sin] * 5),
    ("tempo-rampy", [ramp, np.sin, ramp, np.sin, ramp, np.sin, np.cos, np.sin, np.cos, np.sin]),
])
def test_presets_are_the_seeds_examples(preset, funcs):
    config = resolve_tempo_config(preset)
    assert (config.bpm, config.num_beats, config.classes, config.y_scale) == (144, 4, (835,), 1)
    assert config.axis_sets == SEED_AXIS_SETS
    assert config.magnitudes == SEED_MAGNITUDES and config.periods == SEED_PERIODS
    # the preset's named functions move z exactly as the seed's callables do
    ours = tempo_trajectory(bpm=144, num_beats=4, axis_sets=config.axis_sets,
                            magnitudes=config.magnitudes, periods=config.periods,
                            funcs=config.functions(), seed=2)[0]
    seeds = tempo_trajectory(bpm=144, num_beats=4, axis_sets=[range(s, s + 8) for s in
                                                              range(0, 80, 8)],
                             magnitudes=list(SEED_MAGNITUDES), periods=list(SEED_PERIODS),
                             funcs=funcs, seed=2)[0]
    np.testing.assert_array_equal(ours, seeds)


def test_precedence_and_validation(tmp_path):
    config = resolve_tempo_config("tempo-smooth", bpm=135, classes=["398,402"])
    assert (config.bpm, config.classes, config.num_beats) == (135, (398, 402), 4)
    default = resolve_tempo_config()
    assert default.funcs[:4] == ("saw", "saw", "saw", "sin") and default.phases[1] == 0.5
    custom = tmp_path / "mine.toml"
    custom.write_text('[tempo]\naxis_sets = ["0:4", [9, 12]]\nfuncs = ["square", "triangle"]\n'
                      'periods = [1, 3]\n')
    config = resolve_tempo_config(custom)
    assert config.axis_sets == ((0, 1, 2, 3), (9, 12)) and config.magnitudes == (1.0, 1.0)
    assert resolve_tempo_config(funcs=["cos"] * 10).phases == (0.0,) * 10
    for bad, message in (
        ({"funcs": ["sine"] * 10}, "unknown function 'sine'; choose one of sin, cos, saw"),
        ({"periods": [1, 2]}, "periods has 2 entries but axis_sets has 10"),
        ({"axis_sets": [[200]]}, "axis 200 is outside the noise vector"),
        ({"bpm": -3}, "bpm must be a number in \\(0, 1000\\], got -3"),
        ({"seed": -1}, "seed must be an integer"),
    ):
        with pytest.raises(ConfigError, match=message):
            resolve_tempo_config(**bad)
    (tmp_path / "render.toml").write_text("[render]\nfps = 30\n")
    with pytest.raises(ConfigError, match="a tempo preset has one table, \\[tempo\\]"):
        resolve_tempo_config(tmp_path / "render.toml")


def test_tempo_command_writes_npy_and_mp4(tiny_weights, in_tmp):
    code, _, stderr = run("tempo", "--bpm", "120", "--num-beats", "2", "--classes", "398", "402",
                          "--fps", "10", "--seed", "3", "--ext", ".mp4", "--weights",
                          str(tiny_weights), "--preset", "tempo-rampy", "--truncation", "0.9")
    assert code == 0, stderr
    frames = np.load(in_tmp / "npys" / "out.npy")
    assert frames.shape == (10, 128, 228, 3) and frames.dtype == np.uint8
    (video,) = (in_tmp / "renders").glob("*.mp4")
    played, fps = synth.read_video(video)
    assert fps == 10 and played.shape == (10, 128, 228, 3)
    assert "10 frames at 10 fps, 228x128, 120 BPM, seed 3" in stderr


def test_num_samples_and_seeds(tiny_weights, in_tmp):
    args = ("tempo", "--bpm", "240", "--num-beats", "1", "--fps", "8", "--weights",
            str(tiny_weights), "--ext", ".gif", "-q")
    assert run(*args, "--seed", "5", "--num-samples", "2")[0] == 0
    assert len(list((in_tmp / "renders").glob("*.gif"))) == 2
    second = np.load(in_tmp / "npys" / "out.npy")  # the last sample, seed 6
    assert run(*args, "--seed", "6", "--ext", ".npy")[0] == 0
    np.testing.assert_array_equal(np.load(in_tmp / "npys" / "out.npy"), second)
    assert len(list((in_tmp / "renders").glob("*.gif"))) == 2  # .npy: no render


def test_audio_sets_tempo_length_and_sound(tiny_weights, clicks_120, in_tmp):
    song, beats = clicks_120  # 8 s at 120 BPM, first beat at 0.5 s
    code, _, stderr = run("tempo", "--audio", str(song), "--fps", "4", "--seed", "1",
                          "--weights", str(tiny_weights), "--set", 'axis_sets=["0:64"]',
                          "--set", "magnitudes=[0.7]", "--set", "periods=[1]",
                          "--set", 'funcs=["saw"]')
    assert code == 0, stderr
    found = re.search(r"([\d.]+) BPM from clicks.wav, first beat at ([\d.]+) s", stderr)
    assert found and abs(float(found[1]) - 120) < 1 and abs(float(found[2]) - 0.5) < 0.02
    (video,) = (in_tmp / "renders").glob("*.mp4")
    facts = synth.stream_facts(video)
    assert "Audio: aac" in facts and "Video: h264" in facts
    frames, fps = synth.read_video(video)
    assert fps == 4 and len(frames) == 32  # the song's 8 s
    audio = synth.read_audio(video)
    assert abs(len(audio) / 22050 - 8.0) < 0.1
    # a saw wave of period one beat restarts on every beat of the song: frames on the beats
    # (0.5 s, 1.0 s, ... = every 2nd frame from 2) look alike, the frames between do not
    grey = frames.astype(np.float32).mean(axis=3)
    on_beats = grey[2::2]
    between = grey[3::2]
    same = np.abs(np.diff(on_beats, axis=0)).mean()
    apart = np.abs(on_beats[: len(between)] - between).mean()
    assert apart > 4 * same


def test_tempo_errors(tiny_weights, in_tmp, clicks_120):
    cases = [
        (("tempo", "--model", "512"), "model '512' (BigGAN without -deep) has no PyTorch port"),
        (("tempo", "--preset", "nope"), "unknown tempo preset 'nope': choose one of "
                                        "tempo-rampy, tempo-smooth"),
        (("tempo", "--audio", str(clicks_120[0]), "--ext", ".gif"), "--audio needs --ext .mp4"),
        (("tempo", "--set", "funcs=[1]", "--weights", str(tiny_weights)),
         "funcs has 1 entries but axis_sets has 10"),
        (("tempo", "--ext", ".avi"), "ext must be .gif, .mp4 or .npy"),
        ((str(clicks_120[0]), "--preset", "tempo-smooth"),
         "is a tempo preset: use it with `audiogan tempo --preset tempo-smooth`"),
    ]
    for args, message in cases:
        code, _, stderr = run(*args)
        assert code == 1, (args, stderr)
        assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not (in_tmp / "npys").exists()
