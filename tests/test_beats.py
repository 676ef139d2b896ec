"""The beat grid, downbeats, tempo curve and sections on band-like songs with known answers."""

from __future__ import annotations

import librosa
import mir_eval
import numpy as np
import pytest

from audiogan.analysis import analyze, beat_grid, hop_features
from audiogan.beats import (
    CLEAR_PULSE,
    LOW_CONFIDENCE,
    beat_support,
    dbn_beats,
    find_downbeats,
    grid_from_bpm,
    half_beats,
    pulse_clarity,
    range_ratio,
    tapped_beats,
    tempo_at,
    tempo_changes,
    tempo_sections,
    track_grid,
)
from audiogan.testing import Part, band_song, render_song


def _pulses(bpm: float, *, fps: float, hops: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """A quiet activation (0.02) of `hops` hops, and the hops of a steady pulse at `bpm`."""
    return np.full(hops, 0.02), np.round(np.arange(0, hops - 1, 60 * fps / bpm)).astype(int)


def _f(reference, estimated) -> float:
    return float(mir_eval.beat.f_measure(np.asarray(reference), np.asarray(estimated), 0.07))


def _learned_grid(onsets, activation, *, fps: float, bpm: float):
    """`track_grid` over made-up `onsets` (four envelopes, the second the bass) and a learned
    `activation`, with flat chroma and level: the beats are the activation's to find."""
    hops = len(activation)
    return track_grid(onsets, onsets[1], np.ones((hops // 4, 12)), np.full(hops, 0.1),
                      fps=fps, chroma_fps=fps / 4, global_bpm=bpm, learned=activation)


@pytest.fixture(scope="module")
def intro_drop():
    song = band_song("intro_drop")
    return song, analyze(song.y, sr=song.sr, fps=30)


@pytest.fixture(scope="module")
def waltz():
    song = band_song("waltz")
    return song, analyze(song.y, sr=song.sr, fps=30)


def test_quiet_intro_keeps_its_beats_where_librosa_loses_them(intro_drop):
    song, features = intro_drop
    ours = _f(song.beats_s, features.beats_s)
    _, theirs = librosa.beat.beat_track(y=song.y, sr=song.sr, units="time")
    assert ours >= 0.97
    assert ours > _f(song.beats_s, theirs) + 0.1
    intro = song.beats_s[song.beats_s < song.sections[0][1] - 0.1]
    hit = [np.min(np.abs(features.beats_s - b)) < 0.05 for b in intro]
    assert all(hit), intro[~np.array(hit)]


def test_downbeats_and_sections_of_a_drop(intro_drop):
    song, features = intro_drop
    assert features.meter == 4
    assert _f(song.downbeats_s, features.downbeats_s) >= 0.95
    # the drop and the outro start on their bar lines, within 0.1 s
    starts = features.sections_s[:, 0]
    for start, _, _ in song.sections[1:]:
        assert np.min(np.abs(starts - start)) < 0.1, (start, starts)
    # intro, drop and outro do not sound alike
    assert len(set(features.section_labels)) == 3
    np.testing.assert_allclose(features.sections_s[1:, 0], features.sections_s[:-1, 1])


def test_three_four_time(waltz):
    song, features = waltz
    assert features.meter == 3
    assert _f(song.beats_s, features.beats_s) >= 0.97
    assert _f(song.downbeats_s, features.downbeats_s) >= 0.95


def test_tempo_curve_follows_a_ramp():
    song = band_song("ramp")  # 96 -> 132 BPM over 50 s
    features = analyze(song.y, sr=song.sr, fps=10)
    assert _f(song.beats_s, features.beats_s) >= 0.97
    assert features.tempo_curve.shape == (features.n_frames,)
    early, late = features.tempo_curve[60], features.tempo_curve[450]  # at 6 s and 45 s
    assert early == pytest.approx(96 + 36 * 6 / 50, abs=3)
    assert late == pytest.approx(96 + 36 * 45 / 50, abs=3)


def test_a_song_that_changes_tempo_keeps_its_beats_on_both_sides():
    # 96 BPM, then 140 from 40.3 s: one level chosen for the whole song put the first part
    # at 192 (every beat and every "and")
    song = band_song("tempo_change")
    features = analyze(song.y, sr=song.sr, fps=10)
    change = 40.3
    for side in (song.beats_s < change, song.beats_s >= change):
        inside = features.beats_s[(features.beats_s >= song.beats_s[side][0] - 0.1)
                                  & (features.beats_s <= song.beats_s[side][-1] + 0.1)]
        assert _f(song.beats_s[side], inside) >= 0.97
    assert features.tempo_curve[200] == pytest.approx(96, rel=0.03)  # at 20 s
    assert features.tempo_curve[600] == pytest.approx(140, rel=0.03)  # at 60 s


def test_each_part_of_a_medley_has_bars_of_its_own():
    # 32 s of a 4/4 song at 120 BPM, then 24 s of a waltz at 150: one meter and one phase
    # of the bar lines for the whole medley put one of the two parts' bars wrong
    first = render_song("four", [Part("verse", 8), Part("chorus", 8, progression="drop")],
                        bpm=120, first_beat=0.0, seed=1)
    second = render_song("three", [Part("verse", 10), Part("chorus", 10, progression="drop")],
                         bpm=150, meter=3, first_beat=0.0, seed=3)
    seam = 32.0
    y = np.concatenate([first.y[:int(seam * first.sr)], second.y])
    grid = beat_grid(hop_features([y], sr=first.sr))
    assert grid.meter == 4  # the longer part's
    for song, offset in ((first, 0.0), (second, seam)):
        bars = song.downbeats_s[song.downbeats_s + offset < (seam if offset == 0 else np.inf)]
        found = grid.downbeats_s[(grid.downbeats_s >= offset + bars[0] - 0.1)
                                 & (grid.downbeats_s <= offset + bars[-1] + 0.1)]
        assert _f(bars + offset, found) >= 0.9, (song.name, _f(bars + offset, found))


def test_the_half_speed_beats_are_those_heard_more_in_each_part():
    # 90 s at 180 BPM, louder on the odd beats (a grid at twice the tempo listeners tap),
    # then 30 s at 100, louder on the even ones: each part's own louder half
    fast = np.arange(0, 90, 60 / 180)
    slow = 90 + np.arange(0, 30, 60 / 100)
    beats = np.concatenate([fast, slow])
    heard = np.concatenate([np.tile([0.3, 0.6], len(fast) // 2), np.tile([0.7, 0.2],
                                                                         len(slow) // 2)])
    fps = 100.0
    frames = np.round(beats * fps).astype(int)
    parts = tempo_changes(beats, 120.0)

    def chosen_by(heard: np.ndarray) -> np.ndarray:
        """The half-speed beats, the activation (one value a hop) `heard` at each beat."""
        activation = np.zeros(frames[-1] + 1)
        activation[frames] = heard
        return half_beats(beats, frames, activation, parts)

    chosen = chosen_by(heard)
    index = np.searchsorted(beats, chosen)
    assert set(np.diff(index[chosen < 88])) == set(np.diff(index[chosen > 91])) == {2}
    assert chosen[0] == fast[1] and chosen[-1] == slow[-2]  # the louder of each part
    # a whole part decides: a stretch leaning the other way does not flip it
    heard[100:140] = heard[100:140][::-1]
    np.testing.assert_array_equal(chosen_by(heard), chosen)
    assert len(half_beats(np.zeros(0), np.zeros(0, int), np.zeros(0), [])) == 0


def test_a_grid_has_half_speed_beats_on_every_other_beat(intro_drop):
    _, features = intro_drop
    index = np.searchsorted(features.beats_s, features.half_beats_s)
    np.testing.assert_array_equal(features.beats_s[index], features.half_beats_s)
    assert set(np.diff(index)) == {2}


def test_tempo_sections_split_where_the_tempo_steps_for_good():
    fps = 100.0

    def beats(*stretches: tuple[float, float]) -> np.ndarray:
        """Beat hops of stretches of (BPM, seconds), one after another."""
        times, t = [], 0.0
        for bpm, seconds in stretches:
            steps = np.arange(t, t + seconds - 1e-9, 60 / bpm)
            times.extend(steps)
            t = steps[-1] + 60 / bpm
        return np.round(np.array(times) * fps).astype(int)

    frames = beats((96, 40), (140, 30))
    n = int(frames[-1] + fps)
    sections = tempo_sections(frames, n, fps=fps)
    assert len(sections) == 2
    assert sections[0][0] == 0 and sections[-1][1] == n
    assert sections[1][0] == pytest.approx(40 * fps, abs=60 / 96 * fps)
    # a middle part at a tempo of its own, between two at the same tempo
    middle = tempo_sections(beats((120, 30), (90, 21), (120, 30)), n, fps=fps)
    assert [round(start / fps) for start, _ in middle] == [0, 30, 51]
    # the same pulse an octave up, a gentle ramp and a short excursion are no new tempo
    assert len(tempo_sections(beats((96, 40), (192, 30)), n, fps=fps)) == 1
    ramp = np.round(np.cumsum(60 * fps / np.linspace(96, 132, 100))).astype(int)
    assert len(tempo_sections(ramp, int(ramp[-1]), fps=fps)) == 1
    assert len(tempo_sections(beats((120, 30), (160, 8), (120, 30)), n, fps=fps)) == 1


def test_a_cross_rhythm_for_a_while_is_no_new_tempo():
    # 130 BPM throughout; over the first 20 s louder accents every three sixteenths (173
    # BPM, a 4:3) that the first pass follows, and a tempogram that reads 173 all along:
    # the step to 130 is no change of tempo, so the song keeps one grid, on the beat (split
    # there, the first 20 s went on at 173)
    fps = 100.0
    activation, beats = _pulses(130, fps=fps)
    activation[beats] = 0.8
    accents = _pulses(130 / 0.75, fps=fps)[1]
    activation[beats[beats < 20 * fps]] = 0.35
    activation[accents[accents < 20 * fps]] = 0.8
    first_pass = dbn_beats(activation, fps=fps)
    assert len(tempo_sections(first_pass, len(activation), fps=fps)) == 2
    tapped = tapped_beats(activation, fps=fps, global_bpm=173.0,
                          section_bpm=lambda start, end: 173.0)
    assert 60 * fps / np.median(np.diff(tapped[tapped < 20 * fps])) == pytest.approx(130, rel=0.02)
    assert _f(beats / fps, tapped / fps) >= 0.95


def test_dbn_follows_a_changing_period_and_holds_through_gaps():
    # impulses whose spacing grows from 20 to 30 hops; two of them missing
    positions = np.cumsum(np.linspace(20, 30, 40)).astype(int)
    activation = np.full(positions[-1] + 10, 0.01)
    activation[positions] = 0.9
    activation[positions[[12, 25]]] = 0.01
    beats = dbn_beats(activation, fps=50.0, min_bpm=60.0, max_bpm=200.0)
    present = np.delete(positions, [12, 25])
    assert set(present) <= set(beats)
    # the missing beats are still on the grid, within a fifth of a beat of where they belong
    assert len(beats) == len(positions)
    for missing in positions[[12, 25]]:
        assert np.min(np.abs(beats - missing)) <= 5


def test_beat_support_counts_agreeing_trackers():
    grid = np.arange(0, 420, 20)  # 21 beats: the half-speed tracker ends on the last
    agreeing = grid + 1
    half_speed = grid[::2]  # another metrical level is not disagreement
    off_beat = grid + 10
    full = beat_support(grid, [agreeing, half_speed], fps=100.0)
    np.testing.assert_allclose(full, 1.0)
    half = beat_support(grid, [agreeing, off_beat], fps=100.0)
    np.testing.assert_allclose(half, 0.5)


def test_downbeats_from_accents_and_chord_changes():
    beats = np.arange(24) * 0.5
    accent = np.tile([1.0, 0.2, 0.2], 8)  # 3/4, bar lines on beats 0, 3, 6 ...
    change = np.tile([0.5, 0.0, 0.1], 8)
    downbeats, meter = find_downbeats(beats, np.roll(accent, 1), np.roll(change, 1))
    assert meter == 3
    np.testing.assert_allclose(downbeats, beats[1::3])


def test_a_learned_downbeat_outweighs_a_loud_off_bar_kick():
    # 4/4 with its chord changes on beat 1, a kick louder on beat 3 than on beat 1, and a
    # network that hears the bar start on beat 1
    beats = np.arange(32) * 0.5
    accent = np.tile([0.6, 0.2, 1.0, 0.2], 8)
    change = np.tile([0.2, 0.0, 0.15, 0.0], 8)
    alone, _ = find_downbeats(beats, accent, change)
    np.testing.assert_allclose(alone, beats[2::4])
    heard = np.tile([0.8, 0.1, 0.2, 0.1], 8)
    downbeats, meter = find_downbeats(beats, accent, change, heard=heard)
    assert meter == 4
    np.testing.assert_allclose(downbeats, beats[0::4])


def test_tempo_at_and_a_strict_grid():
    grid = grid_from_bpm(100.0, offset_s=1.3, duration_s=10.0, meter=4)
    np.testing.assert_allclose(np.diff(grid.beats_s), 0.6)
    assert grid.beats_s[0] == pytest.approx(0.1)
    assert 1.3 in np.round(grid.downbeats_s, 6)
    np.testing.assert_allclose(np.diff(grid.downbeats_s), 2.4)
    np.testing.assert_allclose(tempo_at(grid.beats_s, np.array([2.0, 5.0])), 100.0)


def _drone(seconds: float = 20.0, sr: int = 22050, seed: int = 1) -> np.ndarray:
    """Sustained chords swelling slowly: harmony, loudness, and no beat at all."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t)
    for hz in (110.0, 164.8, 220.0, 277.2, 329.6):
        swell = np.interp(t, np.linspace(0, seconds, 6), rng.uniform(0.2, 1.0, 6))
        y += swell * np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi))
    return (0.1 * y).astype(np.float32)


def test_confidence_is_high_on_a_band_and_low_on_a_drone(intro_drop):
    _, band = intro_drop
    drone = analyze(_drone(), sr=22050, fps=30)
    assert band.beat_confidence >= 0.8
    assert drone.beat_confidence < LOW_CONFIDENCE
    assert drone.confidence_curve.shape == (drone.n_frames,)
    assert band.confidence_curve.min() >= 0.5


def _random_hits(seconds: float = 30.0, sr: int = 22050, rate: float = 2.0,
                 seed: int = 2) -> np.ndarray:
    """Drum hits of random strength at random times (a Poisson process): onsets that a
    tracker can agree on by chance, and no pulse."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * sr), np.float32)
    length = int(0.05 * sr)
    t = rng.exponential(1 / rate)
    while t < seconds - 0.2:
        start = int(t * sr)
        y[start:start + length] += (rng.uniform(0.2, 1.0) * rng.standard_normal(length)
                                    * np.exp(-np.arange(length) / 300))
        t += rng.exponential(1 / rate)
    return y


def test_random_hits_have_no_clear_beat(intro_drop):
    hits = analyze(_random_hits(), sr=22050, fps=30)
    assert hits.beat_confidence < LOW_CONFIDENCE
    # the band's own pulse is clear where the drums play
    assert intro_drop[1].confidence_curve[-100:].min() >= 0.8


def test_pulse_clarity_sees_repetition_not_onsets():
    fps, period = 100.0, 50  # 120 BPM
    activation = np.zeros(3000)
    activation[::period] = 1.0
    grid = np.arange(0, 3000, period)
    assert pulse_clarity(grid, activation, fps=fps).min() > 0.8
    rng = np.random.default_rng(0)
    scattered = np.zeros(3000)
    scattered[rng.choice(3000, size=len(grid), replace=False)] = 1.0
    assert pulse_clarity(grid, scattered, fps=fps).max() < CLEAR_PULSE


def test_a_dotted_eighth_cross_rhythm_does_not_take_the_beat():
    # 130 BPM beats under louder accents every three sixteenths (173 BPM, a 4:3): alone,
    # the DBN follows the accents; the tempogram's 130 is nearer 120, so it wins, and the
    # path is held close enough to it that it cannot slide back on to the accents
    fps = 100.0
    activation, beats = _pulses(130, fps=fps)
    activation[beats] = 0.35
    activation[_pulses(130 / 0.75, fps=fps)[1]] = 0.8
    tempo = 60 * fps / np.median(np.diff(dbn_beats(activation, fps=fps)))
    assert tempo == pytest.approx(173, rel=0.02)
    tapped = tapped_beats(activation, fps=fps, global_bpm=130.0)
    assert 60 * fps / np.median(np.diff(tapped)) == pytest.approx(130, rel=0.02)
    assert _f(beats / fps, tapped / fps) >= 0.95


def test_a_capped_tempo_range_halves_a_fast_pulse_rather_than_cross_it():
    # a 200 BPM pulse, every other beat accented, and a tempogram that reads 133 (a 4:3 of
    # the half-speed 100): with the range capped at 140 the grid is the pulse at half speed,
    # on the accented beats, not a cross-rhythm at 133 that the cap alone would leave
    fps = 100.0
    activation, beats = _pulses(200, fps=fps)
    activation[beats] = 0.5
    activation[beats[::2]] = 0.8
    tapped = tapped_beats(activation, fps=fps, global_bpm=133.0, tempo_range=(55.0, 140.0))
    assert 60 * fps / np.median(np.diff(tapped)) == pytest.approx(100, rel=0.02)
    assert _f(beats[::2] / fps, tapped / fps) >= 0.95
    # the whole range keeps the pulse itself
    full = tapped_beats(activation, fps=fps, global_bpm=133.0)
    assert 60 * fps / np.median(np.diff(full)) == pytest.approx(200, rel=0.02)


def test_a_fast_pulse_the_network_hears_bar_by_bar_keeps_its_tempo():
    # a 190 BPM pulse heard alike on every beat, and a tempogram that reads half of it (95,
    # its pull towards 120): where the network's bar lines fall every four of those beats,
    # each is a beat of its own and the grid keeps 190, as the composer wrote it (simutrans'
    # 160-200 BPM pieces); where they fall every eight, or without the network's bar lines,
    # the tempogram's 95 is taken as before; and where the network hears every other beat
    # as an eighth, with bar lines every eight, the pulse is halved
    fps = 100.0
    activation, beats = _pulses(190, fps=fps)
    activation[beats] = 0.7

    def bar_lines(every: int) -> np.ndarray:
        downbeat = np.full(len(activation), 0.02)
        downbeat[beats] = 0.05
        downbeat[beats[::every]] = 0.8
        return downbeat

    def bpm(frames: np.ndarray) -> float:
        return 60 * fps / float(np.median(np.diff(frames)))

    kept = tapped_beats(activation, fps=fps, global_bpm=95.0, downbeat=bar_lines(4))
    assert bpm(kept) == pytest.approx(190, rel=0.02)
    assert _f(beats / fps, kept / fps) >= 0.95
    halved = tapped_beats(activation, fps=fps, global_bpm=95.0, downbeat=bar_lines(8))
    assert bpm(halved) == pytest.approx(95, rel=0.02)
    assert bpm(tapped_beats(activation, fps=fps, global_bpm=95.0)) == pytest.approx(95, rel=0.02)
    # bar lines clearly every eight beats, however alike the beats, halve it even where the
    # tempogram reads 190 (a piece written at 90, its eighths heard as clearly as its beats)
    lone = tapped_beats(activation, fps=fps, global_bpm=190.0, downbeat=bar_lines(8))
    assert bpm(lone) == pytest.approx(95, rel=0.02)
    # every other beat heard far more clearly: those between are eighths, 95 again
    activation[beats[1::2]] = 0.4
    swung = tapped_beats(activation, fps=fps, global_bpm=95.0, downbeat=bar_lines(4))
    assert bpm(swung) == pytest.approx(95, rel=0.02)
    # and so too, with bar lines every eight, where the tempogram itself reads 190: halved,
    # on the clearer beats
    eighths = tapped_beats(activation, fps=fps, global_bpm=190.0, downbeat=bar_lines(8))
    assert bpm(eighths) == pytest.approx(95, rel=0.02)
    assert _f(beats[::2] / fps, eighths / fps) >= 0.95
    assert bpm(tapped_beats(activation, fps=fps, global_bpm=190.0)) == pytest.approx(190, rel=0.02)


def test_a_fast_band_song_is_tapped_at_its_written_tempo():
    # a band song at 175 BPM (kick, snare on 2 and 4, eighth hi-hats), through the real
    # network: it hears every beat alike, bar lines every four, so the tempogram's 88 no
    # longer halves it (before: 87.6 BPM, F 0.67); --tempo-range 55:140 still gives the half
    song = render_song("fast", [Part("verse", 8), Part("chorus", 8, progression="drop")],
                       bpm=175, seed=0)
    features = analyze(song.y, sr=song.sr, fps=30)
    assert features.tempo_bpm == pytest.approx(175, rel=0.03)
    assert _f(song.beats_s, features.beats_s) >= 0.95
    capped = analyze(song.y, sr=song.sr, fps=30, tempo_range=(55.0, 140.0))
    assert capped.tempo_bpm == pytest.approx(87.5, rel=0.03)
    assert _f(song.beats_s[::2], capped.beats_s) >= 0.95 or _f(song.beats_s[1::2],
                                                                capped.beats_s) >= 0.95


def _six_eight(dotted_bpm: float, seconds: float = 24.0, sr: int = 22050) -> np.ndarray:
    """A 6/8 ballad: eighths picked on a guitar, bass and kick on each dotted quarter."""
    eighth, t = 60.0 / dotted_bpm / 3, np.arange(int(0.5 * sr)) / sr
    y = np.zeros(int(seconds * sr))
    for i in range(int((seconds - 1.5) / eighth)):
        start, pos = int((0.5 + i * eighth) * sr), i % 6
        hz = 220.0 * 2 ** ((0, 3, 7, 3, 7, 3)[pos] / 12)
        sound = np.sin(2 * np.pi * hz * t) * np.exp(-6 * t) * (0.5 if pos % 3 == 0 else 0.3)
        if pos % 3 == 0:
            sound += 0.6 * np.sin(2 * np.pi * 55.0 * t) * np.exp(-3 * t)
            sound += 0.8 * np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * t)) * t) * np.exp(-12 * t)
        y[start:start + len(t)] += sound
    return (0.4 * y / np.abs(y).max()).astype(np.float32)


def test_a_range_without_an_octave_of_the_pulse_takes_its_third():
    # a 6/8 at a dotted quarter of 48 BPM, heard as its eighths (144): asked for 40-60,
    # where no octave of 144 lies (72, 36), the grid is the dotted beat, a third of it
    sr = 22050
    hop = hop_features([_six_eight(48.0, sr=sr)], sr=sr)
    heard = beat_grid(hop)
    assert heard.tempo_bpm == pytest.approx(144, rel=0.03)
    dotted = beat_grid(hop, tempo_range=(40.0, 60.0))
    assert dotted.tempo_bpm == pytest.approx(48, rel=0.03)
    assert _f(heard.beats_s, dotted.beats_s) >= 0.45  # beats of the song: a third of them
    # and back: eighths asked for, from a dotted beat
    assert range_ratio(48.0, (120.0, 180.0)) == pytest.approx(1 / 3)
    # an octave wins wherever one fits, and a pulse inside the range stays
    assert range_ratio(150.0, (60.0, 80.0)) == 2.0 and range_ratio(150.0, (55.0, 215.0)) == 1.0
    assert range_ratio(150.0, (40.0, 60.0)) == 3.0 and range_ratio(330.0, (45.0, 60.0)) == 6.0
    assert range_ratio(100.0, (70.0, 75.0)) == 1.0  # nothing fits: the octave move (none)


def test_tempo_range_chooses_the_metrical_level():
    song = band_song("steady")  # 120 BPM
    half = analyze(song.y, sr=song.sr, fps=30, tempo_range=(40.0, 80.0))
    double = analyze(song.y, sr=song.sr, fps=30, tempo_range=(180.0, 300.0))
    assert half.tempo_bpm == pytest.approx(60.0, rel=0.03)
    assert double.tempo_bpm == pytest.approx(240.0, rel=0.03)
    # the half-speed beats are beats of the song
    assert _f(song.beats_s, half.beats_s) >= 0.66


def test_a_shuffle_with_loud_off_beats_is_tapped_on_the_beat():
    # 120 BPM, each beat a long-short pair: a soft kick on the beat, a louder hit on the
    # swung "and" two thirds of the way through (where a grid likes to lock)
    sr, beat = 22050, 0.5
    y = np.zeros(int(30 * sr), np.float32)
    rng = np.random.default_rng(5)
    burst = rng.standard_normal(int(0.03 * sr)) * np.exp(-np.arange(int(0.03 * sr)) / 150)
    thump = np.sin(2 * np.pi * 60 * np.arange(int(0.12 * sr)) / sr) * np.exp(
        -np.arange(int(0.12 * sr)) / 800)
    beats = np.arange(0.25, 29.5, beat)
    for t in beats:
        start = int(t * sr)
        y[start:start + len(thump)] += 0.3 * thump
        y[start:start + len(burst)] += 0.1 * burst
        swung = int((t + 2 * beat / 3) * sr)
        y[swung:swung + len(burst)] += 0.6 * burst
    features = analyze(y, sr=sr, fps=30)
    assert _f(beats, features.beats_s) >= 0.95
    # and it is sure of it: the second opinions are moved onto the beat the same way
    assert features.beat_confidence >= 0.8


def test_a_six_eight_song_is_tapped_on_its_dotted_beat():
    # 6/8 at 90 dotted quarters a minute: soft hi-hat eighths, and a bass drum and a chord on
    # each dotted beat. The DBN took every second eighth for the beat (136 BPM, a 3:2); the
    # onsets between its beats go in threes, so it is tracked again at two thirds of that
    sr, eighth = 22050, 60 / 90 / 3
    y = np.zeros(30 * sr, np.float32)
    rng = np.random.default_rng(3)
    hat = rng.standard_normal(int(0.03 * sr)) * np.exp(-np.arange(int(0.03 * sr)) / 150)
    n = np.arange(int(0.25 * sr))
    kick = np.sin(2 * np.pi * 55 * n / sr) * np.exp(-n / 1500)
    chord = sum(np.sin(2 * np.pi * hz * n / sr) for hz in (220.0, 277.2, 329.6))
    low = 0.6 * kick + 0.1 * chord * np.exp(-n / 1200)
    eighths = np.arange(0.25, 29.5, eighth)
    for k, t in enumerate(eighths):
        start = int(t * sr)
        y[start:start + len(hat)] += 0.15 * hat
        if k % 3 == 0:
            y[start:start + len(low)] += low[:len(y) - start]
    features = analyze(y, sr=sr, fps=30)
    assert features.tempo_bpm == pytest.approx(90, rel=0.03)
    assert _f(eighths[::3], features.beats_s) >= 0.95


def test_straight_eighths_are_no_shuffle():
    # 126 BPM heard on the beat and, half as clearly, on straight eighths, with a faint
    # sixteenth a third of the way on and nothing at two thirds (simu-46's network): the
    # shuffle rule left it alone (it moved every beat a third of a beat late, F 0.00)
    fps = 100.0
    activation, beats = _pulses(126, fps=fps)
    activation[beats] = 0.6
    gap = 60 * fps / 126
    activation[np.round(beats + gap / 2).astype(int)[:-1]] = 0.3
    activation[np.round(beats + gap / 3).astype(int)[:-1]] = 0.2
    tapped = tapped_beats(activation, fps=fps, global_bpm=126.0)
    assert _f(beats / fps, tapped / fps) >= 0.95


def test_a_learned_activation_leads_the_grid_and_is_not_delayed():
    # onsets that are noise, and a learned activation that knows the beats (127 BPM,
    # from 0.4 s): the grid follows the activation, at its own times
    fps, hops = 22050 / 256, 2600
    rng = np.random.default_rng(4)
    noise = [rng.uniform(0.0, 1.0, hops) for _ in range(4)]
    beats_s = np.arange(0.4, hops / fps - 0.5, 60 / 127)
    learned = np.full(hops, 0.02)
    learned[np.round(beats_s * fps).astype(int)] = 0.9
    grid = track_grid(noise, noise[1], np.ones((hops // 4, 12)), np.full(hops, 0.1), fps=fps,
                      chroma_fps=fps / 4, global_bpm=127.0, delay_s=1 / fps, learned=learned)
    assert grid.tempo_bpm == pytest.approx(127, rel=0.01)
    assert _f(beats_s, grid.beats_s) >= 0.95
    # on the activation's beats to the hop (the ends, where noisy onsets carry the grid on,
    # aside)
    inside = grid.beats_s[(grid.beats_s > beats_s[0] - 0.1) & (grid.beats_s < beats_s[-1] + 0.1)]
    assert len(inside) == len(beats_s)
    assert np.max(np.abs(inside - beats_s)) < 0.5 / fps


def test_a_song_that_starts_on_a_beat_keeps_it():
    # the first hops have no onset flux to go by (its window is still filling), so there the
    # network's word keeps the beat; the grid used to start on the second
    song = render_song("start", [Part("verse", 4)], bpm=120, first_beat=0.0)
    grid = beat_grid(hop_features([song.y], sr=song.sr))
    assert grid.beats_s[0] == pytest.approx(0.0, abs=0.035)
    assert _f(song.beats_s, grid.beats_s) >= 0.99


def test_a_stretch_with_loud_off_beats_takes_the_phase_heard_clearly_elsewhere():
    # 120 BPM for 60 s; over the first 20 s the activation fires more on the off-beats
    # (0.7) than on the beats (0.15), as it does under a syncopated riff, and the DBN
    # follows it there; after that the beats are clear (0.65, nothing between)
    fps = 22050 / 256
    beats_s = np.arange(0.5, 59.5, 0.5)
    activation = np.full(int(60 * fps), 0.02)
    riff = beats_s < 20
    activation[np.round(beats_s[riff] * fps).astype(int)] = 0.15
    activation[np.round((beats_s[riff] + 0.25) * fps).astype(int)] = 0.7
    activation[np.round(beats_s[~riff] * fps).astype(int)] = 0.65
    # and the onsets are loudest where the network fires
    onsets = [activation.copy() for _ in range(4)]
    grid = _learned_grid(onsets, activation, fps=fps, bpm=120.0)
    beats = grid.beats_s
    assert _f(beats_s[riff], beats[beats < 20]) >= 0.95
    assert _f(beats_s[~riff], beats[beats >= 20]) >= 0.95
    # the beats moved there are as sure as the pulse they were moved from
    assert grid.beat_confidence[beats < 20].mean() == pytest.approx(
        grid.beat_confidence[beats >= 20].mean(), abs=0.1)


def test_a_bar_of_seven_eighths_keeps_its_half_beat_step():
    # a 4/4 song whose 16th bar is a beat and a half short of 4: every beat after it
    # comes half a beat later than the first part's grid would put it, and the network
    # hears both sides alike, so the grid steps with the song
    parts = [Part("verse", 8), Part("chorus", 8, progression="drop")]
    first = render_song("first", parts, bpm=120, tail_s=0.0)
    second = render_song("second", parts, bpm=120, seed=1)
    cut = first.beats_s[-1] + 0.25
    y = np.concatenate([first.y[:int(cut * first.sr)], second.y[int(0.3 * second.sr):]])
    beats_s = np.concatenate([first.beats_s, cut + second.beats_s - 0.3])
    grid = beat_grid(hop_features([y], sr=first.sr))
    assert _f(beats_s[beats_s < cut], grid.beats_s[grid.beats_s < cut]) >= 0.97
    assert _f(beats_s[beats_s >= cut], grid.beats_s[grid.beats_s >= cut]) >= 0.97


def test_a_doubtful_intro_keeps_the_pulse_the_song_settles_into():
    # 120 BPM for 60 s. Over the first 12 s a riff every 0.56 s is the loudest thing
    # (0.35) and the beats are faint (0.1); the DBN follows the riff there, doubtful of
    # it. From 12 s the beats are clear (0.65). The intro is tracked again at the tempo
    # and phase that follow, and keeps the song's beats under the riff.
    fps = 22050 / 256
    rng = np.random.default_rng(0)
    beats_s = np.arange(0.5, 59.5, 0.5)
    intro = beats_s < 12
    activation = np.full(int(60 * fps), 0.02)
    activation[np.round(beats_s[intro] * fps).astype(int)] = 0.1
    riff = np.arange(0.3 + rng.uniform(0.0, 0.2), 11.7, 0.56)
    activation[np.round(riff * fps).astype(int)] = 0.35
    activation[np.round(beats_s[~intro] * fps).astype(int)] = 0.65
    # the all-band onsets hear the same; the others only scattered hits in the intro
    hops = int(12 * fps)
    onsets = [activation.copy()]
    for _ in range(3):
        scattered = activation.copy()
        scattered[:hops] = rng.uniform(0, 0.4, hops) * (rng.uniform(size=hops) < 0.05)
        onsets.append(scattered)
    grid = _learned_grid(onsets, activation, fps=fps, bpm=120.0)
    beats = grid.beats_s
    assert _f(beats_s[intro], beats[beats < 12]) >= 0.9
    assert _f(beats_s[~intro], beats[beats >= 12]) >= 0.99
    # and it is still called doubtful there: the pulse under the riff is faint
    assert grid.beat_confidence[beats < 6].mean() < LOW_CONFIDENCE
