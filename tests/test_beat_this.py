"""The optional Beat This! tracker (audiogan.beatthis): a tiny random model of the real
architecture, saved as a checkpoint in the released format and loaded through the real
loader, on a click track; and the one-line failures without the package or a checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from audiogan import beatthis
from tests import synth
from tests.synth import run

TINY = {"transformer_dim": 32, "n_layers": 1, "head_dim": 16, "stem_dim": 16, "ff_mult": 2}
INSTALL_LINE = ('audiogan: error: --beat-tracker beat_this needs the beat-this package: '
                'pip install "audiogan[beats]", or use --beat-tracker audiogan')

needs_package = pytest.mark.skipif(not beatthis.installed(),
                                   reason='beat-this is not installed (pip install '
                                   '"audiogan[beats]")')


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    pytest.importorskip("beat_this.model.beat_tracker")
    return beatthis.make_random_checkpoint(tmp_path_factory.mktemp("beat") / "tiny.ckpt",
                                           seed=1, **TINY)


@pytest.fixture(scope="module")
def clicks(tmp_path_factory) -> tuple[Path, np.ndarray, float]:
    """A 6 s click track at 120 BPM (at 44.1 kHz, so the tracker resamples it)."""
    y, _ = synth.click_track(120.0, 6.0)
    path = synth.write_wav(tmp_path_factory.mktemp("song") / "clicks.wav", y)
    return path, y, len(y) / 44100


def _check_grid(beats: np.ndarray, downbeats: np.ndarray, meter: int, tempo: float,
                duration: float) -> None:
    """What any tracker's grid must be, whatever a random model hears."""
    assert len(beats) > 0  # a random model fires somewhere in 6 s (a fixed seed)
    assert np.all(np.diff(beats) > 0)
    assert beats[0] >= 0 and beats[-1] <= duration
    assert np.all(np.isin(downbeats, beats))
    if len(downbeats) >= 2:
        counts = np.diff(np.searchsorted(beats, downbeats))
        assert meter == np.bincount(counts).argmax()
    assert tempo == pytest.approx(np.median(60.0 / np.diff(beats)), rel=1e-3)


@needs_package
def test_checkpoint_loads_through_the_real_loader(tiny_checkpoint):
    import torch
    from beat_this.model.beat_tracker import BeatThis

    model = beatthis.load_beat_model(tiny_checkpoint, "cpu")
    assert isinstance(model, BeatThis) and not model.training
    saved = torch.load(tiny_checkpoint, weights_only=True)
    assert saved["hyper_parameters"]["transformer_dim"] == 32
    loaded = model.state_dict()
    assert {f"model.{k}" for k in loaded} == set(saved["state_dict"])
    assert all(torch.equal(loaded[k[len("model."):]], v) for k, v in saved["state_dict"].items())
    try:  # the package's own loader reads the same file (where its torchaudio loads)
        from beat_this.inference import load_model
    except (ImportError, OSError):
        return
    theirs = load_model(str(tiny_checkpoint), "cpu").state_dict()
    assert all(torch.equal(theirs[k], v) for k, v in loaded.items())


@needs_package
def test_beat_grid_of_a_click_track(tiny_checkpoint, clicks):
    _, y, duration = clicks
    grid = beatthis.beat_grid(y, 44100, checkpoint=tiny_checkpoint, device="cpu")
    _check_grid(grid.beats_s, grid.downbeats_s, grid.meter, grid.tempo_bpm, duration)
    # 20 ms frames of the model (50 per second)
    assert np.allclose(grid.beats_s * 50, np.round(grid.beats_s * 50), atol=1e-6)
    again = beatthis.beat_grid(y, 44100, checkpoint=tiny_checkpoint, device="cpu")
    assert np.array_equal(grid.beats_s, again.beats_s)


@needs_package
def test_own_spectrogram_and_chunks_match_the_package(tiny_checkpoint, clicks):
    """Where torchaudio loads, the fallback steps give the package's numbers."""
    try:
        from beat_this.inference import split_predict_aggregate
        from beat_this.preprocessing import LogMelSpect
    except (ImportError, OSError) as exc:
        pytest.skip(f"beat_this.inference does not import here ({type(exc).__name__})")
    import torch

    _, y, _ = clicks
    signal = torch.from_numpy(np.ascontiguousarray(y[: 22050 * 5]))
    theirs = LogMelSpect()(signal)
    ours = beatthis._log_mel(signal, "cpu")
    assert torch.allclose(ours, theirs, atol=1e-3)
    model = beatthis.load_beat_model(tiny_checkpoint, "cpu")
    spect = torch.cat([theirs] * 4)  # longer than a chunk (1500 frames)
    with torch.inference_mode():
        a = split_predict_aggregate(spect, 1500, 6, "keep_first", model)
        b = beatthis._split_predict_aggregate(spect, 1500, 6, "keep_first", model)
    assert torch.equal(a["beat"], b["beat"]) and torch.equal(a["downbeat"], b["downbeat"])


def test_grid_from_beat_and_downbeat_times():
    grid = beatthis._grid(np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]),
                          np.array([0.52, 2.0, 3.5]))
    assert np.array_equal(grid.downbeats_s, [0.5, 2.0, 3.5])
    assert grid.meter == 3 and grid.tempo_bpm == pytest.approx(120.0)
    assert beatthis._grid(np.zeros(0), np.array([1.0])).meter == 0
    assert beatthis._grid(np.array([1.0, 1.5]), np.zeros(0)).meter == 4


