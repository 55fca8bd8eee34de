"""Losses: each gives its value and its gradient with respect to the prediction.

A loss object is called as ``value = loss(pred, target)`` (a Python float) and then
``loss.backward()`` returns dL/dpred, the array that starts the backward pass.
``loss.value(pred, target)`` is the same value as a 0-d array on the prediction's backend: the
models use it, because turning a GPU number into a Python float waits for the GPU (a sync), and
``fit`` reads all the terms of a step at once.

A loss is defined element by element: ``elementwise`` gives l_i and ``elementwise_grad``
dl_i/dp_i. A loss whose value and gradient share their work (MSE's difference p - t, the
exponential of BCE with logits) computes both at the call instead, in ``value_and_grad``.

Notation: p = prediction, t = target, n = number of elements (for "mean").
"""

from __future__ import annotations

import math
from typing import Any

from . import backend, kernels
from .validation import check_float_array, check_not_empty, check_same_backend

REDUCTIONS = ("mean", "sum")

# BCE's logs are floored at -100 (kernels.LOG_FLOOR), as PyTorch does, so that BCE at p = 0 or 1
# is finite; the gradient's denominator p (1 - p) is floored at 1e-12 for the same reason.
_BCE_GRAD_EPS = 1e-12


class Loss:
    """Base class: input checks, reduction, the forward cache and the NaN guard."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self._cache: tuple[Any, Any] | None = None
        self._grad: Any = None  # dL/dpred, when value_and_grad computed it with the value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def __call__(self, pred: Any, target: Any) -> float:
        """L(pred, target) as a Python float; a NaN or infinite loss raises FloatingPointError."""
        value = float(self.value(pred, target))
        if not math.isfinite(value):
            self._cache, self._grad = None, None  # no gradient of a failed call to hand over
            why = self._diagnosis(backend.array_module(pred), pred, target)
            raise FloatingPointError(f"{self!r}: expected a finite loss, got {value}: {why}")
        return value

    def value(self, pred: Any, target: Any) -> Any:
        """L(pred, target) as a 0-d array on pred's backend, not read back to the host and not
        checked for NaN (whoever reads it checks: ``loss(pred, target)``, or fit once per step).
        The gradient is kept for :meth:`backward`."""
        xp = check_float_array(self, pred, what="prediction")
        check_float_array(self, target, what="target")
        if tuple(pred.shape) != tuple(target.shape):
            raise ValueError(
                f"{self!r}: expected prediction and target of the same shape, got "
                f"{tuple(pred.shape)} and {tuple(target.shape)}"
            )
        if math.prod(pred.shape) == 0:  # a mean over no elements is 0/0
            raise ValueError(f"{self!r}: expected at least one element, got a prediction of shape {tuple(pred.shape)}")
        if backend.backend_of(pred) != backend.backend_of(target):
            raise TypeError(
                f"{self!r}: prediction is a {backend.backend_of(pred)!r} array but target is "
                f"{backend.backend_of(target)!r}; move one with tinyae.to_backend"
            )
        if pred.dtype != target.dtype:  # NumPy would compute dL/dpred in the wider one, and the layers'
            # `p.grad += ...` would round it back without a word
            raise TypeError(
                f"{self!r}: prediction is {pred.dtype} but target is {target.dtype}; convert the target, "
                f"e.g. tinyae.to_backend(target, dtype=pred.dtype)"
            )
        self._cache, self._grad = None, None  # until this call succeeds
        scale = self._scale(pred)
        total, grad = self.value_and_grad(xp, pred, target, scale)
        self._cache, self._grad = (pred, target), grad
        return total * scale

    def diagnosis(self) -> str | None:
        """Why the last :meth:`value` was not finite, from the prediction and target it kept (None
        before any); it reads the arrays, so it is for the failure path (fit's NaN guard)."""
        if self._cache is None:
            return None
        pred, target = self._cache
        return f"{self!r}: {self._diagnosis(backend.array_module(pred), pred, target)}"

    def _diagnosis(self, xp: Any, pred: Any, target: Any) -> str:
        """Why the loss is not finite (only computed once it is not: it reads the arrays)."""
        return (f"the prediction has {_count_nonfinite(xp, pred)} NaN/inf entries and the target "
                f"{_count_nonfinite(xp, target)} (of {math.prod(pred.shape)})")

    def backward(self) -> Any:
        """dL/dpred for the last call, same shape and dtype as the prediction (a new array each time)."""
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward() was called before the loss was computed")
        grad, self._grad = self._grad, None  # the one computed with the value is handed over once
        if grad is None:  # left to backward, or asked for again
            pred, target = self._cache
            xp, scale = backend.array_module(pred), self._scale(pred)
            grad = self.value_and_grad(xp, pred, target, scale)[1]
            if grad is None:
                grad = self.elementwise_grad(xp, pred, target)  # a new array: scaled in place
                if scale != 1.0:
                    grad *= scale
        return grad

    def _scale(self, pred: Any) -> float:
        """dL/dl_i: 1/n for "mean" (n elements), 1 for "sum"."""
        return 1.0 / math.prod(pred.shape) if self.reduction == "mean" else 1.0

    def value_and_grad(self, xp: Any, pred: Any, target: Any, scale: float) -> tuple[Any, Any]:
        """(sum_i l_i as a 0-d array, dL/dpred or None). The default sums ``elementwise`` and leaves
        the gradient to :meth:`backward`; ``scale`` (1/n for "mean", else 1) is dL/dl_i, for a
        subclass that computes the gradient here: dL/dp_i = scale * dl_i/dp_i."""
        return xp.sum(self.elementwise(xp, pred, target)), None

    def elementwise(self, xp: Any, pred: Any, target: Any) -> Any:  # pragma: no cover
        """l_i for every element i."""
        raise NotImplementedError

    def elementwise_grad(self, xp: Any, pred: Any, target: Any) -> Any:  # pragma: no cover
        """dl_i/dpred_i for every element i, as a new array (backward scales it in place)."""
        raise NotImplementedError


class MSELoss(Loss):
    r"""Squared error: l_i = (p_i - t_i)^2; dl_i/dp_i = 2 (p_i - t_i).

    "mean": L = (1/n) sum_i l_i, dL/dp = 2 (p - t) / n.   "sum": L = sum_i l_i.
    The value and the gradient share the difference p - t, so both are computed at the call.
    """

    def value_and_grad(self, xp: Any, pred: Any, target: Any, scale: float) -> tuple[Any, Any]:
        diff = pred - target
        return xp.sum(diff * diff), (2.0 * scale) * diff


class BCELoss(Loss):
    r"""Binary cross-entropy on probabilities p in [0, 1]:

        l_i = -[t_i log p_i + (1 - t_i) log(1 - p_i)]
        dl_i/dp_i = (p_i - t_i) / (p_i (1 - p_i))

    Safe at p exactly 0 or 1: each log is floored at -100 and the gradient's
    denominator at 1e-12 (PyTorch's choices), so value and gradient stay finite.
    Prefer :class:`BCEWithLogitsLoss` on logits when you can: it needs no floors.
    """

    def elementwise(self, xp: Any, pred: Any, target: Any) -> Any:
        return kernels.bce(pred, target)

    def elementwise_grad(self, xp: Any, pred: Any, target: Any) -> Any:
        return (pred - target) / xp.maximum(pred * (1.0 - pred), _BCE_GRAD_EPS)

    def _diagnosis(self, xp: Any, pred: Any, target: Any) -> str:
        # log p and log(1 - p) are NaN outside [0, 1]: a prediction that is not a probability
        low, high = float(xp.min(pred)), float(xp.max(pred))
        if low < 0.0 or high > 1.0:
            return (f"expected predictions in [0, 1] (probabilities, e.g. after a Sigmoid; for logits use "
                    f"BCEWithLogitsLoss), got values in [{low:.4g}, {high:.4g}]")
        return super()._diagnosis(xp, pred, target)


class BCEWithLogitsLoss(Loss):
    r"""Binary cross-entropy on logits z, with p = s(z) the sigmoid:

        l_i = -[t log s(z) + (1 - t) log(1 - s(z))] = softplus(z) - t z
        softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^{-|z|})   (never overflows)
        dl_i/dz_i = s(z_i) - t_i

    Finite and exact for logits of any size (e.g. +-1e4), unlike BCE after a sigmoid. The value
    and the gradient share e^{-|z|}: the kernel :func:`tinyae.kernels.bce_with_logits` computes
    both at the call.
    """

    def value_and_grad(self, xp: Any, pred: Any, target: Any, scale: float) -> tuple[Any, Any]:
        return kernels.bce_with_logits(pred, target, scale)


def gaussian_kl(mu: Any, logvar: Any, *, as_array: bool = False) -> tuple[Any, Any, Any]:
    r"""KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent dims, averaged over the batch.

    For one sample with latent dimensions j (derivation in docs/):

        KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))
        dKL/dmu_j     = mu_j
        dKL/dlogvar_j = (exp(logvar_j) - 1) / 2

    With the batch mean over N samples, both gradients are divided by N.
    Returns ``(kl, dkl/dmu, dkl/dlogvar)``; mu and logvar have shape (N, latent). kl is a Python
    float (a NaN or infinite KL raises FloatingPointError); with ``as_array=True`` it is a 0-d array
    on mu's backend, unread and unchecked (the models' path: :meth:`Loss.value` says why).
    """
    owner = "gaussian_kl"
    xp = check_float_array(owner, mu, ndim=2, what="mu")
    check_float_array(owner, logvar, ndim=2, what="logvar")
    check_same_backend(owner, logvar, mu, what="mu", subject="logvar")
    if tuple(mu.shape) != tuple(logvar.shape):
        raise ValueError(
            f"{owner}: expected mu and logvar of the same shape (N, latent), got "
            f"{tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    check_not_empty(owner, mu, "mu")
    n = mu.shape[0]
    var = xp.exp(logvar)
    kl = xp.sum(1.0 + logvar - mu * mu - var) * (-0.5 / n)
    grads = mu * (1.0 / n), (var - 1.0) * (0.5 / n)
    if as_array:
        return kl, *grads
    kl = float(kl)
    if not math.isfinite(kl):
        raise FloatingPointError(
            f"{owner}: expected a finite KL, got {kl}: mu has {_count_nonfinite(xp, mu)} and "
            f"logvar {_count_nonfinite(xp, logvar)} NaN/inf entries, or exp(logvar) overflowed"
        )
    return kl, *grads


def _count_nonfinite(xp: Any, a: Any) -> int:
    return int(xp.sum(xp.astype(~xp.isfinite(a), xp.int64)))


# --------------------------------------------------------------------------- #
# Penalties on code activations h of shape (N, k): each returns (value, dP/dh).
# l1_penalty is averaged over the batch; kl_sparsity is the KL of the batch-mean activation,
# summed over units.
# --------------------------------------------------------------------------- #
def l1_penalty(h: Any, *, as_array: bool = False) -> tuple[Any, Any]:
    r"""L1 sparsity: P = (1/N) sum_n sum_j |h_nj|;  dP/dh_nj = sign(h_nj) / N (0 at h = 0).

    P is a Python float, or with ``as_array=True`` a 0-d array on h's backend (see :meth:`Loss.value`).
    """
    xp = check_float_array("l1_penalty", h, ndim=2, what="code")
    check_not_empty("l1_penalty", h, "a code")
    n = h.shape[0]
    # sign(h) = [h > 0] - [h < 0]: the array-API-compat sign for CuPy fixes up NaNs with a boolean
    # mask assignment, which waits for the GPU; comparisons and casts do not
    sign = xp.astype(h > 0, h.dtype) - xp.astype(h < 0, h.dtype)
    value = xp.sum(xp.abs(h)) * (1.0 / n)
    return (value if as_array else float(value)), sign * (1.0 / n)


def kl_sparsity(h: Any, target: float, *, as_array: bool = False) -> tuple[Any, Any]:
    r"""Ng's sparsity penalty on mean activations in (0, 1) (a sigmoid code):

        rho_hat_j = (1/N) sum_n h_nj                     mean activation of unit j
        P = sum_j KL(rho || rho_hat_j)
          = sum_j [rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))]
        dP/dh_nj = (1/N) (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j))

    (every sample's h_nj enters rho_hat_j with weight 1/N, hence the 1/N.)
    P is a Python float, and mean activations outside (0, 1) raise ValueError. With
    ``as_array=True`` P is a 0-d array on h's backend and the range is not checked (reading it would
    sync a GPU): outside (0, 1) a log makes P NaN, which the reader sees (SparseAutoencoder
    guarantees the range by requiring a Sigmoid code).
    """
    owner = "kl_sparsity"
    xp = check_float_array(owner, h, ndim=2, what="code")
    check_not_empty(owner, h, "a code")
    if not 0.0 < target < 1.0:
        raise ValueError(f"{owner}: the target activation rho must be in (0, 1), got {target!r}")
    rho_hat = xp.mean(h, axis=0)
    if not as_array and (float(xp.min(rho_hat)) <= 0.0 or float(xp.max(rho_hat)) >= 1.0):
        raise ValueError(
            f"{owner}: expected mean code activations strictly inside (0, 1) (use a Sigmoid code layer), "
            f"got a range of [{float(xp.min(rho_hat)):.3g}, {float(xp.max(rho_hat)):.3g}]"
        )
    rho = target
    value = xp.sum(rho * xp.log(rho / rho_hat) + (1.0 - rho) * xp.log((1.0 - rho) / (1.0 - rho_hat)))
    per_unit = -rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat)  # shape (k,), broadcast over the batch
    grad = xp.broadcast_to(per_unit * (1.0 / h.shape[0]), tuple(h.shape))
    return (value if as_array else float(value)), grad
