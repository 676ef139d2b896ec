"""The user's own timing: a tempo and offset, a beats file, a cue file.

When given, they win over the analysis:

- ``--bpm 128`` and/or ``--beat-offset 0.42``: a strict grid (the missing one of the two comes
  from the analysis);
- ``--beats FILE``: one time in seconds a line, or a CSV with a time column and a
  ``downbeat`` column (1/0, or the beat's number in its bar, 1 = the bar's first), as DAWs
  export them;
- ``--cues FILE.toml``: per section (from a time or a bar number) the classes, the intensity
  of the motion and the truncation.

Every value that cannot be used gets one line naming the file, the line and the value.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
import tomllib
from pathlib import Path
from typing import Any, cast

import numpy as np

from audiogan.beats import BeatGrid, grid_from_bpm, tempo_at
from audiogan.classes import parse_classes
from audiogan.errors import ConfigError
from audiogan.types import Cue, Features

__all__ = ["read_beats", "read_cues", "resolve_cues", "apply_grid", "user_grid"]

_TIME_NAMES = ("time", "time_s", "times", "seconds", "sec", "s", "beat_time", "onset", "t")
_DOWNBEAT_NAMES = ("downbeat", "downbeats", "is_downbeat", "bar_start", "beat", "beat_in_bar",
                   "beat_number", "position_in_bar", "count")
_TRUE = {"1", "true", "yes", "y", "x", "downbeat"}
_FALSE = {"0", "false", "no", "n", ""}


def _read_text(path: Path, what: str) -> str:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} file {path} not found: check the path")
    try:
        return path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} file {path} cannot be read as text ({exc})") from None


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_beats(path: str | Path) -> BeatGrid:
    """Beats (and downbeats, where the file has them) from a text or CSV file.

    Lines that are empty or start with ``#`` are skipped; a first line that is not a number
    is a header naming the columns.
    """
    path = Path(path)
    text = _read_text(path, "beats")
    lines = [(k + 1, line) for k, line in enumerate(text.splitlines())
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ConfigError(f"beats file {path} holds no beat times: write one time in "
                          "seconds a line")
    sample = "\n".join(line for _, line in lines[:5])
    delimiter = next((d for d in (",", ";", "\t") if d in sample), None)

    def split(line: str) -> list[str]:
        if delimiter is None:
            return line.split()
        return next(csv.reader(io.StringIO(line), delimiter=delimiter))

    time_column, downbeat_column = 0, None
    first_cells = split(lines[0][1])
    if _number(first_cells[0]) is None:  # a header
        names = [cell.strip().lower().replace(" ", "_").strip('"') for cell in first_cells]
        named_column = next((i for i, name in enumerate(names)
                             if name in _TIME_NAMES or name.startswith("time")),
                            0 if len(names) == 1 else None)
        if named_column is None:
            raise ConfigError(f"{path} line {lines[0][0]}: no time column in the header "
                              f"{lines[0][1].strip()!r}; name one 'time'")
        time_column = named_column
        downbeat_column = next((i for i, name in enumerate(names)
                                if name in _DOWNBEAT_NAMES and i != time_column), None)
        lines = lines[1:]
    elif len(first_cells) > 1:
        downbeat_column = 1
    times: list[float] = []
    marks: list[bool | int] = []
    for number, line in lines:
        cells = split(line)
        if time_column >= len(cells):
            raise ConfigError(f"{path} line {number}: no time in {line.strip()!r}")
        value = _number(cells[time_column])
        if value is None or value < 0:
            raise ConfigError(f"{path} line {number}: {cells[time_column].strip()!r} is not a "
                              "time in seconds (a number >= 0)")
        if times and value <= times[-1]:
            raise ConfigError(f"{path} line {number}: {cells[time_column].strip()!r} is not "
                              f"after the beat before it ({times[-1]:g} s); beats must "
                              "increase")
        times.append(value)
        if downbeat_column is not None:
            raw = cells[downbeat_column].strip().lower() if downbeat_column < len(cells) else ""
            mark = _number(raw)
            if raw in _TRUE or raw in _FALSE:
                marks.append(raw in _TRUE)
            elif mark is not None and mark == int(mark) and mark >= 1:
                marks.append(int(mark))
            else:
                raise ConfigError(f"{path} line {number}: downbeat {raw!r} must be 1 or 0 "
                                  "(or the beat's number in its bar, 1 = the first)")
    beats = np.array(times)
    if marks and any(isinstance(m, int) and not isinstance(m, bool) and m > 1 for m in marks):
        downbeats = beats[[m == 1 for m in marks]]  # numbers in the bar
    elif marks:
        downbeats = beats[[bool(m) for m in marks]]
    else:
        downbeats = np.zeros(0)
    meter = 0
    if len(downbeats) > 1:
        counts = np.diff(np.searchsorted(beats, downbeats))
        meter = int(np.median(counts))
    tempo = float(np.median(60.0 / np.diff(beats))) if len(beats) > 1 else 0.0
    return BeatGrid(beats_s=beats, downbeats_s=downbeats, meter=meter, tempo_bpm=tempo)


def user_grid(features: Features, *, bpm: float | None = None,
              beat_offset: float | None = None, beats_file: str | Path | None = None,
              beats: BeatGrid | None = None, start_s: float = 0.0) -> BeatGrid | None:
    """The grid the user asked for, or None to keep the analysis'. `beats` is a beats file
    already read (`read_beats`), else `beats_file` is read. Times in the files and
    `beat_offset` count from the start of the song; `start_s` is where the analysed excerpt
    begins."""
    duration = features.duration_s
    meter = features.meter or 4
    if beats is None and beats_file is not None:
        beats = read_beats(beats_file)
    if beats is not None:
        grid = beats
        keep = (grid.beats_s >= start_s) & (grid.beats_s < start_s + duration)
        down = grid.downbeats_s[(grid.downbeats_s >= start_s)
                                & (grid.downbeats_s < start_s + duration)]
        if not grid.meter and len(features.downbeats_s):
            # beats without bars: keep the analysis' bar lines, snapped to the user's beats
            index = np.searchsorted(grid.beats_s[keep] - start_s, features.downbeats_s)
            index = np.clip(index, 0, max(int(keep.sum()) - 1, 0))
            down = np.unique(grid.beats_s[keep][index]) if keep.any() else np.zeros(0)
        return BeatGrid(beats_s=grid.beats_s[keep] - start_s, downbeats_s=down - start_s,
                        meter=grid.meter or meter, tempo_bpm=grid.tempo_bpm)
    if bpm is None and beat_offset is None:
        return None
    if bpm is None:
        bpm = features.tempo_bpm
        if bpm <= 0:
            raise ConfigError("--beat-offset needs a tempo, and none was heard: give --bpm too")
    if beat_offset is None:
        # the phase that puts the strict grid closest to the analysed beats
        period = 60.0 / bpm
        heard = features.beats_s
        if len(heard):
            phases = np.exp(2j * np.pi * heard / period)
            beat_offset = float(np.angle(phases.mean()) / (2 * np.pi) * period) % period
            reference = features.downbeats_s[0] if len(features.downbeats_s) else heard[0]
            beat_offset += round((reference - beat_offset) / period) * period
        else:
            beat_offset = 0.0
        beat_offset += start_s
    return grid_from_bpm(bpm, beat_offset - start_s, duration, meter=meter)


def apply_grid(features: Features, grid: BeatGrid | None) -> Features:
    """`features` with the beats, downbeats, meter and tempo of `grid` (unchanged if None)."""
    if grid is None:
        return features
    frames = np.arange(features.n_frames) / features.fps
    return dataclasses.replace(
        features, beats_s=grid.beats_s, downbeats_s=grid.downbeats_s,
        half_beats_s=grid.half_beats_s, meter=grid.meter,
        tempo_bpm=grid.tempo_bpm, tempo_curve=tempo_at(grid.beats_s, frames).astype(np.float32),
        beat_confidence=1.0, confidence_curve=np.ones(features.n_frames, dtype=np.float32),
    )


def shift_beats(features: Features, shift: float) -> Features:
    """`features` with every beat moved by `shift` of a beat: 0.5 puts them half a beat
    later, on to the off-beats, for a grid the picture pulses on between the beats one
    hears; -0.1 a tenth of a beat earlier. Each beat moves towards its neighbour by that
    share of the interval between them, so that a grid that drifts keeps drifting; the bar
    lines and half-speed beats move with their beats. Moved later, the grid gains a beat
    before its first where the song has room for it; moved earlier, one after its last."""
    beats = features.beats_s
    if shift == 0 or len(beats) < 2:
        return features
    # a beat more either side, a beat apart, so that every beat has a neighbour to move to
    extended = np.r_[2 * beats[0] - beats[1], beats, 2 * beats[-1] - beats[-2]]
    index = np.arange(len(extended), dtype=np.float64)
    moved = np.interp(index + shift, index, extended)
    kept = (moved >= 0) & (moved < features.duration_s)
    # of the two extra beats only the one the move brings in: before the first when later
    kept[-1 if shift > 0 else 0] = False

    def carried(subset: np.ndarray) -> np.ndarray:
        """Where the beats of `subset` (bar lines, half-speed beats) moved to."""
        return moved[np.r_[False, np.isin(beats, subset), False] & kept]

    frames = np.arange(features.n_frames) / features.fps
    new = moved[kept]
    return dataclasses.replace(
        features, beats_s=new, downbeats_s=carried(features.downbeats_s),
        half_beats_s=carried(features.half_beats_s),
        tempo_curve=tempo_at(new, frames).astype(np.float32))


def _line_of(text: str, cue_index: int, key: str | None) -> int:
    """The line of `key` in the `cue_index`-th ``[[cue]]`` table (its header if absent)."""
    lines = text.splitlines()
    headers = [k for k, line in enumerate(lines) if re.match(r"\s*\[\[\s*cue\s*\]\]", line)]
    if cue_index >= len(headers):
        return 1
    start = headers[cue_index]
    end = headers[cue_index + 1] if cue_index + 1 < len(headers) else len(lines)
    if key is not None:
        for k in range(start, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[k]):
                return k + 1
    return start + 1


_CUE_KEYS = ("time", "bar", "classes", "intensity", "truncation")


def read_cues(path: str | Path) -> list[Cue]:
    """Cues from a TOML file of ``[[cue]]`` tables (see the README), in file order."""
    path = Path(path)
    text = _read_text(path, "cue")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = [key for key in data if key != "cue"]
    if unknown:
        raise ConfigError(f"{path}: unknown table or key {unknown[0]!r}; a cue file holds "
                          "[[cue]] tables")
    tables = data.get("cue", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path}: no cues; add [[cue]] tables with a time or a bar")
    cues = []
    for index, table in enumerate(tables):
        def fail(key: str | None, message: str, index: int = index) -> ConfigError:
            return ConfigError(f"{path} line {_line_of(text, index, key)}: {message}")

        for key in table:
            if key not in _CUE_KEYS:
                raise fail(key, f"unknown cue key {key!r}; known: {', '.join(_CUE_KEYS)}")
        values: dict[str, Any] = {}
        if ("time" in table) == ("bar" in table):
            raise fail(None, "a cue needs either time = SECONDS or bar = NUMBER (not both)")
        if "time" in table:
            value = table["time"]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise fail("time", f"time {value!r} must be a number of seconds >= 0")
            values["time_s"] = float(value)
        else:
            value = table["bar"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise fail("bar", f"bar {value!r} must be a whole number >= 1 (1 = the "
                           "first bar)")
            values["bar"] = value
        if "classes" in table:
            items = table["classes"]
            items = items if isinstance(items, list) else [items]
            try:
                values["classes"] = tuple(parse_classes(items))
            except ConfigError as exc:
                raise fail("classes", str(exc)) from None
            if not values["classes"]:
                raise fail("classes", "classes is empty: name at least one class")
        for key, low, high, exclusive in (("intensity", 0.0, 4.0, False),
                                          ("truncation", 0.0, 1.0, True)):
            if key not in table:
                continue
            value = table[key]
            bad = isinstance(value, bool) or not isinstance(value, int | float)
            if not bad:
                bad = (value <= low if exclusive else value < low) or value > high
            if bad:
                bracket = "(" if exclusive else "["
                raise fail(key, f"{key} {value!r} must be a number in {bracket}{low:g}, "
                                f"{high:g}]")
            values[key] = float(value)
        cues.append(Cue(**values, line=_line_of(text, index, None), source=str(path)))
    return cues


def resolve_cues(cues: list[Cue], features: Features, *, start_s: float = 0.0) -> list[Cue]:
    """Cues with their start in seconds of the analysed audio, sorted; bar numbers count
    the bars of the analysed audio (its downbeats)."""
    resolved = []
    downbeats = features.downbeats_s
    for cue in cues:
        if cue.bar is not None:
            if len(downbeats) == 0:
                raise ConfigError(f"{cue.source} line {cue.line}: bar {cue.bar} cannot be "
                                  "placed: no bars were found; use time = SECONDS, or "
                                  "--bpm / --beats")
            if cue.bar > len(downbeats):
                raise ConfigError(f"{cue.source} line {cue.line}: bar {cue.bar} is past the "
                                  f"last bar ({len(downbeats)})")
            time_s = float(downbeats[cue.bar - 1])
        else:
            assert cue.time_s is not None  # read_cues gives each cue a bar or a time
            time_s = float(cue.time_s) - start_s
            if time_s >= features.duration_s:
                raise ConfigError(f"{cue.source} line {cue.line}: time {cue.time_s:g} is past "
                                  f"the end of the audio ({start_s + features.duration_s:.1f} "
                                  "s)")
        resolved.append(dataclasses.replace(cue, time_s=max(time_s, 0.0), bar=None))
    return sorted(resolved, key=lambda cue: cast(float, cue.time_s))  # all set above
