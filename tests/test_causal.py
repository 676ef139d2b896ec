"""The causal beat tracker: beats heard as the song plays, scored against known beats."""

from __future__ import annotations

import json

import librosa
import mir_eval
import numpy as np
import pytest

from audiogan.causal import StreamFeatures, track_causal
from audiogan.testing import Part, band_song, render_song
from tests import synth
from tests.synth import run

SETTLE_S = 4.0  # the tracker is scored after its first 4 s, the time it has to lock on


def _after(times, start: float = SETTLE_S) -> np.ndarray:
    times = np.asarray(times)
    return times[times >= start]


def _f(reference, estimated) -> float:
    """F-measure (70 ms) after the first 4 s, within the stretch the reference covers."""
    reference = _after(reference)
    estimated = _after(estimated, SETTLE_S - 0.07)
    estimated = estimated[estimated <= reference[-1] + 0.07]
    return float(mir_eval.beat.f_measure(reference, estimated, 0.07))


@pytest.fixture(scope="module")
def scored():
    """Causal F (after 4 s), librosa's offline F and the causal beats' timing errors."""
    rows = {}
    for name in ("ramp", "intro_drop", "waltz", "live"):
        song = band_song(name)
        heard = track_causal(song.y, song.sr)
        offline = librosa.beat.beat_track(y=song.y, sr=song.sr, units="time")[1]
        estimated = _after(heard.beats_s)
        reference = song.beats_s
        error = estimated - reference[np.argmin(np.abs(reference[None, :]
                                                       - estimated[:, None]), axis=1)]
        rows[name] = (_f(reference, heard.beats_s), _f(reference, offline), error)
    return rows


def test_causal_tracker_beats_librosa_offline_on_band_songs(scored):
    causal = np.mean([row[0] for row in scored.values()])
    offline = np.mean([row[1] for row in scored.values()])
    assert causal > offline, scored
    assert causal > 0.95
    for name, (f, _, _) in scored.items():
        assert f > 0.9, (name, f)


def test_beats_are_predicted_on_time_not_late(scored):
    """A beat is reported when it is due, from audio up to one hop before: its time lands
    within a few ms of the true beat, not a frame or two after it."""
    errors = np.concatenate([row[2] for row in scored.values()])
    hits = errors[np.abs(errors) < 0.07]
    assert len(hits) > 0.9 * len(errors)
    assert np.mean(np.abs(hits)) < 0.015
    assert abs(np.mean(hits)) < 0.012


def test_silence_stops_the_beats_and_it_locks_on_again_at_a_new_tempo():
    first = render_song("a", [Part("verse", 8)], bpm=120, seed=1)
    second = render_song("b", [Part("verse", 8, progression="drop")], bpm=95, seed=2)
    gap_s = 4.0
    y = np.concatenate([first.y, np.zeros(int(gap_s * first.sr), np.float32), second.y])
    end_first = len(first.y) / first.sr
    back = end_first + gap_s
    heard = track_causal(y, first.sr)
    assert not np.any((heard.beats_s > end_first + 0.5) & (heard.beats_s < back))
    reference = second.beats_s + back
    assert _f(reference - back, heard.beats_s - back) > 0.95
    later = heard.beats_s[heard.beats_s > back + SETTLE_S]
    assert 90 < 60 / np.median(np.diff(later)) < 100  # the new tempo, not the old one


def test_a_tempo_ramp_is_followed():
    song = band_song("ramp")  # 96 -> 132 BPM over 50 s
    heard = track_causal(song.y, song.sr)
    early, late = heard.beats_s[heard.beats_s < 15], heard.beats_s[heard.beats_s > 40]
    assert 60 / np.median(np.diff(early[-6:])) < 110
    assert 60 / np.median(np.diff(late)) > 125


def test_a_tempo_range_halves_or_doubles_the_pulse_heard():
    """As offline: the pulse is followed where it is heard, and the beats reported are every
    second one (those with the bass) or the pulse with its midpoints."""
    song = band_song("ramp")  # 96 -> 132 BPM, the kick on beats 1 and 3 of each bar
    half = track_causal(song.y, song.sr, tempo_range=(50.0, 100.0))
    assert np.all(60 / np.diff(_after(half.beats_s)) < 100 * 1.05)
    assert _f(song.beats_s[0::2], half.beats_s) > 0.9  # on the kicks
    steady = band_song("steady")  # 120 BPM
    double = track_causal(steady.y, steady.sr, tempo_range=(180.0, 300.0))
    beats = steady.beats_s
    eighths = np.sort(np.concatenate([beats, (beats[:-1] + beats[1:]) / 2]))
    assert _f(eighths, double.beats_s) > 0.95


def test_stream_features_do_not_depend_on_block_sizes():
    song = band_song("steady")
    y = song.y[: 5 * song.sr]
    whole = StreamFeatures().feed(y)
    pieces = StreamFeatures()
    parts = [pieces.feed(y[i:i + 333]) for i in range(0, len(y), 333)]
    onset = np.concatenate([p.onset for p in parts])
    chroma = np.concatenate([p.chroma for p in parts])
    assert len(onset) == len(whole) == len(y) // 256
    np.testing.assert_allclose(onset, whole.onset, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(chroma, whole.chroma, rtol=1e-4, atol=1e-6)


def test_cli_analyze_causal_json(tmp_path):
    y, beats = synth.click_track(120.0, 10.0)
    song = synth.write_wav(tmp_path / "clicks.wav", y)
    code, stdout, stderr = run("analyze", str(song), "--causal", "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["beat_tracker"] == "causal"
    assert abs(report["tempo_bpm"] - 120) < 3
    assert _f(beats, report["beats_s"]) > 0.95
    code, stdout, stderr = run("analyze", str(song), "--causal")
    assert code == 0 and "causal tracker, tempo 12" in stdout


def test_cli_analyze_causal_refuses_offline_options_in_one_line(song_copy):
    code, _, stderr = run("analyze", str(song_copy), "--causal", "--bpm", "120")
    assert code == 1
    assert stderr.strip() == ("audiogan: error: --bpm does not go with --causal: the causal "
                              "tracker hears the song as it plays and takes no timing, "
                              "stems or plot")
