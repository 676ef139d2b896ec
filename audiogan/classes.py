"""ImageNet class ids and names: look-up for ``--classes`` and ``audiogan classes``."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from importlib import resources

from audiogan.errors import ConfigError
from audiogan.types import NUM_CLASSES

__all__ = ["class_names", "parse_classes", "search_classes"]


@functools.cache
def class_names() -> tuple[tuple[str, ...], ...]:
    """The synonyms of each of the 1000 classes, indexed by ImageNet id."""
    text = resources.files("audiogan").joinpath("data/imagenet_classes.tsv").read_text("utf-8")
    rows = [line.split("\t", 1) for line in text.splitlines() if line.strip()]
    return tuple(tuple(name.strip() for name in names.split(",")) for _, names in rows)


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


@functools.cache
def _index() -> dict[str, int]:
    index: dict[str, int] = {}
    for class_id, names in enumerate(class_names()):
        for name in names:
            index.setdefault(_key(name), class_id)
    return index


def search_classes(query: str = "") -> list[tuple[int, str]]:
    """Classes whose id or any name contains `query` (all of them for an empty query)."""
    key = _key(query)
    found = []
    for class_id, names in enumerate(class_names()):
        if not key or key == str(class_id) or any(key in _key(name) for name in names):
            found.append((class_id, ", ".join(names)))
    return found


def _resolve_one(token: str) -> int:
    token = token.strip()
    if token.lstrip("-").isdigit():
        class_id = int(token)
        if not 0 <= class_id < NUM_CLASSES:
            raise ConfigError(
                f"class {class_id} does not exist: ImageNet ids run from 0 to {NUM_CLASSES - 1}"
                " (list them with `audiogan classes`)"
            )
        return class_id
    named = _index().get(_key(token))
    if named is not None:
        return named
    close = difflib.get_close_matches(_key(token), list(_index()), n=3, cutoff=0.75)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ConfigError(
        f"unknown class {token!r}: {hint}search the names with `audiogan classes {token}`"
    )


def parse_classes(values: Iterable[str | int]) -> tuple[int, ...]:
    """Class ids from ids or names, given one by one or comma-separated.

    ``["398", "402"]``, ``["398,402"]`` and ``["abacus", "acoustic guitar"]`` all give
    ``(398, 402)``. Raises `ConfigError` for an id out of range or an unknown name.
    """
    ids: list[int] = []
    for value in values:
        if isinstance(value, int):
            ids.append(_resolve_one(str(value)))
            continue
        ids.extend(_resolve_one(token) for token in str(value).split(",") if token.strip())
    return tuple(ids)
