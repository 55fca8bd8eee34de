"""Exercise: the backward pass of the ReLU, y = max(x, 0).

Check your answer:   tinyae check exercises/relu.py::ReLU
The derivation:      docs/relu.md
"""

from __future__ import annotations

import tinyae as ae


class ReLU(ae.ReLU):
    """The rectified linear unit, element-wise; no parameters."""

    exercise = "relu"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = max(x, 0), any shape. Given: it keeps the 0/1 mask 1[x > 0] (as floats) for backward."""
        xp = ae.array_module(x)
        self._mask = xp.astype(x > 0, x.dtype)
        return xp.maximum(x, 0.0)

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy (the shape of y) and mask = self._mask = 1[x > 0] from forward:

            dL/dx = g * 1[x > 0]         (element-wise; the derivative at exactly 0 is taken as 0)

        Return dL/dx. The check keeps every x at least 0.1 away from the kink at 0.
        A correct answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("ReLU.backward: return dL/dx")
