"""Matplotlib figures for the lecture demos; each function returns its Figure (a notebook shows it, save() writes it).

Inputs are host arrays (use ``tinyae.to_numpy``). Images are given as (N, H, W), (N, 1, H, W)
or flat (N, H * W) with ``image_shape``; values in [0, 1] are drawn in grey, 0 black.

Grids of images are drawn as one seamless picture on one axis, with thin white lines between
tiles drawn in points (not pixels), so they look the same at every dpi and in SVG/PDF, and row
and column labels are the axis' tick labels.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import NormalDist

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullLocator

if "ipykernel" in sys.modules:
    # In a Jupyter kernel, load the notebook's backend now: loading it teaches IPython to draw a returned
    # Figure as an image. pyplot loads it lazily, at its first figure, and this module makes none.
    plt.switch_backend(matplotlib.get_backend())

__all__ = [
    "FORMATS",
    "accuracy_by_labels",
    "accuracy_spread",
    "activation_histogram",
    "actual_size",
    "anomaly_histogram",
    "bar_chart",
    "check_dpi",
    "compare_curves",
    "denoising_triplets",
    "filters",
    "image_rows",
    "interpolation_strip",
    "latent_frames",
    "latent_scatter",
    "manifold_codes",
    "manifold_frames",
    "manifold_grid",
    "pca_vs_autoencoder",
    "rate_distortion",
    "reconstruction_grid",
    "roc_curves",
    "sample_grid",
    "save",
    "signed_points",
    "training_curves",
    "unit_images",
    "write_gif",
]

FORMATS = ("png", "svg", "pdf")


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


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], squeeze: bool = True):
    """A Figure of its own and its axes, made outside pyplot: no window opens, nothing is kept in
    pyplot's list of open figures (a notebook would show each one twice, a long run would leak them),
    and the caller decides: show it (a notebook displays a returned Figure) or :func:`save` it."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def check_dpi(dpi: int) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 20 <= dpi <= 1200:
        raise ValueError(f"dpi must be a whole number from 20 to 1200, got {dpi!r}")
    return dpi


def save(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path``; return the path. The suffix picks the format (any that matplotlib
    writes: .png, .svg, .pdf, .jpg ...; the demos offer :data:`FORMATS`). A pyplot figure is closed
    after; this module's own figures are not in pyplot's list and need no closing."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"save: expected a file name ending in one of .{', .'.join(sorted(supported))}, "
                         f"got {path.name!r}")
    check_dpi(dpi)
    # No date in SVG and PDF metadata and fixed SVG ids: the same figure gives the same SVG or PDF
    # bytes, run after run (PNG has no date either).
    metadata = None
    if fmt in ("svg", "svgz"):
        metadata = {"Date": None}
    elif fmt == "pdf":
        metadata = {"CreationDate": None}
    with plt.rc_context({"svg.hashsalt": "tinyae"}):
        fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return path


def _tiles(ax, grid: np.ndarray, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
           lines: bool = True, vmin: float = 0.0, vmax: float = 1.0, cmap: str = "gray",
           thick_after: Sequence[int] = ()) -> AxesImage:
    """Draw ``grid`` (rows, cols, H, W) as one picture on ``ax``; white lines between tiles
    (thicker after the columns in ``thick_after``); labels on the left and on top (as many as
    rows and columns, or fewer: the rest stay blank). Returns the image (for a colour bar)."""
    rows, cols, h, w = grid.shape
    if row_labels is not None:
        row_labels = list(row_labels)[:rows] + [""] * max(0, rows - len(row_labels))
    if col_labels is not None:
        col_labels = list(col_labels)[:cols] + [""] * max(0, cols - len(col_labels))
    canvas = grid.transpose(0, 2, 1, 3).reshape(rows * h, cols * w)
    # "antialiased": nearest-neighbour when a figure enlarges the images (crisp 8x8 digits), a
    # smoothing filter when it shrinks them (a 20x20 manifold of 28x28 tiles), which would otherwise
    # drop pixel columns unevenly and show stripes.
    image = ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="antialiased",
                      extent=(0, cols * w, rows * h, 0))
    if lines:
        for c in range(1, cols):
            ax.axvline(c * w, color="white", linewidth=3.0 if c - 1 in thick_after else 0.8)
        for r in range(1, rows):
            ax.axhline(r * h, color="white", linewidth=0.8)
    if row_labels is not None:
        ax.set_yticks([(r + 0.5) * h for r in range(rows)], list(row_labels), fontsize=9)
    else:
        ax.set_yticks([])
    ax.xaxis.tick_top()
    if col_labels is not None:
        slanted = max(map(len, col_labels)) > 4  # class names would overlap side by side
        ax.set_xticks([(c + 0.5) * w for c in range(cols)], list(col_labels), fontsize=8,
                      rotation=40 if slanted else 0, ha="left" if slanted else "center")
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def _grid_figure(rows: int, cols: int, tile: float = 0.75, extra_w: float = 1.3, extra_h: float = 0.9):
    fig, ax = _subplots(figsize=(tile * cols + extra_w, tile * rows + extra_h))
    return fig, ax


