"""The command line: a thin face on `audiogan.render` and friends.

    audiogan SONG --classes 398 402          (same as: audiogan render SONG ...)
    audiogan analyze SONG --json
    audiogan classes [QUERY]

Errors caused by the input print one line and exit 1 (2 for a malformed command line);
a traceback means a bug.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from audiogan.errors import AudioganError

try:  # typer 0.29+ carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer builds on click itself
    from click import exceptions as click_exceptions

__all__ = ["app", "main"]

app = typer.Typer(
    name="audiogan",
    help="Turn a song into a BigGAN-deep music video that moves with the music.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

COMMANDS = ("render", "analyze", "classes", "presets", "test-checkpoint", "batch")


class _RateColumn(ProgressColumn):
    """Items per second of a task, e.g. ``13.2 frames/s``."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        return Text(f"{speed:.1f} {unit}/s" if speed and unit else "", style="cyan")


class _Reporter:
    """Turns the pipeline's ``progress(stage, done, total)`` calls into rich bars."""

    LABELS = {"weights": ("downloading weights", "B"), "analysis": ("analysing audio", "s"),
              "frames": ("generating frames", "frames"), "encoding": ("encoding", "frames")}

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tasks: dict[str, Any] = {}
        self.bars = Progress(
            TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
            _RateColumn(), TimeRemainingColumn(compact=True), console=err, transient=False,
            disable=not enabled,
        )
        self.download = Progress(TextColumn("{task.description:<20}"), BarColumn(),
                                 DownloadColumn(), console=err, disable=not enabled)

    def __enter__(self) -> _Reporter:
        self.bars.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.bars.live.transient = True  # a failed run leaves only its error line
        self.bars.stop()

    def __call__(self, stage: str, done: float, total: float | None) -> None:
        if not self.enabled:
            return
        label, unit = self.LABELS.get(stage, (stage, ""))
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
            raise AudioganError(f"--set {item!r}: write KEY=VALUE, e.g. --set truncation=0.4")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        parsed[key.strip().replace("-", "_").split(".")[-1]] = value
    return parsed


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
    model: Annotated[str | None, typer.Option(
        help="biggan-deep-128, biggan-deep-256 or biggan-deep-512 [default: 128, or what "
        "--weights holds].", show_default=False)] = None,
    weights: Annotated[Path | None, typer.Option(
        help="A folder with config.json and pytorch_model.bin to use instead of the "
        "downloaded pretrained weights.", show_default=False)] = None,
    fps: Annotated[float | None, typer.Option(help="Frames per second [default: 30].",
                                              show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same video [default: 0].",
                                             show_default=False)] = None,
    start: Annotated[float | None, typer.Option(help="Render an excerpt from this second.",
                                                show_default=False)] = None,
    duration: Annotated[float | None, typer.Option(help="Length of the excerpt in seconds.",
                                                   show_default=False)] = None,
    truncation: Annotated[float | None, typer.Option(
        help="BigGAN truncation in (0, 1]: lower is cleaner, higher is wilder.",
        show_default=False)] = None,
    preview: Annotated[bool, typer.Option(
        "--preview", help="Fast look check: 128 px, 12 fps, quick encode; writes "
        "SONG_STEM.preview.mp4.")] = False,
    batch_size: Annotated[int | None, typer.Option(
        help="Frames per model call [default: by device and size].", show_default=False)] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda [default: auto].",
                                               show_default=False)] = None,
    dtype: Annotated[str | None, typer.Option(
        help="auto (float16 on CUDA, float32 on the CPU), float32, float16 or bfloat16 "
        "(autocast on the CPU).", show_default=False)] = None,
    compile_model: Annotated[bool, typer.Option(
        "--compile", help="torch.compile the generator (pays off on long GPU renders).")
                             ] = False,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Analyse the song again even if an earlier run cached it.")] = False,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Any preset setting, e.g. --set pulse_strength=1.2 (repeatable).",
        show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")
                         ] = False,
    split_frames: Annotated[int | None, typer.Option(
        "--split-frames", help="Make the video as N frame-range segments joined at the end "
        "(the same video; how `audiogan batch --ray` spreads a long song over workers).",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")
                     ] = False,
) -> None:
    """Render SONG into a music video (this is also what `audiogan SONG` does)."""
    from audiogan.pipeline import render

    options: dict[str, Any] = _parse_sets(set_)
    given = {"classes": [classes] if classes is not None else None, "model": model,
             "weights": weights, "fps": fps, "seed": seed, "start": start,
             "duration": duration, "truncation": truncation, "batch_size": batch_size,
             "device": device, "dtype": dtype, "compile": compile_model or None,
             "analysis_cache": False if no_cache else None, "preview": preview or None}
    options.update({k: v for k, v in given.items() if v is not None})
    with _Reporter(enabled=not quiet) as reporter:
        result = render(song, output, preset=preset, overwrite=overwrite, progress=reporter,
                        split_frames=split_frames, **options)
    if not quiet:
        err.print(f"[green]done[/green]: {result.output}")
        err.print(f"  {result.duration_s:.2f} s of music, {result.frames} frames at "
                  f"{result.fps:g} fps, {result.width}x{result.height}, "
                  f"{result.tempo_bpm:.0f} BPM ({result.beats} beats), on {result.device}")
        err.print(f"  {result.wall_s:.1f} s wall time: {result.achieved_fps:.1f} frames/s, "
                  f"{result.minutes_per_minute:.2f} min per minute of music")


