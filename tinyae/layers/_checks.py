"""The input check every layer's forward pass opens with.

One rule for all layers: a batch must hold at least one sample. An empty batch (N = 0) is almost
always a slicing bug upstream (``x[i:i + batch]`` past the end), and it does not fail on its own:
it passes every shape check, a Dense layer even returns zeros for it, and a convolution's backward
dies later with an "integer modulo by zero" deep inside a kernel. So every layer refuses it at the
door, naming itself and the shape it saw, instead of some layers handling it and others not.
"""

from __future__ import annotations

from typing import Any

from ..validation import check_float_array


def check_batch(owner: object, x: Any, *, ndim: int | None = None) -> Any:
    """Check that ``x`` is a floating-point array (of rank ``ndim``) holding at least one sample
    (its first axis, N, is not 0); return its namespace."""
    xp = check_float_array(owner, x, ndim=ndim)
    if x.ndim >= 1 and x.shape[0] == 0:
        raise ValueError(
            f"{owner}: expected at least one sample (a batch with N >= 1), got an empty batch of shape "
            f"{tuple(x.shape)}"
        )
    return xp
