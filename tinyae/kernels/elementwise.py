r"""Element-wise chains, the sigmoid and binary cross-entropy; and the sum of a matrix's rows.

NumPy computes exp and log with SIMD code that numba's loops (without Intel's SVML) cannot
match, so the fast versions of the chains with an exp or a log are NumPy too: the same
operations, written into the output array and into scratch arrays the kernel owns, instead of a
new temporary per operation (see :mod:`tinyae.kernels.scratch`). The references are the
formulas of docs/ as they read. (ReLU has no kernel: on 400k elements a loop writing y and the
mask in one pass took 0.31 ms against 0.39 ms for NumPy's three passes, both limited by memory
bandwidth: too little to be worth one.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module, infinities_allowed
from .dispatch import Primitive
from .jit import compiled
from .scratch import scratch

__all__ = ["LOG_FLOOR", "bce", "bce_with_logits", "sigmoid", "sum_rows"]

# log(p) is floored at -100, as PyTorch does, so that BCE at p = 0 or 1 is finite.
LOG_FLOOR = -100.0


# --------------------------------------------------------------------------- #
# The sum of a matrix's rows (a bias gradient)
# --------------------------------------------------------------------------- #
def _sum_rows_reference(a: Any) -> Any:
    """sum_i a[i, :] for a matrix a of shape (M, K): a vector of K numbers."""
    return array_module(a).sum(a, axis=0)


def _sum_rows_loop(a, total):  # noqa: ANN001
    m, k = a.shape
    for i in range(m):
        for j in range(k):
            total[j] += a[i, j]


_sum_rows_compiled = compiled(_sum_rows_loop)


def _sum_rows_fast(a: np.ndarray) -> np.ndarray:
    # NumPy sums over the first axis a row at a time: for a conv layer's gradient, 25,088 rows of
    # 16 numbers, 0.8 ms. The loop adds each row to K running totals, kept in float64.
    if a.ndim != 2 or not a.flags.c_contiguous:
        return _sum_rows_reference(a)
    total = np.zeros(a.shape[1], dtype=np.float64)
    _sum_rows_compiled(a, total)
    return total.astype(a.dtype)


sum_rows = Primitive("sum_rows", _sum_rows_reference, _sum_rows_compiled and _sum_rows_fast)


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


def _bce_with_logits_reference(z: Any, t: Any, scale: float = 1.0) -> tuple[Any, Any]:
    """(sum_i l_i, scale (s(z) - t)): binary cross-entropy on logits z and its gradient, where

        l = -[t log s(z) + (1 - t) log(1 - s(z))] = softplus(z) - t z,   dl/dz = s(z) - t
        softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^{-|z|})

    which never overflows, so l is exact for logits of any size. ``scale`` is dL/dl (1/n for a mean).
    The sum is a 0-d array on z's backend (reading it into a Python float would sync a GPU).
    """
    xp = array_module(z)
    loss = xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z))) - t * z
    return xp.sum(loss), scale * (_sigmoid_reference(z) - t)


def _bce_with_logits_grad_loop(z, t, e, scale, grad):  # noqa: ANN001
    one = e.dtype.type(1)
    for i in range(z.size):
        r = one / (one + e[i])  # s(|z|), with e = exp(-|z|)
        s = r if z[i] >= 0 else e[i] * r  # s(z) = e / (1 + e) for z < 0
        grad[i] = scale * (s - t[i])


_bce_with_logits_grad = compiled(_bce_with_logits_grad_loop)


def _bce_with_logits_fast(z: np.ndarray, t: np.ndarray, scale: float = 1.0) -> tuple[Any, np.ndarray]:
    # The value and the gradient share e = exp(-|z|): NumPy's SIMD exp and log1p make it, each l_i is
    # computed with the reference's operations in its order (a sum of max(z, 0) and t z apart would
    # cancel: for t = 1 and z = 15 they are equal), and one loop makes the gradient from e.
    z, t = np.ascontiguousarray(z), np.ascontiguousarray(t)
    e = scratch("bce_with_logits.e", z.shape, z.dtype)
    np.abs(z, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    loss = scratch("bce_with_logits.loss", z.shape, z.dtype)
    part = scratch("bce_with_logits.part", z.shape, z.dtype)
    np.maximum(z, 0.0, out=loss)
    loss += np.log1p(e, out=part)  # max(z, 0) + log(1 + e^{-|z|})
    loss -= np.multiply(t, z, out=part)  # - t z
    grad = np.empty_like(z)
    _bce_with_logits_grad(z.reshape(-1), t.reshape(-1), e.reshape(-1), z.dtype.type(scale), grad.reshape(-1))
    return np.sum(loss), grad


bce_with_logits = Primitive(
    "bce_with_logits", _bce_with_logits_reference, _bce_with_logits_grad and _bce_with_logits_fast
)
