"""The pipeline as a specification: the order of the stages, what a render makes, and that
albums and tempo mode go through the same stages rather than their own copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiogan import album, analysis, config, encode, mapping, model, pipeline, timing
from audiogan.encode import probe_video
from audiogan.errors import ConfigError, ModelLoadError
from tests import synth

FPS = 6.0
_AUTO_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # what device auto settles on


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    """4 s of clicks at 120 BPM: 24 frames at 6 fps."""
    y, _ = synth.click_track(120.0, 4.0, first_beat=0.25)
    return synth.write_wav(tmp_path_factory.mktemp("song") / "clicks.wav", y)


@pytest.fixture()
def stages(monkeypatch) -> list[str]:
    """The stages as they run, recorded by wrapping each module's entry point."""
    calls: list[str] = []

    def spy(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            calls.append(label)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    spy(pipeline.audio, "probe", "probe")
    spy(model, "load_biggan", "model")
    spy(analysis, "analyze", "analysis")
    spy(mapping, "map_features", "mapping")
    spy(pipeline, "render_segment", "segment")
    spy(pipeline, "concat_segments", "concat")
    spy(encode.VideoWriter, "__enter__", "encoder")
    return calls


def test_stage_order_of_a_split_render(song, tiny_weights, tmp_path, stages):
    result = pipeline.render(song, tmp_path / "split.mp4", weights=tiny_weights, fps=FPS,
                             split_frames=2, analysis_cache=False)
    # prepare (checks, the model before the long analysis, analysis, mapping), then the
    # frames as segments, each through its own encoder, then one join with the audio
    assert stages == ["probe", "model", "analysis", "mapping",
                      "segment", "encoder", "segment", "encoder", "concat"]
    assert result.frames == 24


def test_stage_order_of_prepare_then_segments_then_join(song, tiny_weights, tmp_path, stages):
    plan = pipeline.prepare(song, tmp_path / "parts.mp4", weights=tiny_weights, fps=FPS,
                            analysis_cache=False)
    assert stages == ["probe", "analysis", "mapping"]  # no model to plan a render
    assert plan.n_frames == 24 and plan.trajectory.z.shape == (24, 128)
    generator = pipeline.load_generator(plan)
    ranges = plan.frame_ranges(2)
    assert ranges == [(0, 12), (12, 24)]
    segments = [pipeline.render_segment(plan, tmp_path / f"{k}.mp4", first, last,
                                        generator=generator)
                for k, (first, last) in enumerate(ranges)]
    made = pipeline.join_segments(plan, segments, size=128, started=0.0)
    assert stages[3:] == ["model", "segment", "encoder", "segment", "encoder", "concat"]
    facts = probe_video(made.output)
    assert (facts.frames, facts.has_audio) == (24, True)


def test_a_render_makes_every_frame_with_the_sound(song, tiny_weights, tmp_path):
    result = pipeline.render(song, tmp_path / "whole.mp4", weights=tiny_weights, fps=FPS)
    facts = probe_video(result.output)
    assert result.frames == facts.frames == round(4.0 * FPS)
    assert facts.fps == FPS and (facts.width, facts.height) == (128, 128)
    assert facts.has_audio
    assert abs(facts.duration_s - 4.0) < 0.1
    assert result.duration_s == pytest.approx(4.0, abs=0.01)
    assert (result.width, result.height, result.fps) == (128, 128, FPS)
    assert result.device == _AUTO_DEVICE and result.tempo_bpm == pytest.approx(120, abs=2)
    assert abs(len(synth.read_audio(result.output)) / 22050 - 4.0) < 0.1


def test_settings_are_resolved_once_and_files_read_once(song, tiny_weights, tmp_path,
                                                        monkeypatch):
    counts = {"resolve_config": 0, "read_beats": 0, "config.json": 0}

    def counting(owner, name, key):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            counts[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counting(pipeline, "resolve_config", "resolve_config")
    counting(timing, "read_beats", "read_beats")
    counting(model, "_read_config", "config.json")
    beats = tmp_path / "beats.txt"
    beats.write_text("\n".join(f"{0.25 + 0.5 * k:.2f}" for k in range(5)))
    pipeline.render(song, tmp_path / "once.mp4", weights=tiny_weights, fps=FPS, beats=beats)
    assert counts == {"resolve_config": 1, "read_beats": 1, "config.json": 1}


def test_a_resolved_config_is_what_every_stage_reads(song, tiny_weights, tmp_path):
    resolved = config.resolve_config("calm", weights=tiny_weights, fps=FPS, seed=4)
    # settled here, once: auto is float16 on a GPU, float32 on the CPU
    assert (resolved.device, resolved.dtype) == (
        (_AUTO_DEVICE, "float16") if _AUTO_DEVICE == "cuda" else ("cpu", "float32"))
    assert resolved.model is None  # the checkpoint decides
    plan = pipeline.prepare(song, tmp_path / "calm.mp4", config=resolved)
    assert plan.config is resolved
    assert plan.trajectory.truncation == resolved.mapping.truncation == 0.4
    with pytest.raises(ConfigError, match="either a resolved config= or a preset"):
        pipeline.prepare(song, tmp_path / "x.mp4", config=resolved, fps=12.0)


def test_prepare_loads_no_model(song, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise ModelLoadError("prepare must not load a model")

    monkeypatch.setattr(model, "load_biggan", refuse)
    plan = pipeline.prepare(song, tmp_path / "p.mp4", weights=tmp_path / "nowhere", fps=FPS)
    assert plan.n_frames == 24


def test_an_album_goes_through_the_pipeline(tiny_weights, tmp_path, monkeypatch):
    songs = synth.make_album(tmp_path / "songs", seconds=(1.5, 2.0))
    calls: list[tuple[str, object]] = []
    for name in ("prepare", "render_plan"):
        original = getattr(pipeline, name)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls.append((_name, kwargs.get("config")))
            return _original(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, wrapper)
    resolved = []
    original_resolve = album.resolve_config

    def resolving(*args, **kwargs):
        resolved.append(original_resolve(*args, **kwargs))
        return resolved[-1]

    monkeypatch.setattr(album, "resolve_config", resolving)
    results = album.render_album(songs, tmp_path / "videos", weights=tiny_weights, fps=FPS)
    assert [r.status for r in results] == ["rendered", "rendered"]
    assert [r.frames for r in results] == [9, 12]
    assert [name for name, _ in calls] == ["prepare", "render_plan"] * 2
    # each track's settings resolved once, and that config is what the pipeline got
    assert len(resolved) == 2
    assert [c for name, c in calls if name == "prepare"] == resolved


def test_tempo_mode_goes_through_the_pipeline(tiny_weights, tmp_path, monkeypatch):
    from audiogan.synth import GanVideoSynth, generate_in_tempo

    monkeypatch.chdir(tmp_path)
    calls: list[str] = []
    for name in ("prepare_tempo", "render_tempo", "frame_batches", "write_clip"):
        original = getattr(pipeline, name)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, wrapper)
    gvs = GanVideoSynth(weights=tiny_weights, device="cpu")
    result = generate_in_tempo(gvs, bpm=120, num_beats=2, fps=FPS, ext=".mp4", seed=1)
    assert calls == ["prepare_tempo", "render_tempo", "frame_batches", "write_clip"]
    assert result.n_frames == int(2 * 60 / 120 * FPS) == 6
    assert probe_video(tmp_path / result.video).frames == 6
    np.testing.assert_array_equal(np.load(tmp_path / "npys" / "out.npy"), result.frames)


def test_an_excerpt_has_the_beats_of_the_whole_song(sample_song, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "cache"))
    _, whole = pipeline.analyze_song(sample_song)
    _, part = pipeline.analyze_song(sample_song, start=4.0, duration=6.5)
    assert part.n_frames == round(6.5 * whole.fps) and part.duration_s == 6.5
    inside = whole.beats_s[(whole.beats_s >= 4.0) & (whole.beats_s < 10.5)] - 4.0
    np.testing.assert_allclose(part.beats_s, inside, atol=1e-9)
    np.testing.assert_array_equal(part.onset, whole.onset[120:315])
    # a start between two frames: the excerpt's frames are its own, from that start
    _, late = pipeline.analyze_song(sample_song, start=4.01, duration=6.5)
    assert late.n_frames == part.n_frames
    np.testing.assert_allclose(late.beats_s, part.beats_s - 0.01, atol=0.02)
