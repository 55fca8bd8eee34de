"""Exercise: the backward pass of the sigmoid, y = s(x) = 1 / (1 + exp(-x)).

Check your answer:   tinyae check exercises/sigmoid.py::Sigmoid
The derivation:      docs/sigmoid.md
"""

from __future__ import annotations

import tinyae as ae
from tinyae.layers import sigmoid


class Sigmoid(ae.Sigmoid):
    """The logistic function, element-wise; no parameters."""

    exercise = "sigmoid"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = s(x), any shape. Given: it keeps the output y for backward (s' is a function of y)."""
        self._y = sigmoid(x)  # safe for any x (see docs/sigmoid.md)
        return self._y

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy (the shape of y) and y = self._y from forward:

            dL/dx = g * s'(x),    where s'(x) = s(x) (1 - s(x)) = y (1 - y)     (element-wise)

        Return dL/dx (the shape of x). Plain arithmetic on arrays works on every backend.
        The check compares with central differences in float64: a correct answer scores an
        error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Sigmoid.backward: return dL/dx")
