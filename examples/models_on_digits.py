"""Train every model of the family on the 8x8 digits and print what each reaches.

    python examples/models_on_digits.py [--epochs 30]

For each model: epochs, final training and validation loss (the model's own objective),
the validation reconstruction MSE per pixel next to the mean-image baseline, and wall time.
Then the largest gradient-check error of each model's forward_backward on a tiny instance.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tinyae as ae
from tinyae.data import load_digits
from tinyae.gradcheck import check_model


def models(d: int = 64) -> dict:
    def parts(sizes):  # the encoder and decoder of one mirrored MLP autoencoder
        model = ae.mlp_autoencoder(sizes, loss="bce")
        return model.encoder, model.decoder

    return {
        "Autoencoder (64-32-8)": lambda: ae.mlp_autoencoder([d, 32, 8], loss="bce"),
        "Denoising (gaussian 0.3)": lambda: ae.DenoisingAutoencoder(*parts([d, 32, 8]), "bce"),
        "Denoising (masking 0.3)": lambda: ae.DenoisingAutoencoder(*parts([d, 32, 8]), "bce",
                                                                   noise="masking"),
        "Sparse (L1, 64 units)": lambda: ae.SparseAutoencoder(*parts([d, 64]), "bce", penalty="l1",
                                                              weight=1e-2),
        "Sparse (KL, rho 0.05)": lambda: ae.SparseAutoencoder(
            ae.Sequential(ae.Dense(d, 64, init="xavier"), ae.Sigmoid()), parts([d, 64])[1], "bce", penalty="kl",
            weight=0.1, target=0.05),
        "Contractive (64 units)": lambda: ae.ContractiveAutoencoder(
            ae.Sequential(ae.Dense(d, 64, init="xavier"), ae.Sigmoid()), parts([d, 64])[1], "bce", weight=0.01),
        "Conv AE (8-16 ch)": lambda: ae.conv_autoencoder((1, 8, 8), channels=(8, 16)),
        "VAE (latent 2)": lambda: ae.mlp_vae([d, 64], 2),
        "beta-VAE (beta 4)": lambda: ae.mlp_vae([d, 64], 2, beta=4.0),
        "Conv VAE (latent 8)": lambda: ae.conv_vae((1, 8, 8), channels=(8, 16), latent_dim=8),
        "Conditional VAE": lambda: ae.ConditionalVAE(
            ae.Sequential(ae.Dense(d + 10, 64), ae.ReLU(), ae.Dense(64, 4)),
            ae.Sequential(ae.Dense(2 + 10, 64), ae.ReLU(), ae.Dense(64, d)), 2, 10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    digits = load_digits()
    baseline = float(np.mean((digits.flat("val") - digits.flat("train").mean(axis=0)) ** 2))
    print(f"digits: {len(digits.x_train)} train / {len(digits.x_val)} val; mean-image MSE {baseline:.4f}")
    print(f"{'model':26s} {'epochs':>6s} {'train loss':>10s} {'val loss':>9s} {'val MSE':>8s} {'time s':>7s}")
    for name, make in models().items():
        ae.seed(0)
        model = make()
        conv = name.startswith("Conv")
        x_train = digits.x_train if conv else digits.flat("train")
        x_val = digits.x_val if conv else digits.flat("val")
        kw = dict(labels=digits.y_train, val_labels=digits.y_val) if "Conditional" in name else {}
        start = time.perf_counter()
        history = ae.fit(model, ae.Adam(model.parameters(), lr=3e-3), x_train, x_val, epochs=args.epochs,
                         batch_size=64, progress=False, **kw)
        seconds = time.perf_counter() - start
        model.eval()
        labels = {"labels": digits.y_val} if kw else {}
        recon = ae.to_numpy(model.reconstruct(x_val, **labels))
        mse = float(np.mean((recon.reshape(len(x_val), -1) - digits.flat("val")) ** 2))
        print(f"{name:26s} {history.epochs:6d} {history['loss'][-1]:10.4f} {history['val_loss'][-1]:9.4f} "
              f"{mse:8.4f} {seconds:7.1f}")

    print("\nlargest gradient-check error of forward_backward (float64, tolerance 1e-6):")
    rng = np.random.default_rng(0)
    for name, make in models(d=5 * 5).items():
        if name.startswith("Conv"):
            model, x = (ae.conv_autoencoder((1, 4, 4), channels=(2,)) if "AE" in name
                        else ae.conv_vae((1, 4, 4), channels=(2,), latent_dim=2)), rng.uniform(0.05, 0.95, (2, 1, 4, 4))
        else:
            model, x = make(), rng.uniform(0.05, 0.95, (3, 25))
        kw = {"labels": np.array([1, 4, 7])} if "Conditional" in name else {}
        report = check_model(model, x, raise_on_fail=False, **kw)
        print(f"  {name:26s} {'PASS' if report.passed else 'FAIL'}  {report.max_error:.1e}")


if __name__ == "__main__":
    main()
