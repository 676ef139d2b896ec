"""The command line: a thin face on `audiogan.render` and friends.

    audiogan SONG --classes 398 402          (same as: audiogan render SONG ...)
    audiogan analyze SONG --json
    audiogan classes [QUERY]

Each command parses its flags, builds the config (`audiogan.config.resolve_config`) and calls
the library, which makes every check. Errors print one line and exit with the code of their
kind (`EXIT_CODES`; 2 for a malformed command line, 130 when interrupted, 143 when
terminated); a traceback means a bug. Heavy modules (librosa, torch) are imported inside the
commands, so ``--help`` is quick.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from audiogan.config import DEFAULT_FPS
from audiogan.errors import (
    AudioganError,
    ConfigError,
    EncodeError,
    MissingPackageError,
    ResourceError,
)

try:  # typer 0.29+ carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer builds on click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

__all__ = ["EXIT_CODES", "app", "exit_code", "main"]

EXIT_CODES: tuple[tuple[type[AudioganError], int], ...] = (
    (MissingPackageError, 3),  # pip install what the message says
    (ResourceError, 4),        # the machine refused: disk, permission, ffmpeg
    (EncodeError, 5),          # ffmpeg could not write the video
    (AudioganError, 1),        # bad input, weights that do not load, anything else
)
"""The exit code of each kind of error, the first that matches; the one place they are
mapped."""
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report a job killed by `kill`

app = typer.Typer(
    name="audiogan",
    help="Turn a song into a BigGAN-deep music video that moves with the music.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

COMMANDS = ("render", "analyze", "classes", "presets", "test-checkpoint", "tempo", "view",
            "batch", "live")


class _RateColumn(ProgressColumn):
    """Items per second of a task, e.g. ``13.2 frames/s``."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        return Text(f"{speed:.1f} {unit}/s" if speed and unit else "", style="cyan")


PLAIN_EVERY_S = 10.0
"""How often a run whose stderr is not a terminal (a log, a pipe, CI) prints a progress
line."""


def _amount(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 1e6:.0f}"
    return f"{value:.1f}" if unit == "s" else f"{value:.0f}"


class _PlainLines:
    """Progress as plain lines for a stderr that is not a terminal (a log, a pipe, CI): a
    line every `every_s` seconds while a stage runs, e.g. ``generating frames 120/480,
    25.1 frames/s, 14 s left``, and one when it has ended. The line of an ended stage is
    held until the next stage starts (or `flush`), so a run that fails leaves only its
    error line, as on a terminal."""

    def __init__(self, every_s: float = PLAIN_EVERY_S):
        self.every_s = every_s
        self.started: dict[str, tuple[float, float]] = {}  # stage: (time, done then)
        self.printed: dict[str, float] = {}
        self.finished: set[str] = set()
        self.pending: list[str] = []

    def __call__(self, key: str, label: str, unit: str, done: float,
                 total: float | None) -> None:
        now = time.monotonic()
        if key not in self.started:
            self.flush()
            self.started[key] = (now, done)
            self.printed[key] = now
        if key in self.finished:
            return
        ended = total is not None and done >= total
        if not ended and now - self.printed[key] < self.every_s:
            return
        self.printed[key] = now
        shown = "" if label.endswith(unit) else " MB" if unit == "B" else f" {unit}"
        line = f"{label} {_amount(done, unit)}"
        line += f"/{_amount(total, unit)}{shown}" if total is not None else shown
        began, done_then = self.started[key]
        rate = (done - done_then) / (now - began) if now > began else 0.0
        if unit == "frames" and rate > 0 and not label.startswith("encoding"):
            line += f", {rate:.1f} frames/s"
            if total is not None and not ended:
                line += f", {(total - done) / rate:.0f} s left"
        if ended:
            self.finished.add(key)
            self.pending.append(line)
        else:
            self.flush()
            err.print(line, markup=False, highlight=False, soft_wrap=True)

    def flush(self) -> None:
        """Print the held lines of ended stages."""
        for line in self.pending:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        self.pending.clear()

    def forget(self, key: str) -> None:
        """Start `key` afresh (the next track of an album)."""
        self.flush()
        self.started.pop(key, None)
        self.printed.pop(key, None)
        self.finished.discard(key)


class _Reporter:
    """Turns the pipeline's ``progress(stage, done, total)`` calls into rich bars on a
    terminal, and into a plain line every few seconds elsewhere (`_PlainLines`)."""

    LABELS = {"weights": ("downloading weights", "B"), "analysis": ("analysing audio", "s"),
              "beat model": ("downloading beat model", "B"),
              "frames": ("generating frames", "frames"), "encoding": ("encoding", "frames")}

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.plain = _PlainLines() if enabled and not err.is_terminal else None
        live = enabled and self.plain is None
        self.tasks: dict[str, Any] = {}
        self.bars = Progress(
            TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
            _RateColumn(), TimeRemainingColumn(compact=True), console=err, transient=False,
            disable=not live,
        )

    def __enter__(self) -> _Reporter:
        if self.plain is None:
            self.bars.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.plain is not None:
            if exc_type is None:
                self.plain.flush()
            return
        if exc_type is not None:
            self.bars.live.transient = True  # a failed run leaves only its error line
        self.bars.stop()

    def __call__(self, stage: str, done: float, total: float | None) -> None:
        if not self.enabled:
            return
        label, unit = self.LABELS.get(stage, (stage, ""))
        if self.plain is not None:
            self.plain(stage, label, unit, done, total)
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(label, total=total, unit=unit)
        task = self.tasks[stage]
        if stage == "analysis":
            done, total = round(done, 1), None if total is None else round(total, 1)
        self.bars.update(task, completed=done, total=total)


def _parse_sets(values: list[str] | None) -> dict[str, Any]:
    """``--set pulse_strength=1.2`` pairs into typed values (TOML syntax for the value)."""
    import tomllib

    parsed: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: write KEY=VALUE, e.g. --set truncation=0.4")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        parsed[key.strip().replace("-", "_").split(".")[-1]] = value
    return parsed


_BPM = typer.Option("--bpm", help="The song's tempo: beats on a strict grid at this BPM "
                    "(phase from --beat-offset, else from the analysis).", show_default=False)
_BEAT_OFFSET = typer.Option("--beat-offset", help="Time (s) of a bar's first beat; the grid "
                            "runs from there (tempo from --bpm, else from the analysis).",
                            show_default=False)
_BEAT_SHIFT = typer.Option(
    "--beat-shift", metavar="SHARE", help="Move every beat by this share of a beat, -0.5 to "
    "0.5: 0.5 when the picture pulses between the beats you hear.", show_default=False)
