"""numba, only where a kernel earns it, imported and compiled on first use.

A fast kernel that is a loop is written as plain Python over 1-D arrays, one line per element
of the math (``m[i] = b1 * m[i] + (1 - b1) * g[i]``), and wrapped with :func:`compiled`. numba
compiles it at its first call (about a second), caches the machine code on disk (``cache=True``:
in ``__pycache__`` beside this package, or numba's per-user cache where that is read-only), and
later processes load it in milliseconds.

The loops run on one thread, on purpose: right after NumPy's matrix products OpenBLAS's worker
thread keeps spinning on the second core for a while, and a multi-threaded loop fights it for
the cores (measured here: right after a matrix product a 2-thread Adam over 944k parameters took
2.1 ms against 0.36 ms alone, and a whole MLP training step with it was 11% slower than with the
serial loop).
``error_model="numpy"`` lets a division by zero give inf as in NumPy; numba's default checks
every divisor, and the branch stops the loop from being vectorised.

Without numba (not installed, or ``TINYAE_NUMBA=0``), :data:`AVAILABLE` is False and the
kernels that need it fall back to their reference implementation.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from typing import Any

__all__ = ["AVAILABLE", "compiled", "version"]

AVAILABLE = os.environ.get("TINYAE_NUMBA", "1") != "0" and importlib.util.find_spec("numba") is not None


def version() -> str | None:
    """numba's version, or None when the compiled kernels are off."""
    if not AVAILABLE:
        return None
    import numba

    return numba.__version__


def compiled(loop: Callable[..., Any]) -> Callable[..., Any] | None:
    """``loop`` compiled by numba on its first call (None without numba: use the reference)."""
    if not AVAILABLE:
        return None
    dispatcher: list[Any] = []

    @functools.wraps(loop)
    def call(*args: Any) -> Any:
        if not dispatcher:
            import numba

            dispatcher.append(numba.njit(cache=True, error_model="numpy", nogil=True)(loop))
        return dispatcher[0](*args)

    return call
