"""What every model shares: one objective, read as arrays on the device or as Python floats.

A model writes its whole objective once, ``_objective(x, target, backward, **kw)``: the forward
pass, the loss terms ("loss", "reconstruction", "kl", ...) and, when ``backward``, the backward
pass. The terms are 0-d arrays on the model's backend. Turning one into a Python float reads it
back from the device, and on a GPU that waits for every kernel queued so far (a sync); so the
arrays are the training loop's form (:meth:`ObjectiveModel.objective_terms`: ``fit`` reads all the
terms of a step in one transfer), and floats the user's (``forward_backward``, ``evaluate``).
"""

from __future__ import annotations

import math
from typing import Any

from ..module import Module


class ObjectiveModel(Module):
    """Base class of the autoencoders and VAEs: ``forward_backward`` / ``evaluate`` (floats) and
    ``objective_terms`` (0-d arrays) over the subclass's ``_objective``.

    ``target_range``: the interval the targets must lie in ((0, 1) for a BCE reconstruction, else
    None), which ``fit`` checks on the data once before training.
    """

    target_range: tuple[float, float] | None = None

    def forward_backward(self, x: Any, target: Any = None, **kw: Any) -> dict[str, float]:
        """One forward and one backward pass of the whole objective, the gradients accumulated into
        the parameters; returns its terms as floats (a NaN or infinite term raises FloatingPointError).
        ``target`` defaults to x; ``kw`` are the model's own (a VAE's ``eps=``, ``labels=``)."""
        return self._as_floats(self.objective_terms(x, target, backward=True, **kw))

    def evaluate(self, x: Any, target: Any = None, **kw: Any) -> dict[str, float]:
        """The objective's terms as floats, without a backward pass (for validation)."""
        return self._as_floats(self.objective_terms(x, target, backward=False, **kw))

    def objective_terms(self, x: Any, target: Any = None, *, backward: bool, **kw: Any) -> dict[str, Any]:
        """The objective's terms as 0-d arrays on the model's backend: nothing is read back to the
        host, so nothing is checked for NaN either (the reader does that)."""
        shape = tuple(getattr(x, "shape", ()))  # not an array: the first layer says so
        if shape[:1] == (0,):  # a batch mean over no samples is 0/0
            raise ValueError(f"{type(self).__name__}: expected a batch of at least one sample, got shape {shape}")
        return self._objective(x, x if target is None else target, backward=backward, **kw)

    def _objective(self, x: Any, target: Any, backward: bool, **kw: Any) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _as_floats(self, terms: dict[str, Any]) -> dict[str, float]:
        values = {key: float(value) for key, value in terms.items()}
        bad = {key: value for key, value in values.items() if not math.isfinite(value)}
        if bad:
            raise FloatingPointError(f"{type(self).__name__}: expected finite loss terms, got {bad}")
        return values
