"""Dense (fully connected) layer: y = x W + b, in the textbook orientation."""

from __future__ import annotations

from numbers import Integral
from typing import Any

from .. import backend
from ..module import Module, Parameter
from ..validation import check_matches_parameters
from ._checks import check_batch
from .init import initial_parameters


class Dense(Module):
    r"""Affine map of a batch of row vectors.

    Forward, for x of shape (N, in), W of shape (in, out), b of shape (out,):

        y = x W + b                       y has shape (N, out)

    Backward, given g = dL/dy of shape (N, out):

        dL/dx = g W^T                     (N, in)
        dL/dW = x^T g                     (in, out)
        dL/db = sum over the batch of g   (out,)

    ``init="he"`` (the default, for a layer followed by a ReLU) draws W ~ N(0, 2/in);
    ``init="xavier"`` (Glorot, for a layer followed by a sigmoid, a tanh or nothing: a code,
    logits, a linear output) draws W ~ U(-a, a) with a = sqrt(6 / (in + out)). The bias starts
    at zero. The builders choose by that rule, layer by layer (docs/init.md). ``init="torch"`` is
    ``torch.nn.Linear``'s default: W and b ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, *, init: str = "he") -> None:
        super().__init__()
        for label, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Dense: {label} must be a positive integer, got {value!r}")
        self.in_features, self.out_features, self.init = int(in_features), int(out_features), init
        w, b = initial_parameters("Dense", init, (self.in_features, self.out_features), self.out_features,
                                  self.in_features, self.out_features)
        self.weight = Parameter(w, "weight")
        self.bias = Parameter(b, "bias")
        self._x: Any = None

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}"

    def forward(self, x: Any) -> Any:
        """y = x W + b."""
        check_batch(self, x, ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_features}), got {tuple(x.shape)}"
            )
        check_matches_parameters(self, x, self.weight.data)
        self._x = x
        y = x @ self.weight.data
        y += self.bias.data  # b added to every row (in place: y is a new array)
        return y

    def backward(self, grad_out: Any) -> Any:
        """dL/dW += x^T g, dL/db += sum_n g, and return dL/dx = g W^T (None when the input is
        the data: ``needs_input_grad`` is False)."""
        x = self._cached(self._x)
        self._check_grad(grad_out, (x.shape[0], self.out_features), like=x)
        xp = backend.array_module(grad_out)
        self.weight.grad += x.T @ grad_out
        self.bias.grad += xp.sum(grad_out, axis=0)
        if not self.needs_input_grad:
            return None
        return grad_out @ self.weight.data.T
