"""The one module that knows the order: audio -> analysis -> mapping -> generation -> encoding.

Every render goes through here, whoever asks for it (the CLI, `audiogan.album`, Ray workers
in `audiogan.distributed`, tempo mode in `audiogan.synth`):

1. **prepare**: the cheap checks (song, output, timing files), then analysis and mapping,
   into a plan (`prepare` -> `RenderPlan`; `prepare_tempo` -> `TempoPlan`). No model.
2. **frames**: generation of frame ranges of the plan's trajectory (`frame_batches`), into an
   H.264 segment (`render_segment`) or straight into the video (`render_plan`).
3. **join**: segments are joined and the audio muxed once (`join_segments`).

`render` is the Python API behind ``audiogan SONG``; `analyze_song` the one behind
``audiogan analyze``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from audiogan import analysis, audio, cache, mapping, stems, tempo, timing
from audiogan.beats import LOW_CONFIDENCE, tempo_changes
from audiogan.config import DEFAULT_FPS, RenderConfig, TempoConfig, resolve_config
from audiogan.encode import (
    AudioTrack,
    ParallelVideoWriter,
    VideoSettings,
    VideoWriter,
    concat_segments,
)
from audiogan.errors import AudioLoadError, ConfigError, ResourceError
from audiogan.files import atomic_write, remove_stale_partials, segment_folder, temporary_path
from audiogan.flashes import FlashCounter, FlashReport
from audiogan.types import NUM_CLASSES, Z_DIM, Cue, Features, Trajectory

__all__ = ["MIN_DURATION_S", "RenderPlan", "RenderResult", "TempoPlan", "TempoResult",
           "analyze_song", "check_free_space", "encoder_count", "estimated_bytes",
           "fit_to_ratio", "frame_batches", "plain_json",
           "join_segment_bytes", "join_segments", "load_generator", "plan_output", "prepare",
           "prepare_frames", "prepare_tempo", "read_record", "render", "render_plan",
           "render_segment", "render_segment_bytes", "render_tempo", "song_hash",
           "timestamped_path", "video_record", "video_settings", "write_clip"]

log = logging.getLogger("audiogan")
"""Notes for the user (the CLI prints them as ``audiogan: note: ...`` lines)."""

ANALYSIS_SR = 22050
MIN_DURATION_S = 1.0
MIN_SEGMENT_FRAMES = 8
SILENT_DBFS = -80.0
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")
HASH_NAME = "last_hash.txt"
MAX_FLASHES_PER_S = 3.0
"""WCAG 2.3.1: no more than three general flashes in any one second."""
CANVAS_SECONDS = (3.0, 8.0)
"""How long a Spotify Canvas may be."""

Progress = Callable[[str, float, float | None], None]
"""``progress(stage, done, total)``: stage is "weights", "beat model" (downloads), "analysis",
"frames" or "encoding"."""


# --- 1. prepare ----------------------------------------------------------------------------

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
    flashes: FlashReport | None = None
    """The general flashes (WCAG 2.3.1) the picture makes; None where not counted."""
    tempi: tuple[float, ...] = ()
    """Each part's tempo (BPM) in order, for a song whose tempo changes (a medley, a slow
    middle section); one for a steady song, none without beats."""
    beat_confidence: float = 1.0
    """How sure the beat grid is (`LOW_CONFIDENCE` and up: sure); 1.0 for the user's own."""

    @property
    def achieved_fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def minutes_per_minute(self) -> float:
        """Wall-clock minutes spent per minute of music."""
        return self.wall_s / self.duration_s if self.duration_s > 0 else 0.0


def plan_output(song: Path, output: str | Path | None, *, preview: bool = False,
                overwrite: bool = False, suffix: str = ".mp4") -> Path:
    """Where the video goes; raise `ConfigError` if it cannot or must not be written there.

    Default: ``SONG_STEM.mp4`` (``SONG_STEM.preview.mp4`` for a preview; `suffix` ``.mov``
    for ProRes) beside the song. An existing folder as `output` puts that name in the folder.
    Missing folders are created.
    """
    default_name = f"{song.stem}.preview{suffix}" if preview else f"{song.stem}{suffix}"
    if song.name == default_name:  # the song is itself an mp4: never write over it
        default_name = f"{song.stem}.audiogan{suffix}"
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
    if suffix == ".mov" and target.suffix.lower() != ".mov":
        raise ConfigError(f"output {target}: ProRes (--for editor, codec prores) goes in a "
                          ".mov; choose -o NAME.mov")
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
        raise ResourceError(f"cannot write to {folder} ({exc.strerror or exc}); choose another "
                            "-o") from None
    return target


def _check_excerpt(info: audio.AudioInfo, config: RenderConfig) -> None:
    if info.duration_s is not None and config.start >= info.duration_s:
        raise ConfigError(f"--start {config.start:g} is past the end of {info.path.name} "
                          f"({info.duration_s:.1f} s)")


@dataclass(frozen=True)
class _Timing:
    """The user's timing files, each read once before any slow work."""

    beats: Any = None
    """The `BeatGrid` of ``--beats``, or None."""
    cues: tuple[Cue, ...] = ()


def _read_timing(config: RenderConfig) -> _Timing:
    """Read the beats and cue files and probe the stems, so a bad value stops the run at
    once."""
    beats = timing.read_beats(config.beats) if config.beats is not None else None
    for _, path in config.stems:
        audio.probe(path)
    cues = tuple(timing.read_cues(config.cues)) if config.cues is not None else ()
    return _Timing(beats=beats, cues=cues)


