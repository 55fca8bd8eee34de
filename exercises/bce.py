"""Exercise: the gradient of binary cross-entropy on probabilities.

Check your answer:   tinyae check exercises/bce.py::BCELoss
The derivation:      docs/bce.md
"""

from __future__ import annotations

import tinyae as ae


class BCELoss(ae.BCELoss):
    """BCE between predicted probabilities p and targets t in [0, 1] (both of any shape, the same).

    ``value = loss(p, t)`` (given, by tinyae.Loss) computes the element-wise loss below, reduces it,
    and keeps (p, t) in self._cache for backward. self.reduction is "mean" or "sum".
    """

    exercise = "bce"  # tells `tinyae check` which gradient check to run

    def elementwise(self, xp, pred, target):
        """Given: l_i = -[t_i log p_i + (1 - t_i) log(1 - p_i)]; then L = the mean (or sum) of l_i."""
        return -(target * xp.log(pred) + (1.0 - target) * xp.log(1.0 - pred))

    def backward(self):
        """Return dL/dp, the shape of p, with p, t = self._cache from the last call:

            dl_i/dp_i = (p_i - t_i) / (p_i (1 - p_i))
            "mean":  L = (1/n) sum_i l_i  so  dL/dp_i = dl_i/dp_i / n,   n = the number of elements
            "sum":   L = sum_i l_i        so  dL/dp_i = dl_i/dp_i

        The check keeps p in [0.05, 0.95] (away from 0 and 1). A correct answer scores an error
        of ~1e-8 or better (log p curves sharply near p = 0.05, which costs the finite differences
        a little); the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("BCELoss.backward: return dL/dp")
