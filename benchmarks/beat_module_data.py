"""Tracker modules from Debian's game packages as training data for the beat network, with
exact beats.

    apt-get install libopenmpt0
    python benchmarks/beat_module_data.py [--dest DIR]

A tracker module (.mod, .xm, .s3m, .it) is a real composition played from real samples, and
its timing is exact: a pattern is a list of rows, each row lasts `speed` ticks of
``floor(sr * 2.5 / tempo)`` samples, and the beat falls every few rows. `beat_modules.tsv`
lists 155 modules from 31 packages (Debian main, GPL and BSD; none of them in the
benchmark), each with its rows per beat: 4 for most, 8 where a slow tick doubles the row
rate (speed 2-3). They were chosen once, from a survey of every module in the candidate
packages: the row grid's onsets measured on the render, with a beat counted on every 4th
row unless that put it over 200 BPM, and 8 where every 8th row carried clearly more accent;
modules in triple time, with no clear accent on the rows, or under 20 s were left out.

Each module is fetched with ``apt-get download`` (no root needed, nothing installed),
rendered by libopenmpt (through ctypes, up to 240 s, the first subsong), and its beats are
the rows whose number within their pattern is a multiple of the rows per beat, so a pattern
break starts a new bar. Each is stored twice, in the format of the MIDI and MMA items
(`beat_train_data.py`) but in a folder of its own: as rendered, and coloured (saturation,
tilt, noise) as they are. About 11.5 h of items; some 10 minutes on 2 cores. Train on both
sets with ``train_beatnet.py --data ~/.cache/audiogan/beat-train DEST``. The shipped
ensemble does not use them yet (benchmarks/BEATS.md, "Tracker modules").
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from beat_train_data import SR, colour  # noqa: E402

DEFAULT_DEST = Path("~/.cache/audiogan/beat-train-modules")

TABLE = Path(__file__).with_name("beat_modules.tsv")
MAX_SECONDS = 240.0
BLOCK = 64


def modules() -> list[tuple[str, str, str, int]]:
    """(package, path inside it, md5 of the file, rows per beat) of every module used."""
    rows = []
    for line in TABLE.read_text().splitlines():
        if line and not line.startswith("#"):
            package, path, md5, rows_per_beat = line.split("\t")
            rows.append((package, path, md5, int(rows_per_beat)))
    return rows


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("openmpt") or "libopenmpt.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise SystemExit("libopenmpt is missing: apt-get install libopenmpt0") from None
    handle, int32 = ctypes.c_void_p, ctypes.c_int32
    lib.openmpt_module_create_from_memory2.restype = handle
    lib.openmpt_module_create_from_memory2.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, handle, handle, handle, handle,
        ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char_p), handle]
    lib.openmpt_module_destroy.argtypes = [handle]
    lib.openmpt_module_destroy.restype = None
    lib.openmpt_module_read_float_mono.argtypes = [handle, int32, ctypes.c_size_t,
                                                   ctypes.POINTER(ctypes.c_float)]
    lib.openmpt_module_read_float_mono.restype = ctypes.c_size_t
    for name in ("row", "order", "speed", "tempo"):
        function = getattr(lib, f"openmpt_module_get_current_{name}")
        function.argtypes, function.restype = [handle], int32
    lib.openmpt_module_set_repeat_count.argtypes = [handle, int32]
    lib.openmpt_module_set_repeat_count.restype = ctypes.c_int
    return lib


def render(data: bytes, lib: ctypes.CDLL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mono samples at `SR`, and the start (s) and number within its pattern of each row.

    The song is read `BLOCK` samples at a time; a new (order, row) marks a new row. Its
    start is the previous row's start plus ``speed * floor(SR * 2.5 / tempo)`` samples
    (libopenmpt's whole samples per tick) when that falls in the block where the change was
    seen, which is exact to the sample; otherwise (a tempo slide, a pattern delay) the
    block's middle, within 1.5 ms.
    """
    error, message = ctypes.c_int(0), ctypes.c_char_p()
    silent = ctypes.cast(lib.openmpt_log_func_silent, ctypes.c_void_p)
    module = lib.openmpt_module_create_from_memory2(data, len(data), silent, None, None, None,
                                                    ctypes.byref(error), ctypes.byref(message),
                                                    None)
    if not module:
        raise ValueError(f"libopenmpt cannot read it (error {error.value})")
    try:
        lib.openmpt_module_set_repeat_count(module, 0)
        limit = int(MAX_SECONDS * SR)
        out = np.zeros(limit + BLOCK, np.float32)
        buffer = (ctypes.c_float * BLOCK)()
        starts: list[int] = []
        rows: list[int] = []
        last, ticks, position = None, 0, 0
        while position < limit:
            count = lib.openmpt_module_read_float_mono(module, SR, BLOCK, buffer)
            if count == 0:
                break
            out[position:position + count] = np.frombuffer(buffer, np.float32, count)
            key = (lib.openmpt_module_get_current_order(module),
                   lib.openmpt_module_get_current_row(module))
            if key != last:
                predicted = starts[-1] + ticks if starts else 0
                exact = position <= predicted < position + count or not starts
                starts.append(predicted if exact else position + count // 2)
                rows.append(key[1])
                tempo = max(1, lib.openmpt_module_get_current_tempo(module))
                ticks = lib.openmpt_module_get_current_speed(module) * ((SR * 5) // (2 * tempo))
                last = key
            position += count
    finally:
        lib.openmpt_module_destroy(module)
    return out[:position], np.asarray(starts, np.float64) / SR, np.asarray(rows)


def fetch(packages: set[str], folder: Path) -> dict[str, Path]:
    """Each package's files, unpacked under `folder` (downloaded once)."""
    roots = {}
    folder.mkdir(parents=True, exist_ok=True)
    for package in sorted(packages):
        root = folder / package
        if not root.exists():
            with tempfile.TemporaryDirectory(dir=folder) as scratch:
                subprocess.run(["apt-get", "download", package], cwd=scratch, check=True,
                               stdout=subprocess.DEVNULL)
                deb = next(Path(scratch).glob("*.deb"))
                unpacked = Path(scratch) / "root"
                subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
                unpacked.rename(root)
        roots[package] = root
    return roots


def build(dest: Path) -> None:
    from audiogan.analysis import hop_features

    lib = _library()
    table = modules()
    packages = fetch({package for package, *_ in table}, dest.parent / "beat-modules")
    dest.mkdir(parents=True, exist_ok=True)
    for index, (package, path, md5, rows_per_beat) in enumerate(table, 1):
        source = packages[package] / path.lstrip("/")
        data = source.read_bytes()
        if hashlib.md5(data).hexdigest() != md5:
            print(f"skipped {package}:{path}: not the file surveyed (md5 differs)")
            continue
        name = f"mod-{package}-{source.name.replace('.', '_')}"
        y, row_s, row = render(data, lib)
        beats = row_s[row % rows_per_beat == 0]
        downbeats = row_s[row % (4 * rows_per_beat) == 0]
        for version in (0, 1):
            out = dest / f"{name}-{version}.npz"
            if out.exists():
                continue
            seed = int(hashlib.sha1(out.name.encode()).hexdigest()[:8], 16)
            rng = random.Random(seed)
            sound = colour(y, rng) if version else y
            peak = float(np.max(np.abs(sound))) or 1.0
            sound = (sound / peak * 10 ** (rng.uniform(-24.0, -1.0) / 20)).astype(np.float32)
            hop = hop_features([sound[i:i + SR * 10] for i in range(0, len(sound), SR * 10)],
                               sr=SR)
            end = len(sound) / SR
            partial = out.with_suffix(".part.npz")
            np.savez_compressed(partial, mel_db=hop.mel_db, beats=beats[beats <= end],
                                downbeats=downbeats[downbeats <= end],
                                meters=np.array(["4/4"]), fps=np.float64(hop.fps))
            os.replace(partial, out)
        bpm = 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else 0.0
        print(f"[{index}/{len(table)}] {name}: {len(y) / SR:.0f} s, {rows_per_beat} rows a "
              f"beat, {bpm:.0f} BPM", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where the items go")
    args = parser.parse_args()
    build(args.dest.expanduser())


if __name__ == "__main__":
    main()