_BEATS = typer.Option("--beats", help="Beat times from a file: one time in seconds a line, or "
                      "a CSV with a time and a downbeat column (as DAWs export).",
                      show_default=False)
_BEAT_TRACKER = typer.Option(
    "--beat-tracker", help="Who finds the beats: audiogan (its own tracker), beat_this (Beat "
    'This!, pip install "audiogan[beats]"; its checkpoint downloads once) or auto (beat_this '
    "when it and a checkpoint are here, else audiogan) [default: auto].", show_default=False)
_TEMPO_RANGE = typer.Option(
    "--tempo-range", metavar="SLOW:FAST", help="The slowest and fastest beat (BPM) audiogan's "
    "tracker may choose, e.g. 70:140 to keep a fast song's beat at half speed, 120:240 to "
    "tap along with its eighths, or 40:60 for a slow 6/8's dotted beat [default: 55:215].",
    show_default=False)
_BEAT_MODEL = typer.Option(
    "--beat-model", help="A Beat This! checkpoint (.ckpt) to use instead of the pretrained "
    "one (implies --beat-tracker beat_this).", show_default=False)
_STEM = typer.Option("--stem", metavar="NAME=PATH", show_default=False,
                     help="A stem of the song: drums=PATH drives the pulses, bass=PATH the "
                     "drift, other=PATH the class morph (repeatable).")
_SEPARATE = typer.Option("--separate", help="Split the song into stems with demucs "
                         '(pip install "audiogan[stems]") and use them as --stem does.')


_MODEL = typer.Option(help="biggan-deep-128, biggan-deep-256 or biggan-deep-512 [default: 128, "
                      "or what --weights holds].", show_default=False)
_WEIGHTS = typer.Option(help="A folder with config.json and pytorch_model.bin to use instead "
                        "of the downloaded pretrained weights [default: $AUDIOGAN_WEIGHTS, "
                        "else the pretrained weights].", show_default=False)
_FPS = typer.Option(help=f"Frames per second [default: {DEFAULT_FPS:g}].", show_default=False)
_TRUNCATION = typer.Option(help="BigGAN truncation in (0, 1]: lower is cleaner, higher is "
                           "wilder.", show_default=False)
_PREVIEW = typer.Option("--preview", help="Fast look check: 128 px, 12 fps, quick encode.")
_BATCH_SIZE = typer.Option(help="Frames per model call [default: by device and size].",
                           show_default=False)
_DEVICE = typer.Option(help="auto, cpu or cuda [default: auto].", show_default=False)
_DTYPE = typer.Option(help="auto (float16 on CUDA, float32 on the CPU), float32, float16 or "
                      "bfloat16 (autocast on the CPU).", show_default=False)
_COMPILE = typer.Option("--compile", help="torch.compile the generator (about 30 s up front; "
                        "pays off only where the model, not the encoder, sets the pace).")
_ENCODERS = typer.Option("--encoders", help="ffmpeg processes encoding at once [default: 1 on "
                         "the CPU, one per 4 host cores (up to 4) beside a GPU].",
                         show_default=False)
_NO_CACHE = typer.Option("--no-cache", help="Analyse again even if an earlier run cached the "
                         "analysis.")
_SET = typer.Option("--set", help="Any preset setting, e.g. --set pulse_strength=1.2 "
                    "(repeatable).", show_default=False)
_QUIET = typer.Option("--quiet", "-q", help="No progress, no summary.")
_SIZE = typer.Option("--size", metavar="WxH", help="Output size, e.g. 1920x1080, 1080x1920, "
                     "3840x2160 (scaled with lanczos) [default: the model's square].",
                     show_default=False)
_FIT = typer.Option("--fit", help="How the square model fills another aspect: wide (the "
                    "generator draws a wider picture), crop, blur (on a blurred copy) or mirror "
                    "[default: wide].", show_default=False)
_FOR = typer.Option("--for", help="A release preset: youtube, shorts, reels, tiktok, square, "
                    "canvas or editor (size, fps, rate, GOP, audio, container as the platform "
                    "documents; your flags still win).", show_default=False)
_FRAMES = typer.Option("--frames", help="Also write every frame into this folder as PNGs.",
                       show_default=False)
_SETTINGS = typer.Option("--settings", help="Render again from a VIDEO.json record that an "
                         "earlier render wrote beside its video (your flags still win).",
                         show_default=False)
_LOOP = typer.Option("--loop", metavar="BARS", help="Render exactly this many bars, from the "
                     "first bar line after --start, as a seamless loop.", show_default=False)
_SAFE_FLASHES = typer.Option("--safe-flashes", help="Limit the pulses so the picture never "
                             "flashes more than 3 times a second (WCAG 2.3.1).")


def _options(set_: list[str] | None, classes: str | None, compile_model: bool, no_cache: bool,
             preview: bool, **given: Any) -> dict[str, Any]:
    """The render options a command was given: --set values, overridden by the flags set."""
    options: dict[str, Any] = _parse_sets(set_)
    given.update({"classes": [classes] if classes is not None else None,
                  "compile": compile_model or None, "preview": preview or None,
                  "analysis_cache": False if no_cache else None})
    options.update({k: v for k, v in given.items() if v is not None})
    return options


