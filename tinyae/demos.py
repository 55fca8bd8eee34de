"""The lecture demos: each trains what it needs, writes PNG figures and a metrics.json.

Run them with ``tinyae demo NAME|all`` (or ``python demos/NAME.py``); each demo writes into
``OUT/NAME/`` and prints what it wrote. On the default dataset (scikit-learn's 8x8 digits,
offline) all nine take well under three minutes on two cores.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, plot
from .data import Dataset
from .data import load as load_dataset
from .layers import Dense, ReLU, Sigmoid
from .models import (
    ConditionalVAE,
    DenoisingAutoencoder,
    SparseAutoencoder,
    conv_autoencoder,
    mlp_autoencoder,
    mlp_vae,
    stacked_autoencoder,
)
from .module import Module, Sequential
from .optim import Adam
from .train import History, fit, map_batches, pretrain_layerwise

__all__ = ["DEMOS", "Context", "run", "run_all"]

# The digits have 1197 training images; on a larger dataset a demo's epochs are scaled down
# so that it sees about as many samples (at least 3 epochs), unless --epochs says otherwise.
_REFERENCE_TRAIN_SIZE = 1197


@dataclass
class Context:
    """What a demo gets: the data, its output folder, and the run's settings."""

    data: Dataset
    out: Path
    epochs: int | None = None
    progress: bool = True
    files: list[Path] = field(default_factory=list)

    def epochs_for(self, on_digits: int) -> int:
        if self.epochs is not None:
            return self.epochs
        return max(3, round(on_digits * _REFERENCE_TRAIN_SIZE / len(self.data.x_train)))

    def save(self, fig: Any, name: str) -> None:
        path = self.out / name
        plot.save(fig, path)
        self.files.append(path)

    @property
    def d(self) -> int:
        return self.data.n_features

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.data.image_shape

    def train(self, model: Module, x_train: np.ndarray, x_val: np.ndarray, epochs: int, lr: float = 3e-3,
              **kw: Any) -> History:
        return fit(model, Adam(model.parameters(), lr=lr), x_train, x_val, epochs=epochs, batch_size=64,
                   progress=self.progress, **kw)


@dataclass
class Demo:
    name: str
    title: str
    run: Callable[[Context], dict[str, Any]]


DEMOS: dict[str, Demo] = {}


def demo(name: str, title: str) -> Callable:
    def register(fn: Callable[[Context], dict[str, Any]]) -> Callable:
        DEMOS[name] = Demo(name, title, fn)
        return fn

    return register


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
def _mse_per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mean((a.reshape(len(a), -1) - b.reshape(len(b), -1)) ** 2, axis=1)


