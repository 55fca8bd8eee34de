"""The 'animation' demo: the 2-D code of an autoencoder and the decoded manifold of a 2-D VAE,
recorded after every epoch of training and written as two animated GIFs.

Both train on a fixed draw of 5,000 training images (as the `latent` and `vae` demos' models,
with a smaller budget). A fit callback records, after each epoch, the codes of a fixed draw of
test images (50 of each class) and the VAE's decodings of a 12x12 grid of latent points (at the
prior's quantiles, as plot.manifold_grid); a budget of more than 12 epochs records 12 of them,
evenly spaced. Each GIF frame (matplotlib's FuncAnimation, written by its PillowWriter, 2 frames a
second) is titled with its epoch and the validation loss, on axes fixed across frames (computed
from all of them), so the motion is the model's. The GIFs are written only with an output folder
(``ctx.out``); the last frames are kept as ordinary figures (``latent_final``, ``manifold_final``,
written as PNGs too with a folder), so a notebook without one still shows where training ended.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import matplotlib
import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import backend
from ..models import mlp_autoencoder, mlp_vae
from .core import Context, _apply, demo

TRAIN_IMAGES = 5000  # a fixed draw of the training set: a frame an epoch, and the demo stays short
PER_CLASS = 50  # test images shown per class in the latent map
TILES = 12  # the manifold is TILES x TILES decodings
MAX_FRAMES = 12  # a longer budget (the digits get 72 epochs) records 12 epochs, evenly spaced
FPS = 2
GIF_DPI = 80  # at the demos' default --dpi 110; scaled with --dpi


def _frame_epochs(epochs: int) -> list[int]:
    """The 0-based epochs recorded: all of them up to MAX_FRAMES, else MAX_FRAMES evenly spaced
    (always the first and the last)."""
    if epochs <= MAX_FRAMES:
        return list(range(epochs))
    return sorted({int(round(e)) for e in np.linspace(0, epochs - 1, MAX_FRAMES)})


def _limits(frames: list[np.ndarray], margin: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y limits that hold every point of every frame, with a margin."""
    points = np.concatenate(frames)
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-6)
    return (float(low[0] - pad[0]), float(high[0] + pad[0])), (float(low[1] - pad[1]), float(high[1] + pad[1]))


def _latent_figure(frames: list[np.ndarray], labels: np.ndarray, titles: list[str], class_names):
    """A figure of the first frame's codes, and the function that moves it to frame k."""
    fig = Figure(figsize=(5.8, 4.3))
    ax = fig.add_axes((0.12, 0.12, 0.60, 0.74))
    classes = np.unique(labels)
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    index = np.searchsorted(classes, labels)
    order = np.random.default_rng(0).permutation(len(labels))  # no class always drawn on top
    colors = cmap(index[order] % cmap.N)
    points = ax.scatter(frames[0][order, 0], frames[0][order, 1], s=9, c=colors, alpha=0.8, linewidths=0)
    xlim, ylim = _limits(frames)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("z\u2081")  # z1, z2 as plain text: mathtext would be parsed again for every frame
    ax.set_ylabel("z\u2082")
    handles = [Line2D([], [], marker="o", linestyle="", color=cmap(k % cmap.N), markersize=5,
                      label=class_names[int(c)]) for k, c in enumerate(classes)]
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), title="class",
              title_fontsize=8, frameon=False)
    title = ax.set_title(titles[0], fontsize=9)

    def show(k: int):
        points.set_offsets(frames[k][order])
        title.set_text(titles[k])
        return points, title

    return fig, show


def _manifold_figure(frames: list[np.ndarray], quantiles: np.ndarray, titles: list[str]):
    """A figure of the first frame's decoded grid (n, n, H, W), and the function that moves it to frame k."""
    n, _, h, w = frames[0].shape
    canvases = [f.transpose(0, 2, 1, 3).reshape(n * h, n * w) for f in frames]
    # 12 tiles of 28 pixels fill the axes' 336 pixels at 80 dpi: shown at their own size, not resampled
    fig = Figure(figsize=(5.2, 5.4))
    ax = fig.add_axes((0.12, 0.08, 336 / 416, 336 / 432))
    # "antialiased", as plot.manifold_grid: smoothing where the tiles are shrunk, so no stripes
    image = ax.imshow(canvases[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="antialiased",
                      extent=(0, n * w, n * h, 0))
    marks = sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1})
    ax.set_xticks([(k + 0.5) * w for k in marks], [f"{quantiles[k]:.2f}" for k in marks], fontsize=7)
    ax.set_yticks([(k + 0.5) * h for k in marks], [f"{quantiles[::-1][k]:.2f}" for k in marks], fontsize=7)
    ax.set_xlabel("z\u2081 (at the prior's 5%-95% quantiles)", fontsize=8)
    ax.set_ylabel("z\u2082", fontsize=8)
    title = ax.set_title(titles[0], fontsize=9)

    def show(k: int):
        image.set_data(canvases[k])
        title.set_text(titles[k])
        return image, title

    return fig, show


