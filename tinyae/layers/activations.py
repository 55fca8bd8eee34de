"""Element-wise activations. Each backward multiplies g = dL/dy by f'(x), element-wise."""

from __future__ import annotations

from typing import Any

from ..kernels import sigmoid
from ..module import Module
from ..validation import check_real
from ._checks import check_batch

__all__ = ["LeakyReLU", "ReLU", "Sigmoid", "Tanh", "sigmoid"]


class ReLU(Module):
    r"""y = max(x, 0).

    Backward: dL/dx = g * 1[x > 0]. The indicator is kept from forward as a
    float mask (same dtype as x), so backward is a single multiply.
    At x = 0 we take the derivative to be 0, as PyTorch does.
    """

    def __init__(self) -> None:
        super().__init__()
        self._mask: Any = None

    def forward(self, x: Any) -> Any:
        xp = check_batch(self, x)
        self._mask = xp.astype(x > 0, x.dtype)
        return xp.maximum(x, 0.0)

    def backward(self, grad_out: Any) -> Any:
        mask = self._cached(self._mask)
        self._check_grad(grad_out, mask.shape, like=mask)
        return grad_out * mask


class LeakyReLU(Module):
    r"""y = x if x > 0 else a x, with a = ``negative_slope``.

    Backward: dL/dx = g * (1 if x > 0 else a); the slope array is kept from forward.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        # any finite slope, as in PyTorch (a > 1 or a < 0 are unusual, not wrong)
        self.negative_slope = check_real("LeakyReLU", "negative_slope", negative_slope)
        self._slope: Any = None

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def forward(self, x: Any) -> Any:
        xp = check_batch(self, x)
        positive = xp.astype(x > 0, x.dtype)
        # slope = 1 where x > 0, a elsewhere:  a + (1 - a) * 1[x > 0]
        self._slope = positive * (1.0 - self.negative_slope) + self.negative_slope
        return x * self._slope

    def backward(self, grad_out: Any) -> Any:
        slope = self._cached(self._slope)
        self._check_grad(grad_out, slope.shape, like=slope)
        return grad_out * slope


class Sigmoid(Module):
    r"""y = s(x) = 1 / (1 + exp(-x)).

    Backward: dL/dx = g * s(x) (1 - s(x)), using the output y kept from forward.

    Safe for any x: see :func:`tinyae.kernels.sigmoid` for what happens where exp(-x) overflows.
    """

    def __init__(self) -> None:
        super().__init__()
        self._y: Any = None

    def forward(self, x: Any) -> Any:
        check_batch(self, x)
        self._y = sigmoid(x)
        return self._y

    def backward(self, grad_out: Any) -> Any:
        y = self._cached(self._y)
        self._check_grad(grad_out, y.shape, like=y)
        return grad_out * y * (1.0 - y)


class Tanh(Module):
    r"""y = tanh(x). Backward: dL/dx = g * (1 - y^2), using y kept from forward."""

    def __init__(self) -> None:
        super().__init__()
        self._y: Any = None

    def forward(self, x: Any) -> Any:
        xp = check_batch(self, x)
        self._y = xp.tanh(x)
        return self._y

    def backward(self, grad_out: Any) -> Any:
        y = self._cached(self._y)
        self._check_grad(grad_out, y.shape, like=y)
        return grad_out * (1.0 - y * y)

