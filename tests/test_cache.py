from __future__ import annotations

import dataclasses

import numpy as np

from audiogan import cache
from audiogan.pipeline import analyze_song, render


def test_analysis_is_cached_per_song_and_settings(song_copy, tiny_weights, tmp_path,
                                                  monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "cache"))
    render(song_copy, tmp_path / "a.mp4", classes=[1], weights=tiny_weights, duration=2.0)
    stored = list((tmp_path / "cache" / "analysis").glob("*.npz"))
    assert len(stored) == 1
    # a new look re-uses the analysis
    render(song_copy, tmp_path / "b.mp4", classes=[2, 3], seed=4, weights=tiny_weights,
           duration=2.0, preset="punchy")
    assert list((tmp_path / "cache" / "analysis").glob("*.npz")) == stored
    # other analysis settings or other audio make a new entry
    render(song_copy, tmp_path / "c.mp4", classes=[1], weights=tiny_weights, duration=2.0,
           fps=24)
    song_copy.write_bytes(song_copy.read_bytes()[:-4000])
    render(song_copy, tmp_path / "d.mp4", classes=[1], weights=tiny_weights, duration=2.0)
    assert len(list((tmp_path / "cache" / "analysis").glob("*.npz"))) == 3


def test_cached_features_equal_fresh_ones(clicks_120, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))
    song, _ = clicks_120
    _, fresh = analyze_song(song)
    key = cache.analysis_key(song, fps=30.0, start=0.0, duration=None, sample_rate=22050,
                             beat_tracker="audiogan", beat_model=None,
                             tempo_range=[55.0, 215.0])
    loaded = cache.load_features(key)
    assert loaded is not None
    for field in dataclasses.fields(fresh):
        np.testing.assert_array_equal(getattr(loaded, field.name), getattr(fresh, field.name))


def test_a_broken_cache_entry_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "deadbeef.npz").write_bytes(b"half a file")
    assert cache.load_features("deadbeef") is None