def _write_gif(make, count: int, path, dpi: int) -> None:
    """Render frames 0..count-1 of a fresh figure from ``make`` into an animated GIF (Pillow)."""
    fig, show = make()
    animation = FuncAnimation(fig, show, frames=count, blit=False, repeat=False)
    animation.save(path, writer=PillowWriter(fps=FPS), dpi=dpi)


@demo("animation", "A latent map that moves: the 2-D code and the VAE manifold, epoch by epoch")
def animation(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(len(data.x_train), min(TRAIN_IMAGES, len(data.x_train)), replace=False))
    x_train, x_val = data.flat("train")[train], data.flat("val")
    shown = ctx.showcase(PER_CLASS)
    x_shown, y_shown = data.flat("test")[shown], data.y_test[shown]
    # the budget is set for the 5,000 images trained on: scaled by those, not by the whole training set
    epochs = ctx.epochs if ctx.epochs is not None else max(2, min(72, round(12 * TRAIN_IMAGES / len(x_train))))
    recorded = set(_frame_epochs(epochs))

    # The autoencoder of the latent demo, its test codes after each recorded epoch.
    codes: list[np.ndarray] = []
    ae_titles: list[str] = []

    def record_codes(epoch: int, history, model) -> None:
        if epoch in recorded:
            codes.append(_apply(model, model.encode, x_shown))
            ae_titles.append(f"Autoencoder {ctx.d}-128-32-2: epoch {epoch + 1}/{epochs}\n"
                             f"validation BCE {history['val_loss'][-1]:.4f} per pixel")

    backend.seed(0)
    autoencoder = mlp_autoencoder([ctx.d, 128, 32, 2], loss="bce")
    ae_history = ctx.train(autoencoder, x_train, x_val, epochs, lr=2e-3, label=f"{ctx.d}-128-32-2",
                           callbacks=[record_codes])

    # The VAE of the vae demo, its decoded grid (z2 growing upward) after each recorded epoch.
    quantiles = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, TILES)], dtype=np.float32)
    z = np.array([[a, b] for b in quantiles[::-1] for a in quantiles], dtype=np.float32)
    h, w = ctx.shape[-2:]
    grids: list[np.ndarray] = []
    vae_titles: list[str] = []

    def record_manifold(epoch: int, history, model) -> None:
        if epoch in recorded:
            grids.append(_apply(model, model.decode, z).reshape(TILES, TILES, h, w))
            vae_titles.append(f"VAE {ctx.d}-128-(2+2): epoch {epoch + 1}/{epochs}\n"
                              f"validation -ELBO {history['val_loss'][-1]:.1f} nats per image")

    backend.seed(0)
    vae = mlp_vae([ctx.d, 128], 2)
    vae_history = ctx.train(vae, x_train, x_val, epochs, lr=2e-3, label=f"VAE {ctx.d}-128-(2+2)",
                            callbacks=[record_manifold])

    def latent():
        return _latent_figure(codes, y_shown, ae_titles, data.class_names)

    def manifold():
        return _manifold_figure(grids, quantiles, vae_titles)

    if ctx.out is not None:
        ctx.out.mkdir(parents=True, exist_ok=True)
        dpi = max(20, round(GIF_DPI * ctx.dpi / 110))
        for stem, make in (("latent_animation", latent), ("manifold_animation", manifold)):
            path = ctx.out / f"{stem}.gif"
            _write_gif(make, len(codes), path, dpi)
            ctx.files.append(path)
    # The last frames as ordinary figures (a fresh figure each: no animation is attached to them).
    for stem, make in (("latent_final", latent), ("manifold_final", manifold)):
        fig, show = make()
        show(len(codes) - 1)
        ctx.save(fig, stem)
    return {"epochs": epochs, "frames": len(codes), "frame_epochs": [e + 1 for e in sorted(recorded)],
            "images_trained_on": len(x_train), "shown_test_images": len(shown), "manifold_tiles": TILES, "fps": FPS,
            "ae_val_loss": ae_history["val_loss"][-1], "vae_val_loss": vae_history["val_loss"][-1],
            "vae_val_kl": vae_history["val_kl"][-1]}
