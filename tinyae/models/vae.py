"""Variational autoencoders: VAE / beta-VAE, and the conditional VAE."""

from __future__ import annotations

from numbers import Integral
from typing import Any

from .. import backend
from ..layers import sigmoid
from ..losses import BCEWithLogitsLoss, MSELoss, gaussian_kl
from ..module import Module, skipping_input_gradient
from ..validation import check_float_array, check_int, check_real, check_same_backend
from .labels import one_hot
from .objective import ObjectiveModel


class VAE(ObjectiveModel):
    r"""Kingma & Welling's variational autoencoder (a beta-VAE when ``beta != 1``).

    The encoder maps x to 2 L numbers, mu (the first L) and logvar (the last L), of
    q(z | x) = N(mu, diag(exp(logvar))). With eps ~ N(0, I) (the reparameterisation):

        z = mu + sigma * eps,     sigma = exp(logvar / 2)

    The decoder maps z to logits l (``reconstruction="bce"``, data in [0, 1]; p = s(l)) or
    to the mean x_hat (``"mse"``). The objective, per sample, summed over features, then
    averaged over the batch (the negative ELBO for beta = 1):

        loss = R + beta * KL,    R = sum_i BCE(s(l_i), x_i)   or   sum_i (x_hat_i - x_i)^2
        KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))

    Backward, with g_z = dR/dz from the decoder's backward pass:

        dloss/dmu     = g_z + beta * mu                              (dz/dmu = 1)
        dloss/dlogvar = g_z * eps * sigma / 2 + beta * (exp(logvar) - 1) / 2
                                                                     (dz/dlogvar = eps sigma / 2)

    (each divided by N for the batch mean). The same eps is used forward and backward.
    ``logvar_clip=c`` clamps logvar to [-c, c] before use (its gradient is 0 where clamped),
    a guard against exp overflow early in training; None (the default) leaves it free.

    ``forward_backward(x, eps=None, labels=None)`` and ``evaluate(...)``: ``eps`` fixes the noise
    (shape (N, L), the backend and dtype of x), e.g. for a gradient check; ``labels`` are the
    conditional VAE's classes.
    """

    def __init__(
        self,
        encoder: Module,
        decoder: Module,
        latent_dim: int,
        beta: float = 1.0,
        reconstruction: str = "bce",
        logvar_clip: float | None = None,
    ) -> None:
        super().__init__()
        if reconstruction not in ("bce", "mse"):
            raise ValueError(f"{type(self).__name__}: reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
        name = type(self).__name__
        self.latent_dim = check_int(name, "latent_dim", latent_dim, minimum=1)
        self.beta = check_real(name, "beta", beta, low=0.0)
        if logvar_clip is not None:
            logvar_clip = check_real(name, "logvar_clip", logvar_clip, low=0.0, low_open=True)
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction, self.logvar_clip = reconstruction, logvar_clip
        self.loss = BCEWithLogitsLoss("sum") if reconstruction == "bce" else MSELoss("sum")
        self.target_range = (0.0, 1.0) if reconstruction == "bce" else None  # BCE's targets are probabilities

    # -- the network ---------------------------------------------------------- #
    def _split(self, h: Any) -> tuple[Any, Any]:
        """mu and logvar from the encoder's output of shape (N, 2 L)."""
        if h.ndim != 2 or h.shape[1] != 2 * self.latent_dim:
            raise ValueError(
                f"{type(self).__name__}: expected the encoder to output (N, {2 * self.latent_dim}) = "
                f"(N, 2 * latent_dim), mu then logvar; got {tuple(h.shape)}"
            )
        mu, logvar = h[:, : self.latent_dim], h[:, self.latent_dim :]
        if self.logvar_clip is not None:
            # clamp as min(max(.)): array-api-compat's clip for CuPy assigns through boolean masks,
            # each of which waits for the GPU
            xp = backend.array_module(h)
            logvar = xp.minimum(xp.maximum(logvar, -self.logvar_clip), self.logvar_clip)
        return mu, logvar

    def _condition(self, labels: Any, like: Any) -> Any:
        """What the encoder and decoder see besides x or z: nothing here (the conditional VAE: the
        one-hot labels, made once per pass)."""
        return None

    def _encoder_input(self, x: Any, condition: Any) -> Any:
        return x

    def _decoder_input(self, z: Any, condition: Any) -> Any:
        return z

    def encode(self, x: Any, labels: Any = None) -> tuple[Any, Any]:
        """(mu, logvar) of q(z | x)."""
        return self._split(self.encoder(self._encoder_input(x, self._condition(labels, x))))

    def decode(self, z: Any, labels: Any = None) -> Any:
        """The decoder's mean: probabilities s(l) for "bce", x_hat for "mse"."""
        out = self.decoder(self._decoder_input(z, self._condition(labels, z)))
        return sigmoid(out) if self.reconstruction == "bce" else out

    def reconstruct(self, x: Any, labels: Any = None) -> Any:
        """decode(mu): the deterministic reconstruction."""
        return self.decode(self.encode(x, labels)[0], labels)

    def forward(self, x: Any, labels: Any = None) -> Any:
        """The deterministic reconstruction, :meth:`reconstruct` (a conditional VAE needs ``labels``)."""
        return self.reconstruct(x, labels)

    def backward(self, grad_out: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}: the VAE's gradient is that of its whole objective; use forward_backward(x)"
        )

    def sample(self, n: int, labels: Any = None) -> Any:
        """n samples decoded from the prior z ~ N(0, I), on the current backend."""
        n = check_int(type(self).__name__, "n", n, minimum=1)
        params = self.decoder.parameters()
        if not params:
            raise ValueError(f"{type(self).__name__}: the decoder has no parameters")
        z = backend.normal((n, self.latent_dim), like=params[0].data)  # the decoder's backend and dtype
        return self.decode(z, labels)

    # -- the objective ---------------------------------------------------------- #
    def _objective(self, x: Any, target: Any, backward: bool, eps: Any = None, labels: Any = None) -> dict[str, Any]:
        name = type(self).__name__  # not the repr: a model's spans many lines
        xp = check_float_array(name, x)
        n = x.shape[0]
        condition = self._condition(labels, x)
        h = self.encoder(self._encoder_input(x, condition))
        mu, logvar = self._split(h)
        if eps is None:
            eps = backend.normal(tuple(mu.shape), like=mu)
        else:
            _check_eps(name, eps, mu)
        sigma = xp.exp(0.5 * logvar)
        z = mu + sigma * eps
        out = self.decoder(self._decoder_input(z, condition))
        rec = self.loss.value(out, target) * (1.0 / n)
        kl, dkl_mu, dkl_logvar = gaussian_kl(mu, logvar, as_array=True)  # already batch-averaged
        if backward:
            grad_z = self.decoder.backward(self.loss.backward() * (1.0 / n))[:, : self.latent_dim]
            dmu = grad_z + self.beta * dkl_mu
            dlogvar = grad_z * eps * sigma * 0.5 + self.beta * dkl_logvar
            if self.logvar_clip is not None:  # clamped entries do not move logvar
                raw = h[:, self.latent_dim :]
                dlogvar = dlogvar * xp.astype(xp.abs(raw) <= self.logvar_clip, dlogvar.dtype)
            with skipping_input_gradient(self.encoder):  # the data need no gradient
                self.encoder.backward(xp.concat([dmu, dlogvar], axis=1))
        return {"loss": rec + self.beta * kl, "reconstruction": rec, "kl": kl}


