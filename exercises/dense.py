"""Exercise: the backward pass of a Dense (fully connected) layer, y = x W + b.

Check your answer:   tinyae check exercises/dense.py::Dense
                     (or: python -m tinyae.exercises exercises/dense.py::Dense)
The derivation:      docs/dense.md
"""

from __future__ import annotations

import tinyae as ae


class Dense(ae.Dense):
    """A fully connected layer. ``tinyae.Dense`` gives the parameters and their init:

        self.weight.data   W, shape (in, out)        self.weight.grad   dL/dW, same shape
        self.bias.data     b, shape (out,)           self.bias.grad     dL/db, same shape
    """

    exercise = "dense"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = x W + b for x of shape (N, in); y has shape (N, out). Given: it keeps x for backward."""
        self._x = x
        return x @ self.weight.data + self.bias.data

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy, shape (N, out), and x = self._x from forward:

            dL/dW = x^T g                    shape (in, out)   add it to self.weight.grad  (+=)
            dL/db = sum of g over the batch  shape (out,)      add it to self.bias.grad    (+=)
            dL/dx = g W^T                    shape (N, in)     return it

        Array code that runs on every backend (NumPy, CuPy, strict): take the namespace from
        the input, xp = ae.array_module(grad_out), and call xp.sum(..., axis=0) and friends,
        never numpy directly; `A @ B` and `A.T` work everywhere.

        The check compares your gradients with central differences in float64: a correct
        answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Dense.backward: add dL/dW and dL/db to the grads, return dL/dx")
