"""`audiogan live` on a virtual clock (--simulate): in sync, dropping frames, recorded."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from audiogan.config import resolve_config
from audiogan.live import play
from audiogan.model import load_biggan
from audiogan.testing import Part, render_song
from tests import synth
from tests.synth import run

AVSYNC = Path("/work/shared/tools/avsync.py")


@pytest.fixture(scope="module")
def band(tmp_path_factory):
    song = render_song("live", [Part("verse", 6), Part("chorus", 6, progression="drop")],
                       bpm=120, seed=3)
    path = synth.write_wav(tmp_path_factory.mktemp("band") / "band.wav", song.y, song.sr)
    return path, song


@pytest.fixture(scope="module")
def generator(tiny_weights):
    return load_biggan(None, tiny_weights)


def _config(tiny_weights, **options):
    return resolve_config(classes=[398, 402], weights=tiny_weights, device="cpu", **options)


def test_song_known_ahead_every_frame_shown_at_its_time(band, tiny_weights, generator,
                                                        tmp_path):
    path, _ = band
    target = tmp_path / "live.mp4"
    stats = play(path, config=_config(tiny_weights, duration=4.0), simulate=True,
                 frame_cost_ms=0.0, record=target, generator=generator)
    assert stats.frames_shown == 120 and stats.frames_dropped == 0
    assert [index for index, _ in stats.shown] == list(range(120))
    assert stats.max_drift_s < 1e-9
    frames, fps = synth.read_video(target)
    assert len(frames) == 120 and fps == 30
    assert "Audio: aac" in synth.stream_facts(target)


def test_a_slow_generator_drops_frames_and_never_drifts(band, tiny_weights, generator,
                                                        tmp_path):
    path, _ = band
    target = tmp_path / "slow.mp4"
    # every frame costs 100 ms of audio time at 30 fps: one in four can be shown
    stats = play(path, config=_config(tiny_weights, duration=4.0), simulate=True,
                 frame_cost_ms=100.0, record=target, generator=generator)
    assert stats.frames_dropped > 2 * stats.frames_shown
    assert stats.frames_shown + stats.frames_dropped == 120
    assert stats.max_drift_s < 1e-9  # every frame shown exactly at its own time
    gaps = np.diff([index for index, _ in stats.shown])
    assert set(gaps.tolist()) <= {3, 4}
    frames, _ = synth.read_video(target)
    assert len(frames) == 120  # the held picture fills the dropped frames' times


class _ColdStart(torch.nn.Module):
    """The model, its first frame slow (as a GPU's first is: weights moved, kernels chosen)."""

    def __init__(self, model: torch.nn.Module, first_s: float):
        super().__init__()
        self.model, self.config, self.first_s = model, model.config, first_s

    def forward(self, z, y, truncation):
        if self.first_s:
            time.sleep(self.first_s)
            self.first_s = 0.0
        return self.model(z, y, truncation)


def test_the_first_frame_is_made_before_the_clock_starts(band, tiny_weights, generator):
    path, _ = band
    # at speed 0.05 a frame costs a twentieth of its time: the cold first one 100 ms, three
    # frames' worth, the others far under a frame's 33 ms even on a busy machine
    stats = play(path, config=_config(tiny_weights, duration=2.0), simulate=True, speed=0.05,
                 generator=_ColdStart(generator, first_s=2.0))
    # frame 0 is due as the clock starts, so it is always late: the next one is shown
    assert stats.frames_dropped == 1 and stats.shown[0][0] == 1


def _avsync(video: Path, song: Path) -> dict:
    spec = importlib.util.spec_from_file_location("avsync", AVSYNC)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["avsync"] = module
    spec.loader.exec_module(module)
    import contextlib
    import io

    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["avsync.py", str(video), str(song)]
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            module.main()
    finally:
        sys.argv = argv
    return json.loads(out.getvalue())


@pytest.mark.skipif(not AVSYNC.is_file(), reason="the shared avsync tool is not here")
def test_causal_live_recording_pulses_on_the_beats(band, tiny_weights, generator, tmp_path):
    path, song = band
    target = tmp_path / "causal.mp4"
    stats = play(path, config=_config(tiny_weights), simulate=True, causal=True,
                 frame_cost_ms=33.0, record=target, generator=generator)
    # pulses predicted onto the beats' own frames (within a frame's rounding)
    last = song.beats_s[-1] + 0.1  # (the song's 1 s tail rings on with no beat)
    pulses = np.array([t for t in stats.pulse_s if 4.0 <= t <= last])
    error = pulses - song.beats_s[np.argmin(np.abs(song.beats_s[None] - pulses[:, None]),
                                            axis=1)]
    assert len(pulses) > 0.9 * np.sum(song.beats_s >= 4.0)
    assert np.mean(np.abs(error)) < 0.025
    assert _avsync(target, path)["beat_lift"] > 1.5


def test_cli_live_simulate_prints_what_it_did(band, tiny_weights, tmp_path):
    path, _ = band
    code, _, stderr = run("live", str(path), "--simulate", "--frame-cost", "100",
                          "--duration", "2", "--weights", str(tiny_weights),
                          "--classes", "398", "402")
    assert code == 0, stderr
    assert "live: simulated clock, 30 fps, 128x128, song known ahead" in stderr
    assert "live: 19 frames shown, 41 dropped, 9.5 fps achieved of 30, drift 0.0 ms" in stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--frame-cost", "10"], "--frame-cost sets what a frame costs on the virtual clock: it "
                             "needs --simulate"),
    (["--simulate", "--record", "out.avi"], "--record out.avi: the recording is an mp4; "
                                            "name it *.mp4"),
    (["--simulate", "--speed", "0"], "--speed 0 must be within 0.05..100"),
])
def test_cli_live_bad_options_one_line(band, tiny_weights, args, message):
    path, _ = band
    code, _, stderr = run("live", str(path), "--weights", str(tiny_weights), *args)
    assert code == 1
    assert stderr.strip() == f"audiogan: error: {message}"


def test_cli_live_without_a_sound_card_says_what_to_install(band, tiny_weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as if not installed
    path, _ = band
    code, _, stderr = run("live", str(path), "--weights", str(tiny_weights))
    assert code == 3
    assert stderr.strip() == (
        'audiogan: error: audiogan live needs sounddevice (and the PortAudio library): pip '
        'install "audiogan[live]", or run with --simulate to play without a sound card')


def test_cli_live_needs_a_song_or_an_input():
    code, _, stderr = run("live", "--simulate")
    assert code == 1
    assert stderr.strip() == "audiogan: error: give a SONG or --input DEVICE (one of them)"
