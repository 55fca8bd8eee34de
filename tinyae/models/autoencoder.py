"""Deterministic autoencoders: plain, denoising, sparse and contractive.

Every model computes its whole objective and its gradient in one readable method,
``_objective``; ``forward_backward`` runs it with the backward pass (gradients are
accumulated into the parameters), ``evaluate`` without. Both return the loss
terms as Python floats: ``"loss"`` always, and ``"reconstruction"``, ``"sparsity"``,
``"contractive"`` ... as they apply; ``objective_terms`` returns them as arrays on the
device (:mod:`tinyae.models.objective`).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..layers import Dense, Flatten, Reshape, Sigmoid
from ..losses import BCELoss, BCEWithLogitsLoss, MaskedMSELoss, MSELoss, kl_sparsity, l1_penalty
from ..module import Module, Sequential, leaves, skipping_input_gradient
from ..validation import check_float_array, check_real
from .objective import ObjectiveModel

# "masked_mse": squared error over the entries whose target is not 0 (ratings, 0 = not rated: AutoRec)
RECONSTRUCTION_LOSSES = {"mse": MSELoss, "bce": BCELoss, "masked_mse": MaskedMSELoss}


class Autoencoder(ObjectiveModel):
    r"""x -> encoder -> code h -> decoder -> reconstruction x_hat; minimise L(x_hat, x).

    ``loss="mse"``: L = mean (x_hat - x)^2 over all elements.
    ``loss="bce"``: binary cross-entropy on a decoder that ends in a Sigmoid (data in [0, 1]).
    ``loss="masked_mse"``: mean (x_hat - x)^2 over the observed entries, x != 0 (ratings with 0 for
    "not rated", AutoRec: :class:`~tinyae.losses.MaskedMSELoss`).
    Undercomplete or overcomplete is decided by the sizes of the encoder and decoder.

    The Sigmoid folded into the loss: with ``loss="bce"`` and a decoder whose last layer is a
    Sigmoid, x_hat = s(l), training computes BCE(s(l), x) from the logits l as
    ``BCEWithLogitsLoss`` does (softplus(l) - x l), whose gradient dL/dl = (s(l) - x) / n is
    the Sigmoid's backward and BCE's in one (docs/bce.md): exact for saturated units, with no
    floored logs of probabilities and no division. ``forward`` still returns x_hat = s(l).

    Backward: g = dL/dx_hat; dL/dh = decoder.backward(g); encoder.backward(dL/dh). During the
    encoder's backward pass its first layer with parameters has ``needs_input_grad = False``
    (:meth:`encoder_backward`): its input is the data, whose gradient nobody needs, so it skips
    dL/dx (a third of its work).
    """

    def __init__(self, encoder: Module, decoder: Module, loss: str = "mse") -> None:
        super().__init__()
        if loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"{type(self).__name__}: loss must be one of {sorted(RECONSTRUCTION_LOSSES)}, got {loss!r}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.loss_name = loss
        self.folds_sigmoid = loss == "bce" and type(_last_leaf(decoder)) is Sigmoid
        self.loss = BCEWithLogitsLoss() if self.folds_sigmoid else RECONSTRUCTION_LOSSES[loss]()
        self.target_range = (0.0, 1.0) if loss == "bce" else None  # BCE's targets are probabilities

    # -- the network ---------------------------------------------------------- #
    def encode(self, x: Any) -> Any:
        return self.encoder(x)

    def decode(self, h: Any) -> Any:
        return self.decoder(h)

    def forward(self, x: Any) -> Any:
        return self.decoder(self.encoder(x))

    def backward(self, grad_out: Any) -> Any:
        return self.encoder.backward(self.decoder.backward(grad_out))

    def reconstruct(self, x: Any) -> Any:
        return self.forward(x)

    # -- the objective ---------------------------------------------------------- #
    def reconstruction(self, h: Any, target: Any, backward: bool) -> tuple[Any, Any]:
        """(L(decoder(h), target), dL/dh): the reconstruction loss of the code h, and its gradient
        through the decoder when ``backward`` (else None). With the Sigmoid folded into the loss,
        the decoder's layers before it give the logits, and the loss is BCE with logits."""
        if not self.folds_sigmoid:
            value = self.loss.value(self.decoder(h), target)
            return value, self.decoder.backward(self.loss.backward()) if backward else None
        layers = list(leaves(self.decoder))[:-1]  # all but the final Sigmoid
        for layer in layers:
            h = layer(h)
        value = self.loss.value(h, target)  # h is now the logits l
        if not backward:
            return value, None
        grad = self.loss.backward()  # dL/dl = (s(l) - target) / n
        for layer in reversed(layers):
            grad = layer.backward(grad)
        return value, grad

    def encoder_backward(self, grad_h: Any) -> None:
        """encoder.backward(dL/dh), without dL/dx: the encoder's input is the data."""
        with skipping_input_gradient(self.encoder):
            self.encoder.backward(grad_h)

    def _objective(self, x: Any, target: Any, backward: bool) -> dict[str, Any]:
        rec, grad_h = self.reconstruction(self.encoder(x), target, backward)
        if backward:
            self.encoder_backward(grad_h)
        return {"loss": rec, "reconstruction": rec}


