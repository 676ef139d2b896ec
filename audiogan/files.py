"""Temporary files: written beside their target under a hidden name, moved into place only
when whole (never over a file that appeared meanwhile, unless asked), deleted on failure, and
swept up after a killed run; and locks that let two runs share one output folder.

A temporary name carries the id of the process that writes it, so two runs never share
one, and `remove_stale_partials` can tell a dead run's leftovers from a live run's work.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["MAX_NAME_BYTES", "atomic_write", "hidden_sibling", "lock", "lock_path", "publish",
           "remove_stale_partials", "segment_folder", "temporary_path"]

MAX_NAME_BYTES = 255
"""The longest file name (in bytes) ext4, xfs, btrfs, APFS and NTFS allow."""


def _fit(name: str, prefix: str, tail: str) -> str:
    """``prefix + name + tail``, with `name`'s end given way to a hash of it where the whole
    would pass `MAX_NAME_BYTES`."""
    whole = f"{prefix}{name}{tail}"
    if len(whole.encode("utf-8", "surrogateescape")) <= MAX_NAME_BYTES:
        return whole
    raw = name.encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(raw).hexdigest()[:12]
    room = MAX_NAME_BYTES - len(f"{prefix}~{digest}{tail}".encode())
    start = raw[:room].decode("utf-8", "ignore")  # never half a character
    return f"{prefix}{start}~{digest}{tail}"


def hidden_sibling(target: Path, kind: str = "") -> Path:
    """``.NAME[.KIND].PID.partial`` beside `target`, hidden, for this process.

    Always a name the filesystem takes: when `target`'s own name is so long that the
    decorations would pass `MAX_NAME_BYTES`, its end gives way to a hash of it
    (``.NAME-START~1a2b3c4d5e6f.PID.partial``), so a song with a 250-character name still
    renders beside itself.
    """
    tail = f".{kind}.{os.getpid()}.partial" if kind else f".{os.getpid()}.partial"
    return target.with_name(_fit(target.name, ".", tail))


def lock_path(target: Path) -> Path:
    """``.~lock.NAME`` beside `target`: the lock file (see `lock`) every run that may write
    `target` shares while one of them does."""
    return target.with_name(_fit(target.name, ".~lock.", ""))


def temporary_path(target: Path) -> Path:
    """A hidden sibling of `target` that the final rename moves into place."""
    return hidden_sibling(target)


def segment_folder(target: Path) -> Path:
    """Where the segments of `target` are kept until they are joined: a hidden sibling named
    like `temporary_path`, so `remove_stale_partials` clears it after a killed run."""
    return hidden_sibling(target, "segments")


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2() -> Callable[..., int] | None:
    """glibc's renameat2 (Linux 3.15+, glibc 2.28+), or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def publish(partial: Path, target: Path, *, replace: bool = False) -> None:
    """Move the finished `partial` to `target` in one step.

    With `replace`, an existing `target` is replaced (`os.replace`). Without, a `target`
    that exists, or appeared while `partial` was written (another render that finished
    first), is never touched: `FileExistsError` is raised and `partial` is left for the
    caller to delete. One atomic step where the system allows: renameat2 with
    RENAME_NOREPLACE, else a hard link and the unlink of `partial`.
    """
    if replace:
        os.replace(partial, target)
        return
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(partial), _AT_FDCWD, os.fsencode(target),
                      _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(target))
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # unsupported here
            raise OSError(code, os.strerror(code), str(target))
    try:
        os.link(partial, target)  # fails with FileExistsError when the name is taken
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        # a filesystem without hard links (FAT, some network mounts): the check and the
        # rename are two steps here, the best this system allows
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST),
                                  str(target)) from None
        os.replace(partial, target)
        return
    partial.unlink()


@contextlib.contextmanager
def atomic_write(target: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield the `temporary_path` of `target` to write; on leaving the block normally it
    takes `target`'s name (`publish`: replacing what is there, unless ``replace=False``),
    on an exception (Ctrl-C included) it is deleted.

    >>> with atomic_write(Path("out.json")) as partial:  # doctest: +SKIP
    ...     partial.write_text("{}")
    """
    partial = temporary_path(target)
    try:
        yield partial
        publish(partial, target, replace=replace)
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on `path` for the block: a folder (locked as it is), or a lock
    file, created for the block and deleted before the lock is let go, so nothing is left
    behind.

    Yields True once the lock is held; with ``wait=False`` it yields False at once when
    another process holds it. `fcntl.flock`, so the lock goes with the process: a killed
    run never leaves anything locked (a lock file it leaves is taken over and removed by
    the next holder).
    """
    folder = path.is_dir()
    while True:
        descriptor = os.open(path, os.O_RDONLY if folder else os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(descriptor)
            yield False
            return
        if folder or _same_file(descriptor, path):
            break
        os.close(descriptor)  # its holder deleted this file before we got it: open anew
    try:
        yield True
    finally:
        if not folder:
            path.unlink(missing_ok=True)  # while still held: a waiter then opens anew
        os.close(descriptor)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


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
                os.replace(part.name, target)  # the same file, fetched again
            except BaseException:
                Path(part.name).unlink(missing_ok=True)
                raise
