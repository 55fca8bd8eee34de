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


class MaskedMSELoss(Loss):
    r"""Squared error over the observed entries only (AutoRec's loss, docs/masked-mse.md).

    An entry is observed where the target is not the ``missing`` marker (MovieLens' convention:
    ratings 1-5, 0 = not rated). With the mask m_i = [t_i != missing] and n_obs = sum_i m_i:

        "mean": L = (1/n_obs) sum_i m_i (p_i - t_i)^2,   dL/dp_i = 2 m_i (p_i - t_i) / n_obs
        "sum":  L = sum_i m_i (p_i - t_i)^2,             dL/dp_i = 2 m_i (p_i - t_i)

    A missing entry adds nothing to L and gets a zero gradient, whatever the prediction there.
    "mean" divides by the observed entries, not by all n (MSE over everything would train the
    network to predict the 0s, i.e. "not rated", as ratings).

    No observed entry: the "sum" is 0 (an empty sum); the "mean" is 0/0. n_obs stays an array on
    the device (checking it would wait for a GPU at every step), and 1/n_obs is made NaN when it is
    0, so the value and the gradient are NaN: fit's NaN guard stops training and its message says
    why (:meth:`_diagnosis`); ``loss(pred, target)``, which reads the value anyway, raises
    ValueError.
    """

    def __init__(self, reduction: str = "mean", missing: float = 0.0) -> None:
        from .validation import check_real

        super().__init__(reduction)
        # NaN as the marker would never match (NaN != NaN): refused, as fit refuses NaN data
        self.missing = check_real(type(self).__name__, "missing (the marker of an unobserved entry)", missing)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r}, missing={self.missing!r})"

    def __call__(self, pred: Any, target: Any) -> float:
        try:
            return super().__call__(pred, target)
        except FloatingPointError:
            if self.reduction == "mean" and _count_observed(backend.array_module(target), target, self.missing) == 0:
                raise ValueError(f"{self!r}: {self._none_observed(target)}") from None
            raise

    def _scale(self, pred: Any) -> float:
        return 1.0  # "mean" divides by n_obs, an array on the device: in value_and_grad

    def value_and_grad(self, xp: Any, pred: Any, target: Any, scale: float) -> tuple[Any, Any]:
        observed = target != self.missing  # m_i
        r = xp.where(observed, pred - target, 0.0)  # m_i (p_i - t_i): 0 where missing, whatever p_i
        total = xp.sum(r * r)
        if self.reduction == "sum":
            return total, 2.0 * r
        n_obs = xp.sum(xp.astype(observed, pred.dtype))  # exact in float32 up to 2^24 entries
        inv = xp.where(n_obs > 0, 1.0 / xp.maximum(n_obs, 1.0), math.nan)  # 1/n_obs; 0/0 as NaN, no warning
        return total * inv, (2.0 * inv) * r

    def _none_observed(self, target: Any) -> str:
        return (f"expected at least one observed entry (target != {self.missing:g}), got none in a target of shape "
                f"{tuple(target.shape)}: the mean over observed entries is 0/0. Drop rows with no observed entry, "
                f"or use larger batches")

    def _diagnosis(self, xp: Any, pred: Any, target: Any) -> str:
        if self.reduction == "mean" and _count_observed(xp, target, self.missing) == 0:
            return self._none_observed(target)
        return super()._diagnosis(xp, pred, target)


def _count_observed(xp: Any, target: Any, missing: float) -> int:
    """How many entries of target are not the missing marker (reads the device: failure path only)."""
    return int(xp.sum(xp.astype(target != missing, xp.int64)))


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


class SoftmaxCrossEntropyLoss(Loss):
    r"""Softmax cross-entropy on logits z of shape (N, C), against target probabilities t (N, C):

        softmax(z_n)_c = e^{z_nc} / sum_k e^{z_nk}                   p_nc, the class probabilities
        log p_nc = (z_nc - m_n) - log sum_k e^{z_nk - m_n}            m_n = max_k z_nk (log-sum-exp)
        "mean": L = -(1/N) sum_n sum_c t_nc log p_nc,   dL/dz_nc = (p_nc - t_nc) / N
        "sum":  L =      - sum_n sum_c t_nc log p_nc,   dL/dz_nc =  p_nc - t_nc

    The target is a row of probabilities per sample (one-hot for a hard label, or soft), of the
    logits' shape and dtype: that is what fits the ``loss(pred, target)`` interface of the other
    losses. Integer class labels are made one-hot by :class:`tinyae.models.classifier.Classifier`
    (or ``tinyae.models.labels.one_hot``).

    "mean" divides by the N samples, not by the N * C elements as :class:`MSELoss` does: the usual
    convention for a classifier (PyTorch's ``CrossEntropyLoss`` averages over the batch), so that
    the loss is the mean negative log-likelihood per sample, whatever the number of classes.

    Subtracting the row max m_n changes nothing (softmax is shift invariant) but keeps every
    exponent <= 0: no overflow for logits of any size (e.g. +-1e4), and sum_k e^{z_nk - m_n} >= 1,
    so its log is finite. Value and gradient share the softmax, so both are computed at the call.

    The gradient in general is p_nc sum_k t_nk - t_nc (docs/softmax-cross-entropy.md), which is
    p - t for targets whose rows sum to 1; the code uses the general form, so a target that is not
    normalised (a row of zeros, say) still gets the gradient of the value it is given.
    """

    def value(self, pred: Any, target: Any) -> Any:
        check_float_array(self, pred, ndim=2, what="logits array (N, C)")  # the softmax runs along axis 1
        return super().value(pred, target)

    def _scale(self, pred: Any) -> float:
        """dL/d(sum_c l_nc): 1/N for "mean" (N samples, not N * C elements), 1 for "sum"."""
        return 1.0 / pred.shape[0] if self.reduction == "mean" else 1.0

    def value_and_grad(self, xp: Any, pred: Any, target: Any, scale: float) -> tuple[Any, Any]:
        shifted = pred - xp.max(pred, axis=1, keepdims=True)  # z_nc - m_n <= 0
        e = xp.exp(shifted)
        row_sum = xp.sum(e, axis=1, keepdims=True)  # sum_k e^{z_nk - m_n}, in [1, C]
        log_p = shifted - xp.log(row_sum)  # log softmax
        total = -xp.sum(target * log_p)
        p = e / row_sum  # softmax
        grad = (p * xp.sum(target, axis=1, keepdims=True) - target) * scale  # (p - t) / N for rows summing to 1
        return total, grad

    def _diagnosis(self, xp: Any, pred: Any, target: Any) -> str:
        if _count_nonfinite(xp, pred) or _count_nonfinite(xp, target):
            return super()._diagnosis(xp, pred, target)
        # finite inputs, a loss that is not: z - max(z), or t log p, overflowed the dtype
        return (f"the logits and targets are finite but the loss is not: z - max(z) or t log p overflowed "
                f"{backend.numpy_dtype(pred)} (logits in [{float(xp.min(pred)):.4g}, {float(xp.max(pred)):.4g}], "
                f"targets in [{float(xp.min(target)):.4g}, {float(xp.max(target)):.4g}])")


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