@app.command("render")
def render_command(
    song: Annotated[Path, typer.Argument(help="The song: wav, flac, ogg, mp3, m4a, ...",
                                         show_default=False)],
    classes: Annotated[str | None, typer.Option(
        "--classes", "-c", help="ImageNet classes to morph between, ids or names: "
        "--classes 398 402, --classes abacus,goldfish (see `audiogan classes`).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The mp4 to write [default: SONG_STEM.mp4 beside the song].",
        show_default=False)] = None,
    preset: Annotated[str | None, typer.Option(
        help="A preset name (default, calm, punchy; see `audiogan presets`) or a .toml file.",
        show_default=False)] = None,
    model: Annotated[str | None, _MODEL] = None,
    weights: Annotated[Path | None, _WEIGHTS] = None,
    fps: Annotated[float | None, _FPS] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same video [default: 0].",
                                             show_default=False)] = None,
    start: Annotated[float | None, typer.Option(help="Render an excerpt from this second.",
                                                show_default=False)] = None,
    duration: Annotated[float | None, typer.Option(help="Length of the excerpt in seconds.",
                                                   show_default=False)] = None,
    truncation: Annotated[float | None, _TRUNCATION] = None,
    preview: Annotated[bool, _PREVIEW] = False,
    batch_size: Annotated[int | None, _BATCH_SIZE] = None,
    device: Annotated[str | None, _DEVICE] = None,
    dtype: Annotated[str | None, _DTYPE] = None,
    compile_model: Annotated[bool, _COMPILE] = False,
    encoders: Annotated[int | None, _ENCODERS] = None,
    no_cache: Annotated[bool, _NO_CACHE] = False,
    set_: Annotated[list[str] | None, _SET] = None,
    bpm: Annotated[float | None, _BPM] = None,
    beat_offset: Annotated[float | None, _BEAT_OFFSET] = None,
    beat_shift: Annotated[float | None, _BEAT_SHIFT] = None,
    beats: Annotated[Path | None, _BEATS] = None,
    cues: Annotated[Path | None, typer.Option(
        "--cues", help="A TOML cue file: classes, intensity and truncation per section, "
        "from a time or a bar number (see the README).", show_default=False)] = None,
    stem: Annotated[list[str] | None, _STEM] = None,
    separate: Annotated[bool, _SEPARATE] = False,
    beat_tracker: Annotated[str | None, _BEAT_TRACKER] = None,
    beat_model: Annotated[Path | None, _BEAT_MODEL] = None,
    tempo_range: Annotated[str | None, _TEMPO_RANGE] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")
                         ] = False,
    split_frames: Annotated[int | None, typer.Option(
        "--split-frames", help="Make the video as N frame-range segments joined at the end "
        "(the same video; how `audiogan batch --ray` spreads a long song over workers).",
        show_default=False)] = None,
    quiet: Annotated[bool, _QUIET] = False,
    size: Annotated[str | None, _SIZE] = None,
    fit: Annotated[str | None, _FIT] = None,
    release: Annotated[str | None, _FOR] = None,
    frames: Annotated[Path | None, _FRAMES] = None,
    loop: Annotated[int | None, _LOOP] = None,
    safe_flashes: Annotated[bool, _SAFE_FLASHES] = False,
    settings: Annotated[Path | None, _SETTINGS] = None,
) -> None:
    """Render SONG into a music video (this is also what `audiogan SONG` does)."""
    from audiogan.config import resolve_config
    from audiogan.pipeline import render

    options = _options(set_, classes, compile_model, no_cache, preview, model=model,
                       weights=weights, fps=fps, seed=seed, start=start, duration=duration,
                       truncation=truncation, batch_size=batch_size, device=device,
                       dtype=dtype, encoders=encoders, bpm=bpm, beat_offset=beat_offset,
                       beat_shift=beat_shift, beats=beats, cues=cues, stems=stem or None,
                       separate=separate or None, beat_tracker=beat_tracker,
                       beat_model=beat_model, tempo_range=tempo_range, size=size, fit=fit,
                       release=release, frames_dir=frames, loop=loop,
                       safe_flashes=safe_flashes or None)
    if settings is not None:  # the record's settings, under the flags given now
        from audiogan.pipeline import read_record

        options = {**read_record(settings, song), **options}
    config = resolve_config(preset, **options)
    with _Reporter(enabled=not quiet) as reporter:
        result = render(song, output, config=config, overwrite=overwrite, progress=reporter,
                        split_frames=split_frames)
    if not quiet:
        err.print(f"[green]done[/green]: {result.output}")
        # a song whose tempo changes names each part's: "96 -> 140 BPM"
        tempo = (" -> ".join(f"{bpm:.0f}" for bpm in result.tempi) if len(result.tempi) > 1
                 else f"{result.tempo_bpm:.0f}")
        shifted = f", moved {config.beat_shift:+g} beat" if config.beat_shift else ""
        # a doubtful grid's tempo is a guess (its "changes" its wandering), and where the
        # grid is unsure the pulses follow the onsets
        from audiogan.beats import LOW_CONFIDENCE

        beat = (f"no clear beat (confidence {result.beat_confidence:.2f}, "
                f"{result.beat_tracker} tracker{shifted}; about {result.tempo_bpm:.0f} BPM): "
                "the pulses followed the onsets where the grid was unsure"
                if result.beat_confidence < LOW_CONFIDENCE else
                f"{tempo} BPM ({result.beats} beats, {result.beat_tracker} tracker{shifted})")
        err.print(f"  {result.duration_s:.2f} s of music, {result.frames} frames at "
                  f"{result.fps:g} fps, {result.width}x{result.height}, {beat}, "
                  f"on {result.device}")
        flashes = ("" if result.flashes is None else
                   f"; {result.flashes.flashes} flashes (WCAG 2.3.1), at most "
                   f"{result.flashes.max_per_second} in any second")
        err.print(f"  {result.wall_s:.1f} s wall time: {result.achieved_fps:.1f} frames/s, "
                  f"{result.minutes_per_minute:.2f} min per minute of music{flashes}",
                  soft_wrap=True)


def _at_beats(features: Any, curve: Any, digits: int) -> list[list[float]]:
    """[time s, value] pairs of a per-frame `curve`, one per beat."""
    import numpy as np

    if len(curve) == 0:
        return []
    frames = np.clip(np.round(features.beats_s * features.fps).astype(int), 0, len(curve) - 1)
    return [[round(float(t), 3), round(float(curve[f]), digits)]
            for t, f in zip(features.beats_s, frames, strict=True)]


def _tempo_curve(features: Any) -> list[list[float]]:
    """[time s, BPM] pairs, one per beat: the tempo the grid has there."""
    return _at_beats(features, features.tempo_curve, 2)


def _tempo_changes(features: Any) -> list[dict[str, float]]:
    """The stretches of the song at a tempo of their own: start and end (s) and the tempo
    (BPM); one for a steady song."""
    from audiogan.beats import tempo_changes

    return [{"start": start, "end": end, "bpm": round(bpm, 1)}
            for start, end, bpm in tempo_changes(features.beats_s, features.duration_s)]


