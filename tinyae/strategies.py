"""Hypothesis strategies for gradient checks: layer configurations and well-conditioned inputs.

Shared by the test-suite and the exercises (``pip install "tinyae[test]"`` for hypothesis).

Values are kept O(1) so that float64 round-off in a central difference stays
near 1e-10, and away from kinks (ReLU at 0) by at least ``min_magnitude``,
so that x +- h never crosses one when h = 1e-5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "arrays",
    "batch_sizes",
    "dense_configs",
    "dropout_probabilities",
    "feature_sizes",
    "negative_slopes",
    "probabilities",
    "shapes",
]

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
