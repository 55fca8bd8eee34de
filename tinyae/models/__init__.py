"""The autoencoder family: each model's objective and its gradient live in one method."""

from .autoencoder import Autoencoder, ContractiveAutoencoder, DenoisingAutoencoder, SparseAutoencoder
from .builders import conv_autoencoder, conv_vae, mlp_autoencoder, mlp_vae, stacked_autoencoder
from .classifier import Classifier
from .vae import VAE, ConditionalVAE

__all__ = [
    "Classifier",
    "VAE",
    "Autoencoder",
    "ConditionalVAE",
    "ContractiveAutoencoder",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "conv_autoencoder",
    "conv_vae",
    "mlp_autoencoder",
    "mlp_vae",
    "stacked_autoencoder",
]
