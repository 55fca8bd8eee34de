"""Shape-only layers: the backward pass undoes the reshape of the forward pass."""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

from .. import backend
from ..module import Module
from ._checks import check_batch


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...). Backward reshapes g back to (N, d1, d2, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self._x: Any = None  # the input (y is x reshaped): its shape, backend and dtype, for backward

    def forward(self, x: Any) -> Any:
        xp = check_batch(self, x)
        if x.ndim < 2:
            raise ValueError(f"{self!r}: expected an input of shape (N, ...), got {tuple(x.shape)}")
        self._x = x
        return xp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))

    def backward(self, grad_out: Any) -> Any:
        x = self._cached(self._x)
        in_shape = tuple(x.shape)
        self._check_grad(grad_out, (in_shape[0], math.prod(in_shape[1:])), like=x)
        xp = backend.array_module(grad_out)
        return xp.reshape(grad_out, in_shape)


class Reshape(Module):
    """(N, prod(shape)) -> (N, *shape), e.g. ``Reshape(1, 28, 28)`` after a Dense(., 784).

    Any input (N, ...) with prod(shape) elements per sample is accepted.
    Backward reshapes g back to the input's shape.
    """

    def __init__(self, *shape: int) -> None:
        super().__init__()
        if not shape or any(not isinstance(d, Integral) or isinstance(d, bool) or d < 1 for d in shape):
            raise ValueError(f"Reshape: expected positive integer sizes, got {shape!r}")
        self.shape = tuple(int(d) for d in shape)
        self._x: Any = None  # the input (y is x reshaped): its shape, backend and dtype, for backward

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.shape))

    def forward(self, x: Any) -> Any:
        xp = check_batch(self, x)
        size = math.prod(self.shape)
        if x.ndim < 2 or math.prod(x.shape[1:]) != size:
            raise ValueError(
                f"{self!r}: expected an input of shape (N, {size}) (or any (N, ...) with "
                f"{size} elements per sample), got {tuple(x.shape)}"
            )
        self._x = x
        return xp.reshape(x, (x.shape[0], *self.shape))

    def backward(self, grad_out: Any) -> Any:
        x = self._cached(self._x)
        in_shape = tuple(x.shape)
        self._check_grad(grad_out, (in_shape[0], *self.shape), like=x)
        xp = backend.array_module(grad_out)
        return xp.reshape(grad_out, in_shape)
