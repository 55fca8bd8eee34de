"""Which implementation of a primitive runs: the reference one or the fast one.

Every primitive of :mod:`tinyae.kernels` has two implementations:

* the **reference**, written in the array-API subset the layers use (``xp = array_module(x)``):
  it runs on every backend (NumPy, CuPy, array_api_strict), reads as the math, and is the
  oracle the tests compare the fast one with;
* the **fast** one, for NumPy arrays only, chosen by measurement inside a training step: NumPy
  writing into buffers it owns (no temporaries per call), or a compiled numba loop.

A call goes to the fast implementation when the mode is ``"fast"`` (the default), the primitive
has one (a numba loop needs numba installed), and its first argument is a float32 or float64
NumPy array; otherwise (CuPy, strict, float16 ...) to the reference. The mode is process-wide,
like the current backend. ``use("reference")`` (or the environment variable
``TINYAE_KERNELS=reference``, read at import) sends every call to the reference, to read or
debug the math, or to time what the fast path saves.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["ENVIRONMENT_VARIABLE", "MODES", "Primitive", "mode", "primitives", "use", "using"]

MODES = ("fast", "reference")
ENVIRONMENT_VARIABLE = "TINYAE_KERNELS"


def _mode_from_environment() -> str:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "fast").strip().lower() or "fast"
    if value not in MODES:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: expected one of {', '.join(MODES)}")
    return value


_mode = _mode_from_environment()
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # what the compiled loops are built for
_registry: dict[str, Primitive] = {}


def mode() -> str:
    """The current mode: ``"fast"`` or ``"reference"``."""
    return _mode


def use(name: str) -> str:
    """Send every kernel call to the ``"reference"`` or the ``"fast"`` implementations from now
    on; returns the previous mode."""
    global _mode
    if name not in MODES:
        raise ValueError(f"unknown kernel mode {name!r}: expected one of {', '.join(map(repr, MODES))}")
    previous, _mode = _mode, name
    return previous


@contextlib.contextmanager
def using(name: str) -> Iterator[str]:
    """Context manager: ``with kernels.using("reference"): ...``, then the previous mode again."""
    previous = use(name)
    try:
        yield name
    finally:
        use(previous)


class Primitive:
    """A named operation with a reference and (maybe) a fast implementation; calling it dispatches.

    ``fast`` is None where there is none, or where what it needs (numba) is not installed.
    ``primitive.reference(...)`` and ``primitive.fast(...)`` call one of them directly (the tests do).
    """

    def __init__(self, name: str, reference: Callable[..., Any], fast: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.reference = reference
        self.fast = fast
        self.__doc__ = reference.__doc__
        _registry[name] = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _mode == "fast" and self.fast is not None:
            first = args[0] if args else next(iter(kwargs.values()), None)
            if type(first) is np.ndarray and first.dtype in _FAST_DTYPES:
                return self.fast(*args, **kwargs)
        return self.reference(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<kernel {self.name}: fast {'available' if self.fast is not None else 'unavailable'}>"


def primitives() -> dict[str, Primitive]:
    """Every primitive by name (for the tests and ``python -m benchmarks``)."""
    return dict(_registry)
