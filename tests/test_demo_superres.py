"""The super-resolution demo: its figure and metrics on the digits, the model against the fixed
upscalers, and the upscalers themselves against known answers and PIL."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image  # matplotlib depends on pillow

import tinyae
import tinyae.demos.superres  # noqa: F401  (registers the demo)
from tinyae import demos
from tinyae.data import load as load_dataset
from tinyae.demos.core import psnr
from tinyae.demos.superres import bilinear_matrix, downscale, upscale_bilinear, upscale_nearest
from tinyae.threads import limit_threads


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_superres_writes_its_figure_and_beats_bilinear(digits, tmp_path):
    """8 epochs on the digits (well under a second) are enough to beat both fixed upscalers."""
    with limit_threads(1):
        result = demos.run("superres", digits, out=tmp_path, epochs=8, progress=False)
    folder = tmp_path / "superres"
    assert {p.name for p in folder.iterdir()} == {"superres_rows.png", "metrics.json"}
    with Image.open(folder / "superres_rows.png") as image:
        assert image.format == "PNG" and min(image.size) >= 150
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == result.metrics
    assert metrics["epochs"] == 8 and metrics["low_res_shape"] == [4, 4] and metrics["high_res_shape"] == [8, 8]
    psnr = [metrics[f"psnr_{name}_db"] for name in ("nearest", "bilinear", "model")]
    assert all(math.isfinite(p) and 5 < p < 60 for p in psnr), metrics
    assert metrics["psnr_model_db"] > metrics["psnr_bilinear_db"] + 0.5, metrics
    assert metrics["psnr_model_db"] > metrics["psnr_nearest_db"], metrics
    assert metrics["model_minus_bilinear_db"] == pytest.approx(psnr[2] - psnr[1])


def test_downscale_averages_blocks_and_nearest_undoes_it_on_blocky_images():
    rng = np.random.default_rng(0)
    low = rng.random((3, 1, 4, 5)).astype(np.float32)
    blocks = upscale_nearest(low)  # each pixel a 2x2 block
    assert blocks.shape == (3, 1, 8, 10)
    np.testing.assert_array_equal(downscale(blocks), low)
    odd = rng.random((2, 1, 7, 9))
    np.testing.assert_allclose(downscale(odd)[0, 0, 1, 2], odd[0, 0, 2:4, 4:6].mean())  # last row, column dropped
    assert downscale(odd).shape == (2, 1, 3, 4)


def test_bilinear_on_known_images():
    # A ramp: half-pixel centres give 3/4 - 1/4 mixes inside, the edge pixels repeat at the ends.
    ramp = np.arange(4, dtype=np.float64)
    np.testing.assert_allclose(bilinear_matrix(4) @ ramp, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    np.testing.assert_allclose(bilinear_matrix(5).sum(axis=1), 1.0)  # a weighted mean: constants stay
    constant = np.full((1, 1, 3, 3), 0.4, dtype=np.float32)
    np.testing.assert_allclose(upscale_bilinear(constant), 0.4, rtol=1e-6)
    # A checkerboard of 2x2 blocks, downscaled to a 4x4 checkerboard and upscaled again: inside, a
    # pixel gets 9/16 of its own value and 1/16 of the diagonal (the same), 3/8 of the other, so it is
    # 0.625 or 0.375 (error 0.375); on the border, 0.75 or 0.25 (error 0.25); the corners are exact.
    board = upscale_nearest(np.indices((4, 4)).sum(axis=0)[None, None].astype(np.float32) % 2)
    mse = (36 * 0.375 ** 2 + 24 * 0.25 ** 2) / 64
    assert psnr(board, upscale_bilinear(downscale(board))) == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)
    with np.errstate(divide="ignore"):
        assert psnr(board, upscale_nearest(downscale(board))) == math.inf  # blocks come back exactly


def test_bilinear_matches_pil():
    image = np.random.default_rng(1).random((5, 7)).astype(np.float32)
    pil = np.asarray(Image.fromarray(image, mode="F").resize((14, 10), Image.BILINEAR))
    np.testing.assert_allclose(upscale_bilinear(image[None, None])[0, 0], pil, atol=1e-5)
