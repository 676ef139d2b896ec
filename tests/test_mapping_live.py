"""One mapping, two clocks: the offline render and the live path share the per-frame code."""

from __future__ import annotations

import numpy as np
import pytest

from audiogan.analysis import analyze
from audiogan.config import MappingConfig
from audiogan.mapping import (
    FrameInput,
    FrameMapper,
    LiveMapper,
    Motion,
    beat_pulses,
    calm_factor,
    drift_speeds,
    map_features,
    one_pole,
)
from tests import synth

CONFIG = MappingConfig()


@pytest.fixture(scope="module")
def click_features():
    y, _ = synth.click_track(120.0, 8.0, sr=22050)
    return analyze(y, sr=22050, fps=30)


def test_one_pole_gives_the_same_values_frame_by_frame_as_at_once():
    values = np.random.default_rng(0).standard_normal((50, 3))
    whole, _ = one_pole(values, 4.0)
    state = None
    steps = []
    for row in values:
        out, state = one_pole(row[None], 4.0, state)
        steps.append(out[0])
    np.testing.assert_allclose(np.array(steps), whole, atol=1e-12)


def test_the_offline_trajectory_is_the_per_frame_mapper_stepped_frame_by_frame(
        click_features):
    """map_features' z is exactly what FrameMapper gives one frame at a time from the same
    controls: the offline render and the live path run the same per-frame code."""
    trajectory = map_features(click_features, [398, 402], CONFIG, seed=5)
    motion = Motion.draw(np.random.default_rng(5), CONFIG)
    mapper = FrameMapper(motion, CONFIG)
    speed = drift_speeds(click_features, CONFIG)
    envelope, index = beat_pulses(click_features, CONFIG)
    calm = calm_factor(click_features, CONFIG)
    starts = np.flatnonzero(np.diff(np.r_[-2, index]) != 0)
    envelope = envelope * calm[np.repeat(starts, np.diff(np.r_[starts, len(index)]))]
    z = np.concatenate([mapper(speed[i:i + 1], envelope[i:i + 1], index[i:i + 1])
                        for i in range(len(speed))])
    np.testing.assert_allclose(z.astype(np.float32), trajectory.z, atol=1e-6)


def _live_frames(mapper: LiveMapper, n: int, *, beat_every: int = 15, loud: bool = True,
                 first: int = 0):
    zs = []
    for i in range(first, first + n):
        beat = loud and i % beat_every == 0
        chroma = np.eye(12)[(i // 60) % 12] if loud else np.zeros(12)
        frame = FrameInput(onset=1.0 if beat else 0.1, loudness_db=-12.0 if loud else -100.0,
                           chroma=chroma, beat=beat, beat_interval=beat_every)
        zs.append(mapper.step(frame))
    return np.array([z for z, _ in zs]), np.array([w for _, w in zs])


def test_live_pulses_peak_on_the_beat_frames_and_silence_calms():
    mapper = LiveMapper(2, CONFIG, fps=30.0, seed=1)
    z, weights = _live_frames(mapper, 300)
    assert z.shape == (300, 128) and weights.shape == (300, 2)
    np.testing.assert_allclose(weights.sum(axis=1), CONFIG.y_scale, rtol=1e-5)
    distance = np.linalg.norm(z - mapper.motion.base * CONFIG.truncation, axis=1)
    # after the first beats the picture is furthest out on each beat frame
    for beat in range(60, 285, 15):
        assert distance[beat] == distance[beat - 2:beat + 3].max(), beat
    step = np.linalg.norm(np.diff(z, axis=0), axis=1)
    loud_motion = step[200:299].mean()
    quiet, _ = _live_frames(mapper, 90, loud=False, first=300)
    quiet_motion = np.linalg.norm(np.diff(quiet[30:], axis=0), axis=1).mean()
    assert quiet_motion < 0.5 * loud_motion


def test_live_mapping_starts_from_the_renders_geometry_for_the_same_seed(click_features):
    trajectory = map_features(click_features, [398], CONFIG, seed=9)
    live = LiveMapper(1, CONFIG, fps=30.0, seed=9)
    z, weights = live.step(FrameInput(onset=0.0, loudness_db=-100.0, chroma=np.zeros(12)))
    # frame 0 of both: the base point plus the same drift start, no pulse yet
    np.testing.assert_allclose(z, trajectory.z[0], atol=1e-6)
    assert weights.tolist() == [CONFIG.y_scale]
