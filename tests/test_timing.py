"""The user's own timing: --bpm/--beat-offset, beats files and cue files, good and bad."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from audiogan.beats import tempo_at
from audiogan.config import MappingConfig
from audiogan.errors import ConfigError
from audiogan.mapping import map_features
from audiogan.timing import apply_grid, read_beats, read_cues, resolve_cues, shift_beats, user_grid
from audiogan.types import Cue, Features


def _features(n: int = 300, fps: float = 30.0) -> Features:
    beats = np.arange(0.25, n / fps, 0.5)
    chroma = np.zeros((n, 12), np.float32)
    chroma[:, [0, 4, 7]] = 1.0
    return Features(fps=fps, duration_s=n / fps, sample_rate=22050, tempo_bpm=120.0,
                    beats_s=beats, onset=np.zeros(n, np.float32),
                    loudness_db=np.full(n, -20.0, np.float32), chroma=chroma, peak_dbfs=-1.0,
                    downbeats_s=beats[::4], meter=4)


def test_one_time_a_line(tmp_path):
    path = tmp_path / "beats.txt"
    path.write_text("# from my DAW\n0.5\n1.0\n\n1.5\n2.0\n")
    grid = read_beats(path)
    np.testing.assert_allclose(grid.beats_s, [0.5, 1.0, 1.5, 2.0])
    assert grid.tempo_bpm == pytest.approx(120.0)
    assert len(grid.downbeats_s) == 0


@pytest.mark.parametrize("text", [
    "time,downbeat\n0.5,1\n1.0,0\n1.5,0\n2.0,1\n2.5,0\n3.0,0\n3.5,1\n",
    "Time;Beat\n0.5;1\n1.0;2\n1.5;3\n2.0;1\n2.5;2\n3.0;3\n3.5;1\n",
    "0.5\ttrue\n1.0\tfalse\n1.5\tfalse\n2.0\ttrue\n2.5\tfalse\n3.0\tfalse\n3.5\ttrue\n",
])
def test_csv_with_a_downbeat_column(tmp_path, text):
    path = tmp_path / "beats.csv"
    path.write_text(text)
    grid = read_beats(path)
    np.testing.assert_allclose(grid.beats_s, np.arange(0.5, 3.6, 0.5))
    np.testing.assert_allclose(grid.downbeats_s, [0.5, 2.0, 3.5])
    assert grid.meter == 3


@pytest.mark.parametrize(("text", "message"), [
    ("0.5\n1.0\nabc\n", "beats.txt line 3: 'abc' is not a time in seconds"),
    ("0.5\n-1\n", "beats.txt line 2: '-1' is not a time in seconds"),
    ("0.5\n1.0\n0.9\n", "beats.txt line 3: '0.9' is not after the beat before it (1 s)"),
    ("time,downbeat\n0.5,1\n1.0,maybe\n", "beats.txt line 3: downbeat 'maybe' must be 1 or 0"),
    ("bar,beat\n1,1\n", "beats.txt line 1: no time column in the header"),
    ("# nothing\n\n", "holds no beat times"),
])
def test_bad_beats_files_name_file_line_and_value(tmp_path, text, message):
    path = tmp_path / "beats.txt"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as caught:
        read_beats(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bpm_and_offset_make_a_strict_grid():
    features = _features()
    grid = user_grid(features, bpm=100.0, beat_offset=0.4)
    np.testing.assert_allclose(grid.beats_s, 0.4 + 0.6 * np.arange(16))
    np.testing.assert_allclose(grid.downbeats_s, grid.beats_s[::4])
    # bpm alone: the phase comes from the analysed beats (at 0.25 + k * 0.5)
    grid = user_grid(features, bpm=120.0)
    np.testing.assert_allclose(grid.beats_s[:3], [0.25, 0.75, 1.25], atol=1e-9)
    np.testing.assert_allclose(grid.downbeats_s[0], 0.25, atol=1e-9)
    # offset alone: the analysed tempo from there; an excerpt counts from the song's start
    grid = user_grid(features, beat_offset=10.1, start_s=10.0)
    np.testing.assert_allclose(grid.beats_s[:3], [0.1, 0.6, 1.1])
    assert user_grid(features) is None


def test_a_beats_file_replaces_the_analysed_grid(tmp_path):
    path = tmp_path / "beats.csv"
    path.write_text("time,downbeat\n" + "".join(f"{0.1 + 0.4 * k:.2f},{int(k % 3 == 0)}\n"
                                                 for k in range(40)))
    features = apply_grid(_features(), user_grid(_features(), beats_file=path, start_s=2.0))
    np.testing.assert_allclose(features.beats_s[0], 0.1 + 0.4 * 5 - 2.0, atol=1e-9)
    assert features.meter == 3
    assert features.tempo_bpm == pytest.approx(150.0)
    np.testing.assert_allclose(features.tempo_curve, 150.0, rtol=1e-6)
    assert features.beats_s[-1] < features.duration_s


def test_a_shift_moves_each_beat_towards_the_next_with_its_bars():
    # a grid that speeds up, 0.6 s beats to 0.4 s ones
    beats = 0.3 + np.cumsum(np.linspace(0.6, 0.4, 16))
    features = dataclasses.replace(_features(), beats_s=beats, downbeats_s=beats[::4],
                                   half_beats_s=beats[::2])
    moved = shift_beats(features, 0.5)
    halfway = (beats[:-1] + beats[1:]) / 2
    # halfway to the next beat, and the ends keep a beat: half a beat before the first
    # (there is room) and after the last (before the song ends)
    np.testing.assert_allclose(moved.beats_s, np.r_[beats[0] - (beats[1] - beats[0]) / 2,
                                                    halfway, beats[-1] + 0.2])
    np.testing.assert_allclose(moved.downbeats_s, halfway[::4])
    np.testing.assert_allclose(moved.half_beats_s, halfway[::2])
    # the tempo and its drift as found
    frames = np.arange(0, 250) / 30.0
    np.testing.assert_allclose(moved.tempo_curve[30:250], tempo_at(beats, frames)[30:250],
                               rtol=0.03)
    # earlier by a tenth of the beat before; nothing before the song's start
    early = shift_beats(dataclasses.replace(_features(), half_beats_s=np.zeros(0)), -0.1)
    np.testing.assert_allclose(early.beats_s, np.arange(0.2, 10.0, 0.5))
    np.testing.assert_allclose(early.downbeats_s, early.beats_s[::4])
    assert shift_beats(features, 0.0) is features


CUES = """\
# a cue file
[[cue]]
bar = 3
classes = ["goldfish", 402]
intensity = 1.5

