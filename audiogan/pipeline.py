"""The one module that knows the order: audio -> analysis -> mapping -> generation -> encoding.

`render` is the Python API behind ``audiogan SONG``; `analyze_song` is the one behind
``audiogan analyze``. Both check everything a user can get wrong before the slow work starts.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiogan import analysis, audio, cache, mapping, stems, timing
from audiogan.config import MappingConfig, RenderConfig, resolve_config
from audiogan.encode import AudioTrack, VideoWriter, temporary_path
from audiogan.errors import AudioLoadError, ConfigError
from audiogan.types import Cue, Features

__all__ = ["RenderResult", "render", "analyze_song", "plan_output", "MIN_DURATION_S"]

ANALYSIS_SR = 22050
MIN_DURATION_S = 1.0
SILENT_DBFS = -80.0
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")

Progress = Callable[[str, float, float | None], None]
"""``progress(stage, done, total)``: stage is "weights", "analysis", "frames" or "encoding"."""


@dataclass(frozen=True)
class RenderResult:
    """What a render made, for the summary and for scripts."""

    output: Path
    duration_s: float
    frames: int
    fps: float
    width: int
    height: int
    wall_s: float
    tempo_bpm: float
    beats: int
    device: str

    @property
    def achieved_fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def minutes_per_minute(self) -> float:
        """Wall-clock minutes spent per minute of music."""
        return self.wall_s / self.duration_s if self.duration_s > 0 else 0.0


def _split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    mapping_names = {f.name for f in dataclasses.fields(MappingConfig)}
    render_names = {f.name for f in dataclasses.fields(RenderConfig)} - {"mapping"}
    render_options, mapping_options = {}, {}
    for name, value in options.items():
        if name in mapping_names:
            mapping_options[name] = value
        elif name in render_names:
            render_options[name] = value
        else:
            raise ConfigError(f"unknown option {name!r}")
    return render_options, mapping_options


def plan_output(song: Path, output: str | Path | None, *, preview: bool = False,
                overwrite: bool = False) -> Path:
    """Where the video goes; raise `ConfigError` if it cannot or must not be written there.

    Default: ``SONG_STEM.mp4`` (``SONG_STEM.preview.mp4`` for a preview) beside the song. An
    existing folder as `output` puts that name in the folder. Missing folders are created.
    """
    default_name = f"{song.stem}.preview.mp4" if preview else f"{song.stem}.mp4"
    if song.name == default_name:  # the song is itself an mp4: never write over it
        default_name = f"{song.stem}.audiogan.mp4"
    if output is None:
        target = song.with_name(default_name)
    else:
        target = Path(output).expanduser()
        if target.is_dir():
            target = target / default_name
    if target.exists() and song.exists() and os.path.samefile(target, song):
        raise ConfigError(f"output {target} is the input song; choose another -o")
    if target.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError(f"output {target} must end in .mp4 (or .m4v, .mov)")
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists; pass --overwrite to replace it "
                          "or choose another -o")
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_file = temporary_path(target)
        probe_file.touch()
        probe_file.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write to {folder} ({exc.strerror or exc}); choose another "
                          "-o") from None
    return target


def _check_excerpt(info: audio.AudioInfo, start: float, duration: float | None) -> None:
    if info.duration_s is not None and start >= info.duration_s:
        raise ConfigError(f"--start {start:g} is past the end of {info.path.name} "
                          f"({info.duration_s:.1f} s)")


def _analyze(info: audio.AudioInfo, config: RenderConfig, fps: float,
             progress: Progress | None, *, check: bool = True) -> Features:
    total = info.duration_s
    if total is not None:
        total = max(0.0, total - config.start)
        if config.duration is not None:
            total = min(total, config.duration)

    def report(seconds: float) -> None:
        if progress is not None:
            progress("analysis", seconds, total)

    key = cache.analysis_key(info.path, fps=fps, start=config.start, duration=config.duration,
                             sample_rate=ANALYSIS_SR)
    features = cache.load_features(key) if config.analysis_cache else None
    if features is not None:
        report(features.duration_s)
    else:
        blocks = audio.stream_mono(info, sample_rate=ANALYSIS_SR, start=config.start,
                                   duration=config.duration)
        features = analysis.analyze(blocks, sr=ANALYSIS_SR, fps=fps, progress=report)
        if config.analysis_cache:
            cache.save_features(key, features)
    if not check:
        return features
    if features.duration_s < MIN_DURATION_S:
        raise AudioLoadError(
            f"{info.path.name} is {features.duration_s:.2f} s long, shorter than a beat; "
            f"audiogan needs at least {MIN_DURATION_S:g} s of audio"
        )
    if features.peak_dbfs < SILENT_DBFS:
        where = " in the chosen excerpt" if config.start or config.duration else ""
        raise AudioLoadError(
            f"{info.path.name} is silent{where} (peak {features.peak_dbfs:.0f} dBFS): "
            "there is nothing to react to; check the file or choose --start/--duration"
        )
    return features


def _check_timing(config: RenderConfig) -> list[Cue]:
    """Read the user's beats and cue files and probe the stems before any slow work, so
    that a bad value stops the run at once; returns the cues as written."""
    if config.beats is not None:
        timing.read_beats(config.beats)
    for _, path in config.stems:
        audio.probe(path)
    return timing.read_cues(config.cues) if config.cues is not None else []


def _song_features(info: audio.AudioInfo, config: RenderConfig,
                   progress: Progress | None) -> Features:
    """The analysis of the song, its stems routed in, the user's grid applied."""
    features = _analyze(info, config, config.fps, progress)
    stem_paths = dict(config.stems)
    if config.separate and not stem_paths:
        from audiogan.separate import separate_stems

        stem_paths = separate_stems(info.path)
    if stem_paths:
        analysed = {name: _analyze(audio.probe(path), config, config.fps, None, check=False)
                    for name, path in stem_paths.items()}
        features = stems.combine(features, **analysed)
    grid = timing.user_grid(features, bpm=config.bpm, beat_offset=config.beat_offset,
                            beats_file=config.beats, start_s=config.start)
    return timing.apply_grid(features, grid)


