"""Exercise: the backward pass of inverted dropout.

Check your answer:   tinyae check exercises/dropout.py::Dropout
The derivation:      docs/dropout.md
"""

from __future__ import annotations

import tinyae as ae
from tinyae import backend


class Dropout(ae.Dropout):
    """Inverted dropout with drop probability p = self.p (``tinyae.Dropout`` checks p)."""

    exercise = "dropout"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """Given. In training, draw keep ~ Bernoulli(1 - p) per element and scale at once:

            mask = keep / (1 - p),    y = x * mask        (so E[y] = x; nothing to rescale at test time)

        In eval mode (or with p = 0), y = x and the mask is 1. The mask is kept for backward.
        """
        xp = ae.array_module(x)
        self._shape = tuple(x.shape)
        if not self.training or self.p == 0.0:
            self._mask = 1.0
            return x
        keep = backend.uniform(tuple(x.shape), like=x) >= self.p  # from tinyae's noise generator
        self._mask = xp.astype(keep, x.dtype) * (1.0 / (1.0 - self.p))
        return x * self._mask

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy (the shape of x) and mask = self._mask from forward:

            dL/dx = g * mask

        Use the SAME mask forward drew: y = x * mask is linear in x for that mask. A mask drawn
        again here would differentiate a different function, and the check would catch it.
        A correct answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Dropout.backward: return dL/dx")
