r"""PyTorch interop: :func:`to_torch` exports a tinyae model, :func:`from_torch` brings weights back.

tinyae never depends on PyTorch: torch is imported inside these functions only (and on the first
use of the exported model classes, ``tinyae.interop.TorchAutoencoder`` and friends).

The one rule to remember: tinyae's Dense is the textbook ``y = x W + b`` with W of shape
(in, out); ``torch.nn.Linear`` computes ``y = x A^T + b`` with A of shape (out, in). So

    Linear.weight = Dense.weight.T          (and the biases are the same vector)

Every other weight has the same layout on both sides: tinyae's convolutions follow PyTorch's.

===========================================  ==================================================
tinyae                                       PyTorch
===========================================  ==================================================
``Dense(in, out)``                           ``nn.Linear(in, out)``, weight transposed
``Conv2D(in, out, k, s, p)``                 ``nn.Conv2d(in, out, k, s, p)``, (out, in, kh, kw)
``ConvTranspose2D(in, out, k, s, p, op)``    ``nn.ConvTranspose2d(in, out, k, s, p, op)``, (in, out, kh, kw)
``MaxPool2D(k, s)``                          ``nn.MaxPool2d(k, s)``
``Upsample2D(s)``                            ``nn.Upsample(scale_factor=s, mode="nearest")``
``ReLU``, ``Sigmoid``, ``Tanh``              ``nn.ReLU``, ``nn.Sigmoid``, ``nn.Tanh``
``LeakyReLU(a)``                             ``nn.LeakyReLU(a)``
``Dropout(p)``                               ``nn.Dropout(p)``
``Flatten()``                                ``nn.Flatten()``
``Reshape(*shape)``                          ``nn.Unflatten(1, shape)``
``Sequential``                               ``nn.Sequential`` (nested ones nested)
``Autoencoder`` and its three subclasses     ``TorchAutoencoder``: encoder, decoder, encode, decode
``VAE``                                      ``TorchVAE``: encode -> (mu, logvar), decode, sample
``ConditionalVAE``                           ``TorchConditionalVAE``: the same, with labels
===========================================  ==================================================

Parameter names and order are tinyae's, so ``to_torch(model).state_dict()`` has the keys of
``model.state_dict()`` in the same order (``encoder.0.weight``, ``encoder.0.bias``, ...). Each
module keeps its training flag (Dropout's matters) and each Parameter its ``trainable`` flag
(as ``requires_grad``).

The models export their network only. A model's training extras (the denoising corruption, the
sparsity and contractive penalties, the VAE's ELBO) are its objective, ``forward_backward``, in
tinyae; a PyTorch training loop writes them itself.

``from_torch(module, like=model)`` goes back: the layers with weights (Dense, Conv2D,
ConvTranspose2D) of ``model``, in ``named_parameters`` order, are matched one to one with the
torch module's layers with weights (Linear, Conv2d, ConvTranspose2d) in registration order.
So it takes what :func:`to_torch` made, and any hand-written torch network whose layers line up.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from numbers import Integral
from typing import Any

import numpy as np

from . import backend
from .layers import (
    Conv2D,
    ConvTranspose2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Reshape,
    Sigmoid,
    Tanh,
    Upsample2D,
)
from .models import VAE, Autoencoder, ConditionalVAE, ContractiveAutoencoder, DenoisingAutoencoder, SparseAutoencoder
from .module import Module, Parameter, Sequential

__all__ = ["from_torch", "to_torch"]

_TORCH_CLASSES = ("TorchAutoencoder", "TorchVAE", "TorchConditionalVAE")

# Layers without weights: the torch module with the same settings.
_PLAIN_LAYERS: dict[type, Callable[[Any, Any], Any]] = {
    ReLU: lambda nn, m: nn.ReLU(),
    LeakyReLU: lambda nn, m: nn.LeakyReLU(m.negative_slope),
    Sigmoid: lambda nn, m: nn.Sigmoid(),
    Tanh: lambda nn, m: nn.Tanh(),
    Dropout: lambda nn, m: nn.Dropout(m.p),
    Flatten: lambda nn, m: nn.Flatten(),
    Reshape: lambda nn, m: nn.Unflatten(1, m.shape),
    MaxPool2D: lambda nn, m: nn.MaxPool2d(m.kernel_size, m.stride),
    Upsample2D: lambda nn, m: nn.Upsample(scale_factor=m.scale_factor, mode="nearest"),
}

# Layers with weights, and the torch.nn class each one pairs with (both ways).
_WEIGHTED_LAYERS = {Dense: "Linear", Conv2D: "Conv2d", ConvTranspose2D: "ConvTranspose2d"}

# The training extras of the subclasses live in their objective; the network is an Autoencoder's.
_AUTOENCODERS = (Autoencoder, DenoisingAutoencoder, SparseAutoencoder, ContractiveAutoencoder)

_SUPPORTED = ", ".join(
    t.__name__ for t in (*_WEIGHTED_LAYERS, *_PLAIN_LAYERS, Sequential, *_AUTOENCODERS, VAE, ConditionalVAE)
)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"tinyae's PyTorch interop needs PyTorch, which is not installed here ({exc}); "
            f"install it with: pip install torch"
        ) from None
    return torch


# --------------------------------------------------------------------------- #
# tinyae -> torch
# --------------------------------------------------------------------------- #
def to_torch(model: Module) -> Any:
    """A ``torch.nn.Module`` with ``model``'s architecture and a copy of its weights, on the CPU.

    Works from any backend; the weights keep their dtype (float32 after tinyae's init). Dense's
    weight is transposed into Linear's. See the module's docstring for the table of layers and
    models; a module type without a PyTorch counterpart raises ``TypeError`` naming it.
    """
    torch = _import_torch()
    if not isinstance(model, Module):
        raise TypeError(f"to_torch: expected a tinyae Module, got {type(model).__name__}")
    return _Exporter(torch).convert(model)


class _Exporter:
    """One export. A layer (or Parameter) that appears twice in the tinyae model becomes one shared
    torch module (or parameter), so tied weights stay tied and the parameter lists line up (both
    libraries list a shared parameter once)."""

    def __init__(self, torch: Any) -> None:
        self.torch, self.nn = torch, torch.nn
        self.modules: dict[int, Any] = {}
        self.params: dict[tuple[int, bool], Any] = {}

    def convert(self, module: Module) -> Any:
        if id(module) not in self.modules:
            converted = self._build(module)
            converted.training = module.training  # per module, as tinyae keeps it (Dropout's matters)
            self.modules[id(module)] = converted
        return self.modules[id(module)]

    def _build(self, module: Module) -> Any:
        # Exact types: a subclass may change forward, and a wrong export would be silent.
        kind = type(module)
        if kind in _PLAIN_LAYERS:
            return _PLAIN_LAYERS[kind](self.nn, module)
        if kind is Dense:
            return self._dense(module)
        if kind in (Conv2D, ConvTranspose2D):
            return self._conv(module)
        if kind is Sequential:
            return self.nn.Sequential(*[self.convert(layer) for layer in module])
        if kind in _AUTOENCODERS:
            return _torch_classes()["TorchAutoencoder"](
                self.convert(module.encoder), self.convert(module.decoder), module.loss_name
            )
        if kind in (VAE, ConditionalVAE):
            return self._vae(module)
        raise TypeError(
            f"to_torch: no PyTorch counterpart for {kind.__module__}.{kind.__qualname__} ({module!r}); "
            f"supported: {_SUPPORTED}"
        )

    def _parameter(self, p: Parameter, transpose: bool = False) -> Any:
        key = (id(p), transpose)
        if key not in self.params:
            host = backend.to_numpy(p.data)
            host = np.array(host.T if transpose else host, order="C")  # a copy: the export shares no memory
            self.params[key] = self.nn.Parameter(self.torch.from_numpy(host), requires_grad=p.trainable)
        return self.params[key]

    def _dense(self, layer: Dense) -> Any:
        # Built on the meta device (no memory, no random init): the real weights are assigned next.
        linear = self.nn.Linear(layer.in_features, layer.out_features, device="meta")
        linear.weight = self._parameter(layer.weight, transpose=True)  # (in, out) -> Linear's (out, in)
        linear.bias = self._parameter(layer.bias)
        return linear

    def _conv(self, layer: Conv2D | ConvTranspose2D) -> Any:
        args = (layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
        if isinstance(layer, ConvTranspose2D):
            conv = self.nn.ConvTranspose2d(*args, output_padding=layer.output_padding, device="meta")
        else:
            conv = self.nn.Conv2d(*args, device="meta")
        conv.weight = self._parameter(layer.weight)  # the same layout on both sides
        conv.bias = self._parameter(layer.bias)
        return conv

    def _vae(self, model: VAE) -> Any:
        encoder, decoder = self.convert(model.encoder), self.convert(model.decoder)
        settings = dict(beta=model.beta, reconstruction=model.reconstruction, logvar_clip=model.logvar_clip)
        if isinstance(model, ConditionalVAE):
            return _torch_classes()["TorchConditionalVAE"](
                encoder, decoder, model.latent_dim, model.num_classes, **settings
            )
        return _torch_classes()["TorchVAE"](encoder, decoder, model.latent_dim, **settings)


def __getattr__(name: str) -> Any:
    """``tinyae.interop.TorchVAE`` and friends are built on first use (PEP 562), so that importing
    tinyae needs no torch; as module attributes they pickle with ``torch.save(module)``."""
    if name in _TORCH_CLASSES:
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _torch_classes() -> dict[str, type]:
    """The torch counterparts of tinyae's models: the same methods, with the same meaning."""
    torch = _import_torch()
    nn = torch.nn

    class TorchAutoencoder(nn.Module):
        """x -> encoder -> code h -> decoder -> reconstruction, as tinyae's Autoencoder.

        The network only: the training extras of DenoisingAutoencoder (the corruption),
        SparseAutoencoder and ContractiveAutoencoder (the penalties) are tinyae's objective, not
        part of this module. ``loss_name`` ("mse" or "bce") records the reconstruction loss.
        """

        def __init__(self, encoder: Any, decoder: Any, loss_name: str = "mse") -> None:
            super().__init__()
            self.encoder = encoder  # registered before the decoder: tinyae's parameter order
            self.decoder = decoder
            self.loss_name = loss_name

        def encode(self, x: Any) -> Any:
            return self.encoder(x)

        def decode(self, h: Any) -> Any:
            return self.decoder(h)

        def forward(self, x: Any) -> Any:
            return self.decoder(self.encoder(x))

    class TorchVAE(nn.Module):
        """tinyae's VAE: the encoder outputs 2 L numbers, mu (the first L) then logvar; the decoder
        gives logits (``reconstruction="bce"``, ``decode`` applies the sigmoid) or means ("mse").

        ``forward(x)`` is tinyae's: decode(mu), the deterministic reconstruction. The objective
        (reconstruction summed over features + beta KL, averaged over the batch) is tinyae's
        ``forward_backward``, not part of this module; ``latent_dim``, ``beta`` and
        ``reconstruction`` are kept for a torch training loop that writes it.
        """

        def __init__(
            self,
            encoder: Any,
            decoder: Any,
            latent_dim: int,
            beta: float = 1.0,
            reconstruction: str = "bce",
            logvar_clip: float | None = None,
        ) -> None:
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder
            self.latent_dim, self.beta, self.reconstruction = int(latent_dim), float(beta), reconstruction
            self.logvar_clip = logvar_clip

        def _encoder_input(self, x: Any, labels: Any) -> Any:
            return x

        def _decoder_input(self, z: Any, labels: Any) -> Any:
            return z

        def encode(self, x: Any, labels: Any = None) -> tuple[Any, Any]:
            """(mu, logvar) of q(z | x); logvar clamped to [-c, c] when ``logvar_clip`` is c."""
            h = self.encoder(self._encoder_input(x, labels))
            mu, logvar = h[:, : self.latent_dim], h[:, self.latent_dim :]
            if self.logvar_clip is not None:
                logvar = torch.clamp(logvar, -self.logvar_clip, self.logvar_clip)
            return mu, logvar

        def decode(self, z: Any, labels: Any = None) -> Any:
            """Probabilities sigmoid(logits) for "bce", the means for "mse"."""
            out = self.decoder(self._decoder_input(z, labels))
            return torch.sigmoid(out) if self.reconstruction == "bce" else out

        def reparameterize(self, mu: Any, logvar: Any, eps: Any = None) -> Any:
            """z = mu + exp(logvar / 2) eps, with eps ~ N(0, I) unless given."""
            if eps is None:
                eps = torch.randn_like(mu)
            return mu + torch.exp(0.5 * logvar) * eps

        def reconstruct(self, x: Any, labels: Any = None) -> Any:
            return self.decode(self.encode(x, labels)[0], labels)

        def forward(self, x: Any, labels: Any = None) -> Any:
            return self.reconstruct(x, labels)

        def sample(self, n: int, labels: Any = None) -> Any:
            """n samples decoded from the prior z ~ N(0, I), in the decoder's dtype and device."""
            like = next(self.decoder.parameters())
            z = torch.randn(n, self.latent_dim, dtype=like.dtype, device=like.device)
            return self.decode(z, labels)

    class TorchConditionalVAE(TorchVAE):
        """tinyae's ConditionalVAE: the one-hot label is concatenated to the encoder's input [x, y]
        and to the decoder's input [z, y]. ``labels``: integers in [0, num_classes), one per sample."""

        def __init__(self, encoder: Any, decoder: Any, latent_dim: int, num_classes: int, **kw: Any) -> None:
            super().__init__(encoder, decoder, latent_dim, **kw)
            self.num_classes = int(num_classes)

        def one_hot(self, labels: Any, like: Any) -> Any:
            """(N, C) one-hot rows in the dtype and device of ``like``."""
            if labels is None:
                raise ValueError("TorchConditionalVAE: labels are required (integers in [0, num_classes))")
            labels = torch.as_tensor(labels, device=like.device)
            if labels.is_floating_point() or labels.ndim != 1 or labels.shape[0] != like.shape[0]:
                raise ValueError(
                    f"TorchConditionalVAE: expected {like.shape[0]} integer labels (one per sample), got "
                    f"shape {tuple(labels.shape)} of {labels.dtype}"
                )
            return nn.functional.one_hot(labels.long(), self.num_classes).to(like.dtype)

        def _encoder_input(self, x: Any, labels: Any) -> Any:
            return torch.cat([x, self.one_hot(labels, x)], dim=1)

        def _decoder_input(self, z: Any, labels: Any) -> Any:
            return torch.cat([z, self.one_hot(labels, z)], dim=1)

        def sample(self, n: int, labels: Any = None) -> Any:
            """n samples of the given classes (an int for all, or n integer labels)."""
            if isinstance(labels, Integral):  # one class for all n (numpy integers included)
                labels = [int(labels)] * n
            return super().sample(n, labels)

    classes = {"TorchAutoencoder": TorchAutoencoder, "TorchVAE": TorchVAE, "TorchConditionalVAE": TorchConditionalVAE}
    for name, cls in classes.items():  # found by pickle as tinyae.interop.<name> (see __getattr__)
        cls.__module__, cls.__qualname__ = __name__, name
    return classes


# --------------------------------------------------------------------------- #
# torch -> tinyae
# --------------------------------------------------------------------------- #
def from_torch(module: Any, *, like: Module) -> Module:
    """A new tinyae model, a copy of ``like`` (which stays untouched), holding ``module``'s weights.

    The layers with weights of ``like`` (Dense, Conv2D, ConvTranspose2D, in ``named_parameters``
    order) are matched one to one with those of ``module`` (Linear, Conv2d, ConvTranspose2d, in
    registration order); Linear's weight is transposed into Dense's. The copy keeps ``like``'s
    backend, dtypes and flags, with zero gradients. Everything is checked before anything is
    written: a different number of layers, a layer of the wrong type, a bias missing, a different
    stride or padding, or a shape that differs raises ``ValueError`` naming the position, both
    layers and what differs.
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(like, Module):
        raise TypeError(f"from_torch: like= must be the tinyae model to copy and fill, got {type(like).__name__}")
    ours, theirs = _tinyae_weighted_layers(like), _torch_weighted_layers(module)
    if len(ours) != len(theirs):
        raise ValueError(
            f"from_torch: the tinyae model has {len(ours)} layers with weights "
            f"({_names(ours)}) but the torch module has {len(theirs)} ({_names(theirs)})"
        )
    keys = {id(p): name for name, p in like.named_parameters()}  # a tied Parameter has one key
    state: dict[str, np.ndarray] = {}
    for position, (mine, yours) in enumerate(zip(ours, theirs, strict=True)):
        layer = mine[1]
        weight, bias = _checked_weights(torch, position, mine, yours)
        state[keys[id(layer.weight)]], state[keys[id(layer.bias)]] = weight, bias
    model = copy.deepcopy(like)
    model.load_state_dict(state)  # converts to the copy's backend and dtypes
    return model


def _tinyae_weighted_layers(model: Module) -> list[tuple[str, Module]]:
    """(name, layer) of the layers of ``model`` that hold parameters themselves, in order."""
    found = []
    for name, module in model.named_modules():
        own = [key for key, _ in module.named_parameters() if "." not in key]  # not a child's
        if not own:
            continue
        if type(module) not in _WEIGHTED_LAYERS:
            raise TypeError(
                f"from_torch: {name or 'the model'} is a {type(module).__name__} with parameters {own}, which no "
                f"PyTorch layer maps to; the layers with weights that do: Dense, Conv2D, ConvTranspose2D"
            )
        found.append((name, module))
    return found


def _torch_weighted_layers(module: Any) -> list[tuple[str, Any]]:
    """(name, module) of the torch modules that hold parameters themselves, in registration order."""
    return [(name, m) for name, m in module.named_modules() if next(m.parameters(recurse=False), None) is not None]


def _names(layers: list[tuple[str, Any]]) -> str:
    return ", ".join(f"{name or '<top>'}: {type(layer).__name__}" for name, layer in layers) or "none"


def _checked_weights(torch: Any, position: int, mine: tuple[str, Module], yours: tuple[str, Any]) -> tuple[Any, Any]:
    """(weight, bias) of the torch layer as host arrays in the tinyae layer's layout, or ValueError."""
    (name, layer), (tname, tlayer) = mine, yours
    where = (
        f"from_torch: layer with weights {position} does not match: tinyae {name or '<top>'} = {layer!r}, "
        f"torch {tname or '<top>'} = {tlayer!r}"
    )
    expected = getattr(torch.nn, _WEIGHTED_LAYERS[type(layer)])
    if not isinstance(tlayer, expected):
        raise ValueError(f"{where}: a {type(layer).__name__} pairs with a torch.nn.{expected.__name__}, "
                         f"got a {type(tlayer).__name__}")
    if tlayer.bias is None:
        raise ValueError(f"{where}: the torch layer has no bias (bias=False), and tinyae's "
                         f"{type(layer).__name__} always has one")
    differences = _geometry_differences(layer, tlayer)
    if differences:
        raise ValueError(f"{where}: {'; '.join(differences)}")
    weight, bias = _host(torch, tlayer.weight), _host(torch, tlayer.bias)
    if isinstance(layer, Dense):
        weight = weight.T  # Linear's (out, in) -> Dense's (in, out)
    for label, ours, theirs in (("weight", layer.weight.shape, weight.shape), ("bias", layer.bias.shape, bias.shape)):
        if tuple(theirs) != tuple(ours):
            as_torch = f" (Linear's layout: {ours[::-1]})" if label == "weight" and isinstance(layer, Dense) else ""
            torch_shape = tuple(getattr(tlayer, label).shape)
            raise ValueError(f"{where}: {label} shapes differ: tinyae {ours}{as_torch}, torch {torch_shape}")
    return weight, bias


def _geometry_differences(layer: Module, tlayer: Any) -> list[str]:
    """A convolution's settings that the weight's shape does not show, where the two layers differ
    (the weights would load, and the outputs would silently differ)."""
    if isinstance(layer, Dense):
        return []
    ours: dict[str, Any] = {"stride": layer.stride, "padding": layer.padding, "dilation": (1, 1), "groups": 1,
                            "padding_mode": "zeros"}
    if isinstance(layer, ConvTranspose2D):
        ours["output_padding"] = layer.output_padding
    differences = []
    for key, value in ours.items():
        theirs = getattr(tlayer, key)
        theirs = tuple(theirs) if isinstance(theirs, (list, tuple)) else theirs
        if theirs != value:
            differences.append(f"{key} differs: tinyae {value!r}, torch {theirs!r}")
    return differences


def _host(torch: Any, tensor: Any) -> np.ndarray:
    """A NumPy copy of a torch tensor from any device and float dtype (float64 holds them all
    exactly; load_state_dict then converts to the tinyae parameter's dtype)."""
    return tensor.detach().to(device="cpu", dtype=torch.float64).numpy()
