"""The 'animation' demo: two GIFs with a frame per epoch, on axes fixed across frames."""

from __future__ import annotations

import json
import math

import numpy as np
from PIL import Image

import tinyae.demos.animation as animation
from tinyae import demos, plot


def test_two_gifs_with_a_frame_per_epoch(tmp_path):
    result = demos.run("animation", "digits", out=tmp_path, epochs=2, progress=False)
    folder = tmp_path / "animation"
    gifs = [folder / "latent_animation.gif", folder / "manifold_animation.gif"]
    assert {p.name for p in folder.iterdir()} == {"latent_animation.gif", "manifold_animation.gif",
                                                  "latent_final.png", "manifold_final.png", "metrics.json"}
    assert set(gifs) <= set(result.files) and len(result.files) == 4
    for path in gifs:
        assert path.stat().st_size < 2_000_000
        with Image.open(path) as image:
            assert image.format == "GIF" and image.n_frames == 2
            assert image.info["duration"] == 1000 // animation.FPS
            frames = []
            for k in range(image.n_frames):
                image.seek(k)
                frames.append(np.asarray(image.convert("L"), dtype=np.int16))
        assert np.abs(frames[1] - frames[0]).sum() > 0, f"{path.name}: the frames do not move"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == result.metrics
    assert metrics["frames"] == 2 and metrics["frame_epochs"] == [1, 2] and metrics["epochs"] == 2
    assert all(math.isfinite(metrics[k]) for k in ("ae_val_loss", "vae_val_loss", "vae_val_kl"))


def test_without_an_output_folder_the_last_frames_are_figures():
    """A notebook's run writes nothing and keeps the last frames as Figures."""
    result = demos.run("animation", "digits", epochs=1, progress=False)
    assert result.files == [] and set(result.figures) == {"latent_final", "manifold_final"}
    assert result.metrics["frames"] == 1
    title = result.figures["latent_final"].axes[0].get_title()
    assert "epoch 1/1" in title and f"{result.metrics['ae_val_loss']:.4f}" in title
    assert "epoch 1/1" in result.figures["manifold_final"].axes[0].get_title()


def test_a_long_budget_records_evenly_spaced_epochs():
    assert animation._frame_epochs(5) == [0, 1, 2, 3, 4]
    assert animation._frame_epochs(animation.MAX_FRAMES) == list(range(animation.MAX_FRAMES))
    for epochs in (animation.MAX_FRAMES + 1, 72):
        spaced = animation._frame_epochs(epochs)
        assert len(spaced) == animation.MAX_FRAMES and spaced[0] == 0 and spaced[-1] == epochs - 1
        gaps = np.diff(spaced)
        assert gaps.min() >= 1 and gaps.max() - gaps.min() <= 1, spaced  # 72 epochs: every 6th or 7th


def _rows(points: np.ndarray) -> np.ndarray:
    return points[np.lexsort(points.T)]


def test_the_axes_stay_fixed_and_hold_every_frame():
    """The animation's latent map (tinyae.plot.latent_frames): show(k) moves the points to frame k,
    on limits that hold every frame."""
    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((40, 2)) * (k + 1) for k in range(4)]  # a cloud that grows
    fig, show = plot.latent_frames(frames, np.arange(40) % 4, [f"epoch {k}" for k in range(4)], list("abcd"))
    ax = fig.axes[0]
    limits = (ax.get_xlim(), ax.get_ylim())
    points = np.concatenate(frames)
    assert limits[0][0] < points[:, 0].min() and points[:, 0].max() < limits[0][1]
    assert limits[1][0] < points[:, 1].min() and points[:, 1].max() < limits[1][1]
    for k in (3, 1, 0, 2):
        show(k)
        assert (ax.get_xlim(), ax.get_ylim()) == limits and ax.get_title() == f"epoch {k}"
        shown = np.asarray(ax.collections[0].get_offsets())
        np.testing.assert_array_equal(_rows(shown), _rows(frames[k]))  # frame k's points, in any order
