"""Sections (`audiogan.structure`): boundaries fall on bar lines where the music changes,
sections that sound alike share a label, and the sections tile the song."""

from __future__ import annotations

import numpy as np
import pytest

from audiogan.analysis import analyze
from audiogan.structure import bar_features, novelty, segment
from audiogan.testing import Part, render_song

BAR_S = 2.0


def _bars(*parts: tuple[int, np.ndarray], noise: float = 0.05, seed: int = 0):
    """Bar lines every 2 s and one row per bar: `count` bars near each part's `row`."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([np.tile(row, (count, 1)) for count, row in parts])
    rows = rows + noise * rng.standard_normal(rows.shape)
    edges = np.arange(len(rows) + 1) * BAR_S
    return edges, rows


VERSE, CHORUS, BRIDGE = np.eye(3) * 3.0


def test_boundaries_on_the_bar_lines_where_the_music_changes():
    edges, rows = _bars((8, VERSE), (8, CHORUS), (8, VERSE))
    sections = segment(edges, rows, duration_s=48.5)
    np.testing.assert_array_equal(sections.bounds_s, [[0, 16], [16, 32], [32, 48.5]])
    assert list(sections.labels) == ["A", "B", "A"]  # the verse comes back: same letter


def test_sections_tile_the_song_from_zero_to_its_end():
    edges, rows = _bars((6, VERSE), (6, CHORUS), (6, BRIDGE), (6, CHORUS))
    sections = segment(edges + 0.4, rows, duration_s=49.0)  # first bar line at 0.4 s
    bounds = sections.bounds_s
    assert bounds[0, 0] == 0.0 and bounds[-1, 1] == 49.0
    np.testing.assert_array_equal(bounds[1:, 0], bounds[:-1, 1])
    # every inner boundary is one of the bar lines it was given
    assert set(bounds[1:, 0]) <= set(edges + 0.4)
    np.testing.assert_array_equal(bounds[1:, 0], [12.4, 24.4, 36.4])
    assert list(sections.labels) == ["A", "B", "C", "B"]


def test_a_change_shorter_than_min_bars_is_no_section():
    edges, rows = _bars((8, VERSE), (2, CHORUS), (8, VERSE))
    sections = segment(edges, rows, duration_s=36.0, min_bars=4)
    lengths = np.diff(sections.bounds_s, axis=1).ravel()
    assert lengths.min() >= 4 * BAR_S


def test_an_unchanging_song_is_one_section():
    edges, rows = _bars((16, VERSE), noise=0.0)
    sections = segment(edges, rows, duration_s=32.0)
    np.testing.assert_array_equal(sections.bounds_s, [[0.0, 32.0]])
    assert list(sections.labels) == ["A"]
    empty = segment(np.zeros(1), np.zeros((0, 3)), duration_s=5.0)
    np.testing.assert_array_equal(empty.bounds_s, [[0.0, 5.0]])


def test_novelty_peaks_at_the_change():
    _, rows = _bars((8, VERSE), (8, CHORUS))
    score = novelty(rows, half_width=4)
    assert score.shape == (16,)
    assert int(np.argmax(score)) == 8


def test_bar_features_one_standardised_row_per_bar():
    fps, bars = 10.0, 6
    n = int(bars * BAR_S * fps)
    chroma = np.zeros((n, 12))
    chroma[: n // 2, 0] = 1.0  # C for three bars, then G
    chroma[n // 2:, 7] = 1.0
    mfcc = np.ones((n, 13))
    onset = np.r_[np.zeros(n // 2), np.ones(n - n // 2)]
    rms = np.full(n, 0.1)
    edges = np.arange(bars + 1) * BAR_S
    rows = bar_features(edges, fps=fps, chroma=chroma, chroma_fps=fps, mfcc=mfcc,
                        onset=onset, rms=rms)
    assert rows.shape[0] == bars
    np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-12)  # standardised columns
    # bars away from the change alike (each bar's chords are also averaged with its
    # neighbours', so bars 2 and 3 each hear a little of the other side), the halves apart
    np.testing.assert_allclose(rows[0], rows[1], atol=1e-12)
    np.testing.assert_allclose(rows[4], rows[5], atol=1e-12)
    assert np.linalg.norm(rows[0] - rows[5]) > 1.0


@pytest.fixture(scope="module")
def verse_chorus_verse():
    song = render_song("vcv", [Part("verse", 8), Part("chorus", 8, progression="drop"),
                               Part("verse", 8)], bpm=130, seed=2)
    return song, analyze(song.y, sr=song.sr, fps=30)


def test_a_synthesised_song_is_cut_on_its_bar_lines(verse_chorus_verse):
    song, features = verse_chorus_verse
    starts = features.sections_s[:, 0]
    # the chorus and the returning verse start where they were written, within 0.1 s ...
    for start, _, _ in song.sections[1:]:
        assert np.min(np.abs(starts - start)) < 0.1, (start, starts)
    # ... and every boundary is one of the bar lines the analysis found
    for start in starts[1:]:
        assert np.min(np.abs(features.downbeats_s - start)) < 1e-9, (start,
                                                                     features.downbeats_s)
    np.testing.assert_allclose(features.sections_s[1:, 0], features.sections_s[:-1, 1])
    assert features.sections_s[-1, 1] == pytest.approx(features.duration_s)
    labels = list(features.section_labels)
    assert labels[0] == labels[-1] != labels[len(labels) // 2]  # the verse comes back


def test_novelty_equals_the_full_checkerboard_without_the_full_matrix():
    # the specification: a Gaussian checkerboard slid along the whole self-similarity matrix
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((40, 6))
    w = 3
    similarity = -np.sqrt(((rows[:, None] - rows[None]) ** 2).sum(-1))
    offsets = np.arange(-w, w)
    taper = np.exp(-0.5 * ((offsets + 0.5) / (0.6 * w)) ** 2)
    sign = np.where(offsets < 0, -1.0, 1.0)
    kernel = np.outer(sign * taper, sign * taper)
    padded = np.pad(similarity, w, mode="edge")
    expected = np.array([0.0] + [(kernel * padded[i:i + 2 * w, i:i + 2 * w]).sum()
                                 for i in range(1, len(rows))])
    np.testing.assert_allclose(novelty(rows, half_width=w), np.maximum(expected, 0.0))
