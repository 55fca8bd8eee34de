"""Hypothesis strategies for gradient checks: layer configurations and well-conditioned inputs.

Shared by the test-suite and the exercises (hypothesis is a dependency of tinyae, for ``tinyae check``).

Values are kept O(1) so that float64 round-off in a central difference stays
near 1e-10, and away from kinks (ReLU at 0) by at least ``min_magnitude``,
so that x +- h never crosses one when h = 1e-5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "arrays",
    "batch_sizes",
    "conv_configs",
    "dense_configs",
    "distinct_values",
    "dropout_probabilities",
    "feature_sizes",
    "fixed_or_drawn",
    "int_or_pair",
    "negative_slopes",
    "probabilities",
    "shapes",
]

def fixed_or_drawn(draw, fixed: dict, key: str, strategy):
    """``fixed[key]`` when a hyper-parameter is pinned (an exercise graded on an instance), else a draw."""
    return fixed[key] if key in fixed else draw(strategy)


batch_sizes = st.integers(1, 4)
feature_sizes = st.integers(1, 6)
dropout_probabilities = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75])
negative_slopes = st.floats(0.01, 0.5)


def arrays(
    shape: tuple[int, ...], *, min_magnitude: float = 0.0, max_magnitude: float = 2.0
) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` with min_magnitude <= |value| <= max_magnitude, either sign."""
    if min_magnitude > 0:
        elements = st.one_of(
            st.floats(min_magnitude, max_magnitude), st.floats(-max_magnitude, -min_magnitude)
        )
    else:
        elements = st.floats(-max_magnitude, max_magnitude)
    return hnp.arrays(np.float64, shape, elements=elements)


def probabilities(
    shape: tuple[int, ...], low: float = 0.05, high: float = 0.95
) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays in [low, high]: predictions for BCE kept off 0 and 1, where 1/(p(1-p)) explodes."""
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


def shapes(min_dims: int = 2, max_dims: int = 4, max_side: int = 5) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes (N, ...) with a batch axis first."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def dense_configs(draw: Any) -> dict[str, Any]:
    """A Dense layer configuration with an input batch: batch, in_features, out_features, init."""
    return {
        "batch": draw(batch_sizes),
        "in_features": draw(feature_sizes),
        "out_features": draw(feature_sizes),
        "init": draw(st.sampled_from(["he", "xavier"])),
    }


def _pair(value: Any) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


def int_or_pair(low: int, high: int) -> st.SearchStrategy:
    """An int, or a (height, width) pair: the layers accept both."""
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


@st.composite
def conv_configs(draw, *, transposed: bool = False, max_input: int = 10**6, max_weight: int = 10**6):
    """A Conv2D (or ConvTranspose2D) configuration and input shape, with an output of at least 1x1.

    Keys: batch, in_channels, out_channels, kernel_size, stride, padding, (output_padding),
    height, width, and out_size (Ho, Wo) by the layer's formula, written out independently.
    ``max_input`` caps N C H W and ``max_weight`` caps out C kh kw, by bounding the later
    draws (so nothing is discarded for size).
    """
    kernel_size = draw(int_or_pair(1, 4))
    stride = draw(int_or_pair(1, 3))
    padding = draw(int_or_pair(0, 2))
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride), _pair(padding)
    height = draw(st.integers(1, 9))
    width = draw(st.integers(1, max(1, min(9, max_input // height))))
    in_channels = draw(st.integers(1, max(1, min(4, max_input // (height * width)))))
    batch = draw(st.integers(1, max(1, min(3, max_input // (in_channels * height * width)))))
    out_channels = draw(st.integers(1, max(1, min(4, max_weight // (in_channels * kh * kw)))))
    cfg = dict(
        batch=batch,
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        height=height,
        width=width,
    )
    if transposed:
        output_padding = (draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1)))
        cfg["output_padding"] = output_padding
        cfg["out_size"] = (
            (height - 1) * sh - 2 * ph + kh + output_padding[0],
            (width - 1) * sw - 2 * pw + kw + output_padding[1],
        )
    else:
        cfg["out_size"] = ((height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1)
    assume(min(cfg["out_size"]) >= 1)  # the layer refuses these (tests/test_conv.py checks it)
    return cfg


def distinct_values(shape, rng):
    """Values in [-2, 2), all at least 4 / size apart (no ties, so max-pool stays differentiable)."""
    size = int(math.prod(shape))
    return (rng.permutation(size).reshape(shape) * (4.0 / size) - 2.0).astype(np.float64)
