from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from audiogan.analysis import analyze
from audiogan.config import MappingConfig
from audiogan.mapping import beat_pulses, class_weights, drift_phase, map_features
from audiogan.types import Features
from tests import synth

CONFIG = MappingConfig()


@pytest.fixture(scope="module")
def click_features() -> Features:
    y, _ = synth.click_track(120.0, 8.0, sr=22050)
    return analyze(y, sr=22050, fps=30)


def _features(n: int = 300, fps: float = 30.0, beats_s=(), onset=None, loudness=None,
              chroma=None) -> Features:
    return Features(
        fps=fps, duration_s=n / fps, sample_rate=22050, tempo_bpm=120.0,
        beats_s=np.asarray(beats_s, dtype=float),
        onset=np.zeros(n, np.float32) if onset is None else np.asarray(onset, np.float32),
        loudness_db=np.full(n, -20.0, np.float32) if loudness is None else loudness,
        chroma=np.ones((n, 12), np.float32) if chroma is None else chroma,
        peak_dbfs=-1.0,
    )


def test_shapes_and_classes(click_features):
    trajectory = map_features(click_features, [398, 402], CONFIG, seed=1)
    assert trajectory.z.shape == (240, 128)
    assert trajectory.z.dtype == np.float32
    y = trajectory.class_vectors()
    assert y.shape == (240, 1000)
    assert set(np.flatnonzero(y.sum(axis=0))) == {398, 402}
    np.testing.assert_allclose(y.sum(axis=1), CONFIG.y_scale, rtol=1e-5)
    assert np.all(np.abs(trajectory.z) <= 2.0 * CONFIG.truncation + 1e-6)


def test_same_seed_same_trajectory(click_features):
    a = map_features(click_features, [1, 2], CONFIG, seed=7)
    b = map_features(click_features, [1, 2], CONFIG, seed=7)
    c = map_features(click_features, [1, 2], CONFIG, seed=8)
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.class_weights, b.class_weights)
    assert np.abs(a.z - c.z).mean() > 0.1


def test_z_jumps_on_the_beat_frame_itself(click_features):
    trajectory = map_features(click_features, [1], CONFIG, seed=0)
    step = np.r_[0.0, np.linalg.norm(np.diff(trajectory.z, axis=0), axis=1)]
    beat_frames = np.round(np.arange(0.5, 7.8, 0.5) * 30).astype(int)
    for frame in beat_frames:
        # the biggest step of the beat's neighbourhood is onto the beat frame, not after it
        window = step[frame - 3:frame + 4]
        assert np.argmax(window) == 3, (frame, window.round(3))
    off_beat = np.setdiff1d(np.arange(1, 240), np.r_[beat_frames, beat_frames + 1])
    assert step[beat_frames].mean() > 4 * step[off_beat].mean()


def test_pulse_decays_before_the_next_beat_and_follows_onset_strength():
    beats = np.array([1.0, 1.5, 2.0, 2.5])
    onset = np.zeros(120)
    onset[[30, 45]] = 1.0   # two strong beats
    onset[[60, 75]] = 0.2   # two soft ones
    envelope, beat_index = beat_pulses(_features(120, beats_s=beats, onset=onset), CONFIG)
    assert envelope[:30].max() == 0 and beat_index[29] == -1
    assert envelope[30] == pytest.approx(1.0)
    assert envelope[60] == pytest.approx(CONFIG.pulse_floor + (1 - CONFIG.pulse_floor) * 0.2)
    for start in (30, 45, 60):
        segment = envelope[start:start + 15]
        assert np.all(np.diff(segment) <= 1e-12)  # falls all the way
        assert segment[-1] == 0.0  # and is gone before the next beat
    np.testing.assert_array_equal(beat_index[30:45], 0)


def test_drift_speed_follows_loudness():
    loud_then_quiet = np.r_[np.full(150, -10.0), np.full(150, -40.0)].astype(np.float32)
    phase = drift_phase(_features(loudness=loud_then_quiet), CONFIG)
    loud_speed = np.diff(phase[20:130]).mean()
    quiet_speed = np.diff(phase[170:280]).mean()
    assert loud_speed > 3 * quiet_speed > 0
    steady = drift_phase(_features(), dataclasses.replace(CONFIG, drift_loudness=0.0))
    # drift_speed cycles per minute: 300 frames at 30 fps are 10 s
    assert steady[-1] == pytest.approx(CONFIG.drift_speed / 6 * 299 / 300, rel=1e-6)


def test_classes_follow_the_harmony():
    # first half: C major triad; second half: F# major (the far side of the circle of fifths)
    chroma = np.zeros((300, 12), np.float32)
    chroma[:150, [0, 4, 7]] = 1.0
    chroma[150:, [6, 10, 1]] = 1.0
    weights = class_weights(_features(chroma=chroma), 2, CONFIG)
    assert weights.shape == (300, 2)
    assert weights[:120, 0].min() > 0.7
    assert weights[180:, 1].min() > 0.7
    assert np.all(np.abs(np.diff(weights[:, 0])) < 0.2)  # a morph, not a cut


def test_single_class_is_constant(click_features):
    trajectory = map_features(click_features, [309], CONFIG)
    np.testing.assert_allclose(trajectory.class_weights, CONFIG.y_scale)


def test_silence_drifts_calmly_without_pulses():
    features = _features(loudness=np.full(300, -100.0, np.float32),
                         chroma=np.zeros((300, 12), np.float32))
    trajectory = map_features(features, [1, 2], CONFIG)
    step = np.linalg.norm(np.diff(trajectory.z, axis=0), axis=1)
    assert np.isfinite(trajectory.z).all() and np.isfinite(trajectory.class_weights).all()
    assert step.max() < 0.05


def test_truncation_scales_z(click_features):
    low = map_features(click_features, [1], dataclasses.replace(CONFIG, truncation=0.2))
    high = map_features(click_features, [1], dataclasses.replace(CONFIG, truncation=0.8))
    np.testing.assert_allclose(high.z, 4 * low.z, rtol=1e-5, atol=1e-6)
    assert low.truncation == 0.2
