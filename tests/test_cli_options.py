"""Every option of the command line, run once from the command line, with what it does.

Each test runs the real CLI in this process on a few seconds of clicks and the tiny random
BigGAN of `tiny_weights`, and checks the outcome a user would see: the frame count, the
summary line, the exact error, the cache being used or not.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from audiogan import cache
from audiogan.config import available_presets, presets_dir
from tests import synth
from tests.synth import run


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    """2 s of clicks at 120 BPM."""
    y, _ = synth.click_track(120.0, 2.0, first_beat=0.25)
    return synth.write_wav(tmp_path_factory.mktemp("song") / "clicks.wav", y)


def render(song: Path, tiny_weights: Path, target: Path, *options: str) -> tuple[int, str]:
    """Render `song` at 6 fps (12 frames) into `target`; (exit code, stderr)."""
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "--fps", "6",
                          "-o", str(target), *options)
    return code, stderr


def words(text: str) -> str:
    """`text` with its line breaks and runs of spaces as single spaces (rich wraps lines to
    the terminal's width)."""
    return " ".join(text.split())


def fails_with(args: tuple[str, ...], message: str) -> None:
    """The command fails with exit code 1 (bad input) and exactly one line, `message`."""
    code, stdout, stderr = run(*args)
    assert code == 1
    assert (stdout, stderr.strip()) == ("", f"audiogan: error: {message}")


def test_presets_lists_each_shipped_preset_with_its_first_line():
    code, stdout, _ = run("presets")
    assert code == 0
    first_lines = {name: (presets_dir() / f"{name}.toml").read_text("utf-8").splitlines()[0]
                   for name in available_presets()}
    expected = [f"{name:<10} {line.lstrip('# ')}" for name, line in first_lines.items()]
    assert words(stdout) == words(" ".join(expected))
    assert {"default", "calm", "punchy"} <= set(available_presets())


def test_presets_name_prints_what_the_preset_resolves_to(tmp_path):
    import tomllib

    from audiogan.config import load_preset

    code, stdout, _ = run("presets", "calm")
    assert code == 0
    printed = tomllib.loads(stdout)
    preset = load_preset("calm")
    # every setting the preset writes, resolved (class names become ids) ...
    assert printed["mapping"] == {**printed["mapping"], **preset["mapping"]}
    assert printed["render"]["classes"] == [107, 973, 975]  # jellyfish, coral reef, lakeside
    # ... and the built-in defaults for the rest
    assert printed["render"]["fps"] == 30.0 and printed["mapping"]["y_scale"] == 1.0
    # the printed TOML is itself a preset that resolves to the same settings
    (tmp_path / "copy.toml").write_text(stdout)
    code, again, _ = run("presets", str(tmp_path / "copy.toml"))
    assert code == 0 and tomllib.loads(again) == printed


def test_test_checkpoint_writes_weights_that_render(tmp_path, song):
    folder = tmp_path / "tiny"
    code, _, stderr = run("test-checkpoint", str(folder), "--channel-width", "4",
                          "--seed", "3")
    assert code == 0
    assert words(stderr).startswith(f"wrote a random 128 px BigGAN-deep (width 4) to {folder} in")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "pytorch_model.bin"]
    code, stderr = render(song, folder, tmp_path / "out.mp4", "-q")
    assert code == 0, stderr
    frames, fps = synth.read_video(tmp_path / "out.mp4")
    assert frames.shape == (12, 128, 128, 3) and fps == 6


def test_test_checkpoint_refuses_what_cannot_be_built(tmp_path):
    fails_with(("test-checkpoint", str(tmp_path / "a"), "--resolution", "100"),
               "--resolution must be 128, 256 or 512, got 100")
    fails_with(("test-checkpoint", str(tmp_path / "b"), "--channel-width", "6"),
               "--channel-width must be a multiple of 4, got 6")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_set_reaches_any_setting_and_flags_win(song, tiny_weights, tmp_path):
    code, stderr = render(song, tiny_weights, tmp_path / "a.mp4", "--set", "fps=12",
                          "--set", "truncation=0.3")
    # --fps 6 is given too: the flag wins over --set
    assert code == 0, stderr
    assert "12 frames at 6 fps" in stderr
    code, _, stderr = run(str(song), "--weights", str(tiny_weights), "-o",
                          str(tmp_path / "b.mp4"), "--set", "fps=12")
    assert code == 0, stderr
    assert "24 frames at 12 fps" in stderr
    assert len(synth.read_video(tmp_path / "b.mp4")[0]) == 24
    fails_with((str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "c.mp4"),
                "--set", "fps"), "--set 'fps': write KEY=VALUE, e.g. --set truncation=0.4")
    assert not (tmp_path / "c.mp4").exists()


