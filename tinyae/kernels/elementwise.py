r"""Element-wise chains with a logarithm or an exponential: the sigmoid and binary cross-entropy.

NumPy computes exp and log with SIMD code that numba's loops (without Intel's SVML) cannot
match, so the fast versions are NumPy too: the same operations, written into the output array
and into scratch arrays the kernel owns, instead of a new temporary per operation (see
:mod:`tinyae.kernels.scratch`). The references are the formulas of docs/sigmoid.md and
docs/bce.md as they read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module, infinities_allowed
from .dispatch import Primitive
from .scratch import scratch

__all__ = ["LOG_FLOOR", "bce", "bce_with_logits", "sigmoid"]

# log(p) is floored at -100, as PyTorch does, so that BCE at p = 0 or 1 is finite.
LOG_FLOOR = -100.0


# --------------------------------------------------------------------------- #
# The sigmoid
# --------------------------------------------------------------------------- #
def _sigmoid_reference(x: Any) -> Any:
    """s(x) = 1 / (1 + exp(-x)), for any x.

    Where exp(-x) overflows (x below about -88 in float32, -709 in float64) it is inf and
    1 / (1 + inf) = 0: the true value is below the smallest normal float, so 0 is the right
    answer, not an error, and NumPy's overflow warning is silenced. For large positive x,
    exp(-x) underflows to 0 and the result is 1. A NaN stays NaN.
    """
    xp = array_module(x)
    with infinities_allowed():
        return 1.0 / (1.0 + xp.exp(-x))


def _sigmoid_fast(x: np.ndarray) -> np.ndarray:
    y = np.negative(x)  # the one new array: every later step writes into it
    with infinities_allowed():
        np.exp(y, out=y)
    y += 1.0
    return np.reciprocal(y, out=y)


sigmoid = Primitive("sigmoid", _sigmoid_reference, _sigmoid_fast)


# --------------------------------------------------------------------------- #
# Binary cross-entropy, element by element
# --------------------------------------------------------------------------- #
def _bce_reference(p: Any, t: Any) -> Any:
    """l = -[t log p + (1 - t) log(1 - p)] on probabilities p, each log floored at -100
    (so l is finite at p = 0 or 1; a NaN in p stays NaN)."""
    xp = array_module(p)
    with infinities_allowed():  # log(0) = -inf, floored right after
        log_p = xp.maximum(xp.log(p), LOG_FLOOR)
        log_1mp = xp.maximum(xp.log(1.0 - p), LOG_FLOOR)
    return -(t * log_p + (1.0 - t) * log_1mp)


def _bce_fast(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    # -(t log p + (1 - t) log(1 - p)) = -(t (log p - log(1 - p)) + log(1 - p))
    log_1mp = scratch("bce", p.shape, p.dtype)
    np.subtract(1.0, p, out=log_1mp)
    with infinities_allowed():
        np.log(log_1mp, out=log_1mp)
        out = np.log(p)
    np.maximum(log_1mp, LOG_FLOOR, out=log_1mp)
    np.maximum(out, LOG_FLOOR, out=out)
    out -= log_1mp
    out *= t
    out += log_1mp
    return np.negative(out, out=out)


bce = Primitive("bce", _bce_reference, _bce_fast)


def _bce_with_logits_reference(z: Any, t: Any) -> Any:
    """l = -[t log s(z) + (1 - t) log(1 - s(z))] = softplus(z) - t z on logits z, with

        softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^{-|z|})

    which never overflows, so l is exact for logits of any size."""
    xp = array_module(z)
    return xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z))) - t * z


def _bce_with_logits_fast(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = np.abs(z)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    part = scratch("bce_with_logits", z.shape, z.dtype)
    out += np.maximum(z, 0.0, out=part)
    out -= np.multiply(t, z, out=part)
    return out


bce_with_logits = Primitive("bce_with_logits", _bce_with_logits_reference, _bce_with_logits_fast)
