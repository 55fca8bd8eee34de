"""The compression demo: its figures and metrics on the digits, and its parts (the byte count,
bit packing, the quantiser, JPEG's byte accounting, where JPEG starts to win)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image  # matplotlib depends on pillow

import tinyae.demos.compression  # noqa: F401  (registers the demo)
from tinyae import demos
from tinyae.data import load as load_dataset
from tinyae.demos.compression import (
    BITS,
    JPEG_QUALITIES,
    Quantiser,
    _wins_above,
    bits_per_pixel,
    jpeg_codec,
    jpeg_scan_bytes,
    pack_codes,
    stored_bytes,
    unpack_codes,
)
from tinyae.threads import limit_threads


def _finite(value):
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    with limit_threads(1):
        result = demos.run("compression", load_dataset("digits"), out=out, epochs=2, progress=False)
    return result, out / "compression"


def test_compression_writes_its_figures_and_metrics(digits_run):
    result, folder = digits_run
    assert {p.name for p in folder.iterdir()} == {"rate_distortion.png", "compression_examples.png", "metrics.json"}
    for name in ("rate_distortion.png", "compression_examples.png"):
        with Image.open(folder / name) as image:
            assert image.format == "PNG" and min(image.size) >= 150
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == result.metrics and _finite(metrics)
    assert metrics["epochs"] == 2 and metrics["code_sizes"] == [4, 8, 16] and metrics["pixels"] == 64


def test_compression_points_count_the_bytes_stored(digits_run):
    metrics = digits_run[0].metrics
    for method in ("autoencoder", "pca"):
        for k, points in metrics[method].items():
            assert [p["bits"] for p in points] == list(BITS)
            for p in points:
                assert p["bytes"] == math.ceil(int(k) * p["bits"] / 8)
                assert p["bpp"] == pytest.approx(p["bytes"] * 8 / 64)
            assert points[-1]["psnr_db"] > points[0]["psnr_db"]  # 8 bits per number beat 2
    jpeg = metrics["jpeg"]
    assert [p["quality"] for p in jpeg] == list(JPEG_QUALITIES)
    assert all(p["header_bytes"] > 100 and p["bytes"] == pytest.approx(p["scan_bytes"] + p["header_bytes"])
               for p in jpeg)
    assert jpeg[-1]["psnr_db"] > jpeg[0]["psnr_db"] + 10
    summary = metrics["summary"]
    # On 8x8 images JPEG's headers alone are ~20 bpp: it cannot reach the codes' rates at all.
    assert summary["lowest_rate"]["jpeg_whole_file"]["bpp"] > 10 * summary["highest_rate_of_autoencoder_and_pca_bpp"]
    wins = summary["jpeg_wins_above_bpp"]
    assert wins is None or jpeg[0]["bpp"] <= wins <= jpeg[-1]["bpp"]
    assert summary["best_within_budget"]["autoencoder"]["bytes"] <= 8


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8, 12, 16])
@pytest.mark.parametrize("code_dim", [1, 3, 8, 13])
def test_packing_stores_ceil_k_bits_over_8_bytes_and_round_trips(code_dim, bits):
    q = np.random.default_rng(code_dim * 100 + bits).integers(0, 2 ** bits, size=(7, code_dim))
    packed = pack_codes(q, bits)
    assert packed.dtype == np.uint8 and packed.shape == (7, stored_bytes(code_dim, bits))
    assert stored_bytes(code_dim, bits) == math.ceil(code_dim * bits / 8)
    np.testing.assert_array_equal(unpack_codes(packed, bits, code_dim), q)


def test_packing_is_msb_first():
    np.testing.assert_array_equal(pack_codes(np.array([[1, 2, 3]]), 2), [[0b01101100]])
    assert bits_per_pixel(8, 64) == 1.0


@pytest.mark.parametrize("bits", BITS)
def test_quantiser_round_trip_error_is_at_most_half_a_step(bits):
    rng = np.random.default_rng(bits)
    codes = rng.normal(size=(1000, 5)) * [1, 10, 0.1, 3, 1] + [0, 5, -2, 0, 100]
    codes[:, 4] = 100.0  # a constant unit
    exact = Quantiser.fit(codes, percent=0)  # min and max: every training code is inside
    q = exact.quantise(codes, bits)
    assert q.min() >= 0 and q.max() <= 2 ** bits - 1
    error = np.abs(exact.dequantise(q, bits) - codes)
    assert np.all(error <= exact.step(bits) / 2 + 1e-9)
    clipped = Quantiser.fit(codes, percent=1)  # the rarest 1% at each end are clipped to the range
    inside = (codes >= clipped.low) & (codes <= clipped.high)
    back = clipped.dequantise(clipped.quantise(codes, bits), bits)
    assert np.all(np.abs(back - codes)[inside] <= np.broadcast_to(clipped.step(bits) / 2, codes.shape)[inside] + 1e-9)
    np.testing.assert_allclose(back, np.clip(back, clipped.low, clipped.high))


def test_jpeg_bytes_are_the_file_and_its_scan():
    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 16))
    files = []
    for image in images:  # Pillow's default Huffman tables: the same headers for every image
        buffer = io.BytesIO()
        Image.fromarray(np.rint(image * 255).astype(np.uint8), "L").save(buffer, "JPEG", quality=50)
        files.append(buffer.getvalue())
    headers = [len(f) - jpeg_scan_bytes(f) for f in files]
    assert headers[0] == headers[1] > 300 and all(jpeg_scan_bytes(f) > 0 for f in files)
    decoded, sizes, scans = jpeg_codec(images, 95)
    assert decoded.shape == images.shape and 0 <= decoded.min() and decoded.max() <= 1
    assert np.all(sizes > scans) and np.all(scans > 0)
    assert np.mean((decoded - images) ** 2) < np.mean((jpeg_codec(images, 1)[0] - images) ** 2)


def test_where_jpeg_wins():
    others = [(0.1, 20.0), (0.05, 15.0)]
    # JPEG crosses 20 dB half-way from 1 to 2 bpp (its points are joined by straight lines).
    assert _wins_above([(1.0, 15.0), (2.0, 25.0), (4.0, 35.0)], others) == pytest.approx(1.5, rel=0.01)
    assert _wins_above([(1.0, 21.0), (2.0, 25.0)], others) == pytest.approx(1.0)  # wins wherever it goes
    assert _wins_above([(1.0, 10.0), (2.0, 19.0)], others) is None  # never
