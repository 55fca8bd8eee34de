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

from .. import backend
from ..losses import Loss
from ..module import Module
from ..validation import check_not_empty


class ObjectiveModel(Module):
    """Base class of the autoencoders and VAEs: ``forward_backward`` / ``evaluate`` (floats) and
    ``objective_terms`` (0-d arrays) over the subclass's ``_objective``.

    ``target_range``: the interval the targets must lie in ((0, 1) for a BCE reconstruction, else
    None), which ``fit`` checks on the data once before training. ``loss_term``: the term computed
    by ``self.loss``, whose diagnosis a non-finite value of it gets.
    """

    target_range: tuple[float, float] | None = None
    loss_term = "reconstruction"

    def forward_backward(self, x: Any, target: Any = None, **kw: Any) -> dict[str, float]:
        """One forward and one backward pass of the whole objective, the gradients accumulated into
        the parameters; returns its terms as floats. ``target`` defaults to x; ``kw`` are the
        model's own (a VAE's ``eps=``, ``labels=``). A NaN or infinite term raises
        FloatingPointError, after the backward pass has run (the gradients may hold NaN, as
        PyTorch's would: ``zero_grad()`` before going on)."""
        return self._as_floats(self.objective_terms(x, target, backward=True, **kw))

    def evaluate(self, x: Any, target: Any = None, **kw: Any) -> dict[str, float]:
        """The objective's terms as floats, without a backward pass (for validation)."""
        return self._as_floats(self.objective_terms(x, target, backward=False, **kw))

    def objective_terms(self, x: Any, target: Any = None, *, backward: bool, **kw: Any) -> dict[str, Any]:
        """The objective's terms as 0-d arrays on the model's backend: nothing is read back to the
        host, so nothing is checked for NaN either (the reader does that: :func:`read_terms`,
        :func:`check_finite`)."""
        check_not_empty(type(self).__name__, x)
        return self._objective(x, x if target is None else target, backward=backward, **kw)

    def _objective(self, x: Any, target: Any, backward: bool, **kw: Any) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _as_floats(self, terms: dict[str, Any]) -> dict[str, float]:
        values = read_terms(terms)
        check_finite(values, self)
        return values


def read_terms(terms: dict[str, Any]) -> dict[str, float]:
    """Loss terms as floats, read from a device in one transfer (a float() each would wait for the
    GPU once per term). Terms that are Python or NumPy numbers already are simply converted."""
    values = list(terms.values())
    if values and all(not isinstance(v, (int, float)) and backend.backend_of(v) != "numpy" for v in values):
        xp = backend.array_module(values[0])
        values = backend.to_numpy(xp.stack(values)).tolist()
    return {key: float(value) for key, value in zip(terms, values)}


def check_finite(values: dict[str, float], model: Any) -> None:
    """Raise FloatingPointError naming the NaN or infinite terms of ``model``'s objective and, when
    the term of its loss (``model.loss_term``) is one of them, why that loss is not finite (which
    reads the arrays again: only on this failure path)."""
    bad = {key: value for key, value in values.items() if not math.isfinite(value)}
    if not bad:
        return
    message = f"{type(model).__name__}: expected finite loss terms, got " + ", ".join(
        f"{key} = {value}" for key, value in bad.items())
    loss = getattr(model, "loss", None)
    if getattr(model, "loss_term", None) in bad and isinstance(loss, Loss) and loss.diagnosis() is not None:
        message += f"; {loss.diagnosis()}"
    raise FloatingPointError(message)
