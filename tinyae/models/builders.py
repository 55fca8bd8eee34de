"""Builders for the usual shapes: MLP and convolutional autoencoders and VAEs.

Each takes the input's shape, so the same call serves 8x8 digits and 28x28 MNIST:
``mlp_autoencoder([64, 32, 2], input_shape=(1, 8, 8))`` or
``conv_autoencoder(input_shape=(1, 28, 28))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..layers import Dense, Flatten, LeakyReLU, ReLU, Reshape, Sigmoid, Tanh
from ..layers.conv import Conv2D, ConvTranspose2D, conv_output_size
from ..module import Module, Sequential
from .autoencoder import Autoencoder
from .vae import VAE

ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def _activation(name: str) -> Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _check_sizes(sizes: Sequence[int], input_shape: tuple[int, ...] | None, owner: str) -> list[int]:
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"{owner}: sizes must list at least the input and the code size, all >= 1; got {sizes}")
    if input_shape is not None and math.prod(input_shape) != sizes[0]:
        raise ValueError(
            f"{owner}: sizes[0] = {sizes[0]} must equal the number of inputs of input_shape {tuple(input_shape)} "
            f"= {math.prod(input_shape)}"
        )
    return sizes


def _wrap_image(encoder: list[Module], decoder: list[Module], input_shape: tuple[int, ...] | None) -> None:
    """Images in, images out: flatten before the first Dense, reshape after the last."""
    if input_shape is not None and len(input_shape) > 1:
        encoder.insert(0, Flatten())
        decoder.append(Reshape(*input_shape))


BUILDER_INITS = ("rule", "torch")


def init_before(activation: str | None, init: str = "rule") -> str:
    """The initialiser for a layer followed by ``activation`` (None: a linear output, e.g. a code,
    mu and logvar, or logits). ``init="rule"``: He before a ReLU, which zeroes half of what the next
    layer gets, so twice the variance keeps the signal's scale; Glorot before a sigmoid, a tanh or
    nothing (docs/init.md). ``init="torch"``: PyTorch's default for every layer."""
    if init not in BUILDER_INITS:
        raise ValueError(f"init must be one of {BUILDER_INITS}, got {init!r}")
    if init == "torch":
        return "torch"
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


def mlp_layers(sizes: Sequence[int], activation: str, last: str | None, init: str = "rule") -> list[Module]:
    """Dense(sizes[0], sizes[1]), act, ..., Dense(sizes[-2], sizes[-1]), then ``last`` (or nothing);
    each Dense initialised for the activation that follows it (:func:`init_before`)."""
    layers: list[Module] = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        after = last if k == len(sizes) - 2 else activation
        layers.append(Dense(fan_in, fan_out, init=init_before(after, init)))
        if after is not None:
            layers.append(_activation(after))
    return layers


def mlp_autoencoder(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    loss: str = "bce",
    code_activation: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    init: str = "rule",
) -> Autoencoder:
    """An MLP autoencoder with a mirrored decoder: ``[784, 128, 64, 32]`` gives
    784-128-64-32 (the code) -32-64-128-784.

    Hidden layers use ``activation``; the code is linear unless ``code_activation`` is
    set; the output is a Sigmoid for ``loss="bce"`` (data in [0, 1]) and linear for "mse".
    With ``input_shape=(C, H, W)`` images go in and come out (Flatten / Reshape added).
    ``init``: "rule" (each layer for the activation after it, :func:`init_before`) or "torch"
    (PyTorch's default everywhere, to compare like with like).
    """
    sizes = _check_sizes(sizes, input_shape, "mlp_autoencoder")
    encoder = mlp_layers(sizes, activation, code_activation, init)
    decoder = mlp_layers(sizes[::-1], activation, "sigmoid" if loss == "bce" else None, init)
    _wrap_image(encoder, decoder, input_shape)
    return Autoencoder(Sequential(*encoder), Sequential(*decoder), loss=loss)


def stacked_autoencoder(
    sizes: Sequence[int], *, activation: str = "sigmoid", loss: str = "bce", input_shape: tuple[int, ...] | None = None,
    init: str = "rule",
) -> Autoencoder:
    """An MLP autoencoder built from blocks, for greedy layer-wise pretraining.

    ``encoder[k]`` is Sequential(Dense(sizes[k], sizes[k+1]), act) and ``decoder[-1-k]`` its
    mirror, so block pair k is a shallow autoencoder of the codes of block k - 1
    (:func:`tinyae.train.pretrain_layerwise` trains them one by one).
    The last decoder block ends in a Sigmoid for "bce", linear for "mse"; ``init`` as in
    :func:`mlp_autoencoder`.
    """
    sizes = _check_sizes(sizes, input_shape, "stacked_autoencoder")
    if input_shape is not None and len(input_shape) > 1:
        raise ValueError("stacked_autoencoder: give flat inputs, (N, features); reshape images first")
    encoder = [Sequential(Dense(a, b, init=init_before(activation, init)), _activation(activation))
               for a, b in zip(sizes, sizes[1:])]
    decoder = []
    for k, (a, b) in enumerate(zip(sizes[::-1], sizes[::-1][1:])):
        last = k == len(sizes) - 2
        out = ("sigmoid" if loss == "bce" else None) if last else activation
        decoder.append(Sequential(Dense(a, b, init=init_before(out, init)), *([_activation(out)] if out else [])))
    return Autoencoder(Sequential(*encoder), Sequential(*decoder), loss=loss)


