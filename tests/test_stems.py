"""Stems: drums -> pulses, bass -> drift, other -> class morph; demucs as an optional extra."""

from __future__ import annotations

import dataclasses
import sys
import types

import numpy as np
import pytest

from audiogan.analysis import analyze
from audiogan.config import MappingConfig, resolve_config
from audiogan.errors import AudioganError, ConfigError, MissingPackageError, ModelLoadError
from audiogan.mapping import class_weights, drift_phase
from audiogan.pipeline import analyze_song
from audiogan.stems import combine
from audiogan.testing import Part, render_song
from tests import synth


@pytest.fixture(scope="module")
def song_and_stems(tmp_path_factory):
    """8 bars at 120 BPM; the bass plays only in the second half, the chords are C major
    in the first half and F# major in the second."""
    folder = tmp_path_factory.mktemp("stems")
    song = render_song("stems", [Part("a", 4, bass=False), Part("b", 4, progression="drop")],
                       bpm=120, seed=5)
    paths = {"song": synth.write_wav(folder / "song.wav", song.y, song.sr)}
    for name, signal in song.stems.items():
        paths[name] = synth.write_wav(folder / f"{name}.wav", signal, song.sr)
    return song, paths


def test_each_stem_drives_its_own_part(song_and_stems):
    song, paths = song_and_stems
    stems = {name: paths[name] for name in ("drums", "bass", "other")}
    _, mix = analyze_song(paths["song"])
    _, routed = analyze_song(paths["song"], stems=stems)
    _, drums = analyze_song(paths["drums"])
    _, bass = analyze_song(paths["bass"])
    _, other = analyze_song(paths["other"])
    # the grid stays the mix's; the features come from the stems
    np.testing.assert_array_equal(routed.beats_s, mix.beats_s)
    np.testing.assert_array_equal(routed.loudness_db, bass.loudness_db[:routed.n_frames])
    np.testing.assert_array_equal(routed.chroma, other.chroma[:routed.n_frames])
    assert np.corrcoef(routed.onset, drums.onset[:routed.n_frames])[0, 1] > 0.999
    # bass silent in the first half: the drift crawls there, though the mix is loud
    config = MappingConfig(drift_loudness=1.0, calm=0.0)
    half = routed.n_frames // 2
    speed = np.diff(drift_phase(routed, config))
    assert speed[30:half - 30].mean() < 0.2 * speed[half + 30:-60].mean()
    plain = np.diff(drift_phase(mix, config))
    assert plain[30:half - 30].mean() > 0.4 * plain[half + 30:-60].mean()


def test_combine_routes_and_pads():
    def features(n, value):
        return analyze(np.full(n, 0.0, np.float32), sr=22050, fps=10).__class__(
            fps=10.0, duration_s=n / 10, sample_rate=22050, tempo_bpm=120.0,
            beats_s=np.arange(0, n / 10, 0.5), onset=np.full(n, value, np.float32),
            loudness_db=np.full(n, -value, np.float32),
            chroma=np.full((n, 12), value, np.float32), peak_dbfs=-1.0)

    mix = features(50, 1.0)
    routed = combine(mix, drums=features(50, 2.0), bass=features(40, 30.0),
                     other=features(60, 0.5))
    np.testing.assert_allclose(routed.onset, 1.0)  # rescaled: a drum hit on a beat is 1
    np.testing.assert_allclose(routed.loudness_db[:40], -30.0)
    np.testing.assert_allclose(routed.loudness_db[40:], -100.0)  # a short stem goes quiet
    assert routed.chroma.shape == (50, 12) and np.all(routed.chroma == 0.5)
    assert combine(mix) is not mix and np.all(combine(mix).onset == mix.onset)
    slower = dataclasses.replace(features(50, 2.0), fps=5.0)
    with pytest.raises(ConfigError, match=r"^the drums stem was analysed at 5.0 fps, the mix "
                                          r"at 10.0$"):
        combine(mix, drums=slower)