def _analyze(info: audio.AudioInfo, config: RenderConfig, progress: Progress | None, *,
             check: bool = True, beat: tuple[str, Path | None] = ("audiogan", None)) -> Features:
    """The analysis of the song's excerpt (`config.start`, `config.duration`); `beat` is the
    tracker and checkpoint that `_beat_tracker` chose.

    The whole song is analysed (from the cache when it holds it) and the excerpt's frames
    are cut from it, so that a preview of 20 s has the beats, bars and sections of the
    final render of the whole song, and its grid has the whole song to hold on to: alone,
    a 20 s excerpt of a rock song slid half a beat off for its last 12 s (beat lift 0.69).
    The analysis starts a fraction of a frame into the song where `config.start` is not on
    the frame grid, so the excerpt's first frame is a frame of it.
    """
    first = int(np.floor(config.start * config.fps + 1e-6))
    lead = max(0.0, round(config.start - first / config.fps, 9))  # no float dust in the key

    def report(seconds: float) -> None:
        if progress is not None:
            progress("analysis", seconds, info.duration_s)

    tracker, checkpoint = beat
    # a checkpoint is known by its path, size and time: a retrained one is analysed afresh
    stamp = None
    if checkpoint is not None:
        stat = checkpoint.stat()
        stamp = [str(checkpoint.resolve()), stat.st_size, stat.st_mtime_ns]
    key = cache.analysis_key(info.path, fps=config.fps, start=lead, duration=None,
                             sample_rate=ANALYSIS_SR, beat_tracker=tracker,
                             beat_model=stamp, tempo_range=list(config.tempo_range))
    features = cache.load_features(key) if config.analysis_cache else None
    if features is not None:
        report(features.duration_s)
    else:
        meter = audio.PeakMeter()
        blocks = audio.stream_mono(info, sample_rate=ANALYSIS_SR, start=lead, meter=meter)
        features = analysis.analyze(blocks, sr=ANALYSIS_SR, fps=config.fps, progress=report,
                                    tempo_range=config.tempo_range, beat_tracker=tracker,
                                    beat_model=checkpoint)
        # the file's level is its loudest channel's, not the mix-down's: a channel in
        # opposite phase to the other cancels in the mono mix but is not silent
        features = dataclasses.replace(features, peak_dbfs=meter.dbfs)
        if config.analysis_cache:
            cache.save_features(key, features)
    if first > 0 or config.duration is not None:
        features = _song_excerpt(info, features, config, first)
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


def _song_excerpt(info: audio.AudioInfo, features: Features, config: RenderConfig,
                  first: int) -> Features:
    """The features of the excerpt that starts at frame `first` of the whole song's
    `features` and lasts `config.duration` (to the end without one), with its own length,
    peak level and confidence."""
    available = max(0.0, features.duration_s - first / config.fps)
    duration = available if config.duration is None else min(config.duration, available)
    count = min(round(duration * config.fps), max(0, features.n_frames - first))
    excerpt = _excerpt(features, first, count)
    # the excerpt's own level, read before the mix-down like the song's (a quick decode)
    meter = audio.PeakMeter()
    for _ in audio.stream_mono(info, sample_rate=ANALYSIS_SR, start=config.start,
                               duration=config.duration, meter=meter):
        pass
    curve = excerpt.confidence_curve
    confidence = float(np.mean(curve)) if len(curve) else excerpt.beat_confidence
    return dataclasses.replace(excerpt, duration_s=duration, peak_dbfs=meter.dbfs,
                               beat_confidence=confidence)


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


def _song_features(info: audio.AudioInfo, config: RenderConfig, user: _Timing,
                   progress: Progress | None,
                   beat: tuple[str, Path | None] = ("audiogan", None)) -> Features:
    """The analysis of the song (its beats by the tracker `beat` names), its stems routed
    in, the user's grid applied and its beats shifted as the user asked."""
    features = _analyze(info, config, progress, beat=beat)
    stem_paths = dict(config.stems)
    if config.separate and not stem_paths:
        from audiogan.separate import separate_stems

        stem_paths = separate_stems(info.path)
    if stem_paths:
        analysed = {name: _analyze(audio.probe(path), config, None, check=False)
                    for name, path in stem_paths.items()}
        features = stems.combine(features, **analysed)
    grid = timing.user_grid(features, bpm=config.bpm, beat_offset=config.beat_offset,
                            beats=user.beats, start_s=config.start)
    if grid is None and features.beat_confidence < LOW_CONFIDENCE:
        log.warning(f"note: {info.path.name} has no clear beat (beat confidence "
                    f"{features.beat_confidence:.2f}): the picture follows its strongest "
                    "onsets; if you know the beat, give --bpm and --beat-offset, or --beats "
                    "FILE")
    return timing.shift_beats(timing.apply_grid(features, grid), config.beat_shift)