def _last_leaf(module: Module) -> Module | None:
    layers = list(leaves(module))
    return layers[-1] if layers else None


def _code_layer(encoder: Module) -> Module | None:
    """The encoder's last layer that computes something (Flatten and Reshape only rearrange it)."""
    layers = [layer for layer in leaves(encoder) if not isinstance(layer, (Flatten, Reshape))]
    return layers[-1] if layers else None


NOISES = ("gaussian", "masking", "salt_pepper")


class DenoisingAutoencoder(Autoencoder):
    r"""Reconstruct the clean x from a corrupted x~ (in training only): minimise L(g(f(x~)), x).

    ``noise="gaussian"``: x~ = x + sigma eps, eps ~ N(0, 1), sigma = ``noise_level``, then clipped
    to ``clip`` (the data range; default [0, 1], None for no clipping).
    ``noise="masking"``: each input set to 0 with probability ``noise_level``.
    ``noise="salt_pepper"``: each input set, with probability ``noise_level``, to 0 or 1 (even odds).

    The corruption is not differentiated: it only changes the input the encoder sees.
    In eval mode (``model.eval()``) there is no corruption.
    """

    def __init__(
        self,
        encoder: Module,
        decoder: Module,
        loss: str = "mse",
        noise: str = "gaussian",
        noise_level: float = 0.3,
        clip: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        super().__init__(encoder, decoder, loss)
        if noise not in NOISES:
            raise ValueError(f"DenoisingAutoencoder: noise must be one of {NOISES}, got {noise!r}")
        # sigma for Gaussian noise, a probability for the others
        noise_level = check_real("DenoisingAutoencoder", f"noise_level (noise={noise!r})", noise_level, low=0.0,
                                 high=None if noise == "gaussian" else 1.0)
        if clip is not None:
            low, high = (check_real("DenoisingAutoencoder", "clip", bound) for bound in clip)
            if not low < high:
                raise ValueError(f"DenoisingAutoencoder: clip must be (low, high) with low < high, got {clip!r}")
            clip = (low, high)
        self.noise, self.noise_level, self.clip = noise, noise_level, clip

    def corrupt(self, x: Any) -> Any:
        """A corrupted copy of x, with noise from the backend's generator."""
        xp = check_float_array(type(self).__name__, x)  # the name: a model's repr spans many lines
        level = self.noise_level
        if self.noise == "gaussian":
            noisy = x + level * backend.normal(tuple(x.shape), like=x)
            if self.clip is None:
                return noisy
            # clip as min(max(.)): array-api-compat's clip for CuPy assigns through boolean masks,
            # each of which waits for the GPU
            return xp.minimum(xp.maximum(noisy, self.clip[0]), self.clip[1])
        u = backend.uniform(tuple(x.shape), like=x)
        if self.noise == "masking":
            return x * xp.astype(u >= level, x.dtype)
        # salt and pepper: u < level/2 -> 0, level/2 <= u < level -> 1, else unchanged
        pepper, salt = u < level / 2, (u >= level / 2) & (u < level)
        return xp.where(salt, 1.0, xp.where(pepper, 0.0, x))

    def _objective(self, x: Any, target: Any, backward: bool, corrupted: Any = None) -> dict[str, Any]:
        """``corrupted`` fixes x~ (e.g. for a gradient check); by default it is drawn in training."""
        if corrupted is None:
            corrupted = self.corrupt(x) if self.training else x
        return super()._objective(corrupted, target, backward)


class SparseAutoencoder(Autoencoder):
    r"""An autoencoder with a sparsity penalty on its code h = f(x): L(g(h), x) + weight * P(h).

    ``penalty="l1"``: P = (1/N) sum |h|  (any code activation).
    ``penalty="kl"``: P = sum_j KL(rho || rho_hat_j) with rho = ``target`` and rho_hat_j the mean
    activation of unit j over the batch (Ng's sparse autoencoder; needs a Sigmoid code).

    Backward: dL/dh = decoder.backward(dL/dx_hat) + weight * dP/dh, then encoder.backward.
    """

    def __init__(
        self,
        encoder: Module,
        decoder: Module,
        loss: str = "mse",
        penalty: str = "l1",
        weight: float = 1e-3,
        target: float = 0.05,
    ) -> None:
        super().__init__(encoder, decoder, loss)
        if penalty not in ("l1", "kl"):
            raise ValueError(f"SparseAutoencoder: penalty must be 'l1' or 'kl', got {penalty!r}")
        if penalty == "kl" and not isinstance(_code_layer(encoder), Sigmoid):
            # the KL is defined for mean activations in (0, 1); a Sigmoid code guarantees them
            raise ValueError(f"SparseAutoencoder: penalty='kl' needs a code in (0, 1): the encoder must end "
                             f"in a Sigmoid, got {encoder!r}")
        self.weight = check_real("SparseAutoencoder", "weight", weight, low=0.0)
        self.target = check_real("SparseAutoencoder", "target", target, low=0.0, high=1.0, low_open=True,
                                 high_open=True)
        self.penalty = penalty

    def sparsity(self, h: Any) -> tuple[Any, Any]:
        """(P(h), dP/dh) for the chosen penalty, P a 0-d array."""
        if self.penalty == "l1":
            return l1_penalty(h, as_array=True)
        return kl_sparsity(h, self.target, as_array=True)

    def _objective(self, x: Any, target: Any, backward: bool) -> dict[str, Any]:
        h = self.encoder(x)
        rec, grad_h = self.reconstruction(h, target, backward)
        penalty, dpenalty = self.sparsity(h)
        if backward:
            self.encoder_backward(grad_h + self.weight * dpenalty)
        return {"loss": rec + self.weight * penalty, "reconstruction": rec, "sparsity": penalty}


class ContractiveAutoencoder(Autoencoder):
    r"""Rifai et al.'s contractive autoencoder: L(g(h), x) + weight * ||J_f(x)||_F^2, averaged over the batch.

    The encoder must be one sigmoid layer, h = s(x W + b), W of shape (d, k). Its Jacobian is
    J[j, i] = dh_j/dx_i = h_j (1 - h_j) W_ij, so with a_nj = h_nj (1 - h_nj) and s_j = sum_i W_ij^2:

        C = (1/N) sum_n ||J_n||_F^2 = (1/N) sum_n sum_j a_nj^2 s_j

    Its gradient has two paths (derivation in docs/):

        through W's norms:  dC/dW_ij = (2/N) W_ij sum_n a_nj^2
        through h:          dC/dh_nj = (2/N) a_nj s_j (1 - 2 h_nj)        (da/dh = 1 - 2h)

    The second is added to dL/dh and sent back through the encoder (sigmoid, then dense),
    which turns it into the W and b terms of the chain rule.
    """

    def __init__(self, encoder: Module, decoder: Module, loss: str = "mse", weight: float = 0.1) -> None:
        super().__init__(encoder, decoder, loss)
        layers = list(encoder) if isinstance(encoder, Sequential) else []
        if len(layers) != 2 or not isinstance(layers[0], Dense) or not isinstance(layers[1], Sigmoid):
            raise ValueError(
                "ContractiveAutoencoder: the encoder must be Sequential(Dense(d, k), Sigmoid()), "
                f"got {encoder!r}"
            )
        self.weight = check_real("ContractiveAutoencoder", "weight", weight, low=0.0)

    def contractive_penalty(self, h: Any) -> tuple[Any, Any, Any]:
        """(C, dC/dh, dC/dW) for the code h = s(x W + b) of the current batch."""
        xp = backend.array_module(h)
        w = self.encoder[0].weight.data
        n = h.shape[0]
        a = h * (1.0 - h)  # (N, k)
        s = xp.sum(w * w, axis=0)  # (k,): squared norm of each code unit's weights
        value = xp.sum((a * a) * s) * (1.0 / n)
        grad_h = (2.0 / n) * a * s * (1.0 - 2.0 * h)
        grad_w = (2.0 / n) * w * xp.sum(a * a, axis=0)
        return value, grad_h, grad_w

    def _objective(self, x: Any, target: Any, backward: bool) -> dict[str, Any]:
        h = self.encoder(x)
        rec, grad_rec = self.reconstruction(h, target, backward)
        penalty, grad_h, grad_w = self.contractive_penalty(h)
        if backward:
            self.encoder_backward(grad_rec + self.weight * grad_h)
            self.encoder[0].weight.grad += self.weight * grad_w
        return {"loss": rec + self.weight * penalty, "reconstruction": rec, "contractive": penalty}
