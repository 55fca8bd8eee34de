"""Matplotlib figures for the lecture demos. Each function returns its Figure (Agg backend).

Inputs are host arrays (use ``tinyae.to_numpy``). Images are given as (N, H, W), (N, 1, H, W)
or flat (N, H * W) with ``image_shape``; values in [0, 1] are drawn in grey, 0 black.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, and no surprise windows in a lecture

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "activation_histogram",
    "bar_chart",
    "compare_curves",
    "anomaly_histogram",
    "denoising_triplets",
    "filters",
    "image_rows",
    "interpolation_strip",
    "latent_scatter",
    "manifold_grid",
    "pca_vs_autoencoder",
    "reconstruction_grid",
    "sample_grid",
    "save",
    "training_curves",
]


def _images(x: np.ndarray, image_shape: Sequence[int] | None = None) -> np.ndarray:
    """(N, H, W) from (N, H, W), (N, 1, H, W) or flat (N, H * W) with image_shape (C, H, W) or (H, W)."""
    x = np.asarray(x, dtype=np.float32)
    if image_shape is not None:
        h, w = tuple(image_shape)[-2:]
        return x.reshape(x.shape[0], h, w)
    if x.ndim == 4:
        return x[:, 0]
    if x.ndim == 3:
        return x
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ValueError(f"cannot tell the image shape of flat rows of {x.shape[1]} pixels: pass image_shape")
    return x.reshape(x.shape[0], side, side)


def _show(ax, image: np.ndarray, vmin: float | None = 0.0, vmax: float | None = 1.0, cmap: str = "gray") -> None:
    ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def save(fig: Figure, path) -> None:
    """Write ``fig`` as a PNG and close it (demos make many figures)."""
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def image_rows(rows: Sequence[np.ndarray], labels: Sequence[str], title: str,
               image_shape: Sequence[int] | None = None) -> Figure:
    """One row of images per entry of ``rows`` (all the same length), each row labelled on the left."""
    rows = [_images(r, image_shape) for r in rows]
    n = rows[0].shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(0.9 * n + 0.8, 0.95 * len(rows) + 0.5), squeeze=False)
    for r, (images, label) in enumerate(zip(rows, labels)):
        for c in range(n):
            _show(axes[r, c], images[c])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    return fig


def reconstruction_grid(originals: np.ndarray, reconstructions: np.ndarray, title: str = "Reconstructions",
                        n: int = 10, image_shape: Sequence[int] | None = None) -> Figure:
    """Originals (top row) over their reconstructions (bottom row)."""
    return image_rows([originals[:n], reconstructions[:n]], ["original", "reconstruction"], title, image_shape)


def denoising_triplets(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray, title: str = "Denoising",
                       n: int = 10, image_shape: Sequence[int] | None = None) -> Figure:
    """Clean, corrupted and denoised images, one row each."""
    return image_rows([clean[:n], noisy[:n], denoised[:n]], ["clean", "noisy", "denoised"], title, image_shape)


def interpolation_strip(rows: Sequence[np.ndarray], title: str = "Latent interpolation",
                        image_shape: Sequence[int] | None = None, labels: Sequence[str] | None = None) -> Figure:
    """Images decoded along straight lines in latent space: one row (steps, ...) per line."""
    labels = labels or [f"pair {i + 1}" for i in range(len(rows))]
    return image_rows(list(rows), labels, title, image_shape)


def sample_grid(images: np.ndarray, title: str, cols: int = 10, image_shape: Sequence[int] | None = None,
                row_labels: Sequence[str] | None = None) -> Figure:
    """A grid of images, ``cols`` per row (e.g. VAE samples, or one row per class)."""
    images = _images(images, image_shape)
    rows = math.ceil(images.shape[0] / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(0.8 * cols + 0.8, 0.8 * rows + 0.6), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < images.shape[0]:
            _show(ax, images[k])
        else:
            ax.axis("off")
    if row_labels is not None:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    return fig


def latent_scatter(codes: np.ndarray, labels: np.ndarray, title: str = "Latent space",
                   class_names: Sequence[str] | None = None) -> Figure:
    """2-D codes as points coloured by class, with a legend."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"latent_scatter: expected codes of shape (N, 2), got {codes.shape}")
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    classes = np.unique(labels)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for k, c in enumerate(classes):
        mask = labels == c
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(codes[mask, 0], codes[mask, 1], s=9, alpha=0.75, color=cmap(k % cmap.N), label=name)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(markerscale=2, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="class")
    ax.set_title(title)
    return fig