@needs_package
def test_cli_analyze_with_beat_this(tiny_checkpoint, clicks):
    song, _, duration = clicks
    code, stdout, stderr = run("analyze", str(song), "--beat-tracker", "beat_this",
                               "--beat-model", str(tiny_checkpoint), "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["beat_tracker"] == "beat_this"
    _check_grid(np.array(report["beats_s"]), np.array(report["downbeats_s"]), report["meter"],
                report["tempo_bpm"], duration)
    # its half-speed beats are every other beat, as for audiogan's own grid
    index = np.searchsorted(report["beats_s"], report["half_beats_s"])
    assert len(index) >= 3 and set(np.diff(index)) == {2}
    # the user's grid still wins over the tracker's
    code, stdout, stderr = run("analyze", str(song), "--beat-model", str(tiny_checkpoint),
                               "--bpm", "100", "--beat-offset", "0.3", "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["beat_tracker"] == "beat_this" and report["tempo_bpm"] == 100
    assert np.allclose(np.diff(report["beats_s"]), 0.6, atol=1e-3)
    assert report["beats_s"][0] == pytest.approx(0.3)


@needs_package
def test_auto_uses_beat_this_only_with_a_checkpoint_here(tiny_checkpoint, clicks, tmp_path,
                                                         monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))
    song = clicks[0]
    assert beatthis.resolve_tracker("auto") == ("audiogan", None)  # never downloads
    code, stdout, stderr = run("analyze", str(song), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["beat_tracker"] == "audiogan"
    cached = tmp_path / "beat_this" / beatthis.FILE_NAME
    cached.parent.mkdir()
    cached.write_bytes(tiny_checkpoint.read_bytes())
    assert beatthis.resolve_tracker("auto") == ("beat_this", cached)
    # the same song and settings, another tracker: not the cached analysis
    code, stdout, stderr = run("analyze", str(song), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["beat_tracker"] == "beat_this"
    code, stdout, _ = run("analyze", str(song), "--beat-tracker", "audiogan", "--json")
    assert json.loads(stdout)["beat_tracker"] == "audiogan"


@needs_package
def test_render_says_which_tracker(tiny_checkpoint, tiny_weights, song_copy, tmp_path):
    target = tmp_path / "clip.mp4"
    code, _, stderr = run(str(song_copy), "--weights", str(tiny_weights), "-o", str(target),
                          "--beat-model", str(tiny_checkpoint), "--duration", "2", "--fps",
                          "6")
    assert code == 0, stderr
    assert target.is_file()
    assert "beats, beat_this tracker)" in " ".join(stderr.split())


def test_missing_package_is_one_line(clicks, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "beat_this", None)  # as if not installed
    assert not beatthis.installed()
    song = clicks[0]
    code, stdout, stderr = run("analyze", str(song), "--beat-tracker", "beat_this")
    assert (code, stdout, stderr.strip()) == (1, "", INSTALL_LINE)
    target = tmp_path / "clip.mp4"
    code, _, stderr = run(str(song), "--beat-tracker", "beat_this", "-o", str(target))
    assert (code, stderr.strip()) == (1, INSTALL_LINE)
    assert not target.exists()
    # auto does without it
    code, stdout, stderr = run("analyze", str(song), "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["beat_tracker"] == "audiogan"


def test_missing_checkpoint_is_one_line(clicks, tmp_path):
    song, missing = clicks[0], tmp_path / "nope.ckpt"
    code, _, stderr = run("analyze", str(song), "--beat-tracker", "beat_this", "--beat-model",
                          str(missing))
    assert (code, stderr.strip()) == (
        1, f"audiogan: error: --beat-model {missing}: no such file; give the path of a Beat "
        "This! checkpoint (.ckpt), or leave --beat-model out to use the pretrained one")
    code, _, stderr = run("analyze", str(song), "--beat-tracker", "audiogan", "--beat-model",
                          str(missing))
    assert (code, stderr.strip()) == (
        1, "audiogan: error: --beat-model is a Beat This! checkpoint: use it with "
        "--beat-tracker beat_this (or auto), or leave it out")


@needs_package
def test_unreadable_checkpoint_is_one_line(clicks, tmp_path):
    import torch

    song = clicks[0]
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    code, _, stderr = run("analyze", str(song), "--beat-model", str(junk))
    assert code == 1
    line = stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(f"audiogan: error: --beat-model {junk} is not a readable Beat This! "
                           "checkpoint (")
    assert line.endswith("); give a .ckpt from the beat_this releases, or leave --beat-model "
                         "out to use the pretrained one")
    other = tmp_path / "other.ckpt"
    torch.save({"weights": torch.zeros(2)}, other)
    code, _, stderr = run("analyze", str(song), "--beat-model", str(other))
    assert (code, stderr.strip()) == (
        1, f"audiogan: error: --beat-model {other} is not a Beat This! checkpoint (it has no "
        "state_dict and hyper_parameters); give a .ckpt from the beat_this releases, or leave "
        "--beat-model out to use the pretrained one")


@needs_package
def test_checkpoint_with_code_in_it_is_refused(clicks, tmp_path):
    """weights_only: a pickle that would run code is not unpickled."""
    import torch

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "hook": Path("x")}, evil)
    code, _, stderr = run("analyze", str(clicks[0]), "--beat-model", str(evil))
    assert code == 1
    assert stderr.strip().startswith(f"audiogan: error: --beat-model {evil} is not a readable "
                                     "Beat This! checkpoint (UnpicklingError: ")