def image_rows(rows: Sequence[np.ndarray], labels: Sequence[str], title: str,
               image_shape: Sequence[int] | None = None, col_labels: Sequence[str] | None = None,
               thick_after: Sequence[int] = ()) -> Figure:
    """One row of images per entry of ``rows`` (all the same length), each row labelled on the left,
    each column optionally labelled on top (e.g. the class of the image)."""
    rows = [_images(r, image_shape) for r in rows]
    grid = np.stack(rows)
    fig, ax = _grid_figure(grid.shape[0], grid.shape[1], extra_h=1.1 if col_labels else 0.7)
    _tiles(ax, grid, labels, col_labels, thick_after=thick_after)
    ax.set_title(title)
    return fig


def reconstruction_grid(originals: np.ndarray, reconstructions: np.ndarray, title: str = "Reconstructions",
                        n: int = 10, image_shape: Sequence[int] | None = None,
                        col_labels: Sequence[str] | None = None) -> Figure:
    """Originals (top row) over their reconstructions (bottom row)."""
    return image_rows([originals[:n], reconstructions[:n]], ["original", "reconstruction"], title, image_shape,
                      col_labels)


def denoising_triplets(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray, title: str = "Denoising",
                       n: int = 10, image_shape: Sequence[int] | None = None,
                       col_labels: Sequence[str] | None = None) -> Figure:
    """Clean, corrupted and denoised images, one row each."""
    return image_rows([clean[:n], noisy[:n], denoised[:n]], ["clean", "noisy", "denoised"], title, image_shape,
                      col_labels)


def interpolation_strip(rows: Sequence[np.ndarray], title: str = "Latent interpolation",
                        image_shape: Sequence[int] | None = None, labels: Sequence[str] | None = None,
                        ends: tuple[np.ndarray, np.ndarray] | None = None) -> Figure:
    """Images decoded along straight lines in latent space: one row (steps, ...) per line.

    ``ends`` (two arrays with one image per row) puts the two real images whose codes are the line's
    end points at the row's ends, set apart by a thicker line, so the decoded ends can be compared with them.
    """
    labels = labels or [f"pair {i + 1}" for i in range(len(rows))]
    rows = [_images(r, image_shape) for r in rows]
    steps = rows[0].shape[0]
    col_labels = ["t = 0"] + [""] * (steps - 2) + ["t = 1"]
    if steps == 1:
        col_labels = ["t = 0"]
    thick: tuple[int, ...] = ()
    if ends is not None:
        first, last = (_images(e, image_shape) for e in ends)
        rows = [np.concatenate([first[i:i + 1], r, last[i:i + 1]]) for i, r in enumerate(rows)]
        col_labels = ["image A"] + col_labels + ["image B"]
        thick = (0, steps)
    return image_rows(rows, labels, title, col_labels=col_labels, thick_after=thick)


def sample_grid(images: np.ndarray, title: str, cols: int = 10, image_shape: Sequence[int] | None = None,
                row_labels: Sequence[str] | None = None) -> Figure:
    """A grid of images, ``cols`` per row (e.g. VAE samples, or one row per class); missing
    tiles at the end are left white."""
    images = _images(images, image_shape)
    rows = math.ceil(images.shape[0] / cols)
    h, w = images.shape[1:]
    padded = np.ones((rows * cols, h, w), dtype=np.float32)
    padded[:images.shape[0]] = images
    fig, ax = _grid_figure(rows, cols, extra_w=1.6 if row_labels is not None else 0.4, extra_h=0.6)
    _tiles(ax, padded.reshape(rows, cols, h, w), row_labels)
    ax.set_title(title)
    return fig


