"""Reading files whose headers may lie: what a compressed stream can hold at most, and reading a
declared number of bytes into an array without trusting the declaration any further.

IDX files (:mod:`tinyae.data`) and checkpoints (:mod:`tinyae.io`) both declare their sizes in a
header. A header is checked against these bounds before anything is allocated, and the data are
read in chunks straight into their array (no full-size temporary), then one byte more, so a stream
that holds more than it declared is refused after reading at most that byte.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# DEFLATE's densest code is a 258-byte match (its longest) in 2 bits, one for the length and one for
# the distance: 258 * 8 / 2 = 1032 bytes out per byte in. A gzip file's header and trailer, or a zip
# member's, only loosen the bound; the slack is a margin for tiny streams.
DEFLATE_MAX_RATIO = 1032
DEFLATE_SLACK = 1024


def deflate_bound(compressed_bytes: int) -> int:
    """The most bytes a DEFLATE stream of ``compressed_bytes`` can inflate to."""
    return compressed_bytes * DEFLATE_MAX_RATIO + DEFLATE_SLACK


def allocate(shape: tuple[int, ...], dtype: Any, order: str = "C") -> np.ndarray | None:
    """An uninitialised array for data a header declared, or None when this machine cannot hold it
    (a size within the bounds may still be more memory than there is: the caller says so by name)."""
    try:
        return np.empty(shape, dtype, order=order)
    except (MemoryError, ValueError):  # ValueError: "array is too big" for the address space
        return None


def read_into(f: Any, buffer: np.ndarray, chunk: int = 1 << 20) -> int:
    """Fill ``buffer`` (a contiguous array, viewed as bytes) from the binary file ``f`` chunk by
    chunk; return the number of bytes filled, fewer than the buffer's when the file ends first."""
    view, filled = memoryview(buffer.reshape(-1).view(np.uint8)), 0
    while filled < len(view):
        n = f.readinto(view[filled : filled + chunk])
        if not n:
            break
        filled += n
    return filled
