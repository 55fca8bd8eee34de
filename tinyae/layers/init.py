"""Initial weights: the three scales a layer can start from (docs/init.md derives them).

``fan_in`` is the number of products summed into one output, ``fan_out`` the number of outputs one
input reaches (for a Dense layer: in and out). Every draw happens on the host generator, weight
first, then bias, so every backend starts from the same numbers for a seed.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend

INITS = ("he", "xavier", "torch")


def initial_parameters(owner: str, init: str, weight_shape: tuple[int, ...], bias_size: int, fan_in: float,
                       fan_out: float, torch_fan_in: float | None = None) -> tuple[Any, Any]:
    """(W, b) for ``init``:

    * "he" (before a ReLU): W ~ N(0, 2 / fan_in), b = 0;
    * "xavier" (Glorot; before a sigmoid, a tanh or a linear output): W ~ U(-a, a),
      a = sqrt(6 / (fan_in + fan_out)), b = 0;
    * "torch" (PyTorch's default, kaiming_uniform with a = sqrt 5): W and b ~ U(-1/sqrt(f), 1/sqrt(f))
      with f = ``torch_fan_in`` (PyTorch's count; ``fan_in`` when None): variance 1 / (3 f).
    """
    if init not in INITS:
        raise ValueError(f"{owner}: init must be one of {INITS}, got {init!r}")
    if init == "he":
        return backend.init_array(weight_shape, std=math.sqrt(2.0 / fan_in)), backend.init_array((bias_size,))
    if init == "xavier":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return backend.init_array(weight_shape, bound=bound), backend.init_array((bias_size,))
    bound = 1.0 / math.sqrt(fan_in if torch_fan_in is None else torch_fan_in)
    return backend.init_array(weight_shape, bound=bound), backend.init_array((bias_size,), bound=bound)
