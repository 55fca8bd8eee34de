"""One-line hints for the usual mistakes, read off the numbers (never guessed from the code).

Three sources:

* the values of a wrong gradient a against the right one n: a transposed shape or matrix, an
  extra axis of size 1 (keepdims), a flipped sign, a constant factor (a mean for a sum), all zeros;
* the exception the student's code raised: broadcasting, a NumPy call on another backend's array;
* the cases themselves: a tensor that passes whenever, say, stride = 1 and fails only otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

GPU_HINT = ("works on NumPy but not on the GPU backend: use xp = ae.array_module(grad_out) and xp.sum(...), "
            "xp.exp(...) ..., never numpy functions, on the arrays you are given")


DEVICE_HINT = ("a new array was made on another device than the arrays you were given (on a GPU: the CPU): "
               "create it beside them, xp.zeros(shape, dtype=..., device=ae.backend.device_of(grad_out))")


def from_values(analytic: Any, numerical: np.ndarray) -> str:
    """A hint for a failing gradient, or "" when the numbers show no known pattern."""
    if not isinstance(analytic, np.ndarray):
        return "return an array (the gradient), not " + type(analytic).__name__
    a, n = analytic, numerical
    if a.shape != n.shape:
        return _shape_hint(a.shape, n.shape)
    if not np.all(np.isfinite(a)) or not np.any(n):
        return ""
    if not np.any(a):
        return "your gradient is all zeros"
    scale = max(float(np.max(np.abs(n))), 1e-300)
    if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1 and np.allclose(a, n.T, atol=1e-6 * scale):
        return "it equals the right gradient transposed: a missing (or an extra) .T?"
    if a.size < 2:  # one number is a multiple of any other: a factor says nothing
        return ""
    factor = float(np.sum(a * n) / np.sum(n * n))
    if np.allclose(a, factor * n, rtol=1e-6, atol=1e-6 * scale) and abs(factor - 1.0) > 1e-3:
        if abs(factor + 1.0) < 1e-6:
            return "the sign is flipped"
        return f"off by a constant factor: yours = {factor:.4g} x the right one (a mean for a sum, a missing 2 or 1/N?)"
    return ""


def _shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(got) == 2 and got[::-1] == expected:
        return f"the transposed shape {got} instead of {expected}: a missing (or an extra) .T?"
    if tuple(d for d in got if d != 1) == tuple(d for d in expected if d != 1) and len(got) > len(expected):
        return f"an extra axis of size 1, {got} instead of {expected}: keepdims=True where it should not be?"
    if len(got) <= len(expected):
        return f"shape {got} instead of {expected}: summed over the wrong axis (or a missing reshape)?"
    return f"shape {got} instead of {expected}: check the shape of every term"


def from_exception(kind: str, message: str) -> str:
    """A hint for an exception the student's code raised, or ""."""
    text = message.lower()
    if "different devices" in text and "combined" in text:
        return DEVICE_HINT
    if "device" in text and ("convert" in text or "mix" in text) or "array_api_strict" in text:
        return GPU_HINT
    if "broadcast" in text:
        return ("the shapes do not match: print each term's shape (a keepdims=True, a sum over the wrong axis, "
                "or a missing .T?)")
    if "file too large" in text:
        return "your code printed or wrote more than the grader allows (64 MB)"
    if kind == "MemoryError":
        return "your code asked for more memory than the grader allows (tinyae check --memory MB)"
    if kind == "SystemExit":
        return "a layer's method returns its result; it never calls sys.exit()"
    if "cannot reshape" in text:
        return "an array has another size than the code assumes: is every size computed from the case's shapes?"
    return ""


def from_cases(keys: Sequence[str], simplest: dict[str, Any], failing: Iterable[dict[str, Any]],
               passing: Iterable[dict[str, Any]]) -> str:
    """'fails only when stride is not 1': a key whose simplest value never fails, and every failure has another.

    ``simplest`` is the strategy's simplest case (stride 1, padding 0, batch 1 ...); a key
    qualifies when cases with its simplest value ran and passed, and no failing case has it.
    """
    failing, passing = list(failing), list(passing)
    if not failing:
        return ""
    for key in keys:
        plain = simplest.get(key)
        if plain is None or isinstance(plain, (list, np.ndarray)):
            continue
        if all(_same(c.get(key), plain) is False for c in failing) and any(_same(c.get(key), plain)
                                                                           for c in passing):
            return f"passes whenever {key} = {_show(plain)} and fails only for other values: look at how your code " \
                   f"uses {key}" + _why(key)
    return ""


def _same(a: Any, b: Any) -> bool:
    return bool(np.all(np.asarray(a) == np.asarray(b))) if np.shape(a) == np.shape(b) else False


def _show(value: Any) -> str:
    return str(tuple(value)) if isinstance(value, tuple) else repr(value)


_WHY = {
    "batch": " (is something summed over the samples, or divided by N?)",
    "stride": " (col2im and the window positions must step by the stride)",
    "padding": " (the padded border must be dropped again)",
    "training": " (the check runs in training and in eval mode)",
    "in_features": " (with one feature a matrix and its transpose have the same shape: a missing .T?)",
    "out_features": " (with one feature a matrix and its transpose have the same shape: a missing .T?)",
    "reduction": " (\"mean\" divides by the number of elements, \"sum\" does not)",
}


def _why(key: str) -> str:
    return _WHY.get(key, "")
