"""Exercise: the backward pass of the hyperbolic tangent, y = tanh(x).

Check your answer:   tinyae check exercises/tanh.py::Tanh
The derivation:      docs/tanh.md
"""

from __future__ import annotations

import tinyae as ae


class Tanh(ae.Tanh):
    """The hyperbolic tangent, element-wise; no parameters."""

    exercise = "tanh"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = tanh(x), any shape. Given: it keeps the output y for backward (tanh' is a function of y)."""
        xp = ae.array_module(x)
        self._y = xp.tanh(x)
        return self._y

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy (the shape of y) and y = self._y from forward:

            dL/dx = g * tanh'(x),    where tanh'(x) = 1 - tanh(x)^2 = 1 - y^2     (element-wise)

        Return dL/dx (the shape of x). Plain arithmetic on arrays works on every backend.
        The check compares with central differences in float64: a correct answer scores an
        error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Tanh.backward: return dL/dx")
