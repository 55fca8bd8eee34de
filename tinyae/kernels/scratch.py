"""Scratch arrays a fast kernel owns and reuses from call to call.

A chain of NumPy operations written naively makes a temporary array per operation. Above a
few hundred KB glibc hands such arrays back to the OS when they are freed and maps fresh
pages for the next ones, so a training step pays a page fault per 4 KB of temporaries (half of
a small autoencoder's step, measured). A fast kernel instead writes its intermediate results
into scratch arrays it keeps: made once per shape, never returned to the caller, so nobody
else ever holds them. One array per (kernel, slot) and thread, of the last shape asked for.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["scratch"]

_local = threading.local()


def scratch(owner: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised NumPy array of ``shape`` and ``dtype`` for ``owner``'s private use, reused
    by its next call (so its contents are garbage, and it must not escape the kernel)."""
    arrays = getattr(_local, "arrays", None)
    if arrays is None:
        arrays = _local.arrays = {}
    array = arrays.get(owner)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = arrays[owner] = np.empty(shape, dtype=dtype)
    return array