def _class_colours(labels: np.ndarray) -> tuple[np.ndarray, list]:
    """The classes present, sorted, and one colour for each (tab10, or tab20 beyond ten classes)."""
    classes = np.unique(labels)
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    return classes, [cmap(k % cmap.N) for k in range(len(classes))]


def latent_scatter(codes: np.ndarray, labels: np.ndarray, title: str = "Latent space",
                   class_names: Sequence[str] | None = None) -> Figure:
    """2-D codes as points coloured by class, with a legend."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"latent_scatter: expected codes of shape (N, 2), got {codes.shape}")
    fig, ax = _subplots(figsize=(6.6, 5.2))
    classes, colours = _class_colours(labels)
    for k, c in enumerate(classes):
        mask = labels == c
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(codes[mask, 0], codes[mask, 1], s=7, alpha=0.7, color=colours[k], label=name, linewidths=0)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(markerscale=2.5, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="class")
    ax.set_title(title)
    return fig


def manifold_grid(decode: Callable[[np.ndarray], np.ndarray], n: int = 15, image_shape: Sequence[int] = (8, 8),
                  title: str = "Learned manifold") -> Figure:
    """Decode an n x n grid of 2-D latent points placed at normal quantiles (the prior's mass),
    drawn seamlessly: neighbouring decodings touch, as the manifold does.

    ``decode`` maps host codes (k, 2) float32 to host images (k, ...).
    """
    quantiles, z = manifold_codes(n)
    images = _images(decode(z), image_shape)
    h, w = images.shape[1:]
    fig, ax = _subplots(figsize=(7.5, 7.5))
    _tiles(ax, images.reshape(n, n, h, w), lines=False)
    ax.xaxis.tick_bottom()
    _manifold_ticks(ax, quantiles, h, w, fontsize=8)
    ax.tick_params(length=3)
    ax.set_xlabel("$z_1$ (at the prior's 5%-95% quantiles)")
    ax.set_ylabel("$z_2$")
    ax.set_title(title)
    return fig


def manifold_codes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n quantiles of N(0, 1) at probabilities 5%..95% (the prior's mass), and the n * n codes
    (z1, z2) of the grid, row by row from the top, z2 growing upward as on a plot."""
    quantiles = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], dtype=np.float32)
    z = np.array([[a, b] for b in quantiles[::-1] for a in quantiles], dtype=np.float32)
    return quantiles, z


def _manifold_ticks(ax, quantiles: np.ndarray, h: int, w: int, fontsize: float) -> None:
    """Ticks at a few tiles' centres, labelled with the code there."""
    n = len(quantiles)
    marks = sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1})
    ax.set_xticks([(k + 0.5) * w for k in marks], [f"{quantiles[k]:.2f}" for k in marks], fontsize=fontsize)
    ax.set_yticks([(k + 0.5) * h for k in marks], [f"{quantiles[::-1][k]:.2f}" for k in marks], fontsize=fontsize)


def anomaly_histogram(normal_scores: np.ndarray, anomalous_scores: np.ndarray, threshold: float, auc: float,
                      title: str = "Anomaly scores") -> Figure:
    """Histograms of reconstruction errors of normal and anomalous test samples, the threshold, the AUC."""
    fig, ax = _subplots(figsize=(7, 4))
    top = float(np.quantile(np.concatenate([normal_scores, anomalous_scores]), 0.995))
    bins = np.linspace(0, top, 50)
    # The last 0.5% would stretch the axis: they are counted in the last bin instead of dropped.
    clipped = [np.minimum(np.asarray(s, dtype=float), top) for s in (normal_scores, anomalous_scores)]
    ax.hist(clipped[0], bins=bins, alpha=0.6, density=True, label="normal classes")
    ax.hist(clipped[1], bins=bins, alpha=0.6, density=True, label=f"anomalous classes (last bin: >= {top:.3g})")
    ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.4f}")
    ax.set_xlabel("reconstruction error (MSE per image)")
    ax.set_ylabel("density")
    ax.set_title(f"{title} (ROC AUC {auc:.3f})")
    ax.legend()
    return fig


