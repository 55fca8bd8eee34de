"""Inverted dropout."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..module import Module
from ..validation import check_real
from ._checks import check_batch


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
        self.p = check_real("Dropout", "p", p, low=0.0, high=1.0, high_open=True)  # p = 1: 1 / (1 - p) = inf
        self._mask: Any = None
        self._shape: tuple[int, ...] | None = None

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Any) -> Any:
        xp = check_batch(self, x)
        self._shape = tuple(x.shape)
        if not self.training or self.p == 0.0:
            self._mask = 1.0  # the identity's mask: backward passes g through unchanged
            return x
        keep = backend.uniform(tuple(x.shape), like=x) >= self.p
        self._mask = xp.astype(keep, x.dtype) * (1.0 / (1.0 - self.p))
        return x * self._mask

    def backward(self, grad_out: Any) -> Any:
        mask = self._cached(self._mask)
        # the mask is an array of x's backend and dtype in training (in eval, 1.0: nothing to check)
        self._check_grad(grad_out, self._shape, like=None if isinstance(mask, float) else mask)
        return grad_out * mask