class _AlbumReporter:
    """The album view: tracks done (with time left) and the current track's frames; plain
    lines (`_PlainLines`) when stderr is not a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.plain = _PlainLines() if enabled and not err.is_terminal else None
        self.bars = Progress(
            TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
            _RateColumn(), TimeRemainingColumn(compact=True), console=err,
            disable=not enabled or self.plain is not None,
        )
        self.album = self.bars.add_task("album", total=None, unit="")  # no tracks/s
        self.track = self.bars.add_task("", total=None, unit="frames", visible=False)

    def __enter__(self) -> _AlbumReporter:
        if self.plain is None:
            self.bars.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.plain is not None:
            if exc_type is None:
                self.plain.flush()
            return
        if exc_type is not None:
            self.bars.live.transient = True  # bad settings leave only their error line
        self.bars.stop()

    def _plain(self, name: str, stage: str, done: float, total: float | None) -> None:
        assert self.plain is not None
        if stage == "start":
            self.plain.forget(name)
            err.print(f"track {done + 1:.0f}/{total or 0:.0f}: {name}", markup=False,
                      highlight=False, soft_wrap=True)
        elif stage == "frames":
            self.plain(name, f"{name}: frames", "frames", done, total)

    def __call__(self, name: str, stage: str, done: float, total: float | None) -> None:
        if stage == "ignored":
            err.print(f"note: skipping {name}: not an audio file", markup=False)
            return
        if not self.enabled:
            return
        if self.plain is not None:
            self._plain(name, stage, done, total)
            return
        label = name if len(name) <= 24 else name[:23] + "…"
        if stage == "start":
            self.bars.update(self.album, total=total)
            self.bars.reset(self.track, total=None, description=f"{label} analysing",
                            visible=True)
        elif stage == "frames":
            self.bars.update(self.track, completed=done, total=total,
                             description=f"{label} frames")
        elif stage == "encoding":
            self.bars.update(self.track, description=f"{label} encoding")
        elif stage in ("finished", "failed", "skipped"):
            self.bars.update(self.album, completed=done, total=total)
            if stage == "failed":
                self.bars.update(self.track, description=f"{label} failed")


@app.command("batch")
def batch_command(
    album_dir: Annotated[Path, typer.Argument(help="A folder of songs (sorted by file name).",
                                              show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Folder for the videos and manifest.json.",
        show_default=False)],
    classes: Annotated[str | None, typer.Option(
        "--classes", "-c", help="Classes for every track (album.toml may set them per "
        "track): --classes 398 402.")] = None,
    preset: Annotated[str | None, typer.Option(
        help="One preset for the whole album (album.toml may set one per track).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="The album's seed; each track's is derived from it "
                                      "and the file name.")] = 0,
    album_toml: Annotated[Path | None, typer.Option(
        "--album-toml", help="Per-track classes, preset, seed, beat_shift [default: "
        "ALBUM_DIR/album.toml if there].", show_default=False)] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="auto: start a local Ray; ADDRESS: join that cluster. Tracks run as "
        "tasks, one GPU each (needs pip install 'audiogan[ray]').", show_default=False)] = None,
    split_frames: Annotated[int | None, typer.Option(
        "--split-frames", help="Render each track as N frame ranges (spread over the Ray "
        "workers), joined with the audio at the end.", show_default=False)] = None,
    model: Annotated[str | None, _MODEL] = None,
    weights: Annotated[Path | None, _WEIGHTS] = None,
    fps: Annotated[float | None, _FPS] = None,
    start: Annotated[float | None, typer.Option(help="Render each track from this second.",
                                                show_default=False)] = None,
    duration: Annotated[float | None, typer.Option(help="At most this many seconds per track.",
                                                   show_default=False)] = None,
    truncation: Annotated[float | None, _TRUNCATION] = None,
    preview: Annotated[bool, _PREVIEW] = False,
    batch_size: Annotated[int | None, _BATCH_SIZE] = None,
    device: Annotated[str | None, _DEVICE] = None,
    dtype: Annotated[str | None, _DTYPE] = None,
    compile_model: Annotated[bool, _COMPILE] = False,
    encoders: Annotated[int | None, _ENCODERS] = None,
    no_cache: Annotated[bool, _NO_CACHE] = False,
    beat_tracker: Annotated[str | None, _BEAT_TRACKER] = None,
    beat_model: Annotated[Path | None, _BEAT_MODEL] = None,
    tempo_range: Annotated[str | None, _TEMPO_RANGE] = None,
    set_: Annotated[list[str] | None, _SET] = None,
    quiet: Annotated[bool, _QUIET] = False,
    size: Annotated[str | None, _SIZE] = None,
    fit: Annotated[str | None, _FIT] = None,
    release: Annotated[str | None, _FOR] = None,
    loop: Annotated[int | None, typer.Option(
        "--loop", metavar="BARS", help="Render exactly this many bars of each track, from "
        "its first bar line after --start, as a seamless loop.", show_default=False)] = None,
    safe_flashes: Annotated[bool, _SAFE_FLASHES] = False,
) -> None:
    """Render every song in ALBUM_DIR into OUT_DIR: one look, resumable (finished tracks are
    skipped), a failing track reported without stopping the others."""
    from audiogan.album import render_album

    # the publishing options go, like the rest, to resolve_config once per track
    options = _options(set_, classes, compile_model, no_cache, preview, model=model,
                       weights=weights, fps=fps, start=start, duration=duration,
                       truncation=truncation, batch_size=batch_size, device=device,
                       dtype=dtype, encoders=encoders, beat_tracker=beat_tracker,
                       beat_model=beat_model, tempo_range=tempo_range, size=size, fit=fit,
                       release=release, loop=loop, safe_flashes=safe_flashes or None)
    with _AlbumReporter(enabled=not quiet) as reporter:
        results = render_album(album_dir, output, preset=preset, seed=seed,
                               album_toml=album_toml, ray=ray, split_frames=split_frames,
                               progress=reporter, **options)
    if not quiet:
        table = Table("track", "duration", "frames", "wall time", "status", box=None,
                      pad_edge=False)
        for result in results:
            status = {"rendered": "[green]rendered[/green]", "skipped": "done before",
                      "failed": "[red]failed[/red]"}[result.status]
            table.add_row(result.name, f"{result.duration_s:.1f} s" if result.frames else "-",
                          str(result.frames) if result.frames else "-",
                          f"{result.wall_s:.1f} s" if result.status == "rendered" else "-",
                          status)
        err.print(table)
    failures = [result for result in results if result.status == "failed"]
    for result in failures:
        err.print(f"audiogan: error: {result.name}: {result.error}", markup=False,
                  highlight=False, soft_wrap=True)
    if failures:
        done = len(results) - len(failures)
        err.print(f"audiogan: {len(failures)} of {len(results)} tracks failed ({done} done); "
                  f"fix them and run the same command again to render only what is missing",
                  markup=False, soft_wrap=True)
        raise typer.Exit(1)
    if not quiet:
        err.print(f"[green]done[/green]: {len(results)} videos in {output}")


@app.command("analyze")
def analyze_command(
    song: Annotated[Path, typer.Argument(help="The song to analyse.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    fps: Annotated[float, typer.Option(help="Frame rate the features are sampled at.")
                   ] = DEFAULT_FPS,
    start: Annotated[float, typer.Option(help="Analyse an excerpt from this second.")] = 0.0,
    duration: Annotated[float | None, typer.Option(help="Length of the excerpt in seconds.",
                                                   show_default=False)] = None,
    bpm: Annotated[float | None, _BPM] = None,
    beat_offset: Annotated[float | None, _BEAT_OFFSET] = None,
    beat_shift: Annotated[float | None, _BEAT_SHIFT] = None,
    beats: Annotated[Path | None, _BEATS] = None,
    stem: Annotated[list[str] | None, _STEM] = None,
    separate: Annotated[bool, _SEPARATE] = False,
    beat_tracker: Annotated[str | None, _BEAT_TRACKER] = None,
    beat_model: Annotated[Path | None, _BEAT_MODEL] = None,
    tempo_range: Annotated[str | None, _TEMPO_RANGE] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Draw the analysis and the mapping curves into this PNG "
        '(needs matplotlib: pip install "audiogan[plot]").', show_default=False)] = None,
    preset: Annotated[str | None, typer.Option(
        help="The preset whose mapping --plot draws.", show_default=False)] = None,
    causal: Annotated[bool, typer.Option(
        "--causal", help="The live tracker's beats: heard as the song plays, no look-ahead "
        "(what `audiogan live --input` reacts to).")] = False,
) -> None:
    """Print the tempo, beats, bars, sections and loudness audiogan hears in SONG."""
    from audiogan.pipeline import analyze_song

    if causal:
        _analyze_causal(song, as_json=as_json, start=start, duration=duration,
                        tempo_range=tempo_range, others=dict(
                            bpm=bpm, beat_offset=beat_offset, beat_shift=beat_shift,
                            beats=beats, stem=stem, separate=separate or None,
                            beat_tracker=beat_tracker, beat_model=beat_model, plot=plot))
        return
    if plot is not None and plot.suffix.lower() != ".png":
        raise ConfigError(f"--plot {plot}: the picture is a PNG; name it *.png")
    options = {"bpm": bpm, "beat_offset": beat_offset, "beat_shift": beat_shift,
               "beats": beats, "stems": stem or None, "separate": separate or None,
               "beat_tracker": beat_tracker, "beat_model": beat_model,
               "tempo_range": tempo_range}
    with _Reporter(enabled=not as_json) as reporter:
        info, features = analyze_song(song, fps=fps, start=start, duration=duration,
                                      progress=reporter, **options)
    if plot is not None:
        from audiogan.plot import plot_analysis

        plot_analysis(info, features, plot, preset=preset, start=start)
        if not as_json:
            err.print(f"[green]wrote[/green] {plot}")
    report: dict[str, Any] = {
        "song": str(info.path),
        "duration_s": round(features.duration_s, 4),
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "tempo_bpm": round(features.tempo_bpm, 2),
        "beat_tracker": features.beat_tracker,
        "beat_confidence": round(float(features.beat_confidence), 3),
        "beats_s": [round(float(b), 4) for b in features.beats_s],
        "fps": features.fps,
        "n_frames": features.n_frames,
        "peak_dbfs": round(features.peak_dbfs, 2),
        "loudness_db_mean": round(float(features.loudness_db.mean()), 2),
        "meter": features.meter,
        "downbeats_s": [round(float(b), 4) for b in features.downbeats_s],
        "half_beats_s": [round(float(b), 4) for b in features.half_beats_s],
        "tempo_curve": _tempo_curve(features),
        "tempo_changes": _tempo_changes(features),
        "confidence_curve": _at_beats(features, features.frame_confidence, 3),
        "sections": [{"start": round(float(a), 4), "end": round(float(b), 4),
                      "label": str(label)}
                     for (a, b), label in zip(features.sections_s, features.section_labels,
                                              strict=True)],
    }
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    out.print(f"{info.path.name}: {features.duration_s:.2f} s, {info.sample_rate} Hz, "
              f"{info.channels} channel(s)")
    # a doubtful grid's tempo is the tracker's guess, and its "changes" are its wandering
    from audiogan.beats import LOW_CONFIDENCE

    doubtful = features.beat_confidence < LOW_CONFIDENCE
    out.print(f"  tempo {features.tempo_bpm:.1f} BPM, {len(features.beats_s)} beats"
              + (f", first at {features.beats_s[0]:.2f} s" if len(features.beats_s) else "")
              + f" ({features.beat_tracker} tracker, confidence "
              f"{features.beat_confidence:.2f}" + (": no clear beat)" if doubtful else ")"))
    if len(report["tempo_changes"]) > 1 and not doubtful:
        out.print("  the tempo changes: " + ", ".join(
            f"{change['bpm']:.1f} BPM from {change['start']:.1f} s"
            for change in report["tempo_changes"]))
    out.print(f"  peak {features.peak_dbfs:.1f} dBFS, mean loudness "
              f"{report['loudness_db_mean']:.1f} dB")
    if len(features.downbeats_s):
        out.print(f"  {features.meter} beats a bar, {len(features.downbeats_s)} bars")
    if report["sections"]:
        out.print("  sections: " + ", ".join(f"{s['label']} {s['start']:.1f}-{s['end']:.1f} s"
                                             for s in report["sections"]))


def _analyze_causal(song: Path, *, as_json: bool, start: float, duration: float | None,
                    tempo_range: str | None, others: dict[str, Any]) -> None:
    """``analyze --causal``: the causal tracker's beats and tempo."""
    from audiogan.live import causal_analysis

    given = [name for name, value in others.items() if value]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise ConfigError(f"{flag} does not go with --causal: the causal tracker hears the "
                          "song as it plays and takes no timing, stems or plot")
    info, heard = causal_analysis(song, start=start, duration=duration,
                                  tempo_range=tempo_range)
    import numpy as np

    tempo = heard.tempo_bpm[heard.tempo_bpm > 0]
    beats_s = [round(float(b), 4) for b in heard.beats_s]
    report: dict[str, Any] = {"song": str(info.path), "beat_tracker": "causal",
              "tempo_bpm": round(float(np.median(tempo)), 2) if len(tempo) else 0.0,
              "beats_s": beats_s,
              "tempo_curve": [[round(float(b), 3),
                               round(float(heard.tempo_bpm[min(len(heard.tempo_bpm) - 1,
                                                                int(b / heard.hop_s))]), 2)]
                              for b in heard.beats_s]}
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    out.print(f"{info.path.name}: causal tracker, tempo {report['tempo_bpm']:.1f} BPM, "
              f"{len(beats_s)} beats"
              + (f", first at {beats_s[0]:.2f} s" if beats_s else ""))


