"""Temporary files: written beside their target under a hidden name, renamed into place
only when whole, deleted on failure, and swept up after a killed run.

A temporary name carries the id of the process that writes it, so two runs never share
one, and `remove_stale_partials` can tell a dead run's leftovers from a live run's work.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["atomic_write", "remove_stale_partials", "segment_folder", "temporary_path"]


def temporary_path(target: Path) -> Path:
    """A hidden sibling of `target` that the final rename moves into place."""
    return target.with_name(f".{target.name}.{os.getpid()}.partial")


def segment_folder(target: Path) -> Path:
    """Where the segments of `target` are kept until they are joined: a hidden sibling named
    like `temporary_path`, so `remove_stale_partials` clears it after a killed run."""
    return target.with_name(f".{target.name}.segments.{os.getpid()}.partial")


@contextlib.contextmanager
def atomic_write(target: Path) -> Iterator[Path]:
    """Yield the `temporary_path` of `target` to write; on leaving the block normally it
    replaces `target` (one rename), on an exception (Ctrl-C included) it is deleted.

    >>> with atomic_write(Path("out.json")) as partial:  # doctest: +SKIP
    ...     partial.write_text("{}")
    """
    partial = temporary_path(target)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.partial$")


def process_alive(pid: int) -> bool:
    """Whether a process with id `pid` is running (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete the temporary files (and segment folders) that a killed run left in `folder`.

    A temporary name carries the id of the process that wrote it (see `temporary_path`);
    those of processes still running are left alone. Returns what was removed.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _PARTIAL.match(entry.name)
        if match is None or process_alive(int(match["pid"])):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def cache_dir() -> Path:
    """$AUDIOGAN_CACHE, else $XDG_CACHE_HOME/audiogan, else ~/.cache/audiogan."""
    if os.environ.get("AUDIOGAN_CACHE"):
        return Path(os.environ["AUDIOGAN_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "audiogan"


def download(url: str, target: Path, progress: Callable[[int, int | None], None] | None = None,
             *, check: Callable[[Path], object] | None = None) -> None:
    """Fetch `url` into `target` through a hidden temporary file beside it, so that a broken
    or refused download leaves nothing; `check` may inspect the whole file (and raise)
    before it takes the target's name. `progress` gets (bytes done, bytes in all or None).
    """
    with urllib.request.urlopen(url, timeout=30) as response:
        total = response.headers.get("Content-Length")
        size = int(total) if total else None
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                         delete=False) as part:
            try:
                done = 0
                while chunk := response.read(1 << 20):
                    part.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, size)
                part.close()
                if check is not None:
                    check(Path(part.name))
                os.replace(part.name, target)
            except BaseException:
                Path(part.name).unlink(missing_ok=True)
                raise