def _integer_epochs(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def training_curves(history: dict, title: str = "Training curves", ylabel: str = "loss per sample") -> Figure:
    """Every loss term per epoch, training solid and validation dashed, one panel per term.

    A term equal to the loss in every epoch (a plain autoencoder's reconstruction) gets no panel
    of its own: it would repeat the loss panel.
    """
    skip = {"lr", "time"}
    terms = [k for k in history if not k.startswith("val_") and k not in skip]
    if "loss" in history:
        terms = ["loss"] + [t for t in terms if t != "loss" and not np.allclose(history[t], history["loss"])]
    fig, axes = _subplots(1, len(terms), figsize=(4.2 * len(terms), 3.4), squeeze=False)
    for ax, term in zip(axes[0], terms):
        epochs = np.arange(1, len(history[term]) + 1)
        ax.plot(epochs, history[term], marker="o", markersize=3, label="train")
        if f"val_{term}" in history:
            ax.plot(epochs, history[f"val_{term}"], marker="o", markersize=3, linestyle="--", label="validation")
        ax.set_title(term)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        _integer_epochs(ax)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def pca_vs_autoencoder(originals: np.ndarray, pca: np.ndarray, autoencoder: np.ndarray, code_dim: int,
                       pca_mse: float, ae_mse: float, n: int = 10, image_shape: Sequence[int] | None = None,
                       col_labels: Sequence[str] | None = None) -> Figure:
    """Originals, PCA reconstructions and autoencoder reconstructions at the same code size."""
    return image_rows(
        [originals[:n], pca[:n], autoencoder[:n]],
        ["original", f"PCA ({pca_mse:.4f})", f"autoencoder ({ae_mse:.4f})"],
        f"PCA vs autoencoder, code size {code_dim} (test MSE in brackets)",
        image_shape, col_labels,
    )


def activation_histogram(codes: dict[str, np.ndarray], title: str = "Code activations",
                         target: float | None = None) -> Figure:
    """Histogram of code activations for each named model (e.g. L1 and KL sparse autoencoders)."""
    fig, axes = _subplots(1, len(codes), figsize=(4.5 * len(codes), 3.4), squeeze=False)
    for ax, (name, activations) in zip(axes[0], codes.items()):
        activations = np.asarray(activations).ravel()
        ax.hist(activations, bins=50, color="tab:blue")
        ax.axvline(float(activations.mean()), color="k", linestyle="--", label=f"mean {activations.mean():.3f}")
        if target is not None and "KL" in name:
            ax.axvline(target, color="tab:red", linestyle=":", label=f"target rho {target}")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("activation")
        ax.set_ylabel("(image, unit) pairs, log scale")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def unit_images(weights: np.ndarray, image_shape: Sequence[int], title: str = "Units", cols: int = 8,
                labels: Sequence[str] | None = None) -> Figure:
    """Rows of ``weights`` (units, pixels) drawn as images (e.g. a decoder's weight: what each unit
    writes into the image; ``labels`` go in the tiles' corners) on one shared, symmetric colour scale,
    with a colour bar: red where a unit's weight is positive, blue where negative.

    The scale is the 99th percentile of |w|, so one extreme pixel does not wash out the rest.
    """
    rows_of_pixels = np.asarray(weights, dtype=np.float32)
    height, width = tuple(image_shape)[-2:]
    if rows_of_pixels.ndim != 2 or rows_of_pixels.shape[1] != height * width or rows_of_pixels.shape[0] == 0:
        raise ValueError(f"unit_images: expected weights of shape (units >= 1, {height * width}) for "
                         f"{height}x{width} images, got {rows_of_pixels.shape} (a Dense encoder's weight is "
                         "(pixels, units): use filters, or pass weight.T)")
    units = rows_of_pixels.shape[0]
    rows = math.ceil(units / cols)
    padded = np.zeros((rows * cols, height * width), dtype=np.float32)
    padded[:units] = rows_of_pixels
    limit = float(np.quantile(np.abs(rows_of_pixels), 0.99)) or 1.0
    fig, ax = _subplots(figsize=(0.85 * cols + 1.6, 0.85 * rows + 0.8))
    image = _tiles(ax, padded.reshape(rows, cols, height, width), vmin=-limit, vmax=limit, cmap="RdBu_r")
    if labels is not None:
        for k, label in enumerate(labels[:units]):
            r, c = divmod(k, cols)
            ax.text(c * width + 1, r * height + 1, label, fontsize=6, va="top", ha="left", color="black",
                    bbox={"facecolor": "white", "alpha": 0.75, "pad": 0.6, "linewidth": 0})
    fig.colorbar(image, ax=ax, fraction=0.035, pad=0.02, label="weight")
    ax.set_title(title)
    return fig


def filters(weight: np.ndarray, image_shape: Sequence[int], title: str = "Encoder filters", n: int = 32) -> Figure:
    """The first ``n`` columns of a Dense encoder's weight (pixels, units) drawn as images: what
    each unit responds to (:func:`unit_images` of ``weight[:, :n].T``)."""
    return unit_images(np.asarray(weight)[:, :n].T, image_shape, title)


def compare_curves(curves: dict[str, Sequence[float]], title: str, ylabel: str, xlabel: str = "epoch",
                   starts: dict[str, int] | None = None, shade: tuple[float, float, str] | None = None,
                   levels: dict[str, float] | None = None, mark: tuple[float, str] | None = None) -> Figure:
    """Several named curves on one axis (e.g. validation loss with and without pretraining).

    ``starts[name]`` shifts a curve to begin after that many epochs (the epochs spent before it,
    e.g. in pretraining); ``shade`` = (from, to, label) marks that span; ``levels`` are named
    horizontal lines (a baseline's value), ``mark`` = (epoch, label) a vertical one (1-based, as
    the axis: the epoch kept, say).
    """
    starts = starts or {}
    fig, ax = _subplots(figsize=(6.8, 4.2))
    if shade is not None:
        ax.axvspan(shade[0], shade[1], color="0.9", label=shade[2])
    for name, values in curves.items():
        first = starts.get(name, 0) + 1
        ax.plot(np.arange(first, first + len(values)), values, label=name, marker="o", markersize=3)
    colors = ["tab:green", "0.5", "tab:purple", "tab:brown"]
    for k, (name, value) in enumerate((levels or {}).items()):
        ax.axhline(value, color=colors[k % len(colors)], linestyle=":", label=name)
    if mark is not None:
        ax.axvline(mark[0], color="0.6", linewidth=0.8, linestyle="--", label=mark[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _integer_epochs(ax)
    ax.set_title(title)
    ax.legend()
    return fig


def bar_chart(values: dict[str, float], title: str, ylabel: str) -> Figure:
    """One labelled bar per entry, its value written on top (for one run each; with several runs
    per entry, :func:`accuracy_spread` shows their spread)."""
    fig, ax = _subplots(figsize=(6, 4))
    bars = ax.bar(list(values), list(values.values()), color=["tab:gray", "tab:blue", "tab:orange", "tab:green"])
    for bar, value in zip(bars, values.values()):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{value:.3f}", ha="center", va="bottom")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if max(values.values()) > 0:
        ax.set_ylim(0, max(values.values()) * 1.15)  # room for the numbers on top
    return fig


def accuracy_spread(values: dict[str, Sequence[float]], title: str, ylabel: str = "test accuracy",
                    note: str | None = None) -> Figure:
    """One column per entry: every run as a dot, the mean as a bar, the range as a line; the axis
    zoomed to the data, since the differences are what matters."""
    if not values or not all(len(runs) for runs in values.values()):
        raise ValueError(f"accuracy_spread: expected at least one run for each entry, got {values!r}")
    fig, ax = _subplots(figsize=(6.8, 4.2))
    colors = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    low = min(min(v) for v in values.values())
    high = max(max(v) for v in values.values())
    margin = max(0.01, 0.25 * (high - low))
    for k, runs in enumerate(values.values()):
        runs = np.asarray(runs, dtype=float)
        color = colors[k % len(colors)]
        ax.bar(k, runs.mean(), width=0.6, color=color, alpha=0.35, bottom=0)
        ax.vlines(k, runs.min(), runs.max(), color=color, linewidth=2)
        ax.scatter(np.full(len(runs), k) + np.linspace(-0.12, 0.12, len(runs)), runs, color=color, zorder=3, s=18)
        spread = f"\n{runs.min():.3f}-{runs.max():.3f}" if len(runs) > 1 else ""
        ax.text(k, runs.max() + 0.15 * margin, f"{runs.mean():.3f}{spread}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(values)), list(values), fontsize=9)
    ax.set_ylim(low - margin, high + 2.5 * margin)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if note:
        ax.text(0.0, -0.16, note, transform=ax.transAxes, fontsize=8, va="top", color="0.3")
    return fig


def rate_distortion(pca: dict[int, Sequence[dict]], autoencoders: dict[str, Sequence[dict]], jpeg: Sequence[dict],
                    *, shaded: Sequence[tuple[float, float, str]] = (), xlabel: str = "bits per pixel (log scale)",
                    ylabel: str = "PSNR (dB)", title: str = "Rate-distortion", note: str | None = None) -> Figure:
    """PSNR against bits per pixel (log axis) of lossy codecs: one line per PCA code size k and per
    autoencoder (their points: one per bit depth, each a dict with "bpp", "psnr_db" and "bits"),
    and JPEG's qualities (dicts with "bpp", "bpp_scan_only", "psnr_db", "quality") as the whole file
    and as its scan alone. ``shaded``: (from, to, label) spans of rate; ``note`` goes under the axes."""
    fig, ax = _subplots(figsize=(8.6, 5.6))
    shades = {k: matplotlib.colormaps["viridis"](0.9 * i / max(1, len(pca) - 1)) for i, k in enumerate(sorted(pca))}
    for i, (k, points) in enumerate(pca.items()):
        ax.plot([p["bpp"] for p in points], [p["psnr_db"] for p in points], "--s", color=shades[k], markersize=3,
                markerfacecolor="white", linewidth=1,
                label=f"PCA, k = {min(pca)} (dark) to {max(pca)} (light)" if i == 0 else None)
        ax.annotate(f"{k}", (points[-1]["bpp"], points[-1]["psnr_db"]), textcoords="offset points", xytext=(3, 1),
                    fontsize=6.5, color=shades[k])
    for i, (name, points) in enumerate(autoencoders.items()):
        ax.plot([p["bpp"] for p in points], [p["psnr_db"] for p in points], "-o", color=f"C{3 + i}", markersize=4,
                linewidth=1.8, label=f"autoencoder {name}")
    if autoencoders:  # the bit depths once, along the last autoencoder's line
        for p in list(autoencoders.values())[-1]:
            ax.annotate(f"{p['bits']}b", (p["bpp"], p["psnr_db"]), textcoords="offset points", xytext=(0, -10),
                        fontsize=6.5, ha="center", color=f"C{3 + len(autoencoders) - 1}")
    ax.plot([p["bpp"] for p in jpeg], [p["psnr_db"] for p in jpeg], "-^", color="black", markersize=4,
            label="JPEG, whole file")
    ax.plot([p["bpp_scan_only"] for p in jpeg], [p["psnr_db"] for p in jpeg], ":^", color="grey", markersize=4,
            markerfacecolor="white", label="JPEG, scan only (headers not counted: not a decodable file)")
    for p in jpeg[::2]:
        ax.annotate(f"q{p['quality']}", (p["bpp"], p["psnr_db"]), textcoords="offset points", xytext=(4, -8),
                    fontsize=6.5)
    for (start, end, label), alpha in zip(shaded, (0.07, 0.12, 0.17)):
        ax.axvspan(start, end, color="black", alpha=alpha, linewidth=0, label=label)
    ax.set_xscale("log")
    low, high = ax.get_xlim()  # ticks at 1, 2, 5 x 10^n, plainly written, and no minor ticks: a third of the drawing
    ticks = [m * 10.0 ** e for e in range(-3, 3) for m in (1, 2, 5) if low <= m * 10.0 ** e <= high]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(title, fontsize=10)
    if note:
        fig.text(0.01, -0.01, note, fontsize=7, va="top")
    return fig


def signed_points(gain: float) -> str:
    """A difference of accuracies in points, signed; "0.0" where it rounds to zero."""
    text = f"{100 * gain:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def accuracy_by_labels(per_class: Sequence[int], names: Sequence[str], runs: dict[str, Sequence[Sequence[float]]],
                       gains: Sequence[Sequence[float]], *, title: str, gain_label: str = "gain (points)",
                       note: str | None = None, dashed: Sequence[str] = ()) -> Figure:
    """Left: test accuracy against labelled images per class (log axis), one line per method
    (``runs[method][budget][seed]``) through the mean over the seeds, the range of the seeds a bar.
    Right: a paired gain per budget (``gains[budget][seed]``, accuracies' differences) of every
    seed as a dot, the mean as a bar, with how many seeds came out ahead. ``names`` label the
    budgets ("all" for every label); ``dashed`` methods are drawn dashed (a control)."""
    seeds = len(gains[0]) if gains else 0
    fig, (ax, ax_gain) = _subplots(1, 2, figsize=(11.0, 4.8))
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.24, wspace=0.22)
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    colors = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    width = 0.03  # the methods side by side at each budget, in log10 units
    for m, (label, by_budget) in enumerate(runs.items()):
        shift = 10 ** ((m - (len(runs) - 1) / 2) * width)
        xs = [p * shift for p in per_class]
        means = [float(np.mean(r)) for r in by_budget]
        color = colors[m % len(colors)]
        ax.plot(xs, means, label=label, color=color, marker=markers[m % len(markers)],
                linestyle="--" if label in dashed else "-", markersize=5)
        ax.vlines(xs, [min(r) for r in by_budget], [max(r) for r in by_budget], color=color, linewidth=1.4, alpha=0.7)
    ax.set_xscale("log")
    ax.set_xticks(per_class, [f"all (~{p})" if n == "all" else n for p, n in zip(per_class, names)])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(True, alpha=0.3)
    ax.set_title(f"test accuracy: mean of {seeds} seeds (marker), lowest to highest seed (bar)", fontsize=9.5)
    ax.legend(fontsize=8, loc="lower right")

    pts = [100 * np.asarray(g, dtype=float) for g in gains]
    for k, g in enumerate(pts):
        ax_gain.bar(k, g.mean(), width=0.55, color="tab:green", alpha=0.35)
        ax_gain.scatter(k + np.linspace(-0.1, 0.1, len(g)), g, color="tab:green", s=18, zorder=3)
        ax_gain.text(k, max(g.max(), 0) + 0.2, f"{signed_points(g.mean() / 100)}\n{int(np.sum(g > 0))}/{len(g)} ahead",
                     ha="center", va="bottom", fontsize=8)
    ax_gain.axhline(0, color="0.3", linewidth=0.8)
    low, high = min(min(g.min() for g in pts), 0), max(max(g.max() for g in pts), 0)
    ax_gain.set_ylim(low - 0.6, high + 1.6)
    ax_gain.set_xticks(range(len(names)), names)
    ax_gain.set_xlabel("labelled training images per class")
    ax_gain.set_ylabel(gain_label)
    ax_gain.set_title(f"the gain, paired: each of {seeds} seeds (dot), mean (bar)", fontsize=9.5)
    ax_gain.grid(True, axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=11)
    if note:
        fig.text(0.07, 0.02, note, fontsize=7.5, va="bottom", color="0.3")
    return fig


def roc_curves(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], title: str,
               normal: str = "normal cases", anomalies: str = "anomalies") -> Figure:
    """ROC curves, name -> (false positive rates, true positive rates, AUC), beside chance; the axes
    name what is flagged (``normal``: false alarms, ``anomalies``: detections)."""
    fig, ax = _subplots(figsize=(5.6, 5.0))
    for name, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, label=f"{name}: AUC {auc:.3f}", linewidth=1.8)
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", label="chance: AUC 0.5")
    ax.set_xlabel(f"false alarm rate ({normal} flagged)")
    ax.set_ylabel(f"detection rate ({anomalies} flagged)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right")
    return fig


