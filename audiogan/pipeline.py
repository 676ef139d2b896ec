"""The one module that knows the order: audio -> analysis -> mapping -> generation -> encoding.

`render` is the Python API behind ``audiogan SONG``; `analyze_song` is the one behind
``audiogan analyze``. Both check everything a user can get wrong before the slow work starts.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiogan import analysis, audio, cache, mapping, stems, timing
from audiogan.config import MappingConfig, RenderConfig, resolve_config
from audiogan.encode import (
    AudioTrack,
    ParallelVideoWriter,
    VideoWriter,
    concat_segments,
    remove_stale_partials,
    segment_folder,
    temporary_path,
)
from audiogan.errors import AudioLoadError, ConfigError
from audiogan.types import Cue, Features, Trajectory

__all__ = ["MIN_DURATION_S", "RenderPlan", "RenderResult", "analyze_song", "load_generator",
           "encoder_count", "plan_output", "prepare", "render", "render_plan", "render_segment"]

ANALYSIS_SR = 22050
MIN_DURATION_S = 1.0
MIN_SEGMENT_FRAMES = 8
SILENT_DBFS = -80.0
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")

Progress = Callable[[str, float, float | None], None]
"""``progress(stage, done, total)``: stage is "weights", "beat model" (downloads), "analysis",
"frames" or "encoding"."""


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
    beat_tracker: str = "audiogan"

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
             progress: Progress | None, *, check: bool = True,
             beat: tuple[str, Path | None] = ("audiogan", None)) -> Features:
    """The analysis of the song (from the cache when it holds it); `beat` is the tracker and
    checkpoint that `_beat_tracker` chose."""
    total = info.duration_s
    if total is not None:
        total = max(0.0, total - config.start)
        if config.duration is not None:
            total = min(total, config.duration)

    def report(seconds: float) -> None:
        if progress is not None:
            progress("analysis", seconds, total)

    tracker, checkpoint = beat
    # a checkpoint is known by its path, size and time: a retrained one is analysed afresh
    stamp = None
    if checkpoint is not None:
        stat = checkpoint.stat()
        stamp = [str(checkpoint.resolve()), stat.st_size, stat.st_mtime_ns]
    key = cache.analysis_key(info.path, fps=fps, start=config.start, duration=config.duration,
                             sample_rate=ANALYSIS_SR, beat_tracker=tracker, beat_model=stamp)
    features = cache.load_features(key) if config.analysis_cache else None
    if features is not None:
        report(features.duration_s)
    else:
        blocks = audio.stream_mono(info, sample_rate=ANALYSIS_SR, start=config.start,
                                   duration=config.duration)
        features = analysis.analyze(blocks, sr=ANALYSIS_SR, fps=fps, progress=report,
                                    beat_tracker=tracker, beat_model=checkpoint)
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


def _beat_tracker(config: RenderConfig, progress: Progress | None) -> tuple[str, Path | None]:
    """The beat tracker and checkpoint to use (see `audiogan.beatthis.resolve_tracker`),
    with the checkpoint downloaded and loaded once, so that a missing package or a bad
    checkpoint stops the run before any slow work."""
    if config.beat_tracker == "audiogan" and config.beat_model is None:
        return "audiogan", None
    from audiogan import beatthis

    def report_download(done: int, total: int | None) -> None:
        if progress is not None:
            progress("beat model", done, total)

    tracker, checkpoint = beatthis.resolve_tracker(config.beat_tracker, config.beat_model,
                                                   progress=report_download)
    if checkpoint is not None:
        beatthis.load_beat_model(checkpoint)
    return tracker, checkpoint


def _song_features(info: audio.AudioInfo, config: RenderConfig, progress: Progress | None,
                   beat: tuple[str, Path | None] = ("audiogan", None)) -> Features:
    """The analysis of the song (its beats by the tracker `beat` names), its stems routed
    in, the user's grid applied."""
    features = _analyze(info, config, config.fps, progress, beat=beat)
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
    (a file), ``stems`` (``{"drums": PATH, ...}``), ``separate``; and the beat tracker:
    ``beat_tracker`` (auto, audiogan or beat_this), ``beat_model`` (a Beat This! checkpoint).
    """
    config = resolve_config(render={"fps": fps, "start": start, "duration": duration,
                                    **options})
    info = audio.probe(song)
    _check_excerpt(info, config.start, config.duration)
    _check_timing(config)
    beat = _beat_tracker(config, progress)
    return info, _song_features(info, config, progress, beat)


@dataclass(frozen=True, eq=False)
class RenderPlan:
    """Everything a render needs besides the model: checked settings, analysis, trajectory.

    Made by `prepare` (cheap checks, then analysis and mapping, no model); rendered by
    `render_plan` whole, or in frame ranges by `render_segment` (on other processes or
    machines too: a plan pickles small, the trajectory is ``T x 128`` floats).
    """

    song: Path
    target: Path
    config: RenderConfig
    info: audio.AudioInfo
    features: Features
    trajectory: Trajectory
    model_name: str | None
    """What `model.load_biggan` is asked for (None: whatever `config.weights` holds)."""
    resolution: int

    @property
    def n_frames(self) -> int:
        return self.trajectory.n_frames

    @property
    def audio_track(self) -> AudioTrack:
        """The excerpt of the song the video carries."""
        return AudioTrack(self.song, start=self.config.start, duration=self.features.duration_s,
                          sample_rate=self.info.sample_rate)

    def frame_ranges(self, parts: int) -> list[tuple[int, int]]:
        """`parts` contiguous ``[start, stop)`` ranges covering every frame, each at least
        `MIN_SEGMENT_FRAMES` long (fewer parts for a short video): a segment shorter than
        x264's B-frame delay would upset the joined file's frame rate."""
        if parts < 1:
            raise ConfigError(f"split_frames must be at least 1, got {parts}")
        parts = max(1, min(parts, self.n_frames // MIN_SEGMENT_FRAMES))
        edges = [round(i * self.n_frames / parts) for i in range(parts + 1)]
        return list(zip(edges[:-1], edges[1:], strict=True))


def _model_resolution(model_name: str | None, weights: Path | None) -> int:
    """The image size the model will make, read without loading its weights."""
    from audiogan import model as biggan

    if weights is None:
        return biggan.RESOLUTIONS[model_name or "biggan-deep-128"]
    config_path = Path(weights).expanduser() / "config.json"
    if not config_path.is_file():
        return 0  # load_biggan says what is missing, with the fix
    return int(biggan._read_config(config_path).output_dim)


def prepare(song: str | Path, output: str | Path | None = None, *,
            preset: str | Path | None = None, overwrite: bool = False,
            progress: Progress | None = None, **options: Any) -> RenderPlan:
    """Check everything a user can get wrong, analyse `song` and map it to a trajectory.

    Takes the arguments of `render` (see there) and does all of its work except the frames:
    no model is loaded. Raises `AudioganError` subclasses for bad input.
    """
    return _prepare(song, output, preset=preset, overwrite=overwrite, progress=progress,
                    options=options)


def _prepare(song: str | Path, output: str | Path | None, *, preset: str | Path | None,
             overwrite: bool, progress: Progress | None, options: dict[str, Any],
             before_analysis: Callable[[str | None, Path | None], None] | None = None
             ) -> RenderPlan:
    """`prepare`, calling ``before_analysis(model_name, weights)`` once the cheap checks pass
    (`render` loads the model there, so bad weights fail before a long analysis)."""
    render_options, mapping_options = _split_options(options)
    config = resolve_config(preset, render_options, mapping_options)
    song = Path(song).expanduser()
    info = audio.probe(song)
    _check_excerpt(info, config.start, config.duration)
    target = plan_output(song, output, preview=config.preview, overwrite=overwrite)
    remove_stale_partials(target.parent)  # what a killed render (kill -9) left behind
    written_cues = _check_timing(config)
    beat = _beat_tracker(config, progress)
    from audiogan import generate as generation

    generation.pick_dtype(config.dtype, generation.pick_device(config.device))
    explicit_model = "model" in render_options or config.weights is None
    model_name = config.model if explicit_model else None
    resolution = _model_resolution(model_name, config.weights)
    if before_analysis is not None:
        before_analysis(model_name, config.weights)
    features = _song_features(info, config, progress, beat)
    cues = timing.resolve_cues(written_cues, features, start_s=config.start)
    trajectory = mapping.map_features(features, config.classes, config.mapping,
                                      seed=config.seed, cues=cues)
    return RenderPlan(song=song, target=target, config=config, info=info, features=features,
                      trajectory=trajectory, model_name=model_name, resolution=resolution)


def load_generator(plan: RenderPlan, progress: Progress | None = None):
    """Load the BigGAN the plan asks for (downloading it once); reusable across plans with
    the same `model_name` and ``config.weights``."""
    return _load_generator(plan.model_name, plan.config.weights, progress)


def _load_generator(model_name: str | None, weights: Path | None, progress: Progress | None):
    from audiogan import model as biggan

    def report_download(done: int, total: int | None) -> None:
        if progress is not None:
            progress("weights", done, total)

    return biggan.load_biggan(model_name, weights, progress=report_download)


def _frames(plan: RenderPlan, generator, start: int, stop: int):
    """Frames ``start:stop`` of the plan, in batches, on the configured device."""
    from audiogan import generate as generation

    device = generation.pick_device(plan.config.device)
    dtype = generation.pick_dtype(plan.config.dtype, device)
    batch_size = plan.config.batch_size or generation.default_batch_size(plan.resolution, device)
    return generation.generate_frames(generator, plan.trajectory, batch_size=batch_size,
                                      device=device, dtype=dtype,
                                      compile_model=plan.config.compile, start=start, stop=stop)


def render_segment(plan: RenderPlan, path: str | Path, start: int, stop: int, *,
                   generator=None, progress: Progress | None = None) -> Path:
    """Render frames ``[start, stop)`` of `plan` into `path`: an H.264 mp4 with no audio.

    Segments of one plan, made with any split of ``[0, n_frames)`` and joined in order by
    `audiogan.encode.concat_segments`, give the same video as one unsplit render. The
    trajectory is computed for the whole song, so every frame is the same whichever
    segment makes it. ``progress("frames", done, stop - start)`` follows the frames.
    """
    if not 0 <= start < stop <= plan.n_frames:
        raise ValueError(f"frame range [{start}, {stop}) is not within [0, {plan.n_frames})")
    generator = generator if generator is not None else load_generator(plan, progress)
    size = (plan.resolution, plan.resolution)
    with VideoWriter(path, size=size, fps=plan.config.fps, crf=plan.config.crf,
                     speed=plan.config.encoder_speed) as writer:
        _write_frames(plan, generator, writer, start, stop, progress)
    return Path(path)


def _write_frames(plan: RenderPlan, generator, writer: VideoWriter, start: int, stop: int,
                  progress: Progress | None) -> None:
    total = stop - start
    done = 0
    if progress is not None:
        progress("frames", 0, total)
    for frames in _frames(plan, generator, start, stop):
        writer.write(frames)
        done += len(frames)
        if progress is not None:
            progress("frames", done, total)
    if progress is not None:
        progress("encoding", done, total)


def encoder_count(encoders: int, device: str) -> int:
    """How many ffmpeg processes encode at once: `encoders` when given; else one when the
    frames come from the CPU (the model is the bottleneck there), and beside a GPU one per
    four host cores, up to four (x264 on the host is then the limit)."""
    if encoders > 0:
        return encoders
    from audiogan import generate as generation

    if generation.pick_device(device).type != "cuda":
        return 1
    return max(1, min(4, (os.cpu_count() or 1) // 4))


def render_plan(plan: RenderPlan, *, generator=None, split_frames: int | None = None,
                progress: Progress | None = None,
                started: float | None = None) -> RenderResult:
    """Render a prepared plan to ``plan.target``; `generator` is loaded when not given.

    With `split_frames` N > 1 the frames are made as N segments (`render_segment`) and
    joined with the audio by `concat_segments`, the path parallel renders take.
    """
    started = time.perf_counter() if started is None else started
    generator = generator if generator is not None else load_generator(plan, progress)
    total = plan.n_frames
    if split_frames is not None and split_frames > 1:
        folder = segment_folder(plan.target)
        folder.mkdir(exist_ok=True)
        try:
            segments = []
            ranges = plan.frame_ranges(split_frames)
            done = 0

            def report(stage: str, value: float, _total: float | None) -> None:
                if progress is not None and stage == "frames":
                    progress("frames", done + value, total)

            for index, (first, last) in enumerate(ranges):
                segments.append(render_segment(plan, folder / f"{index:04d}.mp4", first, last,
                                               generator=generator, progress=report))
                done += last - first
            if progress is not None:
                progress("encoding", total, total)
            concat_segments(segments, plan.target, audio=plan.audio_track)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        size = (plan.resolution, plan.resolution)
        encoders = encoder_count(plan.config.encoders, plan.config.device)
        common = dict(size=size, fps=plan.config.fps, audio=plan.audio_track,
                      crf=plan.config.crf, speed=plan.config.encoder_speed)
        writer = (ParallelVideoWriter(plan.target, workers=encoders, total_frames=total,
                                      **common) if encoders > 1
                  else VideoWriter(plan.target, **common))
        with writer:
            _write_frames(plan, generator, writer, 0, total, progress)
    from audiogan import generate as generation

    return RenderResult(
        output=plan.target, duration_s=plan.features.duration_s, frames=total,
        fps=plan.config.fps, width=plan.resolution, height=plan.resolution,
        wall_s=time.perf_counter() - started, tempo_bpm=plan.features.tempo_bpm,
        beats=len(plan.features.beats_s), device=str(generation.pick_device(plan.config.device)),
        beat_tracker=plan.features.beat_tracker,
    )


def render(song: str | Path, output: str | Path | None = None, *,
           preset: str | Path | None = None, overwrite: bool = False,
           progress: Progress | None = None, split_frames: int | None = None,
           **options: Any) -> RenderResult:
    """Render `song` into a music video and return what was made.

    Parameters
    ----------
    song : path
        Any audio file ffmpeg reads (wav, flac, ogg, mp3, m4a, ...).
    output : path, optional
        The mp4 to write (default: ``SONG_STEM.mp4`` beside the song).
    preset : str or path, optional
        A preset name from ``configs/`` or a TOML file (default: ``default``).
    split_frames : int, optional
        Make the video as this many frame-range segments joined at the end (the same
        video; the way a render is spread over several workers).
    **options
        Any `RenderConfig` field (classes, model, weights, fps, batch_size, device, dtype,
        compile, seed, start, duration, preview, crf, encoder_speed, analysis_cache; the
        user's timing bpm, beat_offset, beats, cues; stems, separate; beat_tracker,
        beat_model) or
        `MappingConfig` field (truncation, pulse_strength, ...); they override the preset.

    Example
    -------
    >>> audiogan.render("song.wav", classes=[398, 402], seed=7)  # doctest: +SKIP
    """
    started = time.perf_counter()
    if split_frames is not None and split_frames < 1:
        raise ConfigError(f"--split-frames must be at least 1, got {split_frames}")
    generators = []

    def load_model(model_name: str | None, weights: Path | None) -> None:
        generators.append(_load_generator(model_name, weights, progress))

    plan = _prepare(song, output, preset=preset, overwrite=overwrite, progress=progress,
                    options=options, before_analysis=load_model)
    generator = generators[0]
    return render_plan(plan, generator=generator, split_frames=split_frames,
                       progress=progress, started=started)
