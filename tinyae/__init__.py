"""tinyae: autoencoders from scratch on NumPy (and CuPy), with every gradient written by hand.

Every public name is importable from here::

    import tinyae as ae
    model = ae.Sequential(ae.Dense(64, 8), ae.ReLU(), ae.Dense(8, 64), ae.Sigmoid())
    ae.gradcheck.check_module(ae.Dense(3, 2), x)
"""

from . import backend, gradcheck, io, threads
from .backend import (
    BackendUnavailable,
    array_module,
    get_backend,
    seed,
    set_backend,
    to_backend,
    to_numpy,
    use_backend,
)
from .gradcheck import GradientCheckError, check_module
from .interop import from_torch, to_torch
from .io import CheckpointError, load, save
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
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    Loss,
    MaskedMSELoss,
    MSELoss,
    SoftmaxCrossEntropyLoss,
    gaussian_kl,
    kl_sparsity,
    l1_penalty,
)
from .models import (
    VAE,
    Autoencoder,
    Classifier,
    ConditionalVAE,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    SparseAutoencoder,
    conv_autoencoder,
    conv_vae,
    mlp_autoencoder,
    mlp_vae,
    stacked_autoencoder,
)
from .module import Module, Parameter, Sequential
from .optim import SGD, Adam, CosineAnnealingLR, LRScheduler, Optimizer, ReduceLROnPlateau, StepLR
from .threads import get_threads, limit_threads, set_threads
from .train import History, TrainingDiverged, fit, map_batches, pretrain_layerwise

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "Autoencoder",
    "Classifier",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BackendUnavailable",
    "CheckpointError",
    "ConditionalVAE",
    "ContractiveAutoencoder",
    "Conv2D",
    "ConvTranspose2D",
    "CosineAnnealingLR",
    "DenoisingAutoencoder",
    "Dense",
    "Dropout",
    "Flatten",
    "GradientCheckError",
    "History",
    "LRScheduler",
    "LeakyReLU",
    "Loss",
    "MSELoss",
    "MaskedMSELoss",
    "MaxPool2D",
    "Module",
    "Optimizer",
    "Parameter",
    "ReLU",
    "ReduceLROnPlateau",
    "Reshape",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SparseAutoencoder",
    "SoftmaxCrossEntropyLoss",
    "StepLR",
    "Tanh",
    "TrainingDiverged",
    "Upsample2D",
    "VAE",
    "array_module",
    "backend",
    "check_module",
    "conv_autoencoder",
    "conv_vae",
    "fit",
    "from_torch",
    "gaussian_kl",
    "get_backend",
    "get_threads",
    "gradcheck",
    "io",
    "kl_sparsity",
    "l1_penalty",
    "limit_threads",
    "load",
    "map_batches",
    "mlp_autoencoder",
    "mlp_vae",
    "pretrain_layerwise",
    "save",
    "seed",
    "set_backend",
    "set_threads",
    "stacked_autoencoder",
    "threads",
    "to_backend",
    "to_numpy",
    "to_torch",
    "use_backend",
]
