"""A whole album: every song in a folder, one look, resumable, one track's failure isolated.

    >>> audiogan.render_album("album/", "videos/", preset="calm", seed=7)  # doctest: +SKIP

Each track gets its own seed derived from the album's (so a re-render is identical and the
tracks are not all the same picture), unless ``album.toml`` in the folder (or the file given
as `album_toml`) says otherwise::

    [tracks."01 intro.flac"]
    classes = ["goldfish", 402]
    preset = "calm"
    seed = 7

A manifest (``manifest.json`` in the output folder) records the settings, the versions and
every track's status; it is rewritten atomically after each track. A later run skips a track
whose video exists, is complete (its frames counted by demuxing it) and was made with the same
song and settings; everything else is rendered again. Videos are written under temporary
names and renamed when complete, so a killed run leaves no partial mp4, and the temporary
files it left are cleared by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from audiogan import cache, pipeline
from audiogan.audio import AUDIO_SUFFIXES
from audiogan.config import RenderConfig, check_setting, read_toml, resolve_config
from audiogan.encode import probe_video
from audiogan.errors import ConfigError, ResourceError, describe
from audiogan.files import atomic_write, lock, lock_path, remove_stale_partials

__all__ = ["AlbumProgress", "TrackJob", "TrackResult", "MANIFEST_NAME", "render_album",
           "track_seed"]

MANIFEST_NAME = "manifest.json"
ALBUM_TOML = "album.toml"
TRACK_KEYS = ("classes", "preset", "seed", "beat_shift")

AlbumProgress = Callable[[str, str, float, float | None], None]
"""``progress(track, stage, done, total)``. Stages: ``"ignored"`` (a file that is not audio),
``"start"`` (done = index of the track, total = tracks), ``"skipped"``, ``"finished"``,
``"failed"``, and the render's own ``"analysis"``, ``"weights"``, ``"frames"`` and
``"encoding"``."""


@dataclass(frozen=True)
class TrackResult:
    """What happened to one track."""

    name: str
    """The song's file name."""
    song: Path
    output: Path
    status: str
    """``"rendered"``, ``"skipped"`` (complete from an earlier run) or ``"failed"``."""
    seed: int
    frames: int = 0
    duration_s: float = 0.0
    wall_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class TrackJob:
    """One track to render: the song, where its video goes, and its settings, resolved once."""

    name: str
    song: Path
    output: Path
    config: RenderConfig
    key: str = ""
    """Digest of the song's bytes and every setting; a finished video with another key is
    made again."""

    @property
    def seed(self) -> int:
        return self.config.seed


def track_seed(album_seed: int, name: str) -> int:
    """The seed of track `name` in an album rendered with `album_seed` (stable everywhere)."""
    digest = hashlib.sha256(f"{album_seed}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # within RenderConfig's [0, 2**63 - 1]


def _versions() -> dict[str, str]:
    from audiogan import __version__

    found = {"audiogan": __version__}  # also when it runs from a source tree, not installed
    for package in ("torch", "librosa", "ray"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


def read_album_toml(path: Path, songs: list[str]) -> dict[str, dict[str, Any]]:
    """Per-track settings ``{file name: {classes|preset|seed|beat_shift: value}}`` from
    `path`.

    Raises `ConfigError` naming the file, the track and the key for anything that is not
    a known key of a track in the folder.
    """
    data = read_toml(path, "album")
    unknown = [key for key in data if key != "tracks"]
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; per-track settings go in "
                          '[tracks."FILE NAME"] tables')
    tracks = data.get("tracks", {})
    settings: dict[str, dict[str, Any]] = {}
    for name, values in tracks.items():
        if name not in songs:
            raise ConfigError(f"{path}: track {name!r} is not an audio file in the album "
                              f"folder; the names there are: {', '.join(songs)}")
        if not isinstance(values, dict):
            raise ConfigError(f'{path}: tracks.{name!r} must be a table, e.g. [tracks."{name}"]')
        for key, value in values.items():
            if key not in TRACK_KEYS:
                raise ConfigError(f"{path}: track {name!r}: unknown key {key!r}; allowed: "
                                  f"{', '.join(TRACK_KEYS)}")
            if key == "seed" and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value < 2**63):
                raise ConfigError(f"{path}: track {name!r}: seed must be a whole number "
                                  f">= 0, got {value!r}")
            if key == "preset" and not isinstance(value, str):
                raise ConfigError(f"{path}: track {name!r}: preset must be a name or a "
                                  f".toml path, got {value!r}")
        settings[name] = dict(values)
    return settings


