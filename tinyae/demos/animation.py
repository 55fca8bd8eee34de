"""The 'animation' demo: the 2-D code of an autoencoder and the decoded manifold of a 2-D VAE,
recorded after every epoch of training and written as two animated GIFs.

Both train on a fixed draw of 4,000 training images (as the `latent` and `vae` demos' models,
with a smaller budget). A fit callback records, after each epoch, the codes of a fixed draw of
test images (50 of each class) and the VAE's decodings of a 12x12 grid of latent points (at the
prior's quantiles, as plot.manifold_grid); a budget of more than 12 epochs (the digits get 33)
records 12 of them, evenly spaced. Each GIF frame (:func:`tinyae.plot.write_gif`, 2 frames a second) is titled with
its epoch and the validation loss, on axes fixed across frames (computed from all of them), so
the motion is the model's. The GIFs are written only with an output folder (``ctx.out``); the
last frames are kept as ordinary figures (``latent_final``, ``manifold_final``, written as PNGs
too with a folder), so a notebook without one still shows where training ended.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, plot
from ..models import mlp_autoencoder, mlp_vae
from .core import Context, apply_model, demo

TRAIN_IMAGES = 4000  # a fixed draw of the training set: a frame an epoch, and the demo stays short
PER_CLASS = 50  # test images shown per class in the latent map
TILES = 12  # the manifold is TILES x TILES decodings
MAX_FRAMES = 12  # a longer budget records 12 epochs, evenly spaced
FPS = 2
GIF_DPI = 80  # at the demos' default --dpi 110; scaled with --dpi


def _frame_epochs(epochs: int) -> list[int]:
    """The 0-based epochs recorded: all of them up to MAX_FRAMES, else MAX_FRAMES evenly spaced
    (always the first and the last)."""
    if epochs <= MAX_FRAMES:
        return list(range(epochs))
    return sorted({int(round(e)) for e in np.linspace(0, epochs - 1, MAX_FRAMES)})


@demo("animation", "A latent map that moves: the 2-D code and the VAE manifold, epoch by epoch")
def animation(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(len(data.x_train), min(TRAIN_IMAGES, len(data.x_train)), replace=False))
    x_train, x_val = data.flat("train")[train], data.flat("val")
    shown = ctx.showcase(PER_CLASS)
    x_shown, y_shown = data.flat("test")[shown], data.y_test[shown]
    # the budget is set for the 4,000 images trained on: scaled by those, not by the whole training set
    epochs = ctx.epochs_for(10, images=len(x_train), reference=TRAIN_IMAGES)
    recorded = set(_frame_epochs(epochs))

    # The autoencoder of the latent demo, its test codes after each recorded epoch.
    codes: list[np.ndarray] = []
    ae_titles: list[str] = []

    def record_codes(epoch: int, history, model) -> None:
        if epoch in recorded:
            codes.append(apply_model(model, model.encode, x_shown))
            ae_titles.append(f"Autoencoder {ctx.d}-128-32-2: epoch {epoch + 1}/{epochs}\n"
                             f"validation BCE {history['val_loss'][-1]:.4f} per pixel")

    backend.seed(0)
    autoencoder = mlp_autoencoder([ctx.d, 128, 32, 2], loss="bce")
    ae_history = ctx.train(autoencoder, x_train, x_val, epochs, lr=2e-3, label=f"{ctx.d}-128-32-2",
                           callbacks=[record_codes])

    # The VAE of the vae demo, its decoded grid (z2 growing upward) after each recorded epoch.
    quantiles, z = plot.manifold_codes(TILES)
    h, w = ctx.shape[-2:]
    grids: list[np.ndarray] = []
    vae_titles: list[str] = []

    def record_manifold(epoch: int, history, model) -> None:
        if epoch in recorded:
            grids.append(apply_model(model, model.decode, z).reshape(TILES, TILES, h, w))
            vae_titles.append(f"VAE {ctx.d}-128-(2+2): epoch {epoch + 1}/{epochs}\n"
                              f"validation -ELBO {history['val_loss'][-1]:.1f} nats per image")

    backend.seed(0)
    vae = mlp_vae([ctx.d, 128], 2)
    vae_history = ctx.train(vae, x_train, x_val, epochs, lr=2e-3, label=f"VAE {ctx.d}-128-(2+2)",
                            callbacks=[record_manifold])

    def latent():
        return plot.latent_frames(codes, y_shown, ae_titles, data.class_names)

    def manifold():
        return plot.manifold_frames(grids, quantiles, vae_titles)

    if ctx.out is not None:
        ctx.out.mkdir(parents=True, exist_ok=True)
        dpi = max(20, round(GIF_DPI * ctx.dpi / 110))
        for stem, make in (("latent_animation", latent), ("manifold_animation", manifold)):
            ctx.files.append(plot.write_gif(*make(), len(codes), ctx.out / f"{stem}.gif", fps=FPS, dpi=dpi))
    # The last frames as ordinary figures (a fresh figure each: no animation is attached to them).
    for stem, make in (("latent_final", latent), ("manifold_final", manifold)):
        fig, show = make()
        show(len(codes) - 1)
        ctx.save(fig, stem)
    return {"epochs": epochs, "frames": len(codes), "frame_epochs": [e + 1 for e in sorted(recorded)],
            "images_trained_on": len(x_train), "shown_test_images": len(shown), "manifold_tiles": TILES, "fps": FPS,
            "ae_val_loss": ae_history["val_loss"][-1], "vae_val_loss": vae_history["val_loss"][-1],
            "vae_val_kl": vae_history["val_kl"][-1]}