def mlp_vae(
    sizes: Sequence[int],
    latent_dim: int,
    *,
    activation: str = "relu",
    input_shape: tuple[int, ...] | None = None,
    init: str = "rule",
    **vae_kw: Any,
) -> VAE:
    """An MLP VAE: ``mlp_vae([784, 400], 20)`` is 784-400-(20 mu + 20 logvar), decoder 20-400-784.

    The decoder emits logits for ``reconstruction="bce"`` (the default) and means for "mse";
    ``init`` as in :func:`mlp_autoencoder`; ``vae_kw`` (beta, reconstruction, logvar_clip) go to :class:`VAE`.
    """
    sizes = _check_sizes(sizes, input_shape, "mlp_vae")
    encoder = mlp_layers([*sizes, 2 * latent_dim], activation, None, init)
    decoder = mlp_layers([latent_dim, *sizes[::-1]], activation, None, init)
    _wrap_image(encoder, decoder, input_shape)
    return VAE(Sequential(*encoder), Sequential(*decoder), latent_dim, **vae_kw)


def _conv_stacks(input_shape: tuple[int, ...], channels: Sequence[int],
                 init: str) -> tuple[list[Module], list[Module], tuple]:
    """Encoder convs (k3 s2 p1, ReLU) and the mirrored transposed convs, with each output_padding
    chosen so the decoder restores every size exactly (28 -> 14 -> 7 -> 14 -> 28, 8 -> 4 -> 2 -> 4 -> 8)."""
    if len(input_shape) != 3:
        raise ValueError(f"expected input_shape (C, H, W), got {tuple(input_shape)}")
    c, h, w = input_shape
    chans = [c, *channels]
    sizes = [(h, w)]
    encoder: list[Module] = []
    for c_in, c_out in zip(chans, chans[1:]):
        encoder += [Conv2D(c_in, c_out, 3, stride=2, padding=1, init=init_before("relu", init)), ReLU()]
        h, w = conv_output_size(h, 3, 2, 1), conv_output_size(w, 3, 2, 1)
        sizes.append((h, w))
    decoder: list[Module] = []
    for k in range(len(channels), 0, -1):
        (big_h, big_w), (small_h, small_w) = sizes[k - 1], sizes[k]
        # ConvTranspose2D(k3, s2, p1) gives (small - 1) 2 - 2 + 3 + op = 2 small - 1 + op
        op = (big_h - (2 * small_h - 1), big_w - (2 * small_w - 1))
        last = k == 1  # no ReLU after the last layer: the caller picks the output (sigmoid or linear)
        decoder.append(ConvTranspose2D(chans[k], chans[k - 1], 3, stride=2, padding=1, output_padding=op,
                                       init=init_before(None if last else "relu", init)))
        if not last:
            decoder.append(ReLU())
    return encoder, decoder, (chans[-1], *sizes[-1])


def conv_autoencoder(
    input_shape: tuple[int, int, int] = (1, 28, 28),
    channels: Sequence[int] = (16, 32),
    *,
    code_dim: int | None = None,
    loss: str = "bce",
    init: str = "rule",
) -> Autoencoder:
    """The classic convolutional autoencoder: Conv(k3, s2, p1) + ReLU per entry of ``channels``
    (28x28 -> 14x14 -> 7x7), mirrored by transposed convs back to the input size.

    ``code_dim`` adds a Dense bottleneck (Flatten, Dense(., code_dim) / Dense(code_dim, .),
    ReLU, Reshape) for a small code; without it the code is the last feature map.
    The output is a Sigmoid for "bce" and linear for "mse"; ``init`` as in :func:`mlp_autoencoder`.
    """
    encoder, decoder, feature_shape = _conv_stacks(tuple(input_shape), channels, init)
    if code_dim is not None:
        flat = math.prod(feature_shape)
        encoder += [Flatten(), Dense(flat, code_dim, init=init_before(None, init))]  # a linear code
        decoder = [Dense(code_dim, flat, init=init_before("relu", init)), ReLU(), Reshape(*feature_shape), *decoder]
    if loss == "bce":
        decoder.append(Sigmoid())
    return Autoencoder(Sequential(*encoder), Sequential(*decoder), loss=loss)


def conv_vae(
    input_shape: tuple[int, int, int] = (1, 28, 28),
    channels: Sequence[int] = (16, 32),
    latent_dim: int = 16,
    *,
    init: str = "rule",
    **vae_kw: Any,
) -> VAE:
    """A convolutional VAE: the conv encoder of :func:`conv_autoencoder`, then Dense to
    (mu, logvar); the decoder is Dense, ReLU, Reshape and the transposed convs (emitting logits).
    ``init`` as in :func:`mlp_autoencoder`."""
    encoder, decoder, feature_shape = _conv_stacks(tuple(input_shape), channels, init)
    flat = math.prod(feature_shape)
    encoder += [Flatten(), Dense(flat, 2 * latent_dim, init=init_before(None, init))]  # mu and logvar: linear
    decoder = [Dense(latent_dim, flat, init=init_before("relu", init)), ReLU(), Reshape(*feature_shape), *decoder]
    return VAE(Sequential(*encoder), Sequential(*decoder), latent_dim, **vae_kw)