def analyze_song(song: str | Path, *, fps: float = DEFAULT_FPS, start: float = 0.0,
                 duration: float | None = None, progress: Progress | None = None,
                 **options: Any) -> tuple[audio.AudioInfo, Features]:
    """Probe and analyse `song` (or an excerpt of it) at `fps`.

    `options` may give the user's timing and stems: ``bpm``, ``beat_offset``, ``beats``
    (a file), ``beat_shift``, ``stems`` (``{"drums": PATH, ...}``), ``separate``; and the
    beat tracker: ``beat_tracker`` (auto, audiogan or beat_this), ``beat_model`` (a Beat
    This! checkpoint).
    """
    config = resolve_config(fps=fps, start=start, duration=duration, hardware=False,
                            **options)
    info = audio.probe(song)
    _check_excerpt(info, config)
    user = _read_timing(config)
    beat = _beat_tracker(config, progress)
    return info, _song_features(info, config, user, progress, beat)


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
    settings: RenderConfig | None = None
    """The settings as the user resolved them (`config` is that of the excerpt a loop
    chose); what `record` keeps. None: `config`."""
    overwrite: bool = False
    """Whether the video may replace a file at `target` (one there at the start was refused
    by `plan_output`; this decides for one that appears while the frames are made)."""

    @property
    def n_frames(self) -> int:
        return self.trajectory.n_frames

    @functools.cached_property
    def record(self) -> dict[str, Any]:
        """What renders this video again: the song's name and SHA-256, the release preset,
        the seed, every resolved setting and the versions (see `read_record`)."""
        return video_record(self.song, self.settings or self.config)

    @property
    def record_path(self) -> Path:
        """Where the record goes: ``VIDEO.json`` beside ``VIDEO.mp4``."""
        return self.target.with_suffix(".json")

    @property
    def model_name(self) -> str | None:
        """What `model.load_biggan` is asked for (None: whatever ``config.weights`` holds)."""
        return self.config.model

    @property
    def audio_track(self) -> AudioTrack | None:
        """The excerpt of the song the video carries (None for a silent video)."""
        if self.config.silent:
            return None
        return AudioTrack(self.song, start=self.config.start, duration=self.features.duration_s,
                          sample_rate=self.info.sample_rate)

    def frame_ranges(self, parts: int) -> list[tuple[int, int]]:
        """`parts` contiguous ``[start, stop)`` ranges covering every frame, each at least
        `MIN_SEGMENT_FRAMES` long (fewer parts for a short video): a segment shorter than
        x264's B-frame delay would upset the joined file's frame rate."""
        if parts < 1:
            raise ConfigError(f"--split-frames must be at least 1, got {parts}")
        parts = max(1, min(parts, self.n_frames // MIN_SEGMENT_FRAMES))
        edges = [round(i * self.n_frames / parts) for i in range(parts + 1)]
        return list(zip(edges[:-1], edges[1:], strict=True))


def _config(config: RenderConfig | None, preset: str | Path | None,
            options: dict[str, Any]) -> RenderConfig:
    if config is None:
        return resolve_config(preset, **options)
    if preset is not None or options:
        raise ConfigError("give either a resolved config= or a preset and options, not both")
    return config


def prepare(song: str | Path, output: str | Path | None = None, *,
            config: RenderConfig | None = None, preset: str | Path | None = None,
            overwrite: bool = False, progress: Progress | None = None,
            **options: Any) -> RenderPlan:
    """Check everything a user can get wrong, analyse `song` and map it to a trajectory.

    Takes the arguments of `render` (see there) and does all of its work except the frames:
    no model is loaded. Raises `AudioganError` subclasses for bad input.
    """
    return _prepare(song, output, _config(config, preset, options), overwrite=overwrite,
                    progress=progress)


def prepare_frames(song: str | Path, *, config: RenderConfig | None = None,
                   preset: str | Path | None = None, progress: Progress | None = None,
                   **options: Any) -> RenderPlan:
    """`prepare` for frames that are not written to a video file by audiogan (a moviepy
    clip, `audiogan.clips.clip`): no output is planned or checked."""
    return _prepare(song, None, _config(config, preset, options), overwrite=False,
                    progress=progress, write=False)


def _prepare(song: str | Path, output: str | Path | None, config: RenderConfig, *,
             overwrite: bool, progress: Progress | None,
             before_analysis: Callable[[RenderConfig], None] | None = None,
             write: bool = True) -> RenderPlan:
    """`prepare`, calling ``before_analysis(config)`` once the cheap checks pass (`render`
    loads the model there, so bad weights fail before a long analysis)."""
    song = Path(song).expanduser()
    settings = config
    info = audio.probe(song)
    _check_excerpt(info, config)
    if write:
        target = plan_output(song, output, preview=config.preview, overwrite=overwrite,
                             suffix=".mov" if config.codec == "prores" else ".mp4")
        remove_stale_partials(target.parent)  # what a killed render (kill -9) left behind
    else:
        target = song.with_suffix(".mp4")  # a name for messages; nothing is written
    user = _read_timing(config)
    beat = _beat_tracker(config, progress)
    if before_analysis is not None:
        before_analysis(config)
    features = _song_features(info, config, user, progress, beat)
    if config.loop is not None or config.release == "canvas":
        features, config = _loop_excerpt(features, config, info.path.name)
    cues = timing.resolve_cues(list(user.cues), features, start_s=config.start)
    trajectory = mapping.map_features(features, config.classes, config.mapping,
                                      seed=config.seed, cues=cues,
                                      loop=config.loop is not None,
                                      max_pulses_per_s=MAX_FLASHES_PER_S
                                      if config.safe_flashes else None)
    return RenderPlan(song=song, target=target, config=config, info=info, features=features,
                      trajectory=trajectory, settings=settings,
                      overwrite=overwrite)


def _excerpt(features: Features, first: int, count: int) -> Features:
    """Frames ``[first, first + count)`` of `features`, times shifted to start there."""
    fps, n = features.fps, features.n_frames
    offset, length = first / fps, count / fps

    def times(values: np.ndarray) -> np.ndarray:
        shifted = np.asarray(values, dtype=np.float64) - offset
        return shifted[(shifted >= 0) & (shifted < length)]

    def frames(values: np.ndarray) -> np.ndarray:
        return values[first:first + count] if len(values) == n else values

    sections = np.clip(np.asarray(features.sections_s).reshape(-1, 2) - offset, 0.0, length)
    keep = sections[:, 1] > sections[:, 0]
    return dataclasses.replace(
        features, duration_s=length, beats_s=times(features.beats_s),
        downbeats_s=times(features.downbeats_s), half_beats_s=times(features.half_beats_s),
        onset=frames(features.onset), loudness_db=frames(features.loudness_db),
        chroma=frames(features.chroma),
        tempo_curve=frames(features.tempo_curve),
        confidence_curve=frames(features.confidence_curve), sections_s=sections[keep],
        section_labels=np.asarray(features.section_labels)[keep]
        if len(features.section_labels) == len(sections) else features.section_labels)


def _loop_excerpt(features: Features, config: RenderConfig,
                  name: str) -> tuple[Features, RenderConfig]:
    """The features of exactly ``config.loop`` bars from the first bar line after the
    start, and the config of that excerpt (its start and duration in the song).

    The loop starts a little before its bar line (15 % of a beat), where the last beat's
    pulse has died away: the cut from the last frame back to the first falls between two
    pulses, where the picture moves least, and the hit lands just after it. ``--for canvas``
    without ``--loop`` takes as many bars as fit in 8 s.
    """
    fps = features.fps
    downbeats = np.asarray(features.downbeats_s, dtype=np.float64)
    if len(downbeats) < 2:
        raise AudioLoadError(f"--loop needs bar lines and none were found in {name}; give "
                             "--bpm and --beat-offset, or --beats FILE")
    bar_s = float(np.median(np.diff(downbeats)))
    bars = config.loop
    if config.release == "canvas":
        low, high = CANVAS_SECONDS
        fitting = max(1, int((high + 0.5 / fps) // bar_s))
        if bars is None:
            bars = fitting
        if not low - 0.5 / fps <= bars * bar_s <= high + 0.5 / fps:
            hint = (f"use --loop {fitting}" if low <= fitting * bar_s <= high
                    else "a bar of this song does not fit; give --bpm for a faster grid")
            raise ConfigError(f"--for canvas: {bars} bars of {name} last {bars * bar_s:.1f} s,"
                              f" and a Spotify Canvas is {low:g}-{high:g} s; {hint}")
    assert bars is not None
    beat_frames = features.beat_frames
    beat = float(np.median(np.diff(beat_frames))) if len(beat_frames) > 1 else bar_s * fps / 4
    lead = max(1, round(0.15 * beat))
    for j in range(len(downbeats) - bars):
        if round(downbeats[j] * fps) - lead >= 0:
            break
    else:
        whole = max(0, len(downbeats) - 1)
        raise ConfigError(f"--loop {bars}: only {whole} whole bar{'s' * (whole != 1)} follow "
                          f"--start {config.start:g} in {name}; choose fewer bars or an "
                          "earlier --start")
    first = round(downbeats[j] * fps) - lead
    count = round(downbeats[j + bars] * fps) - round(downbeats[j] * fps)
    excerpt = _excerpt(features, first, count)
    return excerpt, dataclasses.replace(config, start=config.start + first / fps,
                                        duration=count / fps, loop=bars)


def song_hash(song: Path) -> str:
    """SHA-256 of the song file, hex."""
    digest = hashlib.sha256()
    with open(song, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plain_json(value: Any) -> Any:
    """`value` as JSON has it: paths as strings, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    return value


def video_record(song: Path, config: RenderConfig) -> dict[str, Any]:
    """The reproducible record of a render of `song` with `config` (see `read_record`)."""
    import importlib.metadata

    from audiogan import __version__

    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    settings = plain_json(dataclasses.asdict(config))
    settings.pop("analysis_cache", None)
    return {"audiogan_record": 1,
            "song": {"name": song.name, "sha256": song_hash(song)},
            "release": config.release, "seed": config.seed, "settings": settings,
            "versions": {"audiogan": __version__, "torch": version("torch"),
                         "pytorch-pretrained-biggan": version("pytorch-pretrained-biggan"),
                         "librosa": version("librosa"), "numpy": version("numpy")}}


def read_record(path: str | Path, song: str | Path | None = None) -> dict[str, Any]:
    """The settings a ``VIDEO.json`` record holds, as options for `resolve_config` (the
    mapping's keys among them). With `song`, a note is logged when it is not the song the
    record was made from (by SHA-256): the video will differ."""
    path = Path(path).expanduser()
    try:
        record = json.loads(path.read_text("utf-8"))
        settings = dict(record["settings"])
        mapping_values = dict(settings.pop("mapping"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            ValueError) as exc:
        raise ConfigError(f"--settings {path} is not a video record written by audiogan "
                          f"({type(exc).__name__}: {exc})") from None
    if song is not None:
        song = Path(song).expanduser()
        expected = record.get("song", {}).get("sha256")
        if song.is_file() and expected and song_hash(song) != expected:
            log.warning(f"note: {song.name} is not the song {path.name} was made from "
                        f"({record['song'].get('name')}); the video will differ")
    return {**{key: value for key, value in settings.items() if value is not None},
            **mapping_values}


def _write_record(plan: RenderPlan) -> None:
    """``VIDEO.json`` beside the finished video, renamed into place like the video: a record
    already there (another run's, finished first) is replaced only with ``--overwrite``;
    without, it is kept and a note says so (the record is in the video's comment tag too)."""
    try:
        with atomic_write(plan.record_path, replace=plan.overwrite) as partial:
            partial.write_text(json.dumps(plan.record, indent=2) + "\n", encoding="utf-8")
    except FileExistsError:
        log.warning(f"note: {plan.record_path} already exists and was kept (pass --overwrite "
                    f"to replace it); this video's settings are in its comment tag")
    except OSError as exc:
        raise ResourceError(f"could not write {plan.record_path} "
                            f"({exc.strerror or exc})") from None


# --- 2. frames -----------------------------------------------------------------------------

def load_generator(plan: RenderPlan | RenderConfig, progress: Progress | None = None):
    """Load the BigGAN a plan (or a resolved config) asks for, downloading it once; reusable
    across plans with the same `model_name` and ``config.weights``."""
    return _load_generator(plan.config if isinstance(plan, RenderPlan) else plan, progress)


def _load_generator(config: RenderConfig, progress: Progress | None):
    """BigGAN, made natively wider (or taller) for ``--fit wide`` at another aspect."""
    from audiogan import model as biggan

    def report_download(done: int, total: int | None) -> None:
        if progress is not None:
            progress("weights", done, total)

    generator = biggan.load_biggan(config.model, config.weights, progress=report_download)
    if config.fit == "wide" and config.size is not None:
        width, height = config.size
        generator = biggan.widen(generator, width / height, seed=config.seed)
    return generator


def _resolution(generator) -> int:
    return int(generator.config.output_dim)


def _frame_size(generator) -> tuple[int, int]:
    """(width, height) of the pictures `generator` makes."""
    from audiogan import model as biggan

    return biggan.frame_size(generator)


def video_settings(config: RenderConfig, *, first_frame: int = 0, segment: bool = False,
                   record: dict[str, Any] | None = None) -> VideoSettings:
    """How a render's video is encoded (`audiogan.encode.VideoSettings`), from its config;
    `first_frame` numbers the PNGs of a segment, `segment` marks a part to be joined."""
    if config.frames_dir is not None:
        try:
            config.frames_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResourceError(f"cannot create --frames folder {config.frames_dir} "
                                f"({exc.strerror or exc})") from None
    return VideoSettings(
        size=config.size, fit="crop" if config.fit == "wide" else config.fit,
        codec=config.codec, crf=config.crf, speed=config.encoder_speed,
        maxrate_kbps=config.maxrate, gop=config.gop, bframes=config.bframes,
        audio_kbps=config.audio_bitrate, audio_rate=config.audio_rate,
        frames_dir=config.frames_dir, frames_start=first_frame, segment=segment,
        metadata=(("comment", json.dumps(record, separators=(",", ":"))),)
        if record is not None else ())


def frame_batches(generator, trajectory: Trajectory, *, device: str, dtype: str,
                  batch_size: int | None = None, compile_model: bool = False,
                  start: int = 0, stop: int | None = None) -> Generator[np.ndarray, None, None]:
    """uint8 frames ``start:stop`` of `trajectory`, (n, H, W, 3) a batch, in order: the
    generation stage for every kind of render (`batch_size` None: chosen by device and
    image size)."""
    from audiogan import generate

    batch_size = batch_size or generate.default_batch_size(_resolution(generator), device)
    return generate.generate_frames(generator, trajectory, batch_size=batch_size,
                                    device=device, dtype=dtype, compile_model=compile_model,
                                    start=start, stop=stop)


def _plan_batches(plan: RenderPlan, generator, start: int,
                  stop: int) -> Generator[np.ndarray, None, None]:
    config = plan.config
    return frame_batches(generator, plan.trajectory, device=config.device, dtype=config.dtype,
                         batch_size=config.batch_size, compile_model=config.compile,
                         start=start, stop=stop)


def _write_frames(batches: Generator[np.ndarray, None, None], writer: Any, total: int,
                  progress: Progress | None, *, encoding: bool = True) -> None:
    """Every batch into ``writer.write``, reporting the frames (and then the encoding, the
    wait for the encoder to finish)."""
    done = 0
    if progress is not None:
        progress("frames", 0, total)
    # closed when writing ends or fails, not whenever the collector gets to it: generation
    # hands its thread count back when closed, else at some later moment, in the next render
    with contextlib.closing(batches):
        for frames in batches:
            writer.write(frames)
            done += len(frames)
            if progress is not None:
                progress("frames", done, total)
    if progress is not None and encoding:
        progress("encoding", done, total)


def _counted(batches: Generator[np.ndarray, None, None], counter: FlashCounter | None,
             safe: bool = False) -> Generator[np.ndarray, None, None]:
    """The batches, each shown to the flash counter on its way to the encoder; with `safe`
    a frame that would flash a fourth time within a second is eased towards the one before
    (`FlashCounter.limit`), what ``--safe-flashes`` adds to the thinned pulses."""
    with contextlib.closing(batches):
        for frames in batches:
            if counter is not None and safe:
                frames = counter.limit(frames, int(MAX_FLASHES_PER_S))
            elif counter is not None:
                counter.update(frames)
            yield frames


def render_segment(plan: RenderPlan, path: str | Path, start: int, stop: int, *,
                   generator=None, progress: Progress | None = None,
                   flashes: FlashCounter | None = None) -> Path:
    """Render frames ``[start, stop)`` of `plan` into `path`: an H.264 mp4 with no audio.

    Segments of one plan, made with any split of ``[0, n_frames)`` and joined in order by
    `join_segments`, give the same video as one unsplit render. The trajectory is computed
    for the whole song, so every frame is the same whichever segment makes it.
    ``progress("frames", done, stop - start)`` follows the frames; `flashes` counts them.
    """
    if not 0 <= start < stop <= plan.n_frames:
        raise ValueError(f"frame range [{start}, {stop}) is not within [0, {plan.n_frames})")
    generator = generator if generator is not None else load_generator(plan, progress)
    settings = video_settings(plan.config, first_frame=start, segment=True)
    with VideoWriter(path, size=_frame_size(generator), fps=plan.config.fps,
                     settings=settings, threads=_encoder_threads(plan.config.device)) as writer:
        _write_frames(_counted(_plan_batches(plan, generator, start, stop), flashes,
                               plan.config.safe_flashes), writer, stop - start, progress)
    return Path(path)


# --- 3. join -------------------------------------------------------------------------------

def join_segments(plan: RenderPlan, segments: Sequence[Path], *,
                  size: int | tuple[int, int], started: float) -> RenderResult:
    """Join the plan's segments (of frames `size`, (width, height) or a square's side made
    by the model), in order, into ``plan.target`` and mux its audio once; `started` is when
    the render began (`time.perf_counter`)."""
    concat_segments(segments, plan.target, audio=plan.audio_track,
                    settings=video_settings(plan.config, record=plan.record),
                    overwrite=plan.overwrite)
    return _result(plan, size, started)


def render_segment_bytes(plan: RenderPlan, start: int, stop: int,
                         generators: dict) -> tuple[bytes, tuple[int, int]]:
    """Frames ``[start, stop)`` of `plan` as the bytes of an H.264 segment, and their size:
    what a worker with no disk shared with the driver sends back. `generators` keeps the
    models loaded so far, by model and weights, for the next range."""
    key = (plan.model_name, str(plan.config.weights), plan.config.size, plan.config.fit,
           plan.config.seed)
    if key not in generators:
        generators[key] = load_generator(plan)
    folder = Path(tempfile.mkdtemp(prefix="audiogan-segment-"))
    try:
        path = render_segment(plan, folder / f"segment{plan.target.suffix}", start, stop,
                              generator=generators[key])
        return path.read_bytes(), _frame_size(generators[key])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def join_segment_bytes(plan: RenderPlan, parts: Sequence[tuple[bytes, tuple[int, int]]],
                       started: float) -> RenderResult:
    """`join_segments` for the ``(bytes, size)`` of `render_segment_bytes`, in order: they
    are written beside the target (a hidden folder, removed after) and joined."""
    folder = segment_folder(plan.target)
    folder.mkdir(exist_ok=True)
    try:
        paths = []
        for index, (data, _size) in enumerate(parts):
            paths.append(folder / f"{index:04d}{plan.target.suffix}")
            paths[-1].write_bytes(data)
        return join_segments(plan, paths, size=parts[0][1], started=started)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def encoder_count(encoders: int, device: str) -> int:
    """How many ffmpeg processes encode at once: `encoders` when given; else one when the
    frames come from the CPU (the model is the bottleneck there), and beside a GPU one per
    four host cores, up to four (x264 on the host is then the limit). 0: choose."""
    if encoders:
        return encoders
    if not device.startswith("cuda"):
        return 1
    return max(1, min(4, (os.cpu_count() or 1) // 4))


def _encoder_threads(device: str) -> int | None:
    """x264's threads: one beside a model on the CPU (which needs every core; see
    `generate.ThreadTuner`), ffmpeg's own choice beside a GPU (x264 is the limit there)."""
    return 1 if device == "cpu" else None


def _result(plan: RenderPlan, size: int | tuple[int, int], started: float,
            flashes: FlashCounter | None = None) -> RenderResult:
    width, height = plan.config.size or (size if isinstance(size, tuple) else (size, size))
    _write_record(plan)
    report = flashes.report() if flashes is not None else None
    if report is not None and not report.safe:
        log.warning(f"note: the picture flashes {report.max_per_second} times in one second "
                    f"at {report.worst_s:.1f} s of {plan.target.name}, more than the 3 that WCAG "
                    "2.3.1 allows (a risk for viewers with photosensitive epilepsy); "
                    "--safe-flashes limits the pulses so that it never does")
    return RenderResult(
        flashes=report,
        output=plan.target, duration_s=plan.features.duration_s, frames=plan.n_frames,
        fps=plan.config.fps, width=width, height=height, wall_s=time.perf_counter() - started,
        tempo_bpm=plan.features.tempo_bpm, beats=len(plan.features.beats_s),
        tempi=tuple(bpm for _, _, bpm in tempo_changes(plan.features.beats_s,
                                                       plan.features.duration_s)),
        device=plan.config.device, beat_tracker=plan.features.beat_tracker,
        beat_confidence=float(plan.features.beat_confidence))


VIDEO_BYTES_PER_PIXEL = 0.3
"""An upper estimate of x264's output at crf 18 (a tenth of the raw RGB frames; BigGAN's
pictures measure far less), for the free-space check."""
AUDIO_BYTES_PER_S = 256_000 / 8
"""The least audio rate assumed (the config's ``audio_bitrate`` when higher)."""


def estimated_bytes(plan: RenderPlan, size: int | tuple[int, int]) -> int:
    """About the most the plan's video can take on disk (video and audio), its frames the
    output size (``config.size``) or else `size`, the model's (a side, or (width, height))."""
    width, height = plan.config.size or (size if isinstance(size, tuple) else (size, size))
    audio_rate = max(AUDIO_BYTES_PER_S, plan.config.audio_bitrate * 1000 / 8)
    return int(plan.n_frames * width * height * VIDEO_BYTES_PER_PIXEL
               + plan.features.duration_s * audio_rate)


def check_free_space(plan: RenderPlan, size: int | tuple[int, int], *,
                     copies: int = 1) -> None:
    """A note when the output's disk looks too small for the video (`copies` of it at once:
    segments and the joined file), before any frame is made."""
    needed = copies * estimated_bytes(plan, size)
    try:
        free = shutil.disk_usage(plan.target.parent).free
    except OSError:
        return
    if free < needed:
        log.warning(f"note: {plan.target.parent} has {free / 1e6:.0f} MB free and the video "
                    f"may need up to {needed / 1e6:.0f} MB; if the disk fills, the render "
                    "stops and leaves nothing")


def render_plan(plan: RenderPlan, *, generator=None, split_frames: int | None = None,
                progress: Progress | None = None,
                started: float | None = None) -> RenderResult:
    """Render a prepared plan to ``plan.target``; `generator` is loaded when not given.

    With `split_frames` N > 1 the frames are made as N segments (`render_segment`) and
    joined with the audio by `join_segments`, the path parallel renders take.
    """
    started = time.perf_counter() if started is None else started
    generator = generator if generator is not None else load_generator(plan, progress)
    total, config = plan.n_frames, plan.config
    size = _frame_size(generator)
    flashes = FlashCounter(config.fps)
    check_free_space(plan, size, copies=2 if split_frames is not None and split_frames > 1
                     or encoder_count(config.encoders, config.device) > 1 else 1)
    if split_frames is not None and split_frames > 1:
        folder = segment_folder(plan.target)
        folder.mkdir(exist_ok=True)
        try:
            segments = []
            done = 0

            def report(stage: str, value: float, _total: float | None) -> None:
                if progress is not None and stage == "frames":
                    progress("frames", done + value, total)

            for index, (first, last) in enumerate(plan.frame_ranges(split_frames)):
                segments.append(render_segment(plan, folder / f"{index:04d}{plan.target.suffix}",
                                               first, last, generator=generator,
                                               progress=report, flashes=flashes))
                done += last - first
            if progress is not None:
                progress("encoding", total, total)
            concat_segments(segments, plan.target, audio=plan.audio_track,
                            settings=video_settings(plan.config, record=plan.record),
                            overwrite=plan.overwrite)
            return _result(plan, size, started, flashes)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        encoders = encoder_count(config.encoders, config.device)
        writer: VideoWriter | ParallelVideoWriter
        if encoders > 1:
            writer = ParallelVideoWriter(plan.target, size=size, fps=config.fps,
                                         audio=plan.audio_track, workers=encoders,
                                         total_frames=total,
                                         settings=video_settings(config, record=plan.record),
                                         overwrite=plan.overwrite)
        else:
            writer = VideoWriter(plan.target, size=size, fps=config.fps,
                                 audio=plan.audio_track,
                                 settings=video_settings(config, record=plan.record),
                                 overwrite=plan.overwrite,
                                 threads=_encoder_threads(config.device))
        with writer:
            _write_frames(_counted(_plan_batches(plan, generator, 0, total), flashes,
                                   config.safe_flashes), writer, total, progress)
    return _result(plan, size, started, flashes)


def render(song: str | Path, output: str | Path | None = None, *,
           config: RenderConfig | None = None, preset: str | Path | None = None,
           overwrite: bool = False, progress: Progress | None = None,
           split_frames: int | None = None, **options: Any) -> RenderResult:
    """Render `song` into a music video and return what was made.

    Parameters
    ----------
    song : path
        Any audio file ffmpeg reads (wav, flac, ogg, mp3, m4a, ...).
    output : path, optional
        The mp4 to write (default: ``SONG_STEM.mp4`` beside the song).
    config : RenderConfig, optional
        Settings already resolved by `audiogan.config.resolve_config`; or give these:
    preset : str or path, optional
        A preset name from ``configs/`` or a TOML file (default: the built-in defaults).
    **options
        Any `RenderConfig` field (classes, model, weights, fps, batch_size, device, dtype,
        compile, seed, start, duration, preview, crf, encoder_speed, analysis_cache; the
        user's timing bpm, beat_offset, beat_shift, beats, cues; stems, separate;
        beat_tracker, beat_model) or `MappingConfig` field (truncation, pulse_strength,
        ...); they override the preset.
    split_frames : int, optional
        Make the video as this many frame-range segments joined at the end (the same
        video; the way a render is spread over several workers).

    Example
    -------
    >>> audiogan.render("song.wav", classes=[398, 402], seed=7)  # doctest: +SKIP
    """
    started = time.perf_counter()
    if split_frames is not None and split_frames < 1:
        raise ConfigError(f"--split-frames must be at least 1, got {split_frames}")
    config = _config(config, preset, options)
    generators = []

    def load_model(resolved: RenderConfig) -> None:
        generators.append(_load_generator(resolved, progress))

    plan = _prepare(song, output, config, overwrite=overwrite, progress=progress,
                    before_analysis=load_model)
    return render_plan(plan, generator=generators[0], split_frames=split_frames,
                       progress=progress, started=started)


# --- tempo mode: the same stages, with tempo.trajectory as the source ----------------------

@dataclass(frozen=True, eq=False)
class TempoPlan:
    """A tempo render before its frames: settings, the trajectory and where its time comes
    from (a fixed bpm, or a song's tempo and first bar line)."""

    config: TempoConfig
    trajectory: Trajectory
    seed: int
    bpm: float
    first_beat_s: float = 0.0
    audio_track: AudioTrack | None = None

    @property
    def n_frames(self) -> int:
        return self.trajectory.n_frames


@dataclass(frozen=True)
class TempoResult:
    """What a tempo render made."""

    frames: np.ndarray
    """uint8 (T, H, W, 3), 16:9, read from `npy` (memory-mapped)."""
    npy: Path
    hash: str
    video: Path | None
    seed: int
    bpm: float
    fps: float
    first_beat_s: float
    wall_s: float

    @property
    def n_frames(self) -> int:
        return len(self.frames)


def prepare_tempo(config: TempoConfig, *, audio: str | Path | None = None,
                  progress: Progress | None = None) -> TempoPlan:
    """The trajectory of a tempo render (no model). `audio` takes the tempo and the first bar
    line from a song (analysed as any render's is) and the video its length and sound."""
    if audio is not None and config.ext not in (None, ".mp4"):
        raise ConfigError(f"--audio needs --ext .mp4 (a {config.ext} has no sound track)")
    seed = config.seed
    if seed is None:  # the seed's clock seed, drawn fresh and reported so it can be repeated
        seed = cast(int, np.random.SeedSequence().entropy) % 2**32  # fresh: an int
    bpm, first_beat_s, num_frames, track = config.bpm, 0.0, None, None
    if audio is not None:
        info, features = analyze_song(audio, fps=config.fps, progress=progress)
        if features.tempo_bpm <= 0 or len(features.beats_s) == 0:
            raise AudioLoadError(f"{info.path.name} has no beat audiogan can hear; give --bpm "
                                 "instead of --audio")
        track = AudioTrack(info.path, duration=features.duration_s,
                           sample_rate=info.sample_rate)
        # the phase starts on the first bar line, so periods of 4 or 8 beats follow the bars
        first = features.downbeats_s[0] if len(features.downbeats_s) else features.beats_s[0]
        bpm, first_beat_s, num_frames = features.tempo_bpm, float(first), features.n_frames
    trajectory = tempo.trajectory(config, seed=seed, dim_z=Z_DIM, vocab_size=NUM_CLASSES,
                                  num_frames=num_frames, bpm=bpm, first_beat_s=first_beat_s)
    if trajectory.n_frames == 0:
        raise ConfigError(f"{config.num_beats:g} beats at {bpm:g} BPM is less than one frame "
                          f"at {config.fps:g} fps")
    return TempoPlan(config=config, trajectory=trajectory, seed=seed, bpm=float(bpm),
                     first_beat_s=first_beat_s, audio_track=track)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def fit_to_ratio(ims: np.ndarray, aspect_ratio: float = 16 / 9) -> np.ndarray:
    """Pad frames (n, H, W, 3) or one frame (H, W, 3) to `aspect_ratio` (width / height) by
    mirroring their sides (top and bottom for a ratio below the frame's own).

    The padded side is rounded to an even number of pixels, as H.264 needs.
    """
    ims = np.asarray(ims)
    if ims.ndim not in (3, 4) or ims.shape[-1] != 3:
        raise ConfigError(f"fit_to_ratio takes frames (n, H, W, 3) or (H, W, 3), got "
                          f"{ims.shape}")
    if not aspect_ratio > 0:
        raise ConfigError(f"aspect_ratio must be positive, got {aspect_ratio}")
    height, width = ims.shape[-3], ims.shape[-2]
    pad = [(0, 0)] * ims.ndim
    if width / height < aspect_ratio:
        extra = _even(height * aspect_ratio) - width
        pad[-2] = (extra // 2, extra - extra // 2)
    else:
        extra = _even(width / aspect_ratio) - height
        pad[-3] = (extra // 2, extra - extra // 2)
    if extra <= 0:
        return ims
    return np.pad(ims, pad, mode="symmetric")


class _NpyFrames:
    """Frames padded to 16:9 into a memory-mapped .npy, hashed as they come."""

    def __init__(self, array: np.memmap, digest: Any):
        self.array, self.digest, self.done = array, digest, 0

    def write(self, frames: np.ndarray) -> None:
        padded = fit_to_ratio(frames)
        self.array[self.done:self.done + len(padded)] = padded
        self.digest.update(padded.tobytes())
        self.done += len(padded)

    def close(self) -> None:
        self.array.flush()
        del self.array  # the file is renamed next: let go of the map


def render_tempo(plan: TempoPlan, generator, *, device: str, dtype: str,
                 npy_dir: str | Path = "npys", render_dir: str | Path = "renders",
                 progress: Progress | None = None) -> TempoResult:
    """Render a tempo plan as the seed did: ``npy_dir/out.npy`` (uint8, padded to 16:9) and
    ``npy_dir/last_hash.txt`` (for ``audiogan view``), and with ``ext`` ``.gif`` or ``.mp4``
    also ``render_dir/<timestamp><ext>``."""
    started = time.perf_counter()
    config = plan.config
    npy_dir, render_dir = Path(npy_dir), Path(render_dir)
    npy_dir.mkdir(parents=True, exist_ok=True)
    npy_path = npy_dir / "out.npy"
    size = _resolution(generator)
    shape = (plan.n_frames, *fit_to_ratio(np.zeros((size, size, 3), np.uint8)).shape)
    digest = hashlib.sha256(f"{plan.n_frames}x{shape[1:]}@{config.fps:g}".encode())
    batches = frame_batches(generator, plan.trajectory, device=device, dtype=dtype,
                            batch_size=config.batch_size)
    with atomic_write(npy_path) as partial:
        sink = _NpyFrames(np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                                    shape=shape), digest)
        _write_frames(batches, sink, plan.n_frames, progress, encoding=False)
        sink.close()
    frame_hash = digest.hexdigest()
    # the seed's view_npy.py compares the whole file; the second line tells the viewer the fps
    with atomic_write(npy_dir / HASH_NAME) as partial:
        partial.write_text(f"{frame_hash}\nfps={config.fps:g}\n", encoding="utf-8")
    frames = np.load(npy_path, mmap_mode="r")
    video = None
    if config.ext in (".gif", ".mp4"):
        video = write_clip(frames, timestamped_path(render_dir, config.ext), config.fps,
                           audio=plan.audio_track)
    return TempoResult(frames=frames, npy=npy_path, hash=frame_hash, video=video,
                       seed=plan.seed, bpm=plan.bpm, fps=config.fps,
                       first_beat_s=plan.first_beat_s, wall_s=time.perf_counter() - started)


def timestamped_path(folder: Path, ext: str) -> Path:
    """``folder/<YYYYmmddHHMMSS><ext>``, as the seed named its renders (``-1``, ``-2``
    after the stamp when two land in one second); the folder is created."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResourceError(f"cannot create {folder} ({exc.strerror})") from None
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    target = folder / f"{stamp}{ext}"
    n = 1
    while target.exists():
        target = folder / f"{stamp}-{n}{ext}"
        n += 1
    return target


def write_clip(frames: np.ndarray, path: Path, fps: float,
               audio: AudioTrack | None = None) -> Path:
    """`frames` (n, H, W, 3) uint8 to `path`: an endlessly looping ``.gif``, or an ``.mp4``
    (sides padded to even sizes for H.264; `audio` muxed). Written whole or not at all."""
    path = Path(path)
    if path.suffix == ".gif":
        from PIL import Image

        with atomic_write(path) as partial:
            images = [Image.fromarray(np.asarray(frame)) for frame in frames]
            images[0].save(partial, format="GIF", save_all=True, append_images=images[1:],
                           duration=round(1000 / fps), loop=0, optimize=False)
        return path
    frames = fit_to_ratio(frames, frames.shape[2] / frames.shape[1])  # even sides
    height, width = frames.shape[1:3]
    with VideoWriter(path, size=(width, height), fps=fps, audio=audio) as writer:
        for first in range(0, len(frames), 64):
            writer.write(np.ascontiguousarray(frames[first:first + 64]))
    return path
