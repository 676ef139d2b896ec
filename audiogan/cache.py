"""What audiogan keeps between runs: downloaded weights and the analysis of each song.

An analysis is keyed by the song's bytes and every setting that changes it, so a re-render
with a new look (classes, preset, seed, model) skips straight to the frames, and an edited
song or a new analysis version is analysed afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from audiogan.files import cache_dir
from audiogan.types import Features

__all__ = ["cache_dir", "analysis_key", "load_features", "save_features"]

# bump when analysis.py changes what it computes, so stale caches are ignored
ANALYSIS_VERSION = "28"


def analysis_key(song: Path, **settings: Any) -> str:
    """A digest of the song's bytes and the analysis `settings` (fps, excerpt, ...)."""
    with open(song, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256")
    digest.update(json.dumps({"version": ANALYSIS_VERSION, **settings}, sort_keys=True,
                             default=str).encode())
    return digest.hexdigest()[:32]


def _path(key: str) -> Path:
    return cache_dir() / "analysis" / f"{key}.npz"


def load_features(key: str) -> Features | None:
    """The cached analysis for `key`, or None (also for an unreadable or outdated entry)."""
    path = _path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            values = {}
            for field in dataclasses.fields(Features):
                value = stored[field.name]
                values[field.name] = value if value.ndim else value.item()
        return Features(**values)
    except (OSError, KeyError, ValueError, TypeError):
        return None


def save_features(key: str, features: Features) -> None:
    """Store `features` under `key`; a cache that cannot be written is skipped quietly."""
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".npz")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as stream:
            arrays: dict[str, Any] = {field.name: np.asarray(getattr(features, field.name))
                                      for field in dataclasses.fields(Features)}
            np.savez(stream, **arrays)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