def test_device_cpu_and_a_device_that_does_not_exist(song, tiny_weights, tmp_path):
    code, stderr = render(song, tiny_weights, tmp_path / "a.mp4", "--device", "cpu")
    assert code == 0, stderr
    assert stderr.rstrip().splitlines()[-2].endswith("on cpu")
    fails_with((str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "b.mp4"),
                "--device", "tpu"), "device must be auto, cpu or cuda, got 'tpu'")
    import torch

    if not torch.cuda.is_available():
        fails_with((str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "c.mp4"),
                    "--device", "cuda"),
                   "--device cuda: no CUDA GPU is available here; use --device cpu or auto")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.mp4"]  # + its record


def test_dtype(song, tiny_weights, tmp_path):
    code, stderr = render(song, tiny_weights, tmp_path / "a.mp4", "--device", "cpu",
                          "--dtype", "float32", "-q")
    assert code == 0, stderr
    assert len(synth.read_video(tmp_path / "a.mp4")[0]) == 12
    fails_with((str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "b.mp4"),
                "--device", "cpu", "--dtype", "float16"),
               "dtype float16 is for CUDA; on the CPU use float32 or bfloat16")
    fails_with((str(song), "--weights", str(tiny_weights), "-o", str(tmp_path / "c.mp4"),
                "--dtype", "float8"),
               "dtype must be auto, float32, float16 or bfloat16, got 'float8'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.mp4"]  # + its record


def test_compile_takes_the_fixed_shape_path_and_makes_the_same_frames(
        song, tiny_weights, tmp_path, monkeypatch):
    """torch.compile itself takes ~45 s on 2 CPU cores, so here it is a recording stand-in:
    what is checked is that --compile reaches it, with fixed shapes, and that the padded
    last batch that fixed shapes need leaves the frames as they were (to float rounding:
    a batch of 5 runs other kernels than a batch of 2)."""
    import torch

    calls = []

    def fake_compile(model, **options):
        calls.append(options)
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    assert render(song, tiny_weights, tmp_path / "plain.mp4", "-q", "--batch-size", "5")[0] == 0
    assert calls == []
    code, stderr = render(song, tiny_weights, tmp_path / "compiled.mp4", "-q", "--compile",
                          "--batch-size", "5")  # 12 frames: batches of 5, 5 and 2 padded to 5
    assert code == 0, stderr
    assert len(calls) == 1 and calls[0]["dynamic"] is False
    plain, _ = synth.read_video(tmp_path / "plain.mp4")
    compiled, _ = synth.read_video(tmp_path / "compiled.mp4")
    assert len(compiled) == 12
    np.testing.assert_array_equal(compiled[:10], plain[:10])  # the two whole batches
    assert np.abs(compiled[10:].astype(int) - plain[10:].astype(int)).mean() < 0.1


def test_encoders_spreads_the_video_over_ffmpeg_processes(sample_song, tiny_weights,
                                                          tmp_path, monkeypatch):
    from audiogan import ffmpeg

    started = []
    real_popen = ffmpeg.popen

    def counting_popen(arguments, **options):
        if "rawvideo" in arguments:
            started.append(arguments)
        return real_popen(arguments, **options)

    monkeypatch.setattr(ffmpeg, "popen", counting_popen)
    videos = {}
    for encoders in ("1", "2"):
        target = tmp_path / f"{encoders}.mp4"
        started.clear()
        # 16 s at 2 fps: 32 frames, two chunks of 8 s for two encoders
        code, _, stderr = run(str(sample_song), "--weights", str(tiny_weights), "--fps", "2",
                              "-o", str(target), "--encoders", encoders, "-q")
        assert code == 0, stderr
        assert len(started) == int(encoders)
        videos[encoders] = synth.read_video(target)[0]
        assert "Audio: aac" in synth.stream_facts(target)
    assert len(videos["1"]) == len(videos["2"]) == 32
    # the same pictures, up to x264's rounding of two encodes
    assert np.abs(videos["1"].astype(int) - videos["2"].astype(int)).mean() < 1.0
    fails_with((str(sample_song), "--weights", str(tiny_weights), "-o",
                str(tmp_path / "x.mp4"), "--encoders", "-1"),
               "encoders must be in [0, 64], got -1")  # 0 is the default: chosen by device


def test_no_cache_analyses_again(song, tiny_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "cache"))
    code, stderr = render(song, tiny_weights, tmp_path / "first.mp4")
    assert code == 0, stderr
    assert "120 BPM" in stderr
    (entry,) = (tmp_path / "cache" / "analysis").glob("*.npz")
    # doctor the cached analysis: a run that uses the cache reports its tempo
    features = cache.load_features(entry.stem)
    assert features is not None
    cache.save_features(entry.stem, dataclasses.replace(features, tempo_bpm=77.0))
    code, stderr = render(song, tiny_weights, tmp_path / "cached.mp4")
    assert code == 0 and "77 BPM" in stderr
    code, stderr = render(song, tiny_weights, tmp_path / "fresh.mp4", "--no-cache")
    assert code == 0 and "120 BPM" in stderr
    # and --no-cache neither reads nor writes the cache
    assert cache.load_features(entry.stem).tempo_bpm == 77.0
    assert list((tmp_path / "cache" / "analysis").glob("*.npz")) == [entry]
