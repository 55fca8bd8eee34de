"""Inverted dropout."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..module import Module
from ..validation import check_float_array


class Dropout(Module):
    r"""Inverted dropout with drop probability p.

    Training: draw m_i ~ Bernoulli(1 - p) and scale by 1 / (1 - p) at once:

        mask = m / (1 - p),     y = x * mask,     E[y] = x

    so nothing needs rescaling at test time. Evaluation: y = x.

    Backward: dL/dx = g * mask, with the *same* mask drawn in forward (a mask
    drawn again in backward would differentiate a different function).
    The mask comes from the backend's noise generator (``tinyae.seed`` fixes it).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self._mask: Any = None
        self._shape: tuple[int, ...] | None = None

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Any) -> Any:
        xp = check_float_array(self, x)
        self._shape = tuple(x.shape)
        if not self.training or self.p == 0.0:
            self._mask = 1.0  # the identity's mask: backward passes g through unchanged
            return x
        keep = backend.uniform(tuple(x.shape), like=x) >= self.p
        self._mask = xp.astype(keep, x.dtype) * (1.0 / (1.0 - self.p))
        return x * self._mask

    def backward(self, grad_out: Any) -> Any:
        mask = self._cached(self._mask)
        self._check_grad(grad_out, self._shape)
        return grad_out * mask
