"""The seed's API (gan-video-synth's README and calls.py), run as written on a tiny checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audiogan.errors import ConfigError, ModelLoadError
from audiogan.synth import *  # noqa: F403 - the import the seed's README uses
from audiogan.synth import (
    GanVideoSynth,
    fit_to_ratio,
    generate_in_tempo,
    interpolate,
    one_hot,
    ramp,
    square,
    tempo_trajectory,
    triangle,
    truncated_z_sample,
)
from tests import synth

# calls.py of the seed: its parameters, with the "smooth" functions
CALLS = dict(
    classes=[835], y_scale=1, random_label=False, quantize_label=False,
    axis_sets=[range(0, 8), range(8, 16), range(16, 24), range(24, 32), range(32, 40),
               range(40, 48), range(48, 56), range(56, 64), range(64, 72), range(72, 80)],
    magnitudes=[0.15, 0.15, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    funcs=[np.cos, np.sin] * 5,
    periods=[1, 1, 2, 2, 4, 4, 8, 8, 16, 16],
)


@pytest.fixture(scope="module")
def gvs(tiny_weights) -> GanVideoSynth:
    return GanVideoSynth(weights=tiny_weights, device="cpu")


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, as the seed's npys/ and renders/ are relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- helpers ------------------------------------------------------------------------------

def test_truncated_z_sample_range_scale_and_seed():
    z = truncated_z_sample(64, 128, seed=3)
    assert z.shape == (64, 128) and np.abs(z).max() <= 2 and z.std() > 0.7
    half = truncated_z_sample(64, 128, truncation=0.5, seed=3)
    np.testing.assert_allclose(half, z * 0.5, rtol=1e-6)
    assert not np.array_equal(truncated_z_sample(1, 128, seed=4), z[:1])


def test_one_hot_and_interpolate():
    y = one_hot([398, 402])
    assert y.shape == (2, 1000) and y[0, 398] == 1 and y[1, 402] == 1 and y.sum() == 2
    assert one_hot(7).shape == (1, 1000)
    with pytest.raises(ConfigError, match="in \\[0, 1000\\)"):
        one_hot(1000)
    a, b = np.zeros(4), np.ones(4)
    path = interpolate(a, b, 5)
    assert path.shape == (5, 4)
    np.testing.assert_allclose(path[:, 0], [0, 0.25, 0.5, 0.75, 1])
    with pytest.raises(ConfigError, match="same shape"):
        interpolate(a, np.ones(3), 2)


def test_periodic_functions():
    x = np.linspace(0, 4 * TAU, 401)  # noqa: F405
    saw = ramp(x)
    assert saw.min() >= 0 and saw.max() < TAU  # noqa: F405
    np.testing.assert_allclose(ramp(x[:101]), x[:101] % TAU, atol=1e-9)  # noqa: F405
    np.testing.assert_allclose(ramp(x[:100], phase=np.pi), (x[:100] + np.pi) % TAU)  # noqa: F405
    np.testing.assert_allclose(ramp(x[100:]), ramp(x[:-100]), atol=1e-9)  # whole periods
    assert set(np.unique(square(x))) == {-1.0, 1.0}
    np.testing.assert_allclose(triangle([0, np.pi / 2, np.pi, 3 * np.pi / 2]), [0, 1, 0, -1],
                               atol=1e-9)


def test_fit_to_ratio_mirrors_the_sides():
    rng = np.random.default_rng(0)
    square_frames = rng.integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    wide = fit_to_ratio(square_frames)
    assert wide.shape == (2, 128, 228, 3)  # 16:9 to the nearest even width
    assert abs(228 / 128 - 16 / 9) < 2 / 128
    np.testing.assert_array_equal(wide[:, :, 50:178], square_frames)
    np.testing.assert_array_equal(wide[:, :, 49], square_frames[:, :, 0])  # mirrored
    np.testing.assert_array_equal(wide[:, :, :50], square_frames[:, :, 49::-1])
    np.testing.assert_array_equal(wide[:, :, 178:], square_frames[:, :, :77:-1])
    for size, width in ((256, 456), (512, 910)):
        assert fit_to_ratio(np.zeros((size, size, 3), np.uint8)).shape == (size, width, 3)
    assert fit_to_ratio(np.zeros((8, 16, 3), np.uint8), aspect_ratio=1).shape == (16, 16, 3)


# --- the model ----------------------------------------------------------------------------

def test_model_strings(tiny_weights, monkeypatch):
    with pytest.raises(ModelLoadError, match="'512' .*has no PyTorch port; use '512-deep'"):
        GanVideoSynth("512")
    with pytest.raises(ModelLoadError, match="choose one of '128-deep', '256-deep', '512-deep'"):
        GanVideoSynth("1024-deep")
    with pytest.raises(ModelLoadError, match="128 px BigGAN but biggan-deep-256 was asked"):
        GanVideoSynth("256-deep", weights=tiny_weights)
    # the README's `gvs = GanVideoSynth()`, pointed at a checkpoint by the environment
    monkeypatch.setenv("AUDIOGAN_WEIGHTS", str(tiny_weights))
    gvs = GanVideoSynth()
    assert (gvs.dim_z, gvs.vocab_size, gvs.model_string) == (128, 1000, "128-deep")
    assert GanVideoSynth("128-deep").resolution == 128
    with pytest.raises(ConfigError, match="device must be auto, cpu or cuda, got 'gpu'"):
        GanVideoSynth(device="gpu")


def test_sample_takes_ids_or_vectors(gvs):
    zs = truncated_z_sample(3, gvs.dim_z, truncation=0.5, seed=1)
    by_id = gvs.sample(zs, [398, 398, 402], truncation=0.5, batch_size=2)
    assert by_id.shape == (3, 128, 128, 3) and by_id.dtype == np.uint8
    by_vector = gvs.sample(zs, one_hot([398, 398, 402]), truncation=0.5, batch_size=2)
    np.testing.assert_array_equal(by_id, by_vector)
    one_class = gvs.sample(zs[:2], 398, truncation=0.5, batch_size=2)
    np.testing.assert_array_equal(one_class, by_id[:2])
    assert not np.array_equal(by_id[0], by_id[2])  # another class, another picture


def test_sample_rejects_mismatched_counts(gvs):
    zs = truncated_z_sample(3, gvs.dim_z, seed=1)
    with pytest.raises(ConfigError, match="got 3 z samples but 2 y samples"):
        gvs.sample(zs, [1, 2])
    with pytest.raises(ConfigError, match="zs must have shape \\(n, 128\\)"):
        gvs.sample(zs[:, :100], [1, 2, 3])
    with pytest.raises(ConfigError, match="truncation must be in \\(0, 1\\]"):
        gvs.sample(zs, [1, 2, 3], truncation=1.5)


# --- tempo mode: the z trajectory ------------------------------------------------------------

def test_each_axis_set_repeats_with_its_period_in_beats():
    bpm, fps = 120, 30  # 15 frames a beat
    zs, _ = tempo_trajectory(bpm=bpm, num_beats=32, fps=fps, seed=0)  # the seed's defaults
    assert zs.shape == (480, 128)
    periods = [1, 1, 2, 2, 4, 4, 8, 8, 16, 16]
    for k, period in enumerate(periods):
        axes = slice(8 * k, 8 * k + 8)
        frames_per_period = int(period * 60 / bpm * fps)
        motion = zs[:, axes]
        np.testing.assert_allclose(motion[frames_per_period:], motion[:-frames_per_period],
                                   atol=1e-5, err_msg=f"set {k} (period {period})")
        # and not sooner: half a period later it is elsewhere
        half = frames_per_period // 2
        assert np.abs(motion[half:] - motion[:-half]).max() > 0.5, f"set {k}"
        # all axes of a set move together
        steps = np.diff(motion, axis=0)
        np.testing.assert_allclose(steps, np.broadcast_to(steps[:, :1], steps.shape), atol=1e-5)
    still = zs[:, 80:]
    np.testing.assert_array_equal(still, np.repeat(still[:1], len(zs), axis=0))


def test_trajectory_labels():
    _, y = tempo_trajectory(classes=[398, 402], y_scale=2)
    assert np.isclose(np.linalg.norm(y), 2) and np.count_nonzero(y) == 2
    _, y = tempo_trajectory(random_label=True, y_scale=3, seed=5)
    assert np.isclose(np.linalg.norm(y), 3) and np.count_nonzero(y) == 1000
    _, quantized = tempo_trajectory(random_label=True, y_scale=8, quantize_label=True, seed=5)
    assert set(np.unique(quantized)) == {0.0, 1.0}
    np.testing.assert_array_equal(quantized, (np.abs(y) * 8 / 3 > 0.5).astype(np.float32))


def test_trajectory_starts_on_the_first_beat():
    zs, _ = tempo_trajectory(bpm=120, fps=30, num_frames=60, first_beat_s=0.2,
                             axis_sets=[range(0, 1)], magnitudes=[1], periods=[1],
                             funcs=[np.sin], seed=0)
    base = tempo_trajectory(num_frames=1, axis_sets=[], seed=0)[0][0, 0]
    assert abs(zs[6, 0] - base) < 1e-6 and abs(zs[21, 0] - base) < 1e-6  # 0.2 s and 0.7 s


# --- tempo mode: renders ----------------------------------------------------------------------

def test_seed_readme_as_written(tiny_weights, in_tmp, monkeypatch):
    """The seed README's steps 2-4 with calls.py's parameters: `GanVideoSynth()`, then
    `generate_in_tempo(...)` with bpm 135 and 16 beats, then npys/out.npy."""
    monkeypatch.setenv("AUDIOGAN_WEIGHTS", str(tiny_weights))
    gvs = GanVideoSynth()
    bpm, num_beats, classes = 135, 16, [398, 402]
    settings = {**CALLS, "classes": classes}
    generate_in_tempo(gvs, bpm=bpm, magnitudes=settings["magnitudes"], funcs=settings["funcs"],
                      axis_sets=settings["axis_sets"], random_label=settings["random_label"],
                      classes=classes, quantize_label=settings["quantize_label"],
                      y_scale=settings["y_scale"], periods=settings["periods"],
                      num_beats=num_beats)
    frames = np.load(in_tmp / "npys" / "out.npy")
    assert len(frames) == int(num_beats * 60 / bpm * 30) == 213
    assert frames.dtype == np.uint8 and frames.shape[1:] == (128, 228, 3)
    assert abs(frames.shape[2] / frames.shape[1] - 16 / 9) < 0.01
    assert synth.motion(frames)[1:].min() > 0  # it moves on every frame
    assert not (in_tmp / "renders").exists()  # no ext: only the npy, as in the seed


def test_gif_render_plays(gvs, in_tmp):
    bpm, num_beats = 135, 2
    result = generate_in_tempo(gvs, bpm=bpm, num_beats=num_beats, ext=".gif", seed=7, **CALLS)
    frames = np.load(in_tmp / "npys" / "out.npy")
    assert len(frames) == int(num_beats * 60 / bpm * 30) == 26
    assert (in_tmp / "npys" / "last_hash.txt").read_text().splitlines() == [result.hash, "fps=30"]
    assert result.video.parent == Path("renders") and (in_tmp / result.video).is_file()
    assert result.video.suffix == ".gif" and len(result.video.stem) == 14  # %Y%m%d%H%M%S
    played, _ = synth.read_video(in_tmp / result.video)
    assert played.shape == (26, 128, 228, 3)
    # GIF has 256 colours a frame; the picture is still the same one
    assert np.abs(played.astype(int) - frames.astype(int)).mean() < 12


def test_mp4_render_plays(gvs, in_tmp):
    result = generate_in_tempo(gvs, bpm=120, num_beats=2, fps=10, ext=".mp4", seed=1)
    facts = synth.stream_facts(in_tmp / result.video)
    assert "Video: h264" in facts and "yuv420p" in facts and "228x128" in facts
    played, fps = synth.read_video(in_tmp / result.video)
    assert fps == 10 and len(played) == 10
    assert np.abs(played.astype(int) - np.asarray(result.frames, dtype=int)).mean() < 8


def test_same_seed_same_frames_and_hash(gvs, in_tmp):
    settings = dict(bpm=240, num_beats=2, fps=8, classes=[398, 402])
    first = generate_in_tempo(gvs, seed=11, **settings)
    first_frames, first_hash = np.array(first.frames), first.hash
    again = generate_in_tempo(gvs, seed=11, **settings)
    np.testing.assert_array_equal(np.load(in_tmp / "npys" / "out.npy"), first_frames)
    assert again.hash == first_hash
    other = generate_in_tempo(gvs, seed=12, **settings)
    assert not np.array_equal(np.asarray(other.frames), first_frames)
    assert other.hash != first_hash
    assert (in_tmp / "npys" / "last_hash.txt").read_text().splitlines()[0] == other.hash
    assert not (in_tmp / "renders").exists()  # ext=None: only the npy, as in the seed


@pytest.mark.parametrize("func,period", [(np.sin, 2), (ramp, 1)])
def test_frames_repeat_with_the_period(gvs, in_tmp, func, period):
    bpm, fps = 120, 10  # 5 frames a beat
    result = generate_in_tempo(gvs, bpm=bpm, num_beats=2 * period, fps=fps, seed=3,
                               axis_sets=[range(0, 64)], magnitudes=[0.6], periods=[period],
                               funcs=[func], truncation=0.8)
    frames = np.asarray(result.frames, dtype=np.float32)
    step = 5 * period
    same = np.abs(frames[step:] - frames[:-step]).mean()
    apart = np.abs(frames[step // 2:step // 2 + step] - frames[:step]).mean()
    assert same < 0.5 and apart > 5 * max(same, 0.5)


def test_bad_arguments(gvs, in_tmp):
    with pytest.raises(ConfigError, match="one entry per axis set"):
        generate_in_tempo(gvs, axis_sets=[range(8)], magnitudes=[1, 2], seed=0)
    with pytest.raises(ConfigError, match="ext must be"):
        generate_in_tempo(gvs, ext=".avi", seed=0)
    with pytest.raises(ConfigError, match="classes must be ImageNet ids"):
        generate_in_tempo(gvs, classes=[1000], seed=0)
    with pytest.raises(ConfigError, match="axis 128 is outside the noise vector"):
        generate_in_tempo(gvs, axis_sets=[[0, 128]], magnitudes=[1], periods=[1],
                          funcs=[np.sin], seed=0)
    with pytest.raises(ConfigError, match="truncation must be in \\(0, 1\\]"):
        generate_in_tempo(gvs, truncation=0, seed=0)
    assert not (in_tmp / "npys").exists()


def test_seed_demo_and_writers(gvs, in_tmp):
    """The seed's other names: `generate(gvs)`, `gvs.write_gif`, `write_gif`."""
    demo = generate(gvs, fps=6, seed=2)  # noqa: F405
    played, fps = synth.read_video(in_tmp / demo)
    assert demo.parent == Path("renders") and demo.suffix == ".gif"
    assert played.shape == (6, 128, 128, 3)
    frames = np.random.default_rng(0).integers(0, 256, (4, 18, 32, 3), dtype=np.uint8)
    clip = gvs.write_gif(frames, duration=2, fps=5, ext=".mp4")
    played, fps = synth.read_video(in_tmp / clip)
    assert (fps, len(played)) == (5, 10)  # 4 frames stretched over 2 s at 5 fps
    assert write_gif(frames, duration=1, fps=4, fname="x/ani.gif") == Path("x/ani.gif")  # noqa: F405
    assert len(synth.read_video(in_tmp / "x" / "ani.gif")[0]) == 4