@app.command("classes")
def classes_command(
    query: Annotated[str, typer.Argument(help="Part of a name or an id; all when left out.",
                                         show_default=False)] = "",
) -> None:
    """List ImageNet class ids and names (those `--classes` accepts)."""
    from audiogan.classes import search_classes

    found = search_classes(query)
    if not found:
        raise ConfigError(f"no class matches {query!r}; try a shorter word")
    table = Table("id", "names", box=None, pad_edge=False)
    for class_id, names in found:
        table.add_row(str(class_id), names)
    out.print(table)


@app.command("presets")
def presets_command(
    name: Annotated[str | None, typer.Argument(
        help="A preset (or .toml file) to print with every setting it resolves to, the "
        "built-in defaults included.", show_default=False)] = None,
) -> None:
    """List the presets that ship with audiogan, or print one's settings as TOML."""
    from audiogan.config import available_presets, presets_dir

    if name is None:
        for preset in available_presets():
            first = (presets_dir() / f"{preset}.toml").read_text("utf-8").splitlines()[0]
            out.print(f"{preset:<10} {first.lstrip('# ')}", markup=False, soft_wrap=True)
        return
    sys.stdout.write(_preset_toml(name))


def _preset_toml(name: str) -> str:
    """Every setting `name` resolves to, as the TOML of a preset."""
    from audiogan.config import resolve_config, resolve_tempo_config

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return str(item).lower()
        if isinstance(item, str | Path):
            return json.dumps(str(item))
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(v) for v in item) + "]"
        return repr(item)

    def table(title: str, values: dict[str, Any]) -> list[str]:
        return [f"[{title}]"] + [f"{key} = {value(v)}" for key, v in values.items()
                                 if v is not None and not callable(v)]

    if name.startswith("tempo-") or Path(name).is_file() and "[tempo]" in Path(name).read_text(
            "utf-8", errors="replace"):
        lines = table("tempo", dataclasses.asdict(resolve_tempo_config(name)))
    else:
        config = dataclasses.asdict(resolve_config(name, hardware=False))
        mapping = config.pop("mapping")
        lines = table("render", config) + [""] + table("mapping", mapping)
    return "\n".join(lines) + "\n"