[[cue]]
time = 8.0
truncation = 0.9
"""


def test_cues_by_bar_and_time(tmp_path):
    path = tmp_path / "cues.toml"
    path.write_text(CUES)
    cues = read_cues(path)
    assert cues[0] == Cue(bar=3, classes=(1, 402), intensity=1.5, line=2, source=str(path))
    assert cues[1].time_s == 8.0 and cues[1].truncation == 0.9
    resolved = resolve_cues(cues, _features())
    assert [cue.time_s for cue in resolved] == [pytest.approx(4.25), 8.0]
    # from an excerpt starting at 5 s, the time cue lands 5 s earlier
    assert resolve_cues(cues[1:], _features(), start_s=5.0)[0].time_s == 3.0


@pytest.mark.parametrize(("body", "line", "message"), [
    ("[[cue]]\ntime = 1.0\nintensity = 9\n", 3, "intensity 9 must be a number in [0, 4]"),
    ("[[cue]]\ntime = 1.0\n\n[[cue]]\nbar = 0\n", 5, "bar 0 must be a whole number >= 1"),
    ("[[cue]]\ntime = -2\n", 2, "time -2 must be a number of seconds >= 0"),
    ("[[cue]]\ntime = 1\ntruncation = 0\n", 3, "truncation 0 must be a number in (0, 1]"),
    ("[[cue]]\ntime = 1\nclasses = ['no such thing']\n", 3, "no such thing"),
    ("[[cue]]\ntime = 1\ncolour = 'red'\n", 3, "unknown cue key 'colour'"),
    ("[[cue]]\nintensity = 1\n", 1, "a cue needs either time = SECONDS or bar = NUMBER"),
])
def test_bad_cues_name_file_line_and_value(tmp_path, body, line, message):
    path = tmp_path / "cues.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        read_cues(path)
    assert f"cues.toml line {line}: " in str(caught.value)
    assert message in str(caught.value)


def test_cues_past_the_end(tmp_path):
    path = tmp_path / "cues.toml"
    path.write_text("[[cue]]\nbar = 40\n")
    with pytest.raises(ConfigError, match=r"cues.toml line 1: bar 40 is past the last bar"):
        resolve_cues(read_cues(path), _features())
    path.write_text("[[cue]]\n\ntime = 99\n")
    with pytest.raises(ConfigError, match=r"line 1: time 99 is past the end"):
        resolve_cues(read_cues(path), _features())


def test_cues_set_classes_intensity_and_truncation_from_their_frame():
    features = _features()
    config = MappingConfig(calm=0.0, section_morph_s=0.0)
    cues = [Cue(time_s=4.0, classes=(7, 8), intensity=2.0), Cue(time_s=8.0, truncation=0.9)]
    trajectory = map_features(features, [1, 2], config, cues=cues)
    assert list(trajectory.class_ids) == [1, 2, 7, 8]
    weights = trajectory.class_weights
    assert weights[:120, 2:].max() == 0 and weights[120:, :2].max() == 0
    np.testing.assert_allclose(weights.sum(axis=1), config.y_scale, rtol=1e-5)
    plain = map_features(features, [1, 2], config)
    # same z until the cue; twice the motion after it
    np.testing.assert_allclose(trajectory.z[:120], plain.z[:120], atol=1e-6)
    base = map_features(features, [1, 2], dataclasses.replace(config, pulse_strength=0.0,
                                                              drift_amount=0.0)).z[0]
    ratio = (np.abs(trajectory.z[130:230] - base).mean()
             / np.abs(plain.z[130:230] - base).mean())
    assert ratio == pytest.approx(2.0, rel=0.15)
    assert trajectory.truncation_run(0) == (pytest.approx(0.5), 240)
    assert trajectory.truncation_run(250) == (pytest.approx(0.9), 300)
    assert np.abs(trajectory.z[240:]).max() <= 2.0 * 0.9 + 1e-6
