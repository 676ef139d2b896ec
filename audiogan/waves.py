"""The periodic functions that move tempo mode's axis sets, by name: numpy only.

Each has period 2*pi, as the seed's ``np.sin`` and ``ramp`` did; a tempo preset names them
(``funcs = ["saw", "sin"]``) and shifts each by a phase in periods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["FUNCTIONS", "TAU", "axis_functions", "ramp", "saw", "square", "triangle"]

TAU = 2 * np.pi


def ramp(x: np.ndarray | float, phase: float = 0) -> np.ndarray:
    """Saw wave with period 2*pi, rising from 0 to 2*pi: ``(x + phase) mod 2*pi``."""
    value = np.mod(np.asarray(x, dtype=np.float64) + phase, TAU)
    # a whole number of periods must give 0, not 2*pi less a rounding error
    return np.where(np.isclose(value, TAU, rtol=0, atol=1e-9), 0.0, value)


saw = ramp


def square(x: np.ndarray | float) -> np.ndarray:
    """Square wave with period 2*pi: 1 for the first half of each period, -1 for the second."""
    return np.where(ramp(x) < np.pi, 1.0, -1.0)


def triangle(x: np.ndarray | float) -> np.ndarray:
    """Triangle wave with period 2*pi in [-1, 1], in phase with `np.sin`."""
    return 2 / np.pi * np.arcsin(np.sin(np.asarray(x, dtype=np.float64)))


FUNCTIONS: dict[str, Callable] = {"sin": np.sin, "cos": np.cos, "saw": ramp, "ramp": ramp,
                                  "square": square, "triangle": triangle}


def axis_functions(funcs: Sequence[str | Callable],
                   phases: Sequence[float] | None = None) -> list[Callable]:
    """The callables of `funcs` (names of `FUNCTIONS`, or callables kept as they are), each
    shifted by its phase in periods (0.5 = half a period)."""
    phases = [0.0] * len(funcs) if phases is None else phases
    result = []
    for func, phase in zip(funcs, phases, strict=True):
        func = FUNCTIONS[func] if isinstance(func, str) else func
        if phase:
            result.append(lambda x, f=func, p=phase * TAU: f(np.asarray(x) + p))
        else:
            result.append(func)
    return result