def _psnr(clean: np.ndarray, other: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: 10 log10(1 / MSE)."""
    return float(10.0 * np.log10(1.0 / np.mean((clean - other) ** 2)))


def _apply(model: Module, fn: Callable, x: np.ndarray) -> np.ndarray:
    """fn (e.g. model.encode) over x in batches, in eval mode, as a NumPy array."""
    model.eval()
    try:
        return map_batches(fn, x, like=model)
    finally:
        model.train()


def _mean_image_mse(ctx: Context) -> float:
    return float(np.mean((ctx.data.flat("test") - ctx.data.flat("train").mean(axis=0)) ** 2))


def _pca(k: int, x_train: np.ndarray):
    from sklearn.decomposition import PCA

    return PCA(n_components=k, random_state=0).fit(x_train)


# --------------------------------------------------------------------------- #
# 1. An undercomplete autoencoder with a 2-D code, against PCA
# --------------------------------------------------------------------------- #
@demo("latent", "Undercomplete autoencoder: a 2-D latent map, and PCA at the same size")
def latent_map(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    model = mlp_autoencoder([ctx.d, 128, 32, 2], loss="bce")
    history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(150), lr=2e-3)
    x_test = data.flat("test")
    codes = _apply(model, model.encode, x_test)
    recon = _apply(model, model.forward, x_test)
    pca = _pca(2, data.flat("train"))
    pca_recon = pca.inverse_transform(pca.transform(x_test))
    ae_mse, pca_mse = float(np.mean((recon - x_test) ** 2)), float(np.mean((pca_recon - x_test) ** 2))
    ctx.save(plot.latent_scatter(codes, data.y_test, f"2-D codes of the {data.name} test set", data.class_names),
             "latent_map.png")
    ctx.save(plot.reconstruction_grid(x_test, recon, "Reconstructions through a 2-D code",
                                      image_shape=ctx.shape), "reconstructions.png")
    ctx.save(plot.pca_vs_autoencoder(x_test, pca_recon, recon, 2, pca_mse, ae_mse, image_shape=ctx.shape),
             "pca_vs_autoencoder.png")
    ctx.save(plot.training_curves(history, "Training curves (binary cross-entropy)"), "training_curves.png")
    return {"code_dim": 2, "epochs": history.epochs, "ae_test_mse": ae_mse, "pca_test_mse": pca_mse,
            "mean_image_test_mse": _mean_image_mse(ctx)}


# --------------------------------------------------------------------------- #
# 2. Denoising
# --------------------------------------------------------------------------- #
@demo("denoising", "Denoising autoencoders: gaussian and masking noise")
def denoising(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    x_test = data.flat("test")
    metrics: dict[str, Any] = {}
    for noise, level in (("gaussian", 0.3), ("masking", 0.5)):
        parts = mlp_autoencoder([ctx.d, 128, 32], loss="bce")
        model = DenoisingAutoencoder(parts.encoder, parts.decoder, "bce", noise=noise, noise_level=level)
        history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(100))
        backend.seed(1)  # the same corrupted test images every run
        noisy = backend.to_numpy(model.corrupt(backend.to_backend(x_test, backend.backend_of(
            model.parameters()[0].data), dtype=np.float32)))
        denoised = _apply(model, model.reconstruct, noisy)
        metrics[noise] = {"noise_level": level, "epochs": history.epochs, "psnr_noisy_db": _psnr(x_test, noisy),
                          "psnr_denoised_db": _psnr(x_test, denoised)}
        title = (f"{noise} noise ({level}): PSNR {metrics[noise]['psnr_noisy_db']:.1f} dB noisy, "
                 f"{metrics[noise]['psnr_denoised_db']:.1f} dB denoised")
        ctx.save(plot.denoising_triplets(x_test, noisy, denoised, title, image_shape=ctx.shape),
                 f"denoising_{noise}.png")
    return metrics


# --------------------------------------------------------------------------- #
# 3. Sparse codes
# --------------------------------------------------------------------------- #
@demo("sparse", "Sparse autoencoders: L1 and KL(rho) penalties on an overcomplete code")
def sparse(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    units, rho = 100, 0.05
    decoder = lambda: Sequential(Dense(units, ctx.d, init="xavier"), Sigmoid())  # noqa: E731
    models = {
        "L1 (ReLU code)": SparseAutoencoder(Sequential(Dense(ctx.d, units), ReLU()), decoder(), "bce",
                                            penalty="l1", weight=3e-3),
        "KL (sigmoid code)": SparseAutoencoder(Sequential(Dense(ctx.d, units, init="xavier"), Sigmoid()), decoder(),
                                               "bce", penalty="kl", weight=0.05, target=rho),
    }
    x_test = data.flat("test")
    codes, metrics = {}, {"units": units, "target_rho": rho}
    for name, model in models.items():
        history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(100))
        codes[name] = _apply(model, model.encode, x_test)
        recon = _apply(model, model.forward, x_test)
        key = "l1" if name.startswith("L1") else "kl"
        metrics[key] = {"epochs": history.epochs, "test_mse": float(np.mean((recon - x_test) ** 2)),
                        "mean_activation": float(codes[name].mean()),
                        "fraction_inactive": float(np.mean(codes[name] < 1e-2))}
        ctx.save(plot.filters(backend.to_numpy(model.encoder[0].weight.data), ctx.shape,
                              f"Encoder filters, {name}"), f"filters_{key}.png")
    ctx.save(plot.activation_histogram(codes, f"Code activations on the test set ({units} units)", target=rho),
             "activations.png")
    return metrics


# --------------------------------------------------------------------------- #
# 4. Anomaly detection
# --------------------------------------------------------------------------- #
@demo("anomaly", "Anomaly detection by reconstruction error")
def anomaly(ctx: Context) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    data = ctx.data
    normal_classes = list(range(5))  # train on classes 0-4; 5-9 are the anomalies
    normal = np.isin(data.y_train, normal_classes)
    model = mlp_autoencoder([ctx.d, 64, 8], loss="bce")
    history = ctx.train(model, data.flat("train")[normal], data.flat("val")[np.isin(data.y_val, normal_classes)],
                        ctx.epochs_for(150))
    score = lambda x: _mse_per_image(_apply(model, model.forward, x), x)  # noqa: E731
    threshold = float(np.quantile(score(data.flat("train")[normal]), 0.95))
    test_scores = score(data.flat("test"))
    is_anomaly = ~np.isin(data.y_test, normal_classes)
    auc = float(roc_auc_score(is_anomaly, test_scores))
    ctx.save(plot.anomaly_histogram(test_scores[~is_anomaly], test_scores[is_anomaly], threshold, auc,
                                    f"Trained on classes {normal_classes[0]}-{normal_classes[-1]}"),
             "anomaly_scores.png")
    return {"normal_classes": normal_classes, "epochs": history.epochs, "threshold": threshold, "roc_auc": auc,
            "detection_rate": float(np.mean(test_scores[is_anomaly] > threshold)),
            "false_alarm_rate": float(np.mean(test_scores[~is_anomaly] > threshold))}


# --------------------------------------------------------------------------- #
# 5. The VAE
# --------------------------------------------------------------------------- #
@demo("vae", "Variational autoencoder: samples, the 2-D manifold, interpolation, and beta")
def vae(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    x_test = data.flat("test")
    epochs = ctx.epochs_for(150)
    metrics: dict[str, Any] = {"latent_dim": 2, "beta": {}}
    samples_by_beta = []
    for beta in (0.5, 1.0, 4.0):
        backend.seed(0)
        model = mlp_vae([ctx.d, 128], 2, beta=beta)
        history = ctx.train(model, data.flat("train"), data.flat("val"), epochs, lr=2e-3)
        metrics["beta"][str(beta)] = {"val_reconstruction": history["val_reconstruction"][-1],
                                      "val_kl": history["val_kl"][-1], "epochs": history.epochs}
        model.eval()
        samples_by_beta.append(backend.to_numpy(model.sample(10)))
        if beta == 1.0:
            main, main_history = model, history
    ctx.save(plot.image_rows(samples_by_beta, [f"beta = {b}" for b in (0.5, 1.0, 4.0)],
                             "Samples from the prior for three betas (more beta: closer to the prior, blurrier)",
                             ctx.shape), "beta_comparison.png")
    main.eval()
    ctx.save(plot.sample_grid(backend.to_numpy(main.sample(50)), "Samples from the prior, beta = 1",
                              image_shape=ctx.shape), "samples.png")
    decode = lambda z: backend.to_numpy(main.decode(backend.to_backend(z)))  # noqa: E731
    ctx.save(plot.manifold_grid(decode, 15, ctx.shape, "Decoded 2-D latent grid (normal quantiles)"),
             "manifold.png")
    mu = _apply(main, main.encode, x_test)
    rows, labels = [], []
    names = data.class_names
    for first, last in ((0, 6), (1, 7), (3, 8)):  # from the first test image of one class to one of another
        a, b = int(np.argmax(data.y_test == first)), int(np.argmax(data.y_test == last))
        steps = np.linspace(0, 1, 10, dtype=np.float32)[:, None]
        rows.append(decode((1 - steps) * mu[a] + steps * mu[b]))
        labels.append(f"{names[first]} -> {names[last]}")
    ctx.save(plot.interpolation_strip(rows, "Straight lines between two test images' codes", ctx.shape, labels),
             "interpolation.png")
    ctx.save(plot.training_curves(main_history, "VAE loss terms, beta = 1 (per sample)"), "training_curves.png")
    recon = _apply(main, main.reconstruct, x_test)
    metrics.update({"epochs": main_history.epochs, "test_mse": float(np.mean((recon - x_test) ** 2)),
                    "val_loss": main_history["val_loss"][-1], "val_kl": main_history["val_kl"][-1]})
    return metrics


# --------------------------------------------------------------------------- #
# 6. The conditional VAE
# --------------------------------------------------------------------------- #
@demo("cvae", "Conditional VAE: generate a chosen class")
def cvae(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    classes = len(data.class_names)
    latent = 2
    model = ConditionalVAE(Sequential(Dense(ctx.d + classes, 128), ReLU(), Dense(128, 2 * latent)),
                           Sequential(Dense(latent + classes, 128), ReLU(), Dense(128, ctx.d)), latent, classes)
    history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(150), lr=2e-3,
                        labels=data.y_train, val_labels=data.y_val)
    model.eval()
    backend.seed(0)
    rows = [backend.to_numpy(model.sample(10, labels=c)) for c in range(classes)]
    ctx.save(plot.sample_grid(np.concatenate(rows), "Ten samples of each class (one row per label)",
                              image_shape=ctx.shape, row_labels=data.class_names), "samples_by_class.png")
    return {"latent_dim": latent, "epochs": history.epochs, "val_loss": history["val_loss"][-1],
            "val_kl": history["val_kl"][-1]}


# --------------------------------------------------------------------------- #
# 7. The convolutional autoencoder
# --------------------------------------------------------------------------- #
@demo("conv", "Convolutional autoencoder: reconstructions and compression")
def conv(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    small = ctx.shape[-1] <= 16
    channels, code_dim = ((8, 16), 16) if small else ((16, 32), 32)
    model = conv_autoencoder(ctx.shape, channels, code_dim=code_dim)
    history = ctx.train(model, data.x_train, data.x_val, ctx.epochs_for(60))
    recon = _apply(model, model.forward, data.x_test)
    mse = float(np.mean((recon - data.x_test) ** 2))
    ratio = ctx.d / code_dim
    ctx.save(plot.reconstruction_grid(data.x_test, recon, f"Conv autoencoder: {ctx.d} pixels -> {code_dim} numbers "
                                      f"({ratio:.1f}x), test MSE {mse:.4f}"), "reconstructions.png")
    ctx.save(plot.training_curves(history, "Conv autoencoder training"), "training_curves.png")
    return {"channels": list(channels), "code_dim": code_dim, "compression_ratio": ratio, "epochs": history.epochs,
            "test_mse": mse, "mean_image_test_mse": _mean_image_mse(ctx)}


# --------------------------------------------------------------------------- #
# 8. Features for a classifier
# --------------------------------------------------------------------------- #
@demo("features", "Feature learning: a classifier on codes, on pixels and on PCA")
def features(ctx: Context) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    data = ctx.data
    code_dim = 16
    model = mlp_autoencoder([ctx.d, 128, code_dim], loss="bce")
    history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(100))
    pca = _pca(code_dim, data.flat("train"))
    inputs = {
        "raw pixels": (data.flat("train"), data.flat("test")),
        f"PCA ({code_dim})": (pca.transform(data.flat("train")), pca.transform(data.flat("test"))),
        f"autoencoder ({code_dim})": (_apply(model, model.encode, data.flat("train")),
                                      _apply(model, model.encode, data.flat("test"))),
    }
    accuracy = {}
    for name, (train, test) in inputs.items():
        mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6  # standardise: same footing for every input
        classifier = LogisticRegression(max_iter=2000).fit((train - mean) / std, data.y_train)
        accuracy[name] = float(classifier.score((test - mean) / std, data.y_test))
    ctx.save(plot.bar_chart(accuracy, "Logistic regression test accuracy", "accuracy"), "accuracy.png")
    return {"code_dim": code_dim, "epochs": history.epochs, "accuracy_raw": accuracy["raw pixels"],
            "accuracy_pca": accuracy[f"PCA ({code_dim})"], "accuracy_ae": accuracy[f"autoencoder ({code_dim})"]}


# --------------------------------------------------------------------------- #
# 9. Stacked autoencoders
# --------------------------------------------------------------------------- #
@demo("stacked", "Stacked autoencoder: greedy layer-wise pretraining vs training from scratch")
def stacked(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    sizes = [ctx.d, 64, 32, 16]
    epochs = ctx.epochs_for(40)
    curves = {}
    backend.seed(0)
    scratch = stacked_autoencoder(sizes, loss="bce")
    curves["from scratch"] = ctx.train(scratch, data.flat("train"), data.flat("val"), epochs)["val_reconstruction"]
    backend.seed(0)
    pretrained = stacked_autoencoder(sizes, loss="bce")
    pretrain_layerwise(pretrained, data.flat("train"), epochs=max(1, epochs // 2), lr=3e-3, progress=ctx.progress)
    start = pretrained.evaluate(backend.to_backend(data.flat("val"), dtype=np.float32))["reconstruction"]
    tuned = ctx.train(pretrained, data.flat("train"), data.flat("val"), epochs)["val_reconstruction"]
    curves["pretrained, then fine-tuned"] = tuned
    ctx.save(plot.compare_curves(curves, f"Stacked autoencoder {'-'.join(map(str, sizes))}",
                                 "validation BCE"), "pretraining.png")
    return {"sizes": sizes, "epochs": epochs, "pretrain_epochs_per_layer": max(1, epochs // 2),
            "val_after_pretraining_only": start, "val_scratch_first_epoch": curves["from scratch"][0],
            "val_scratch_final": curves["from scratch"][-1], "val_pretrained_first_epoch": tuned[0],
            "val_pretrained_final": tuned[-1]}


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #
def _finite(value: Any) -> Any:
    """JSON numbers must be finite: fail loudly on a NaN instead of writing one."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise FloatingPointError(f"a demo metric is {value}")
    return value


def run(name: str, data: Dataset, out: str | Path, *, epochs: int | None = None, progress: bool = True,
        seed: int = 0) -> dict[str, Any]:
    """Run one demo on ``data``; write its figures and metrics.json into ``out/name``; return the metrics."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}: expected one of {', '.join(DEMOS)} or 'all'")
    entry = DEMOS[name]
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    ctx = Context(data, folder, epochs, progress)
    backend.seed(seed)
    start = time.perf_counter()
    metrics = entry.run(ctx)
    metrics = _finite({"demo": name, "title": entry.title, "dataset": data.name, **metrics,
                       "seconds": round(time.perf_counter() - start, 2)})
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"[{name}] {entry.title}: {len(ctx.files)} figures and metrics.json in {folder}/ "
          f"({metrics['seconds']:.1f} s)")
    for path in ctx.files:
        print(f"    {path}")
    return metrics


def run_all(names: list[str], dataset: str = "digits", out: str | Path = "tinyae-figures", *,
            epochs: int | None = None, progress: bool = True, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Run several demos (``["all"]`` for every one) on a dataset loaded once."""
    names = list(DEMOS) if names == ["all"] else names
    for name in names:
        if name not in DEMOS:
            raise ValueError(f"unknown demo {name!r}: expected one of {', '.join(DEMOS)} or 'all'")
    data = load_dataset(dataset)
    return {name: run(name, data, out, epochs=epochs, progress=progress, seed=seed) for name in names}