def analyze_song(song: str | Path, *, fps: float = 30.0, start: float = 0.0,
                 duration: float | None = None, progress: Progress | None = None,
                 **options: Any) -> tuple[audio.AudioInfo, Features]:
    """Probe and analyse `song` (or an excerpt of it) at `fps`.

    `options` may give the user's timing and stems: ``bpm``, ``beat_offset``, ``beats``
    (a file), ``stems`` (``{"drums": PATH, ...}``), ``separate``.
    """
    config = resolve_config(render={"fps": fps, "start": start, "duration": duration,
                                    **options})
    info = audio.probe(song)
    _check_excerpt(info, config.start, config.duration)
    _check_timing(config)
    return info, _song_features(info, config, progress)


def render(song: str | Path, output: str | Path | None = None, *,
           preset: str | Path | None = None, overwrite: bool = False,
           progress: Progress | None = None, **options: Any) -> RenderResult:
    """Render `song` into a music video and return what was made.

    Parameters
    ----------
    song : path
        Any audio file ffmpeg reads (wav, flac, ogg, mp3, m4a, ...).
    output : path, optional
        The mp4 to write (default: ``SONG_STEM.mp4`` beside the song).
    preset : str or path, optional
        A preset name from ``configs/`` or a TOML file (default: ``default``).
    **options
        Any `RenderConfig` field (classes, model, weights, fps, batch_size, device, dtype,
        compile, seed, start, duration, preview, crf, encoder_speed, analysis_cache; the
        user's timing bpm, beat_offset, beats, cues; stems, separate) or
        `MappingConfig` field (truncation, pulse_strength, ...); they override the preset.

    Example
    -------
    >>> audiogan.render("song.wav", classes=[398, 402], seed=7)  # doctest: +SKIP
    """
    from audiogan import generate as generation
    from audiogan import model as biggan

    started = time.perf_counter()
    render_options, mapping_options = _split_options(options)
    config = resolve_config(preset, render_options, mapping_options)
    song = Path(song).expanduser()
    info = audio.probe(song)
    _check_excerpt(info, config.start, config.duration)
    target = plan_output(song, output, preview=config.preview, overwrite=overwrite)
    written_cues = _check_timing(config)
    device = generation.pick_device(config.device)
    dtype = generation.pick_dtype(config.dtype, device)

    def report_download(done: int, total: int | None) -> None:
        if progress is not None:
            progress("weights", done, total)

    explicit_model = "model" in render_options or config.weights is None
    generator = biggan.load_biggan(config.model if explicit_model else None, config.weights,
                                   progress=report_download)
    resolution = int(generator.config.output_dim)

    features = _song_features(info, config, progress)
    cues = timing.resolve_cues(written_cues, features, start_s=config.start)
    trajectory = mapping.map_features(features, config.classes, config.mapping,
                                      seed=config.seed, cues=cues)
    batch_size = config.batch_size or generation.default_batch_size(resolution, device)
    total = trajectory.n_frames
    track = AudioTrack(song, start=config.start, duration=features.duration_s,
                       sample_rate=info.sample_rate)
    with VideoWriter(target, size=(resolution, resolution), fps=config.fps, audio=track,
                     crf=config.crf, speed=config.encoder_speed) as writer:
        done = 0
        if progress is not None:
            progress("frames", 0, total)
        for frames in generation.generate_frames(generator, trajectory, batch_size=batch_size,
                                                 device=device, dtype=dtype,
                                                 compile_model=config.compile):
            writer.write(frames)
            done += len(frames)
            if progress is not None:
                progress("frames", done, total)
        if progress is not None:
            progress("encoding", done, total)
    return RenderResult(
        output=target, duration_s=features.duration_s, frames=total, fps=config.fps,
        width=resolution, height=resolution, wall_s=time.perf_counter() - started,
        tempo_bpm=features.tempo_bpm, beats=len(features.beats_s), device=str(device),
    )
