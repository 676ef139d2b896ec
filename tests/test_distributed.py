"""Albums on a local 2-CPU Ray: the same frames as the in-process render."""

from __future__ import annotations

import numpy as np
import pytest

from audiogan.album import render_album
from tests import synth

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_album_with_split_tracks_matches_the_in_process_render(tiny_weights, tmp_path):
    songs = synth.make_album(tmp_path / "songs", seconds=(2.0, 3.0))
    (songs / "03 broken.wav").write_bytes(b"RIFF and nothing else")
    options = dict(weights=tiny_weights, fps=12.0, crf=0, classes=[1, 2], seed=5)
    here = render_album(songs, tmp_path / "here", **options)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        there = render_album(songs, tmp_path / "ray", ray="auto", split_frames=2, **options)
    finally:
        ray.shutdown()
    assert [r.status for r in here] == ["rendered", "rendered", "failed"]
    assert [r.status for r in there] == ["rendered", "rendered", "failed"]
    assert "not an audio file" in there[2].error
    for mine, theirs in zip(here[:2], there[:2], strict=True):
        assert theirs.output.parent == tmp_path / "ray"  # written where the driver asked
        assert theirs.frames == mine.frames
        local = synth.read_luma(mine.output).astype(int)
        remote = synth.read_luma(theirs.output).astype(int)
        assert local.shape == remote.shape == (mine.frames, 128, 128)
        # compared in grey levels as stored (the Y plane of the lossless encode): float
        # rounding differs with the workers' torch thread count (Ray gives each one CPU), so
        # a few pixels may sit one level apart, never more
        difference = np.abs(local - remote)
        assert difference.max() <= 1
        assert (difference == 0).mean() > 0.999
        assert synth.stream_facts(theirs.output).count("Audio: aac") == 1
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".")]


def test_ray_without_ray_installed_says_what_to_install(monkeypatch, tmp_path):
    import builtins

    from audiogan.errors import MissingPackageError

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    songs = synth.make_album(tmp_path / "songs", seconds=(2.0,))
    with pytest.raises(MissingPackageError, match=r'pip install "audiogan\[ray\]"'):
        render_album(songs, tmp_path / "out", ray="auto")
    assert not (tmp_path / "out").exists()
