from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from audiogan.analysis import analyze
from audiogan.config import MappingConfig
from audiogan.mapping import (
    SectionChange,
    beat_pulses,
    calm_factor,
    class_weights,
    drift_phase,
    map_features,
    section_changes,
)
from audiogan.types import Features
from tests import synth

CONFIG = MappingConfig()


@pytest.fixture(scope="module")
def click_features() -> Features:
    y, _ = synth.click_track(120.0, 8.0, sr=22050)
    return analyze(y, sr=22050, fps=30)


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
    envelope, beat_index = beat_pulses(synth.features(120, beats_s=beats, onset=onset), CONFIG)
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
    phase = drift_phase(synth.features(loudness=loud_then_quiet), CONFIG)
    loud_speed = np.diff(phase[20:130]).mean()
    quiet_speed = np.diff(phase[170:280]).mean()
    assert loud_speed > 3 * quiet_speed > 0
    steady = drift_phase(synth.features(), dataclasses.replace(CONFIG, drift_loudness=0.0))
    # drift_speed cycles per minute: 300 frames at 30 fps are 10 s
    assert steady[-1] == pytest.approx(CONFIG.drift_speed / 6 * 299 / 300, rel=1e-6)


def test_classes_follow_the_harmony():
    # first half: C major triad; second half: F# major (the far side of the circle of fifths)
    chroma = np.zeros((300, 12), np.float32)
    chroma[:150, [0, 4, 7]] = 1.0
    chroma[150:, [6, 10, 1]] = 1.0
    weights = class_weights(synth.features(chroma=chroma), 2, CONFIG)
    assert weights.shape == (300, 2)
    assert weights[:120, 0].min() > 0.7
    assert weights[180:, 1].min() > 0.7
    assert np.all(np.abs(np.diff(weights[:, 0])) < 0.2)  # a morph, not a cut


def test_single_class_is_constant(click_features):
    trajectory = map_features(click_features, [309], CONFIG)
    np.testing.assert_allclose(trajectory.class_weights, CONFIG.y_scale)