class _AlbumReporter:
    """The album view: tracks done (with time left) and the current track's frames."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars = Progress(
            TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
            _RateColumn(), TimeRemainingColumn(compact=True), console=err, disable=not enabled,
        )
        self.album = self.bars.add_task("album", total=None, unit="")  # no tracks/s
        self.track = self.bars.add_task("", total=None, unit="frames", visible=False)

    def __enter__(self) -> _AlbumReporter:
        self.bars.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.bars.live.transient = True  # bad settings leave only their error line
        self.bars.stop()

    def __call__(self, name: str, stage: str, done: float, total: float | None) -> None:
        if stage == "ignored":
            err.print(f"note: skipping {name}: not an audio file", markup=False)
            return
        if not self.enabled:
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
        "--album-toml", help="Per-track classes, preset, seed [default: ALBUM_DIR/album.toml "
        "if there].", show_default=False)] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="auto: start a local Ray; ADDRESS: join that cluster. Tracks run as "
        "tasks, one GPU each (needs pip install 'audiogan[ray]').", show_default=False)] = None,
    split_frames: Annotated[int | None, typer.Option(
        "--split-frames", help="Render each track as N frame ranges (spread over the Ray "
        "workers), joined with the audio at the end.", show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        help="biggan-deep-128, biggan-deep-256 or biggan-deep-512.", show_default=False)] = None,
    weights: Annotated[Path | None, typer.Option(
        help="A folder with config.json and pytorch_model.bin.", show_default=False)] = None,
    fps: Annotated[float | None, typer.Option(help="Frames per second [default: 30].",
                                              show_default=False)] = None,
    start: Annotated[float | None, typer.Option(help="Render each track from this second.",
                                                show_default=False)] = None,
    duration: Annotated[float | None, typer.Option(help="At most this many seconds per track.",
                                                   show_default=False)] = None,
    truncation: Annotated[float | None, typer.Option(help="BigGAN truncation in (0, 1].",
                                                     show_default=False)] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Fast look check: 128 px, 12 fps."
                                          )] = False,
    batch_size: Annotated[int | None, typer.Option(help="Frames per model call.",
                                                   show_default=False)] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.",
                                               show_default=False)] = None,
    dtype: Annotated[str | None, typer.Option(help="auto, float32, float16 or bfloat16.",
                                              show_default=False)] = None,
    compile_model: Annotated[bool, typer.Option("--compile", help="torch.compile the "
                                                "generator.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Analyse every song again.")
                        ] = False,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Any preset setting, e.g. --set pulse_strength=1.2 (repeatable).",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")
                     ] = False,
) -> None:
    """Render every song in ALBUM_DIR into OUT_DIR: one look, resumable (finished tracks are
    skipped), a failing track reported without stopping the others."""
    from audiogan.album import render_album

    options: dict[str, Any] = _parse_sets(set_)
    given = {"classes": [classes] if classes is not None else None, "model": model,
             "weights": weights, "fps": fps, "start": start, "duration": duration,
             "truncation": truncation, "batch_size": batch_size, "device": device,
             "dtype": dtype, "compile": compile_model or None,
             "analysis_cache": False if no_cache else None, "preview": preview or None}
    options.update({k: v for k, v in given.items() if v is not None})
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
    fps: Annotated[float, typer.Option(help="Frame rate the features are sampled at.")] = 30.0,
    start: Annotated[float, typer.Option(help="Analyse an excerpt from this second.")] = 0.0,
    duration: Annotated[float | None, typer.Option(help="Length of the excerpt in seconds.",
                                                   show_default=False)] = None,
) -> None:
    """Print the tempo, beats and loudness audiogan hears in SONG."""
    from audiogan.pipeline import analyze_song

    with _Reporter(enabled=not as_json) as reporter:
        info, features = analyze_song(song, fps=fps, start=start, duration=duration,
                                      progress=reporter)
    report = {
        "song": str(info.path),
        "duration_s": round(features.duration_s, 4),
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "tempo_bpm": round(features.tempo_bpm, 2),
        "beats_s": [round(float(b), 4) for b in features.beats_s],
        "fps": features.fps,
        "n_frames": features.n_frames,
        "peak_dbfs": round(features.peak_dbfs, 2),
        "loudness_db_mean": round(float(features.loudness_db.mean()), 2),
    }
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    out.print(f"{info.path.name}: {features.duration_s:.2f} s, {info.sample_rate} Hz, "
              f"{info.channels} channel(s)")
    out.print(f"  tempo {features.tempo_bpm:.1f} BPM, {len(features.beats_s)} beats"
              + (f", first at {features.beats_s[0]:.2f} s" if len(features.beats_s) else ""))
    out.print(f"  peak {features.peak_dbfs:.1f} dBFS, mean loudness "
              f"{report['loudness_db_mean']:.1f} dB")


@app.command("classes")
def classes_command(
    query: Annotated[str, typer.Argument(help="Part of a name or an id; all when left out.",
                                         show_default=False)] = "",
) -> None:
    """List ImageNet class ids and names (those `--classes` accepts)."""
    from audiogan.classes import search_classes

    found = search_classes(query)
    if not found:
        raise AudioganError(f"no class matches {query!r}; try a shorter word")
    table = Table("id", "names", box=None, pad_edge=False)
    for class_id, names in found:
        table.add_row(str(class_id), names)
    out.print(table)


@app.command("presets")
def presets_command() -> None:
    """List the presets that ship with audiogan."""
    from audiogan.config import _presets_dir, available_presets

    for name in available_presets():
        first = (_presets_dir() / f"{name}.toml").read_text("utf-8").splitlines()[0]
        out.print(f"{name:<10} {first.lstrip('# ')}")


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

    if resolution not in (128, 256, 512):
        raise AudioganError(f"--resolution must be 128, 256 or 512, got {resolution}")
    if channel_width < 4 or channel_width % 4:
        raise AudioganError(f"--channel-width must be a multiple of 4, got {channel_width}")
    started = time.perf_counter()
    path = make_random_checkpoint(folder, resolution=resolution, channel_width=channel_width,
                                  seed=seed)
    err.print(f"wrote a random {resolution} px BigGAN-deep (width {channel_width}) to {path} "
              f"in {time.perf_counter() - started:.1f} s")


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
        if token in ("--classes", "-c") and argv[0] in ("render", "batch"):
            values = []
            while i < len(argv) and not argv[i].startswith("-") and not _looks_like_song(argv[i]):
                values.append(argv[i])
                i += 1
            result.append(",".join(values))
        elif token.startswith("--classes="):
            continue
    return result


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the command, turn user errors into one line."""
    argv = normalise_argv(sys.argv[1:] if argv is None else argv)
    # Ctrl-C and kill both unwind through the encoder's clean-up; SIGINT too when a shell
    # started us with it ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        # typer returns the exit code of an interrupted or exited command in this mode
        code = app(args=argv, prog_name="audiogan", standalone_mode=False)
        if code == 130:
            raise KeyboardInterrupt
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except AudioganError as exc:
        err.print(f"audiogan: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except click_exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(0)
    except click_exceptions.UsageError as exc:
        hint = f" (see `audiogan {exc.ctx.info_name} --help`)" if exc.ctx else ""
        message = exc.format_message().replace("\n", " ")
        err.print(f"audiogan: error: {message}{hint}", markup=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("audiogan: interrupted; no partial output was left behind", markup=False)
        sys.exit(130)