def _check_eps(owner: str, eps: Any, mu: Any) -> None:
    """eps must match mu in shape, backend and dtype (mixing them fails deep in the array library)."""
    check_float_array(owner, eps, what="eps")
    if tuple(eps.shape) != tuple(mu.shape):
        raise ValueError(f"{owner}: expected eps of shape {tuple(mu.shape)}, got {tuple(eps.shape)}")
    check_same_backend(owner, eps, mu, what="the model", subject="eps")
    if eps.dtype != mu.dtype:
        want, seen = backend.numpy_dtype(mu).name, backend.numpy_dtype(eps).name
        raise TypeError(f"{owner}: expected eps of dtype {want} (the model's), got {seen}")


class ConditionalVAE(VAE):
    r"""A VAE whose encoder and decoder also see the class: q(z | x, y) and p(x | z, y).

    The one-hot label y (``num_classes`` long) is concatenated to the encoder's input
    [x, y] and to the decoder's input [z, y]; so the encoder's first layer takes
    d + C inputs and the decoder's L + C. Everything else is the VAE. Generating a
    chosen class: ``sample(n, labels)`` decodes [z, y] with z ~ N(0, I).
    Inputs are flat, (N, d).
    """

    def __init__(self, encoder: Module, decoder: Module, latent_dim: int, num_classes: int, **kw: Any) -> None:
        super().__init__(encoder, decoder, latent_dim, **kw)
        self.num_classes = check_int("ConditionalVAE", "num_classes", num_classes, minimum=2)

    def one_hot(self, labels: Any, like: Any) -> Any:
        """(N, C) one-hot rows for integer labels in [0, C), on the backend and dtype of ``like``."""
        return one_hot(labels, self.num_classes, like, owner="ConditionalVAE")

    def _condition(self, labels: Any, like: Any) -> Any:
        return self.one_hot(labels, like)  # once per pass: one copy of the labels to the device

    def _encoder_input(self, x: Any, condition: Any) -> Any:
        return backend.array_module(x).concat([x, condition], axis=1)

    def _decoder_input(self, z: Any, condition: Any) -> Any:
        return backend.array_module(z).concat([z, condition], axis=1)

    def sample(self, n: int, labels: Any = None) -> Any:
        """n samples of the given classes (an int for all, or n integer labels)."""
        if isinstance(labels, Integral):  # one class for all n (numpy integers included)
            labels = [int(labels)] * n
        return super().sample(n, labels)
