from __future__ import annotations

import librosa
import numpy as np
import pytest

from audiogan.analysis import analyze, global_tempo, hop_features
from tests import synth


def _blocks(y: np.ndarray, size: int) -> list[np.ndarray]:
    return [y[i:i + size] for i in range(0, len(y), size)]


@pytest.fixture(scope="module")
def clicks():
    y, beats = synth.click_track(120.0, 10.0, sr=22050)
    return y, beats


def test_tempo_and_beats_of_a_click_track(clicks):
    y, beats = clicks
    features = analyze(y, sr=22050, fps=30)
    assert features.tempo_bpm == pytest.approx(120.0, abs=2.0)
    # every detected beat sits on a true click, within 20 ms
    errors = np.array([np.min(np.abs(beats - b)) for b in features.beats_s])
    assert len(features.beats_s) >= len(beats) - 3
    assert np.all(errors < 0.020), errors


def test_features_are_sampled_at_frame_times(clicks):
    y, _ = clicks
    for fps in (24, 30, 60):
        features = analyze(y, sr=22050, fps=fps)
        assert features.n_frames == round(10.0 * fps)
        assert features.loudness_db.shape == (features.n_frames,)
        assert features.chroma.shape == (features.n_frames, 12)
        # the onset peaks on the frames of the clicks (t = i / fps)
        click_frames = np.round(np.arange(0.5, 9.8, 0.5) * fps).astype(int)
        peaks = [i for i in range(1, features.n_frames - 1)
                 if features.onset[i] > 0.5 and features.onset[i] >= features.onset[i - 1]
                 and features.onset[i] >= features.onset[i + 1]]
        assert all(np.min(np.abs(click_frames - p)) <= 1 for p in peaks)


def test_block_size_does_not_change_the_result(clicks):
    y, _ = clicks
    whole = hop_features([y], sr=22050)
    for size in (1000, 22050, 77777):
        parts = hop_features(_blocks(y, size), sr=22050)
        np.testing.assert_allclose(parts.onset, whole.onset, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(parts.chroma, whole.chroma, rtol=1e-4, atol=1e-6)


def test_onset_matches_librosa(clicks):
    y, _ = clicks
    ours = hop_features([y], sr=22050)
    reference = librosa.onset.onset_strength(y=y, sr=22050, n_fft=1024, hop_length=256,
                                             n_mels=64)
    assert len(ours.onset) == len(reference)
    assert np.corrcoef(ours.onset, reference)[0, 1] > 0.999


def test_chroma_names_the_chord():
    # C major then F# major: opposite sides of the circle of fifths
    y = synth.chord_track([[0, 4, 7], [6, 10, 1]], seconds_each=2.0, sr=22050)
    features = analyze(y, sr=22050, fps=10)
    first, second = features.chroma[5:15].mean(axis=0), features.chroma[25:35].mean(axis=0)
    assert set(np.argsort(first)[-3:]) == {0, 4, 7}
    assert set(np.argsort(second)[-3:]) == {6, 10, 1}


def test_loudness_in_dbfs():
    sr = 22050
    t = np.arange(2 * sr) / sr
    sine = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # -6 dBFS peak, -9 dB RMS
    y = np.concatenate([sine, np.zeros(2 * sr, dtype=np.float32)])
    features = analyze(y, sr=sr, fps=10)
    assert features.loudness_db[5:15].mean() == pytest.approx(-9.03, abs=0.3)
    assert features.loudness_db[-5:].max() <= -99
    assert features.peak_dbfs == pytest.approx(-6.02, abs=0.05)


def test_silence_has_no_beats():
    features = analyze(np.zeros(22050 * 3, dtype=np.float32), sr=22050, fps=30)
    assert features.tempo_bpm == 0.0
    assert len(features.beats_s) == 0
    assert features.peak_dbfs == -np.inf
    assert not features.onset.any()


def test_global_tempo_is_librosas_at_any_chunk():
    # a minute of onsets at 100 BPM with offbeats: chunked the tempogram is the same
    rng = np.random.default_rng(3)
    fps, sr, hop = 22050 / 256, 22050, 256
    onset = 0.05 * rng.random(int(60 * fps))
    onset[np.round(np.arange(0, 60, 0.6) * fps).astype(int)] = 1.0
    onset[np.round(np.arange(0.3, 59.5, 0.6) * fps).astype(int)] = 0.4
    expected = float(librosa.feature.tempo(onset_envelope=onset, sr=sr, hop_length=hop)[0])
    assert expected == pytest.approx(100, rel=0.03)
    for chunk in (256, 1024, 100_000):
        assert global_tempo(onset, sr=sr, hop_length=hop, chunk=chunk) == pytest.approx(expected)