def actual_size(small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Small images (N, 1, h, w) or (N, h, w) drawn at their own pixel size: centred on white tiles
    of ``shape`` (H, W), for a row of :func:`image_rows` beside full-size images."""
    small = _images(small)
    h, w = shape
    tiles = np.ones((len(small), h, w), dtype=np.float32)
    top, left = (h - small.shape[-2]) // 2, (w - small.shape[-1]) // 2
    tiles[:, top:top + small.shape[-2], left:left + small.shape[-1]] = small
    return tiles


# --------------------------------------------------------------------------- #
# Animations: a figure whose moving parts change frame by frame, written as a GIF
# --------------------------------------------------------------------------- #
Frames = Callable[[int], Sequence]  # show(k): moves the figure to frame k, returns the artists it changed


def _limits(frames: Sequence[np.ndarray], margin: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y limits that hold every point of every frame, with a margin."""
    points = np.concatenate(frames)
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-6)
    return (float(low[0] - pad[0]), float(high[0] + pad[0])), (float(low[1] - pad[1]), float(high[1] + pad[1]))


def latent_frames(frames: Sequence[np.ndarray], labels: np.ndarray, titles: Sequence[str],
                  class_names: Sequence[str] | None = None) -> tuple[Figure, Frames]:
    """2-D codes per frame (each (N, 2), the same N points), coloured by class as in
    :func:`latent_scatter`, on axes fixed across frames (so the motion is the points'). Returns the
    figure at frame 0 and ``show(k)``."""
    fig = Figure(figsize=(5.8, 4.3))
    ax = fig.add_axes((0.12, 0.12, 0.60, 0.74))
    classes, colours = _class_colours(labels)
    order = np.random.default_rng(0).permutation(len(labels))  # no class always drawn on top
    colour_of = np.array(colours)[np.searchsorted(classes, labels)]
    points = ax.scatter(frames[0][order, 0], frames[0][order, 1], s=9, c=colour_of[order], alpha=0.8, linewidths=0)
    xlim, ylim = _limits(frames)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("z\u2081")  # z1, z2 as plain text: mathtext would be parsed again for every frame
    ax.set_ylabel("z\u2082")
    handles = [Line2D([], [], marker="o", linestyle="", color=colour, markersize=5,
                      label=class_names[int(c)] if class_names is not None else str(c))
               for c, colour in zip(classes, colours)]
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), title="class",
              title_fontsize=8, frameon=False)
    title = ax.set_title(titles[0], fontsize=9)

    def show(k: int) -> tuple:
        points.set_offsets(frames[k][order])
        title.set_text(titles[k])
        return points, title

    return fig, show