@app.command("test-checkpoint")
def test_checkpoint_command(
    folder: Annotated[Path, typer.Argument(help="Folder to write config.json and "
                                           "pytorch_model.bin into.", show_default=False)],
    resolution: Annotated[int, typer.Option(help="128, 256 or 512.")] = 128,
    channel_width: Annotated[int, typer.Option(help="128 is the real width; smaller is "
                                               "faster.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Write a randomly initialised BigGAN-deep checkpoint (for tests, or to try audiogan
    without the pretrained weights: pass it with --weights)."""
    from audiogan.model import make_random_checkpoint

    started = time.perf_counter()
    path = make_random_checkpoint(folder, resolution=resolution, channel_width=channel_width,
                                  seed=seed)
    err.print(f"wrote a random {resolution} px BigGAN-deep (width {channel_width}) to {path} "
              f"in {time.perf_counter() - started:.1f} s")


@app.command("tempo")
def tempo_command(
    bpm: Annotated[float | None, typer.Option(help="Tempo in beats per minute [default: 120].",
                                              show_default=False)] = None,
    num_beats: Annotated[float | None, typer.Option(
        "--num-beats", help="Number of beats to render [default: 16].",
        show_default=False)] = None,
    classes: Annotated[str | None, typer.Option(
        "--classes", "-c", help="ImageNet classes of the class vector, ids or names: "
        "--classes 398 402 [default: 309].", show_default=False)] = None,
    y_scale: Annotated[float | None, typer.Option(
        help="Norm of the class vector; above 7-8 the pictures get abstract [default: 1].",
        show_default=False)] = None,
    truncation: Annotated[float | None, typer.Option(
        help="BigGAN truncation in (0, 1] [default: 1].", show_default=False)] = None,
    random_label: Annotated[bool, typer.Option(
        "--random-label", help="A random class vector instead of --classes.")] = False,
    quantize_label: Annotated[bool, typer.Option(
        "--quantize-label", help="Class vector entries to 1 above 0.5, else 0.")] = False,
    ext: Annotated[str | None, typer.Option(
        help="Also write renders/<timestamp>.gif or .mp4; .npy writes only npys/out.npy "
        "[default: .gif, .mp4 with --audio].", show_default=False)] = None,
    audio: Annotated[Path | None, typer.Option(
        help="A song: take its tempo and first beat instead of --bpm, render its length and "
        "mux it into the mp4.", show_default=False)] = None,
    preset: Annotated[str | None, typer.Option(
        help="A tempo preset (tempo-smooth, tempo-rampy) or a .toml file with a [tempo] "
        "table: axis sets, functions, periods, magnitudes.", show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        help="128-deep, 256-deep or 512-deep [default: 512-deep, or what --weights holds].",
        show_default=False)] = None,
    weights: Annotated[Path | None, typer.Option(
        help="A folder with config.json and pytorch_model.bin [default: $AUDIOGAN_WEIGHTS, "
        "else the pretrained weights].", show_default=False)] = None,
    num_samples: Annotated[int, typer.Option(
        help="Render this many, with seeds S, S+1, ...", min=1)] = 1,
    seed: Annotated[int | None, typer.Option(
        help="Same seed, same frames [default: from the clock, printed].",
        show_default=False)] = None,
    fps: Annotated[float | None, _FPS] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda [default: auto].",
                                               show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(
        help="Frames per model call [default: by device and size].", show_default=False)] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Any tempo preset key, e.g. --set 'periods=[1, 2]' (repeatable).",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")
                     ] = False,
) -> None:
    """Render frames that pulse at a tempo, as gan-video-synth's generate_in_tempo did:
    npys/out.npy (for `audiogan view`) and renders/<timestamp>.gif or .mp4."""
    from audiogan import pipeline
    from audiogan.synth import GanVideoSynth, resolve_tempo_config

    if ext is None:
        ext = ".mp4" if audio is not None else ".gif"
    options: dict[str, Any] = _parse_sets(set_)
    given = {"bpm": bpm, "num_beats": num_beats, "y_scale": y_scale, "truncation": truncation,
             "random_label": random_label or None, "quantize_label": quantize_label or None,
             "ext": ext, "fps": fps, "seed": seed, "batch_size": batch_size,
             "classes": [classes] if classes is not None else None}
    options.update({k: v for k, v in given.items() if v is not None})
    config = resolve_tempo_config(preset, **options)
    samples = [config if config.seed is None
               else dataclasses.replace(config, seed=(config.seed + n) % 2**32)
               for n in range(num_samples)]
    # the plans first (checks, the song's analysis), then the model: bad input fails at once
    with _Reporter(enabled=not quiet) as reporter:
        plans = [pipeline.prepare_tempo(sample, audio=audio, progress=reporter)
                 for sample in samples]
    gvs = GanVideoSynth(model, weights=weights, device=device)
    for plan in plans:
        with _Reporter(enabled=not quiet) as reporter:
            result = pipeline.render_tempo(plan, gvs.model, device=gvs.device, dtype=gvs.dtype,
                                           progress=reporter)
        if not quiet:
            height, width = result.frames.shape[1:3]
            timing = (f"{result.bpm:.1f} BPM from {audio.name}, first beat at "
                      f"{result.first_beat_s:.2f} s" if audio is not None
                      else f"{result.bpm:g} BPM")
            err.print(f"[green]done[/green]: {result.npy}"
                      + (f" and {result.video}" if result.video else ""), soft_wrap=True)
            err.print(f"  {result.n_frames} frames at {result.fps:g} fps, {width}x{height}, "
                      f"{timing}, seed {result.seed}, {result.wall_s:.1f} s", soft_wrap=True)


@app.command("live")
def live_command(
    song: Annotated[Path | None, typer.Argument(
        help="The song to play with its video (known ahead: rendered just in time with the "
        "analysis and mapping of a render).", show_default=False)] = None,
    input_device: Annotated[str | None, typer.Option(
        "--input", help="Listen to this sound card (number or name; `python -m sounddevice` "
        "lists them) and react with no look-ahead.", show_default=False)] = None,
    simulate: Annotated[bool, typer.Option(
        "--simulate", help="A virtual audio clock: no sound card, no window (for tests and "
        "benchmarks).")] = False,
    causal: Annotated[bool, typer.Option(
        "--causal", help="Hear SONG block by block as if from a sound card (as --input does) "
        "instead of knowing it ahead.")] = False,
    record: Annotated[Path | None, typer.Option(
        "--record", help="Write what was shown at each frame time, with the audio, to this "
        "mp4.", show_default=False)] = None,
    speed: Annotated[float, typer.Option(
        help="--simulate: the virtual clock runs this many times faster than this machine "
        "(2 = a machine half as fast).")] = 1.0,
    frame_cost: Annotated[float | None, typer.Option(
        "--frame-cost", help="--simulate: every frame costs exactly this many ms of audio "
        "time (a forced slow or fast generator).", show_default=False)] = None,
    classes: Annotated[str | None, typer.Option(
        "--classes", "-c", help="ImageNet classes, ids or names (the first class set).")
                       ] = None,
    more_classes: Annotated[list[str] | None, typer.Option(
        "--more-classes", metavar="A,B", help="Another class set to switch to with the keys "
        "1-9, OSC or MIDI (repeatable).", show_default=False)] = None,
    preset: Annotated[str | None, typer.Option(
        help="A preset name or .toml file (the first preset).", show_default=False)] = None,
    more_presets: Annotated[list[str] | None, typer.Option(
        "--more-presets", metavar="NAME", help="Another preset to switch to with p, OSC or "
        "MIDI (repeatable).", show_default=False)] = None,
    osc: Annotated[str | None, typer.Option(
        "--osc", metavar="HOST:PORT", help="Take OSC control messages on this UDP address "
        "(see the README for the addresses; needs python-osc).", show_default=False)] = None,
    midi: Annotated[str | None, typer.Option(
        "--midi", metavar="PORT", help="Take MIDI control messages from this input port "
        "('default' for the system's; needs mido).", show_default=False)] = None,
    model: Annotated[str | None, _MODEL] = None,
    weights: Annotated[Path | None, _WEIGHTS] = None,
    fps: Annotated[float | None, _FPS] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same motion [default: 0].",
                                             show_default=False)] = None,
    start: Annotated[float | None, typer.Option(help="Start at this second of the song.",
                                                show_default=False)] = None,
    duration: Annotated[float | None, typer.Option(help="Play this many seconds.",
                                                   show_default=False)] = None,
    device: Annotated[str | None, _DEVICE] = None,
    dtype: Annotated[str | None, _DTYPE] = None,
    scale: Annotated[float, typer.Option(help="Window size relative to the frames.")] = 2.0,
    set_: Annotated[list[str] | None, _SET] = None,
    quiet: Annotated[bool, _QUIET] = False,
) -> None:
    """Play SONG (or a sound card) with its video in real time; keys, OSC and MIDI play it
    like an instrument."""
    from audiogan.config import resolve_config
    from audiogan.controls import Controls
    from audiogan.live import play

    options = _options(set_, classes, False, False, False, model=model, weights=weights,
                       fps=fps, seed=seed, start=start, duration=duration, device=device,
                       dtype=dtype)
    config = resolve_config(preset, **options)
    sets = [tuple(config.classes)] + [
        tuple(resolve_config(hardware=False, classes=[value]).classes)
        for value in more_classes or []]
    presets = [str(preset or "default")] + [
        str(resolve_config(name, hardware=False) and name) for name in more_presets or []]
    controls = Controls(class_sets=sets, presets=presets)
    say = (lambda line: None) if quiet else (
        lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True))
    inputs = _control_inputs(controls, osc, midi, say)
    try:
        stats = play(song, config=config, input_device=input_device, simulate=simulate,
                     causal=causal, record=record, speed=speed, frame_cost_ms=frame_cost,
                     scale=scale, controls=controls, log=say)
    finally:
        for close in inputs:
            close()
    if not quiet:
        import numpy as np

        made = np.array(stats.make_ms) if stats.make_ms else np.zeros(1)
        err.print(f"live: {stats.frames_shown} frames shown, {stats.frames_dropped} dropped, "
                  f"{stats.achieved_fps:.1f} fps achieved of {config.fps:g}, drift "
                  f"{1000 * stats.max_drift_s:.1f} ms, frame time p50 "
                  f"{np.percentile(made, 50):.1f} ms, p95 {np.percentile(made, 95):.1f} ms"
                  + (f", latency {np.mean(stats.latency_ms):.0f} ms" if stats.latency_ms
                     else ""), markup=False, soft_wrap=True)
        if stats.recorded is not None:
            err.print(f"[green]recorded[/green]: {stats.recorded}")


def _control_inputs(controls: Any, osc: str | None, midi: str | None,
                    say: Any) -> list[Any]:
    """Open the OSC and MIDI inputs asked for; returns their closers."""
    closers: list[Any] = []
    if osc is not None:
        host, sep, port = osc.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"--osc {osc}: write HOST:PORT, e.g. 127.0.0.1:9000")
        try:
            server = controls.serve_osc(host or "127.0.0.1", int(port))
        except ImportError:
            raise MissingPackageError("--osc", "python-osc", extra="live") from None
        except OSError as exc:
            raise ConfigError(f"--osc {osc}: cannot listen there ({exc.strerror})") from None
        closers.append(lambda: (server.shutdown(), server.server_close()))
        say(f"live: OSC on udp://{host or '127.0.0.1'}:{port} (/audiogan/...)")
    if midi is not None:
        try:
            port_in = controls.open_midi(None if midi == "default" else midi)
        except ImportError:
            raise MissingPackageError("--midi", "mido (and python-rtmidi)", extra="live"
                                      ) from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"--midi {midi}: cannot open that MIDI input ({exc})") from None
        closers.append(port_in.close)
        say(f"live: MIDI from {midi}")
    return closers


@app.command("view")
def view_command(
    source: Annotated[Path, typer.Argument(
        help="npys/out.npy (reloaded when a new render lands) or a video file.")
                      ] = Path("npys/out.npy"),
    fps: Annotated[float | None, typer.Option(
        help="Playback rate [default: the video's; for a .npy the fps its render wrote "
        f"beside it, else {DEFAULT_FPS:g}].", show_default=False)] = None,
    scale: Annotated[float, typer.Option(help="Window size relative to the frames.")] = 1.0,
    seconds: Annotated[float | None, typer.Option(
        help="Quit after this many seconds [default: run until q or Ctrl-C].",
        show_default=False)] = None,
    max_loops: Annotated[int | None, typer.Option(
        help="Quit after this many loops [default: run until q or Ctrl-C].",
        show_default=False)] = None,
) -> None:
    """Play frames in a window, looping; a new npys/out.npy takes over at the end of the loop,
    as gan-video-synth's view_npy.py did. q, Esc or Ctrl-C quits."""
    from audiogan.viewer import view

    stats = view(source, fps=fps, scale=scale, seconds=seconds, max_loops=max_loops,
                 log=lambda line: err.print(line, markup=False, highlight=False,
                                           soft_wrap=True))
    err.print(f"viewer: {stats.frames_shown} frames shown, {stats.loops} loop(s), "
              f"{stats.reloads} reload(s)", markup=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from audiogan import __version__

        out.print(f"audiogan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Turn a song into a BigGAN-deep music video that moves with the music.

    Run `audiogan SONG --classes 398 402`, or `audiogan COMMAND --help`.
    """


def _looks_like_song(token: str) -> bool:
    from audiogan.audio import AUDIO_SUFFIXES

    return Path(token).suffix.lower() in AUDIO_SUFFIXES or Path(token).is_file()


def normalise_argv(argv: list[str]) -> list[str]:
    """Make ``audiogan SONG ...`` mean ``audiogan render SONG ...``, and let ``--classes``
    take several values (``--classes 398 402``) by joining them with commas."""
    argv = list(argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("--help", "-h", "--version"):
        argv.insert(0, "render")
    result: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        result.append(token)
        i += 1
        if token in ("--classes", "-c") and argv[0] in ("render", "tempo", "batch", "live"):
            values = []
            while i < len(argv) and not argv[i].startswith("-") and not _looks_like_song(argv[i]):
                values.append(argv[i])
                i += 1
            result.append(",".join(values))
        elif token.startswith("--classes="):
            continue
    return result


def mistyped_command(token: str) -> str | None:
    """The command `token` was probably meant to be (``renderr`` -> ``render``), when it is
    not a file, has no audio suffix and is close to a command's name; else None."""
    import difflib

    if token in COMMANDS or token.startswith("-") or _looks_like_song(token) or Path(
            token).exists() or Path(token).suffix:
        return None
    close = difflib.get_close_matches(token.lower(), COMMANDS, n=1, cutoff=0.6)
    return close[0] if close else None


def exit_code(error: AudioganError) -> int:
    """The exit code of `error`'s kind (see `EXIT_CODES`)."""
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


_TERMINATED: list[int] = []
"""SIGTERM received (typer turns the interrupt it raises into a plain exit code 130)."""


def _terminate(signum: int, frame: object) -> None:
    # unwinds like Ctrl-C through every clean-up; `main` then exits with 143
    _TERMINATED.append(signum)
    raise KeyboardInterrupt


class _NoteHandler(logging.Handler):
    """The library's notes (logger ``audiogan``) as one ``audiogan: note: ...`` line each."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"audiogan: {record.getMessage()}", markup=False, highlight=False,
                  soft_wrap=True)


def _show_notes() -> None:
    logger = logging.getLogger("audiogan")
    if not any(isinstance(handler, _NoteHandler) for handler in logger.handlers):
        logger.addHandler(_NoteHandler())
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the command, turn user errors into one line."""
    _show_notes()
    _TERMINATED.clear()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (meant := mistyped_command(argv[0])) is not None:
        err.print(f"audiogan: error: no such command {argv[0]!r}; did you mean {meant!r}? "
                  "(see `audiogan --help`)", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    argv = normalise_argv(argv)
    # Ctrl-C and kill both unwind through the encoder's clean-up; SIGINT too when a shell
    # started us with it ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        # typer returns the exit code of an interrupted or exited command in this mode
        code = app(args=argv, prog_name="audiogan", standalone_mode=False)
        if code == EXIT_INTERRUPTED:
            raise KeyboardInterrupt
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except AudioganError as exc:
        err.print(f"audiogan: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exit_code(exc))
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] == "audiogan":
            raise  # a module of our own: a bug, with its traceback
        # a dependency that is installed but will not load (a half-finished upgrade, a wheel
        # for another Python): the installation is broken, as with a missing ffmpeg
        broken = ResourceError(f"a package audiogan needs would not load ({exc}); reinstall "
                               "audiogan with its dependencies: pip install --force-reinstall "
                               "audiogan")
        err.print(f"audiogan: error: {broken}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exit_code(broken))
    except click_exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(0)
    except click_exceptions.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        message = exc.format_message().replace("\n", " ")
        err.print(f"audiogan: error: {message}{hint}", markup=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("audiogan: interrupted; no partial output was left behind", markup=False)
        sys.exit(EXIT_TERMINATED if _TERMINATED else EXIT_INTERRUPTED)