def manifold_grid(decode: Callable[[np.ndarray], np.ndarray], n: int = 15, image_shape: Sequence[int] = (8, 8),
                  title: str = "Learned manifold") -> Figure:
    """Decode an n x n grid of 2-D latent points placed at normal quantiles (the prior's mass).

    ``decode`` maps host codes (k, 2) float32 to host images (k, ...).
    """
    quantiles = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], dtype=np.float32)
    z = np.array([[a, b] for b in quantiles[::-1] for a in quantiles], dtype=np.float32)  # z2 grows upward
    images = _images(decode(z), image_shape)
    h, w = images.shape[1:]
    gap = 1  # a white line between tiles, so that small images do not run into each other
    canvas = np.full((n * (h + gap) - gap, n * (w + gap) - gap), np.nan, dtype=np.float32)
    for k, image in enumerate(images):
        r, c = divmod(k, n)
        canvas[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = image
    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(canvas, cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
              extent=(quantiles[0], quantiles[-1], quantiles[0], quantiles[-1]))
    ax.set_xlabel("$z_1$ (normal quantiles)")
    ax.set_ylabel("$z_2$")
    ax.set_title(title)
    return fig


def anomaly_histogram(normal_scores: np.ndarray, anomalous_scores: np.ndarray, threshold: float, auc: float,
                      title: str = "Anomaly scores") -> Figure:
    """Histograms of reconstruction errors of normal and anomalous test samples, the threshold, the AUC."""
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, float(np.quantile(np.concatenate([normal_scores, anomalous_scores]), 0.995)), 50)
    ax.hist(normal_scores, bins=bins, alpha=0.6, density=True, label="normal classes")
    ax.hist(anomalous_scores, bins=bins, alpha=0.6, density=True, label="anomalous classes")
    ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.4f}")
    ax.set_xlabel("reconstruction error (MSE per image)")
    ax.set_ylabel("density")
    ax.set_title(f"{title} (ROC AUC {auc:.3f})")
    ax.legend()
    return fig


def training_curves(history: dict, title: str = "Training curves") -> Figure:
    """Every loss term per epoch, training solid and validation dashed, one panel per term."""
    terms = [k for k in history if not k.startswith("val_") and k not in ("lr", "time")]
    fig, axes = plt.subplots(1, len(terms), figsize=(4.2 * len(terms), 3.4), squeeze=False)
    for ax, term in zip(axes[0], terms):
        epochs = np.arange(1, len(history[term]) + 1)
        ax.plot(epochs, history[term], label="train")
        if f"val_{term}" in history:
            ax.plot(epochs, history[f"val_{term}"], linestyle="--", label="validation")
        ax.set_title(term)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def pca_vs_autoencoder(originals: np.ndarray, pca: np.ndarray, autoencoder: np.ndarray, code_dim: int,
                       pca_mse: float, ae_mse: float, n: int = 10, image_shape: Sequence[int] | None = None) -> Figure:
    """Originals, PCA reconstructions and autoencoder reconstructions at the same code size."""
    return image_rows(
        [originals[:n], pca[:n], autoencoder[:n]],
        ["original", f"PCA ({pca_mse:.4f})", f"autoencoder ({ae_mse:.4f})"],
        f"PCA vs autoencoder, code size {code_dim} (test MSE in brackets)",
        image_shape,
    )


def activation_histogram(codes: dict[str, np.ndarray], title: str = "Code activations",
                         target: float | None = None) -> Figure:
    """Histogram of code activations for each named model (e.g. L1 and KL sparse autoencoders)."""
    fig, axes = plt.subplots(1, len(codes), figsize=(4.5 * len(codes), 3.4), squeeze=False)
    for ax, (name, h) in zip(axes[0], codes.items()):
        h = np.asarray(h).ravel()
        ax.hist(h, bins=50, color="tab:blue")
        ax.axvline(float(h.mean()), color="k", linestyle="--", label=f"mean {h.mean():.3f}")
        if target is not None and "KL" in name:
            ax.axvline(target, color="tab:red", linestyle=":", label=f"target rho {target}")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("activation")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def filters(weight: np.ndarray, image_shape: Sequence[int], title: str = "Encoder filters", n: int = 32) -> Figure:
    """The first ``n`` columns of a Dense encoder's weight (in, units) drawn as images, each scaled to its range."""
    w = np.asarray(weight)[:, :n].T  # (units, in)
    h, wd = tuple(image_shape)[-2:]
    cols = min(8, w.shape[0])
    rows = math.ceil(w.shape[0] / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 * cols, 0.9 * rows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < w.shape[0]:
            limit = float(np.abs(w[k]).max()) or 1.0
            _show(ax, w[k].reshape(h, wd), -limit, limit, cmap="RdBu_r")
        else:
            ax.axis("off")
    fig.suptitle(title)
    return fig


def compare_curves(curves: dict[str, Sequence[float]], title: str, ylabel: str, xlabel: str = "epoch") -> Figure:
    """Several named curves on one axis (e.g. validation loss with and without pretraining)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, marker="o", markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig


def bar_chart(values: dict[str, float], title: str, ylabel: str) -> Figure:
    """One labelled bar per entry, its value written on top."""
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar(list(values), list(values.values()), color=["tab:gray", "tab:blue", "tab:orange", "tab:green"])
    for bar, value in zip(bars, values.values()):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{value:.3f}", ha="center", va="bottom")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(0, max(values.values()) * 1.15)
    return fig