def manifold_frames(frames: Sequence[np.ndarray], quantiles: np.ndarray,
                    titles: Sequence[str]) -> tuple[Figure, Frames]:
    """Decoded grids per frame, each (n, n, H, W) at the codes of :func:`manifold_codes`. Returns
    the figure at frame 0 and ``show(k)``."""
    n, _, h, w = frames[0].shape
    canvases = [np.asarray(f).transpose(0, 2, 1, 3).reshape(n * h, n * w) for f in frames]
    # n tiles of w pixels fill the axes at 80 dpi for 12 x 28: shown at their own size, not resampled
    fig = Figure(figsize=(5.2, 5.4))
    ax = fig.add_axes((0.12, 0.08, 336 / 416, 336 / 432))
    # "antialiased", as manifold_grid's tiles: smoothing where the tiles are shrunk, so no stripes
    image = ax.imshow(canvases[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="antialiased",
                      extent=(0, n * w, n * h, 0))
    _manifold_ticks(ax, quantiles, h, w, fontsize=7)
    ax.set_xlabel("z\u2081 (at the prior's 5%-95% quantiles)", fontsize=8)
    ax.set_ylabel("z\u2082", fontsize=8)
    title = ax.set_title(titles[0], fontsize=9)

    def show(k: int) -> tuple:
        image.set_data(canvases[k])
        title.set_text(titles[k])
        return image, title

    return fig, show


def write_gif(fig: Figure, show: Frames, count: int, path: str | Path, *, fps: float = 2, dpi: int = 80) -> Path:
    """Frames 0..count-1 of ``fig`` (``show(k)`` moves it to frame k) as an animated GIF (Pillow),
    looping; returns the path.

    What stays the same (axes, ticks, legend: their text is most of a frame's drawing) is drawn
    once, without the moving artists; each frame restores that background and draws only the
    artists ``show`` returns (matplotlib's blitting), several times faster than drawing whole
    frames as FuncAnimation's writers do. The figure is drawn at ``dpi`` (its dpi is set to it).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    check_dpi(dpi)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"write_gif: expected a frame count >= 1, got {count!r}")
    if not fps > 0:
        raise ValueError(f"write_gif: expected frames per second > 0, got {fps!r}")
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    changing = show(0)
    # the axes' frame lies above their contents (an image reaches it): drawn with them, each frame
    spines = [spine for ax in {artist.axes for artist in changing if artist.axes is not None}
              for spine in ax.spines.values()]
    moving = [*changing, *spines]
    alphas = [artist.get_alpha() for artist in moving]
    for artist in moving:  # transparent, not invisible: a hidden title would be laid out elsewhere
        artist.set_alpha(0.0)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    for artist, alpha in zip(moving, alphas):
        artist.set_alpha(alpha)
    images = []
    for k in range(count):
        canvas.restore_region(background)
        for artist in [*show(k), *spines]:
            fig.draw_artist(artist)
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])  # fromarray copies
        # GIF holds 256 colours: the fast octree picks them in a tenth of Pillow's default time
        images.append(rgb.quantize(256, method=Image.Quantize.FASTOCTREE))
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path
