"""The learned beat activation: the numpy network against its torch twin, and what it hears."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from audiogan import beatnet
from audiogan.analysis import analyze, hop_features
from audiogan.testing import band_song

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import beat_train_data  # noqa: E402
import train_beatnet  # noqa: E402


def test_numpy_network_matches_the_torch_one_it_was_trained_as():
    torch.manual_seed(3)
    model = train_beatnet.BeatNet().eval()
    weights = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    mel = np.random.default_rng(0).normal(-45.0, 15.0, (1500, beatnet.N_MELS)).astype(np.float16)
    # small chunks: the overlap must give the same numbers as one pass
    beat, downbeat = beatnet.activations(mel, weights=[weights], chunk=400)
    with torch.no_grad():
        logits = model(torch.from_numpy(beatnet.normalise(mel)[None]))[0].numpy()
    np.testing.assert_allclose(beat, 1 / (1 + np.exp(-logits[0])), atol=1e-5)
    np.testing.assert_allclose(downbeat, 1 / (1 + np.exp(-logits[1])), atol=1e-5)


def test_the_causal_network_hop_by_hop_is_its_torch_twin_over_the_song_so_far():
    torch.manual_seed(4)
    model = train_beatnet.BeatNet(causal=True).eval()
    weights = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    rng = np.random.default_rng(2)
    # a silent start, then music that turns quiet: the level's reference follows it
    mel = np.concatenate([np.full((30, beatnet.N_MELS), -100.0),
                          rng.normal(-30.0, 12.0, (400, beatnet.N_MELS)),
                          rng.normal(-60.0, 12.0, (300, beatnet.N_MELS))]).astype(np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(beatnet.normalise(mel, causal=True)[None]))[0, 0]
    whole = beatnet.causal_activations(mel, weights=[weights])
    np.testing.assert_allclose(whole, torch.sigmoid(logits).numpy(), atol=1e-5)
    stream = beatnet.StreamingNet([weights])
    hop_by_hop = np.array([stream.step(frame) for frame in mel])
    np.testing.assert_allclose(hop_by_hop, whole, atol=1e-5)
    # what a hop hears does not change when later hops change
    later = mel.copy()
    later[500:] = rng.normal(-10.0, 5.0, (len(mel) - 500, beatnet.N_MELS))
    np.testing.assert_array_equal(beatnet.causal_activations(later, weights=[weights])[:500],
                                  whole[:500])


def test_the_packaged_causal_network_peaks_on_the_beats_of_a_band_song():
    song = band_song("steady")
    hop = hop_features([song.y], sr=song.sr)
    beat = beatnet.causal_activations(hop.mel_db)
    frames = np.round(song.beats_s * hop.fps).astype(int)
    frames = frames[(frames > 200) & (frames < len(beat) - 3)]  # after its first beats
    on = np.array([beat[f - 2:f + 3].max() for f in frames])
    half = np.round((song.beats_s[song.beats_s > 3.0] + 30.0 / 120.0) * hop.fps).astype(int)
    off = np.array([beat[f - 2:f + 3].max() for f in half[half < len(beat) - 3]])
    assert np.median(on) > 0.5
    assert np.median(on) > 4 * np.median(off)


def test_packaged_weights_load_without_pickle_and_fit_the_network():
    members = beatnet.load_weights()
    model = train_beatnet.BeatNet()
    expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert len(members) >= 2
    causal = beatnet.load_causal_weights()
    assert len(causal) >= 1
    for weights in members + causal:
        assert {name: value.shape for name, value in weights.items()} == expected
        assert all(value.dtype == np.float32 for value in weights.values())


def test_an_ensemble_is_the_mean_of_its_members(tmp_path):
    nets = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        path = tmp_path / f"net-{seed}.npz"
        train_beatnet.save(train_beatnet.BeatNet().eval(), path)
        nets.append(path)
    train_beatnet.combine(nets, tmp_path / "both.npz")
    mel = np.random.default_rng(1).normal(-45.0, 15.0, (600, beatnet.N_MELS)).astype(np.float16)
    one = [beatnet.activations(mel, weights=beatnet.load_weights(path)) for path in nets]
    both = beatnet.activations(mel, weights=beatnet.load_weights(tmp_path / "both.npz"))
    np.testing.assert_allclose(both[0], (one[0][0] + one[1][0]) / 2, atol=1e-6)
    np.testing.assert_allclose(both[1], (one[0][1] + one[1][1]) / 2, atol=1e-6)


def test_pickled_weights_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"m0.conv1.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match="allow_pickle"):
        beatnet.load_weights(path)


def test_the_packaged_network_peaks_on_the_beats_of_a_band_song():
    song = band_song("steady")
    hop = hop_features([song.y], sr=song.sr)
    beat, _ = beatnet.activations(hop.mel_db)
    frames = np.round(song.beats_s * hop.fps).astype(int)
    frames = frames[(frames > 2) & (frames < len(beat) - 3)]
    on = np.array([beat[f - 2:f + 3].max() for f in frames])
    # half a beat later: the off-beats
    half = np.round((song.beats_s + 30.0 / 120.0) * hop.fps).astype(int)
    half = half[(half > 2) & (half < len(beat) - 3)]
    off = np.array([beat[f - 2:f + 3].max() for f in half])
    assert np.median(on) > 0.5
    assert np.median(on) > 4 * np.median(off)


def test_empty_and_silent_songs_give_no_beats():
    beat, downbeat = beatnet.activations(np.zeros((0, beatnet.N_MELS), np.float16))
    assert beat.shape == downbeat.shape == (0,)
    silence = analyze(np.zeros(22050 * 10, np.float32), sr=22050, fps=30)
    assert len(silence.beats_s) == 0 and silence.beat_confidence == 0.0


def test_training_targets_mark_each_beat_and_follow_a_stretched_crop():
    fps = 100.0
    beats = np.array([0.5, 1.0, 1.5])
    target = train_beatnet._targets(beats, fps, start=0, scale=1.0, length=200)
    assert np.flatnonzero(target == 1.0).tolist() == [50, 100, 150]
    assert np.flatnonzero(target == 0.5).tolist() == [49, 51, 99, 101, 149, 151]
    # a crop from hop 40 that takes 1.25 source hops a hop: the beats come sooner
    target = train_beatnet._targets(beats, fps, start=40, scale=1.25, length=100)
    assert np.flatnonzero(target == 1.0).tolist() == [8, 48, 88]


def test_a_room_lets_a_hit_ring_on_and_keeps_it_where_it_was():
    fps, bands = 86.0, beatnet.N_MELS
    level = np.full((300, bands), -3.0, np.float32)
    level[100:110] = 0.0  # a loud hit of ten hops in a quiet song
    rang = 0
    for seed in range(20):
        out = train_beatnet.room(level, fps, np.random.default_rng(seed))
        assert out.shape == level.shape and out.min() >= -4.0 and out.max() <= 1.0
        # levelled as the song was: its loud frames stay near 0
        assert abs(np.percentile(out, 99) - np.percentile(level, 99)) < 1e-4
        # the onset stays on its hop
        assert int(np.argmax(np.diff(out.mean(axis=1)))) == 99
        after = out[115:140].mean() - out[250:].mean()
        rang += after > 0.2  # 10 dB over the quiet floor well after the hit
    assert rang >= 8  # seven rooms in ten reverberate


def test_offbeat_hits_sound_between_the_beats_and_leave_the_beats_alone():
    level = np.full((200, beatnet.N_MELS), -3.0, np.float32)
    level[::20] = 0.0  # a beat every 20 hops
    out = train_beatnet.offbeat_hits(level, np.arange(10, 200, 20), np.random.default_rng(0))
    loudest = out.max(axis=1)
    assert (loudest[10::20] > -0.8).all()  # within 15 dB of the beats
    np.testing.assert_allclose(out[::20], level[::20], atol=0.01)  # within 0.2 dB
    rise = np.maximum(np.diff(out.mean(axis=1)), 0.0)
    assert set(np.flatnonzero(rise > 0.05) + 1) == set(range(10, 200, 20)) | set(range(20, 200, 20))


def test_training_songs_are_written_in_their_key_and_meter():
    assert beat_train_data._chord("V", 0) == "G7"
    assert beat_train_data._chord("vi", 2) == "Bm"
    assert beat_train_data._chord("VII", 9) == "G"
    text, name = beat_train_data.mma_song(random.Random(0), [("rock", ["Rock", "RockSus"])])
    lines = text.splitlines()
    assert lines[0].startswith("Tempo ") and 62 <= int(lines[0].split()[1]) <= 200
    assert lines[1] in ("Groove Rock", "Groove RockSus")
    bars = [line for line in lines if line.split()[0].isdigit()]
    assert len(bars) in (24, 32, 40) and name.startswith("mma-rock-")