def test_silence_drifts_calmly_without_pulses():
    features = synth.features(loudness=np.full(300, -100.0, np.float32),
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


def _structured(n=360, fps=30.0, boundary_s=6.3, labels=("A", "B"), loud_after=-20.0,
                onset_after=0.3) -> Features:
    """Beats every 15 frames, bars every 60 (from frame 0), two sections; C major chroma."""
    beats = np.arange(0, n, 15) / fps
    chroma = np.zeros((n, 12), np.float32)
    chroma[:, [0, 4, 7]] = 1.0
    loudness = np.full(n, -20.0, np.float32)
    onset = np.full(n, 0.3, np.float32)
    cut = int(round(boundary_s * fps))
    loudness[cut // 60 * 60:] = loud_after
    onset[cut // 60 * 60:] = onset_after
    return dataclasses.replace(
        synth.features(n, fps, beats_s=beats, onset=onset, loudness=loudness, chroma=chroma),
        downbeats_s=beats[::4], meter=4,
        sections_s=np.array([[0.0, boundary_s], [boundary_s, n / fps]]),
        section_labels=np.array(labels))


def test_a_section_change_moves_the_class_mix_on_its_bar_line():
    features = _structured()  # boundary at 6.3 s: the nearest bar line is frame 180 (6.0 s)
    changes = section_changes(features, CONFIG)
    assert changes == [SectionChange(frame=180, label=1, drop=False)]
    config = dataclasses.replace(CONFIG, section_shift=0.6, section_morph_s=1.0)
    plain = class_weights(features, 2, dataclasses.replace(CONFIG, section_shift=0.0))
    moved = class_weights(features, 2, config)
    np.testing.assert_allclose(moved[:180], plain[:180], atol=1e-6)  # nothing before it
    assert moved[180, 0] < plain[180, 0] - 1e-3  # it starts on the bar frame itself
    # a second after the bar line the mix is 40 % the old one and 60 % the classes swapped
    expected = 0.4 * plain[215] + 0.6 * plain[215, ::-1]
    np.testing.assert_allclose(moved[215], expected, atol=1e-5)
    assert moved[100, 0] > 0.7 and moved[300, 0] < 0.5


def test_a_drop_changes_at_once_and_moves_z_further():
    quiet_to_loud = _structured(loud_after=-5.0, onset_after=1.0)
    same_level = _structured()
    assert section_changes(quiet_to_loud, CONFIG)[0].drop
    assert not section_changes(same_level, CONFIG)[0].drop
    weights = class_weights(quiet_to_loud, 2, CONFIG)
    plain = class_weights(quiet_to_loud, 2, dataclasses.replace(CONFIG, section_shift=0.0))
    np.testing.assert_allclose(weights[180], plain[180, ::-1], atol=1e-5)  # complete at once
    no_pulses = dataclasses.replace(CONFIG, pulse_strength=0.0, drift_amount=0.0)
    drop_z = map_features(quiet_to_loud, [1, 2], no_pulses).z
    step = np.linalg.norm(np.diff(drop_z, axis=0), axis=1)
    assert np.argmax(step) == 179  # the leap lands on frame 180
    assert step[179] > 1.0 and np.delete(step, 179).max() < 1e-6
    calm_z = map_features(same_level, [1, 2], no_pulses).z
    assert np.linalg.norm(np.diff(calm_z, axis=0), axis=1).max() < 1e-6


def test_downbeats_get_a_stronger_pulse():
    features = _structured()
    config = dataclasses.replace(CONFIG, downbeat_accent=0.5, calm=0.0)
    envelope, _ = beat_pulses(features, config)
    plain, _ = beat_pulses(features, dataclasses.replace(config, downbeat_accent=0.0))
    assert envelope[60] == pytest.approx(1.5 * plain[60])
    assert envelope[75] == pytest.approx(plain[75])


def _bars(bpm: float, meter: int, n: int = 360, fps: float = 30.0) -> Features:
    """A beat every 60 / bpm s from frame 0, a bar line every `meter` beats, even onsets,
    the half-speed beats on the even beats."""
    beats = np.arange(0, n / fps, 60.0 / bpm)
    return dataclasses.replace(synth.features(n, fps, beats_s=beats,
                                              onset=np.full(n, 0.5, np.float32)),
                               tempo_bpm=bpm, downbeats_s=beats[::meter], meter=meter,
                               half_beats_s=beats[::2])


def test_a_fast_song_pulses_at_half_speed_on_its_half_speed_beats():
    config = dataclasses.replace(CONFIG, downbeat_accent=0.0, calm=0.0)
    fast, _ = beat_pulses(_bars(180.0, 4), config)  # a beat every 10 frames, a bar every 40
    assert [fast[40 + 10 * k] / fast[40] for k in range(4)] == pytest.approx([1, 0.5, 1, 0.5])
    # the tracker's half-speed beats are the odd ones (a grid at twice the tempo listeners
    # tap, theirs on its odd beats): those get the full pulse, in 3 as in 4 ...
    for meter in (3, 4):
        features = _bars(180.0, meter)
        heard, _ = beat_pulses(dataclasses.replace(features,
                                                   half_beats_s=features.beats_s[1::2]), config)
        assert [heard[40 + 10 * k] / heard[50] for k in range(4)] == pytest.approx(
            [0.5, 1, 0.5, 1]), meter
    # slower than halftime_bpm, with no half-speed beats, or with the setting off: every
    # beat alike
    for features, options in ((_bars(140.0, 4), {}), (_bars(180.0, 4), {"halftime_bpm": 0.0}),
                              (dataclasses.replace(_bars(180.0, 4), half_beats_s=np.zeros(0)),
                               {})):
        envelope, _ = beat_pulses(features, dataclasses.replace(config, **options))
        on_beats = envelope[features.beat_frames]
        assert on_beats.min() == pytest.approx(on_beats.max()), (features.tempo_bpm, options)


def test_a_song_that_speeds_up_pulses_at_half_speed_only_where_it_is_fast():
    # 100 BPM for 30 s, then 180: the song's median tempo is 180, but only the fast part
    # gets the half-speed pulse
    fps, n = 30.0, 1800
    slow = np.arange(0, 30, 0.6)
    beats = np.concatenate([slow, 30 + np.arange(0, 30 - 1e-9, 60 / 180)])
    features = dataclasses.replace(
        synth.features(n, fps, beats_s=beats, onset=np.full(n, 0.5, np.float32)),
        tempo_bpm=180.0, downbeats_s=beats[::4], meter=4, half_beats_s=beats[::2])
    config = dataclasses.replace(CONFIG, downbeat_accent=0.0, calm=0.0)
    envelope, _ = beat_pulses(features, config)
    on_beats = envelope[features.beat_frames]
    early, late = on_beats[beats < 29], on_beats[beats > 31]
    assert early.min() == pytest.approx(early.max())
    assert late.min() == pytest.approx(0.5 * late.max())


def test_fills_and_silences_calm_the_motion():
    n, fps = 360, 30.0
    beats = np.arange(0, n, 15) / fps
    onset = np.zeros(n, np.float32)
    onset[::15] = 1.0
    onset[3::15] = 0.2   # a little activity between the hits ...
    onset[120:180] = 1.0  # ... and a fill over frames 120-180
    loudness = np.full(n, -10.0, np.float32)
    loudness[270:] = -60.0  # silence at the end
    features = synth.features(n, fps, beats_s=beats, onset=onset, loudness=loudness)
    config = dataclasses.replace(CONFIG, calm=0.8)
    factor = calm_factor(features, config)
    assert factor[30:100].min() == pytest.approx(1.0, abs=0.02)
    assert factor[130:170].max() == pytest.approx(0.2, abs=0.02)
    assert factor[285:].max() == pytest.approx(0.2, abs=0.02)
    envelope, _ = beat_pulses(features, config)
    z_calm = map_features(features, [1], config).z
    z_free = map_features(features, [1], dataclasses.replace(config, calm=0.0)).z
    step_calm = np.linalg.norm(np.diff(z_calm, axis=0), axis=1)
    step_free = np.linalg.norm(np.diff(z_free, axis=0), axis=1)
    assert step_calm[149] < 0.35 * step_free[149]  # the pulse of a beat inside the fill
    assert step_calm[59] == pytest.approx(step_free[59], rel=0.05)  # a normal beat


def test_a_doubtful_grid_gives_way_to_the_strong_onsets():
    # a grid on the half beats (where nothing sounds) and strong hits elsewhere
    hits = np.array([17, 52, 80, 113, 151, 200, 232, 260])
    onset = np.zeros(300, np.float32)
    onset[hits] = 1.0
    grid = np.arange(8, 300, 30) / 30.0
    sure = dataclasses.replace(synth.features(beats_s=grid, onset=onset), beat_confidence=1.0)
    unsure = dataclasses.replace(sure, beat_confidence=0.1)
    sure_envelope, _ = beat_pulses(sure, CONFIG)
    unsure_envelope, index = beat_pulses(unsure, CONFIG)
    pulse_starts = np.flatnonzero(np.diff(np.r_[-2, index]) != 0)
    # a sure grid pulses on its beats; an unsure one mostly on what is heard
    assert sure_envelope[hits].max() < sure_envelope[np.round(grid * 30).astype(int)].min()
    assert set(hits) <= set(pulse_starts)
    assert unsure_envelope[hits].min() > 3 * unsure_envelope[np.round(grid * 30).astype(int)].max()


def test_no_grid_at_all_still_pulses_on_the_hits():
    onset = np.zeros(300, np.float32)
    onset[[40, 130, 210]] = 1.0
    features = dataclasses.replace(synth.features(onset=onset), beat_confidence=0.0)
    envelope, _ = beat_pulses(features, CONFIG)
    assert set(np.flatnonzero(np.diff(np.r_[0.0, envelope]) > 0.5)) == {40, 130, 210}


def test_a_loop_ends_where_it_began():
    """The drift closes its circles, the class mix comes home: the frame after the last
    would be the first, so the cut back is no larger than a step between neighbours."""
    fps, n = 30.0, 240
    beats = np.arange(0.25, 8.0, 0.5)
    rng = np.random.default_rng(1)
    chroma = np.abs(rng.standard_normal((n, 12))).astype(np.float32)
    chroma[:, :6] *= np.linspace(0, 3, n)[:, None]  # the harmony wanders off
    onset = np.zeros(n, np.float32)
    onset[np.round(beats * fps).astype(int)] = 1.0
    song = dataclasses.replace(synth.features(n, fps, beats_s=beats, onset=onset,
                                              chroma=chroma),
                               downbeats_s=beats[::4], meter=4)
    config = MappingConfig(drift_speed=20.0)
    for loop in (False, True):
        trajectory = map_features(song, [1, 2, 3], config, seed=3, loop=loop)
        z, weights = trajectory.z.astype(float), trajectory.class_weights.astype(float)
        steps = np.linalg.norm(np.diff(z, axis=0), axis=1)
        wrap = np.linalg.norm(z[0] - z[-1])
        weight_wrap = np.abs(weights[0] - weights[-1]).sum()
        if loop:
            assert wrap <= np.median(steps)
            assert weight_wrap <= np.median(np.abs(np.diff(weights, axis=0)).sum(axis=1)) + 1e-3
        else:
            assert wrap > 5 * np.median(steps) and weight_wrap > 0.05


def test_safe_flashes_keep_at_most_three_pulses_a_second():
    fps, n = 30.0, 300
    beats = np.arange(0.1, 10.0, 60 / 300)  # 300 BPM: 5 pulses a second
    onset = np.zeros(n, np.float32)
    onset[np.round(beats * fps).astype(int)] = 1.0
    song = synth.features(n, fps, beats_s=beats, onset=onset)

    def pulses(trajectory) -> np.ndarray:
        """Frames where z leaps away from its resting point (frame 0, before any beat)."""
        away = np.linalg.norm(trajectory.z.astype(float) - trajectory.z[0], axis=1)
        return np.flatnonzero(np.diff(away) > 0.1) + 1

    config = MappingConfig(drift_amount=0.0, calm=0.0)
    fast = pulses(map_features(song, [1], config))
    safe = pulses(map_features(song, [1], config, max_pulses_per_s=3.0))
    in_a_second = [np.sum((safe >= f) & (safe < f + fps)) for f in range(n)]
    assert len(fast) >= 45 and max(in_a_second) <= 3 and len(safe) >= 25


def test_z_made_in_chunks_is_the_z_made_at_once(monkeypatch):
    # a drop moves the base point partway through: the chunks must carry it, and the drift
    # phase, across their edges
    from audiogan import mapping
    from audiogan.config import resolve_config
    from audiogan.testing import band_song

    song = band_song("intro_drop")
    features = analyze(song.y, sr=song.sr, fps=30)
    config = resolve_config("punchy", hardware=False).mapping
    assert any(change.drop for change in section_changes(features, config))
    monkeypatch.setattr(mapping, "_CHUNK", 10**9)
    whole = map_features(features, [398, 402], config, seed=3).z
    monkeypatch.setattr(mapping, "_CHUNK", 97)
    chunked = map_features(features, [398, 402], config, seed=3).z
    np.testing.assert_array_equal(chunked, whole)
