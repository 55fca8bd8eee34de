"""Input checks shared by layers and losses: clear errors instead of obscure ones.

Each check names the owner (a layer's or loss's repr), what was expected and
what was seen, and costs only attribute look-ups (no pass over the data).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

from . import backend


def check_float_array(owner: object, x: Any, *, ndim: int | None = None, what: str = "input") -> Any:
    """Check that ``x`` is a floating-point array (of rank ``ndim``); return its namespace."""
    try:
        xp = backend.array_module(x)
    except TypeError:
        raise TypeError(
            f"{owner}: expected the {what} to be an array (NumPy, CuPy or array_api_strict), "
            f"got {type(x).__name__}"
        ) from None
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(
            f"{owner}: expected a floating-point {what} (float32 or float64), got dtype {x.dtype}; "
            f"convert it first, e.g. x.astype(np.float32)"
        )
    if ndim is not None and x.ndim != ndim:
        raise ValueError(
            f"{owner}: expected a {ndim}-D {what}, got {x.ndim}-D with shape {tuple(x.shape)}"
        )
    return xp


def check_same_backend(
    owner: object, x: Any, reference: Any, what: str = "the parameters", subject: str = "the input"
) -> None:
    """Refuse an input (``subject``) that lives on another backend than ``reference`` (``what``)."""
    if type(x) is type(reference):  # the common case, in every layer's pass: no need to ask further
        return
    seen, own = backend.backend_of(x), backend.backend_of(reference)
    if seen != own:
        raise TypeError(
            f"{owner}: backends differ: {subject} is on {seen!r}, {what} on {own!r}; "
            f"move one of them, e.g. tinyae.to_backend(x, {own!r}) or model.to({seen!r})"
        )


def check_matches_parameters(owner: object, x: Any, parameter: Any) -> None:
    """Refuse an input on another backend, or of another float dtype, than the parameters.

    (NumPy would silently compute in float64, and the backward pass's ``p.grad += ...`` would
    then round the float64 gradient into the float32 one without a word: this says it at the input.)
    """
    check_same_backend(owner, x, parameter)
    if x.dtype != parameter.dtype:
        want, seen = backend.numpy_dtype(parameter).name, backend.numpy_dtype(x).name
        raise TypeError(
            f"{owner}: the input is {seen} but the parameters are {want}; convert the input, "
            f"e.g. model(x.astype(np.{want})) or tinyae.to_backend(x, dtype=np.{want}) on any backend "
            f"(fit and map_batches convert each batch to the model's dtype themselves)"
        )


def check_not_empty(owner: object, a: Any, what: str = "a batch") -> None:
    """A batch mean over no samples is 0/0: refuse an empty first axis by name (a shape look-up only)."""
    shape = tuple(getattr(a, "shape", ()))  # not an array: the caller's own checks say so
    if shape[:1] == (0,):
        raise ValueError(f"{owner}: expected {what} of at least one sample, got shape {shape}")


def check_int(owner: object, name: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer hyper-parameter (``epochs``, ``batch_size``): refuse floats such as 32.0 or 2.5,
    bools and None with a TypeError, and values below ``minimum`` with a ValueError."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value}")
    return int(value)


def check_real(
    owner: object,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A real, finite hyper-parameter in [low, high] (``low_open`` / ``high_open`` exclude an end).

    NaN slips through a plain ``if beta < 0`` (every comparison with NaN is False), and inf through
    most; both are refused here, so they cannot surface later as a NaN loss blamed on something else.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or below or above:
        left = "(" if low_open or low is None else "["  # an infinite end is never included
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"
        raise ValueError(f"{owner}: {name} must be a finite number in {interval}, got {value!r}")
    return value
