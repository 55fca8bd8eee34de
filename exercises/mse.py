"""Exercise: the gradient of the mean squared error.

Check your answer:   tinyae check exercises/mse.py::MSELoss
The derivation:      docs/mse.md
"""

from __future__ import annotations

import tinyae as ae


class MSELoss(ae.MSELoss):
    """Squared error between predictions p and targets t (both of any shape, the same).

    ``value = loss(p, t)`` (given, by tinyae.Loss) computes the element-wise loss below, reduces it,
    and keeps (p, t) in self._cache for backward. self.reduction is "mean" or "sum".
    """

    exercise = "mse"  # tells `tinyae check` which gradient check to run

    def value_and_grad(self, xp, pred, target, scale):
        """Given: (sum_i l_i, None); the reduction is applied by tinyae.Loss, the gradient left to backward."""
        return float(xp.sum(self.elementwise(xp, pred, target))), None

    def elementwise(self, xp, pred, target):
        """Given: l_i = (p_i - t_i)^2; then L = the mean (or sum) of l_i."""
        diff = pred - target
        return diff * diff

    def backward(self):
        """Return dL/dp, the shape of p, with p, t = self._cache from the last call:

            dl_i/dp_i = 2 (p_i - t_i)
            "mean":  L = (1/n) sum_i l_i  so  dL/dp_i = 2 (p_i - t_i) / n,   n = the number of elements
                                                (all of them, N D for N rows of D: not the batch size)
            "sum":   L = sum_i l_i        so  dL/dp_i = 2 (p_i - t_i)

        Plain arithmetic on arrays works on every backend; n is the product of pred.shape.
        The check compares with central differences in float64: a correct answer scores an
        error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("MSELoss.backward: return dL/dp")
