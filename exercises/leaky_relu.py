"""Exercise: the backward pass of the leaky ReLU, y = x where x > 0, a x elsewhere.

Check your answer:   tinyae check exercises/leaky_relu.py::LeakyReLU
The derivation:      docs/relu.md (the LeakyReLU section)
"""

from __future__ import annotations

import tinyae as ae


class LeakyReLU(ae.LeakyReLU):
    """The leaky rectified linear unit, element-wise, with the slope a = self.negative_slope for x <= 0
    (``tinyae.LeakyReLU(negative_slope=0.01)`` gives it); no parameters."""

    exercise = "leaky_relu"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = x where x > 0 and a x where x <= 0, any shape. Given: it keeps the input x for backward."""
        xp = ae.array_module(x)
        self._x = x
        return xp.where(x > 0, x, self.negative_slope * x)

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy (the shape of y), x = self._x from forward and a = self.negative_slope:

            dL/dx = g * f'(x),    f'(x) = 1 where x > 0,  a where x <= 0
                                        = a + (1 - a) 1[x > 0]                  (element-wise)

        Return dL/dx (the shape of x). The 0/1 mask 1[x > 0] as floats is xp.astype(x > 0, x.dtype),
        with xp = ae.array_module(grad_out) (not numpy: the same code then runs on every backend).
        The check keeps every x at least 0.1 away from the kink at 0, and draws a in [0.01, 0.5].
        A correct answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("LeakyReLU.backward: return dL/dx")