def test_harmony_stem_moves_the_classes(tmp_path):
    # the chords: C major for 4 s, then F# major (far apart on the circle of fifths)
    chords = synth.chord_track([[0, 4, 7], [6, 10, 1]], seconds_each=4.0)
    clicks, _ = synth.click_track(120.0, 8.0)
    song = synth.write_wav(tmp_path / "song.wav", 0.5 * chords + clicks)
    other = synth.write_wav(tmp_path / "other.wav", chords)
    _, routed = analyze_song(song, stems={"other": other})
    weights = class_weights(routed, 2, MappingConfig(section_shift=0.0))
    assert weights[30:100, 0].min() > 0.7
    assert weights[150:220, 1].min() > 0.7


def test_bad_stems_get_one_line(tmp_path, song_and_stems):
    _, paths = song_and_stems
    with pytest.raises(ConfigError, match=r"unknown stem 'vocals': use drums, bass or other"):
        resolve_config(render={"stems": ["vocals=x.wav"]})
    with pytest.raises(ConfigError, match=r"--stem 'drums': write NAME=PATH"):
        resolve_config(render={"stems": ["drums"]})
    with pytest.raises(ConfigError, match=r"stem 'bass' is given twice"):
        resolve_config(render={"stems": ["bass=a.wav", "bass=b.wav"]})
    with pytest.raises(AudioganError, match="missing.wav"):
        analyze_song(paths["song"], stems={"drums": tmp_path / "missing.wav"})


def test_separate_says_what_to_install_without_demucs(monkeypatch, song_and_stems, tmp_path):
    _, paths = song_and_stems
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "demucs", None)
    with pytest.raises(MissingPackageError,
                       match=r'--separate needs demucs: pip install "audiogan\[stems\]"'):
        analyze_song(paths["song"], separate=True)


def test_separate_says_when_the_weights_cannot_be_had(monkeypatch, song_and_stems, tmp_path):
    _, paths = song_and_stems
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))

    def offline(name):
        raise OSError("Temporary failure in name resolution")

    fake = types.ModuleType("demucs")
    pretrained = types.ModuleType("demucs.pretrained")
    pretrained.get_model = offline
    apply = types.ModuleType("demucs.apply")
    apply.apply_model = None
    for name, module in (("demucs", fake), ("demucs.pretrained", pretrained),
                         ("demucs.apply", apply)):
        monkeypatch.setitem(sys.modules, name, module)
    with pytest.raises(ModelLoadError, match=r"demucs could not load its htdemucs weights "
                                             r"\(OSError: Temporary failure"):
        analyze_song(paths["song"], separate=True)


def test_separate_writes_each_stem_once_and_reuses_it(monkeypatch, song_and_stems, tmp_path):
    """With a stand-in demucs that returns the song at four gains, each stem file holds the
    song at its gain (vocals go with other), and a second call does not separate again."""
    import soundfile
    import torch

    from audiogan.separate import separate_stems

    _, paths = song_and_stems
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))
    calls = []
    model = types.SimpleNamespace(samplerate=22050, sources=["drums", "bass", "other", "vocals"])

    def apply_model(model, wav, device, progress):
        calls.append(wav.shape)
        gains = torch.tensor([0.1, 0.2, 0.3, 0.4])[:, None, None]
        return (wav[0][None] * gains)[None]

    pretrained = types.ModuleType("demucs.pretrained")
    pretrained.get_model = lambda name: model
    apply = types.ModuleType("demucs.apply")
    apply.apply_model = apply_model
    for name, module in (("demucs", types.ModuleType("demucs")),
                         ("demucs.pretrained", pretrained), ("demucs.apply", apply)):
        monkeypatch.setitem(sys.modules, name, module)
    stems = separate_stems(paths["song"])
    song, rate = soundfile.read(paths["song"], dtype="float32")
    assert rate == 22050 and len(calls) == 1 and calls[0] == (1, 2, len(song))
    for name, gain in (("drums", 0.1), ("bass", 0.2), ("other", 0.7)):
        signal, stem_rate = soundfile.read(stems[name], dtype="float32")
        assert stem_rate == 22050 and len(signal) == len(song)
        np.testing.assert_allclose(signal, gain * song, atol=2 / 32767)
    assert separate_stems(paths["song"]) == stems and len(calls) == 1
    assert sorted(p.name for p in stems["drums"].parent.iterdir()) == [
        "bass.wav", "drums.wav", "other.wav"]