def _find_songs(album_dir: Path, progress: AlbumProgress | None) -> list[Path]:
    if not album_dir.is_dir():
        raise ConfigError(f"album folder {album_dir} not found: give a folder of audio files")
    songs = []
    for entry in sorted(album_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name == ALBUM_TOML or entry.is_dir():
            continue
        if entry.suffix.lower() in AUDIO_SUFFIXES:
            songs.append(entry)
        elif progress is not None:
            progress(entry.name, "ignored", 0, None)
    if not songs:
        raise ConfigError(f"{album_dir} holds no audio files ({', '.join(AUDIO_SUFFIXES[:5])}"
                          ", ...); point batch at the folder with the songs")
    return songs


def _output_names(songs: list[Path]) -> dict[str, str]:
    """``STEM.mp4`` per song; ``NAME.mp4`` where two songs share a stem (``.mov`` for
    ProRes, in `_plan_jobs`)."""
    stems = [song.stem for song in songs]
    return {song.name: (f"{song.stem}.mp4" if stems.count(song.stem) == 1
                        else f"{song.name}.mp4") for song in songs}


def _plan_jobs(songs: list[Path], out_dir: Path, *, preset: str | Path | None, seed: int,
               overrides: dict[str, dict[str, Any]], options: dict[str, Any],
               toml_path: Path | None) -> list[TrackJob]:
    """Each track's settings, resolved once; raise `ConfigError` for settings no track can
    use."""
    names = _output_names(songs)
    jobs = []
    for song in songs:
        extra = overrides.get(song.name, {})
        track_options = dict(options)
        for key in ("classes", "beat_shift"):
            if key in extra:
                track_options[key] = extra[key]
        track_options["seed"] = extra.get("seed", track_seed(seed, song.name))
        try:
            config = resolve_config(extra.get("preset", preset), **track_options)
        except ConfigError as exc:
            if not extra:
                raise
            raise ConfigError(f"{toml_path}: track {song.name!r}: {exc}") from None
        # the key holds the resolved settings, so equal settings spelt differently match
        try:
            key = cache.analysis_key(song, config=pipeline.plain_json(asdict(config)))
        except OSError as exc:
            key = f"unreadable: {exc}"
        output = out_dir / names[song.name]
        if config.codec == "prores":  # --for editor: ProRes goes in a .mov, as render's does
            output = output.with_suffix(".mov")
        jobs.append(TrackJob(name=song.name, song=song, output=output, config=config, key=key))
    return jobs


class Manifest:
    """``manifest.json``: settings, versions and every track's status, written atomically.

    Two runs may share an output folder: each write happens under a lock and merges this
    run's tracks into what the file holds then, so neither run loses the other's entries.
    """

    def __init__(self, path: Path, settings: dict[str, Any],
                 names: list[str] | None = None):
        self.path = path
        self.names = names
        """The album's tracks, in order; others drop out of the file (None: keep all)."""
        self.previous: dict[str, Any] = self._read()
        self.recorded: dict[str, Any] = {}
        self.data: dict[str, Any] = {
            "settings": pipeline.plain_json(settings), "versions": _versions(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "tracks": dict(self.previous),
        }

    def _read(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, json.JSONDecodeError, UnicodeDecodeError):
            loaded = json.loads(self.path.read_text("utf-8"))
            if isinstance(loaded, dict) and isinstance(loaded.get("tracks"), dict):
                return loaded["tracks"]
        return {}

    def refresh(self) -> None:
        """Read the tracks again: another run may have finished some since."""
        self.previous = self._read()

    def is_complete(self, job: TrackJob) -> int | None:
        """The frame count of `job`'s video if an earlier run finished it with the same
        song and settings and the file still holds every frame and the audio; else None."""
        entry = self.previous.get(job.name)
        if not isinstance(entry, dict) or entry.get("status") != "done":
            return None
        if entry.get("key") != job.key or entry.get("output") != job.output.name:
            return None
        facts = probe_video(job.output)
        if facts is None or not facts.has_audio or facts.frames != entry.get("frames"):
            return None
        return facts.frames

    def record(self, result: TrackResult, job: TrackJob) -> None:
        entry = {k: v for k, v in asdict(result).items() if k not in ("song", "output")}
        entry.update(status="failed" if result.status == "failed" else "done",
                     last_run=result.status, output=result.output.name, key=job.key,
                     song=str(result.song))
        if result.status == "skipped" and isinstance(self.previous.get(job.name), dict):
            # keep the figures of the run that made the video
            earlier = self.previous[job.name]
            entry.update(wall_s=earlier.get("wall_s", 0.0),
                         duration_s=earlier.get("duration_s", result.duration_s))
        self.recorded[job.name] = entry
        self.write()

    def write(self) -> None:
        with lock(self.path.parent):  # the folder itself: no lock file to leave behind
            tracks = {**self._read(), **self.recorded}  # what other runs wrote meanwhile
            if self.names is not None:
                tracks = {name: tracks[name] for name in self.names if name in tracks}
            self.data["tracks"] = tracks
            self.data["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
            with atomic_write(self.path) as temporary:
                temporary.write_text(json.dumps(self.data, indent=2) + "\n", encoding="utf-8")


def render_album(album_dir: str | Path, out_dir: str | Path, *,
                 preset: str | Path | None = None, seed: int = 0,
                 album_toml: str | Path | None = None, ray: str | None = None,
                 split_frames: int | None = None, progress: AlbumProgress | None = None,
                 **options: Any) -> list[TrackResult]:
    """Render every song in `album_dir` into ``out_dir/STEM.mp4``; return each track's result.

    Parameters
    ----------
    album_dir : path
        A folder of songs; they are taken in file-name order, and other files are ignored
        (reported as ``progress(name, "ignored", ...)``).
    out_dir : path
        Where the videos and ``manifest.json`` go (created if missing).
    preset, **options
        One look for the whole album: what `audiogan.render` takes.
    seed : int
        The album's seed; each track's seed is derived from it and the file name.
    album_toml : path, optional
        Per-track classes, preset, seed and beat shift (default:
        ``album_dir/album.toml`` if present).
    ray : str, optional
        ``"auto"`` starts a local Ray, an address joins a cluster; tracks (or their frame
        ranges) become tasks on one worker per GPU (per CPU without GPUs). None renders
        everything in this process. Needs ``pip install audiogan[ray]``.
    split_frames : int, optional
        Render each track as this many frame-range segments (spread over the Ray workers),
        then join them with the audio.

    A track that fails is reported with its reason (``status == "failed"``) and the others
    go on. Bad settings for the album as a whole raise `ConfigError` before anything runs.
    """
    album_dir = Path(album_dir).expanduser()
    out_dir = Path(out_dir).expanduser()
    if split_frames is not None and split_frames < 1:
        raise ConfigError(f"--split-frames must be at least 1, got {split_frames}")
    seed = check_setting("seed", seed, int)
    if "seed" in options:
        raise ConfigError("give the album's seed as seed=..., per-track seeds in album.toml")
    if ray is not None:
        from audiogan.distributed import import_ray

        import_ray()  # a missing Ray is said before anything is written
    songs = _find_songs(album_dir, progress)
    toml_path = Path(album_toml).expanduser() if album_toml is not None else None
    if toml_path is None and (album_dir / ALBUM_TOML).is_file():
        toml_path = album_dir / ALBUM_TOML
    overrides = read_album_toml(toml_path, [s.name for s in songs]) if toml_path else {}
    # every track's settings are checked here, so a typo fails before anything is written
    jobs = _plan_jobs(songs, out_dir, preset=preset, seed=seed, overrides=overrides,
                      options=options, toml_path=toml_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResourceError(f"cannot create {out_dir} ({exc.strerror or exc}); choose another "
                            "-o") from None
    remove_stale_partials(out_dir)
    # tracks no longer in the folder drop out of the manifest
    manifest = Manifest(out_dir / MANIFEST_NAME, {
        "album": str(album_dir.resolve()), "preset": preset, "seed": seed,
        "album_toml": str(toml_path) if toml_path else None, "options": options,
        "split_frames": split_frames, "ray": ray,
    }, names=[job.name for job in jobs])
    manifest.write()
    results: dict[str, TrackResult] = {}

    def finish(job: TrackJob, result: TrackResult) -> None:
        results[job.name] = result
        manifest.record(result, job)
        if progress is not None:
            stage = "failed" if result.status == "failed" else "finished"
            progress(job.name, stage, len(results), len(jobs))

    def skip_if_complete(job: TrackJob) -> bool:
        """Record `job` as done before if its video is complete; say whether it was."""
        frames = manifest.is_complete(job)
        if frames is None:
            return False
        entry = manifest.previous[job.name]
        finish(job, TrackResult(name=job.name, song=job.song, output=job.output,
                                status="skipped", seed=job.seed, frames=frames,
                                duration_s=float(entry.get("duration_s", 0.0))))
        if progress is not None:
            progress(job.name, "skipped", len(results), len(jobs))
        return True

    pending = [job for job in jobs if not skip_if_complete(job)]
    if pending and ray is None:
        _render_here(pending, split_frames=split_frames, finish=finish, progress=progress,
                     count=len(jobs), claim=_claim(manifest, skip_if_complete))
    elif pending and ray is not None:
        _render_on_ray(ray)(pending, split_frames=split_frames, finish=finish,
                            progress=progress, count=len(jobs))
    return [results[job.name] for job in jobs]


Claim = Callable[[TrackJob, bool], contextlib.AbstractContextManager[str]]
"""``claim(job, wait)``: a context holding `job`'s lock that gives ``"mine"`` (render it),
``"done"`` (another run finished it meanwhile; recorded as skipped) or ``"busy"`` (another
run holds it; only when not `wait`)."""


def _claim(manifest: Manifest, skip_if_complete: Callable[[TrackJob], bool]) -> Claim:
    """Claims on the tracks of an album, so two runs into one folder render each track once:
    a track is rendered under its lock (`files.lock`), after reading the manifest again."""

    @contextlib.contextmanager
    def claim(job: TrackJob, wait: bool) -> Iterator[str]:
        with lock(lock_path(job.output), wait=wait) as held:
            if not held:
                yield "busy"
                return
            manifest.refresh()
            yield "done" if skip_if_complete(job) else "mine"

    return claim


def failed(job: TrackJob, error: BaseException | str, wall_s: float = 0.0) -> TrackResult:
    """The result of a track that could not be rendered."""
    reason = error if isinstance(error, str) else describe(error)
    return TrackResult(name=job.name, song=job.song, output=job.output, status="failed",
                       seed=job.seed, wall_s=wall_s, error=reason)


def _rendered(job: TrackJob, made: pipeline.RenderResult) -> TrackResult:
    return TrackResult(name=job.name, song=job.song, output=made.output, status="rendered",
                       seed=job.seed, frames=made.frames, duration_s=made.duration_s,
                       wall_s=made.wall_s)


def _reporter(job: TrackJob, progress: AlbumProgress | None) -> pipeline.Progress:
    def report(stage: str, done: float, total: float | None) -> None:
        if progress is not None:
            progress(job.name, stage, done, total)

    return report


def _render_here(jobs: list[TrackJob], *, split_frames: int | None,
                 finish: Callable[[TrackJob, TrackResult], None],
                 progress: AlbumProgress | None, count: int, claim: Claim) -> None:
    """Render `jobs` one after the other in this process, loading each model once.

    Every model the jobs need is loaded before the first track, so weights that cannot be
    found or downloaded stop the album with one error instead of failing every track."""
    generators: dict[tuple[str | None, str | None], Any] = {}
    for job in jobs:
        model_key = (job.config.model, str(job.config.weights))
        if model_key not in generators:
            generators[model_key] = pipeline.load_generator(job.config,
                                                            _reporter(job, progress))
    started_tracks = count - len(jobs)

    def render(job: TrackJob) -> None:
        started = time.perf_counter()
        if progress is not None:
            progress(job.name, "start", started_tracks, count)
        report = _reporter(job, progress)
        try:
            plan = pipeline.prepare(job.song, job.output, config=job.config, overwrite=True,
                                    progress=report)
            made = pipeline.render_plan(plan, generator=generators[(plan.model_name,
                                                                    str(plan.config.weights))],
                                        split_frames=split_frames, progress=report,
                                        started=started)
        except Exception as error:  # noqa: BLE001 - one track's crash must not stop the album
            finish(job, failed(job, error, time.perf_counter() - started))
            return
        finish(job, _rendered(job, made))

    # a track another run is rendering now waits to the end; by then it is usually done
    busy: list[TrackJob] = []
    for wait, queue in ((False, jobs), (True, busy)):
        for job in queue:
            with claim(job, wait) as state:
                if state == "busy":
                    busy.append(job)
                    continue
                if state == "mine":
                    render(job)
                started_tracks += 1


def _render_on_ray(address: str) -> Callable[..., None]:
    """`_render_here`'s interface over `audiogan.distributed.render_on_ray` at `address`."""

    def render(jobs: list[TrackJob], *, split_frames: int | None,
               finish: Callable[[TrackJob, TrackResult], None],
               progress: AlbumProgress | None, count: int) -> None:
        from audiogan.distributed import render_on_ray

        by_name = {job.name: job for job in jobs}

        def plans():
            for index, job in enumerate(jobs):
                if progress is not None:
                    progress(job.name, "start", count - len(jobs) + index, count)
                yield job.name, lambda job=job: pipeline.prepare(
                    job.song, job.output, config=job.config, overwrite=True,
                    progress=_reporter(job, progress))

        def done(name: str, outcome: pipeline.RenderResult | str, wall_s: float) -> None:
            job = by_name[name]
            if isinstance(outcome, str):
                finish(job, failed(job, outcome, wall_s))
            else:
                finish(job, _rendered(job, outcome))

        def report(name: str, stage: str, done_: float, total: float | None) -> None:
            if progress is not None:
                progress(name, stage, done_, total)

        render_on_ray(plans(), address=address, split_frames=split_frames,
                      render_range=pipeline.render_segment_bytes,
                      join=pipeline.join_segment_bytes, finish=done, progress=report)

    return render
