"""The compression demo: its figures and metrics on the digits, and its parts (the byte count,
bit packing, the quantiser, JPEG's byte accounting, the matched-bytes comparison, where JPEG
starts to win)."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image  # matplotlib depends on pillow

import tinyae.demos.compression  # noqa: F401  (registers the demo)
from tinyae import demos
from tinyae.data import load as load_dataset
from tinyae.demos.compression import (
    _AUTOENCODERS,
    _PCA_SIZES,
    BITS,
    JPEG_QUALITIES,
    Quantiser,
    _ae_beats_pca_at,
    _spans,
    _wins_above,
    best_within,
    bits_per_pixel,
    jpeg_codec,
    jpeg_scan_bytes,
    matched_bytes,
    pack_codes,
    stored_bytes,
    unpack_codes,
)
from tinyae.threads import limit_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_demos import _all_finite  # noqa: E402


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    with limit_threads(1):
        result = demos.run("compression", load_dataset("digits"), out=out, epochs=2, progress=False)
    return result, out / "compression"


def _points(metrics, method):
    return [{"code_dim": int(k), **p} for k, points in metrics[method].items() for p in points]


def test_compression_writes_its_figures_and_metrics(digits_run):
    result, folder = digits_run
    assert {p.name for p in folder.iterdir()} == {"rate_distortion.png", "compression_examples.png", "metrics.json"}
    for name in ("rate_distortion.png", "compression_examples.png"):
        with Image.open(folder / name) as image:
            assert image.format == "PNG" and min(image.size) >= 150
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == result.metrics and _all_finite(metrics)
    assert metrics["epochs"] == 2 and metrics["pixels"] == 64 and metrics["test_images"] == 200
    assert metrics["code_sizes"] == [4, 16, 32] and all(k <= h for k, h in zip(metrics["code_sizes"],
                                                                              metrics["hidden"]))
    assert metrics["pca_code_sizes"] == [4, 8, 16, 32, 64]  # up to every component of the 8x8 digits


def test_compression_points_count_the_bytes_stored(digits_run):
    metrics = digits_run[0].metrics
    for method in ("autoencoder", "pca"):
        for k, points in metrics[method].items():
            assert [p["bits"] for p in points] == list(BITS)
            for p in points:
                assert p["bytes"] == math.ceil(int(k) * p["bits"] / 8)
                assert p["bpp"] == pytest.approx(p["bytes"] * 8 / 64)
            assert points[-1]["psnr_db"] > points[0]["psnr_db"]  # 8 bits per number beat 2
    for points in metrics["pca"].values():  # PCA's reconstruction only gets better with finer steps
        assert all(b["psnr_db"] >= a["psnr_db"] - 0.05 for a, b in zip(points, points[1:]))
    pca = metrics["pca"]
    assert pca["64"][-1]["psnr_db"] > 30  # every component at 8 bits: little but the rounding is lost
    assert [pca[k][-1]["psnr_db"] for k in ("4", "8", "16", "32", "64")] == sorted(
        pca[k][-1]["psnr_db"] for k in ("4", "8", "16", "32", "64"))
    jpeg = metrics["jpeg"]
    assert [p["quality"] for p in jpeg] == list(JPEG_QUALITIES)
    assert all(p["header_bytes"] > 100 and p["bytes"] == pytest.approx(p["scan_bytes"] + p["header_bytes"])
               for p in jpeg)
    assert jpeg[-1]["psnr_db"] > jpeg[0]["psnr_db"] + 10


def test_compression_curves_reach_into_jpegs_bytes(digits_run):
    """The codes overlap JPEG's scan sizes on the digits; its whole file, whose headers alone are larger
    than the raw 8-bit image (64 bytes), no code of at most 64 numbers x 8 bits can reach."""
    summary = digits_run[0].metrics["summary"]
    ranges = summary["byte_range"]
    low, high = ranges["jpeg_scan_only"]
    for method in ("autoencoder", "pca"):
        assert ranges[method][0] < low < ranges[method][1]  # points on both sides of JPEG's smallest scan
    assert ranges["pca"][1] > high  # PCA goes past JPEG's largest scan
    assert ranges["jpeg_whole_file"][0] > 2 * ranges["pca"][1] == 2 * 64


def test_matched_bytes_picks_the_best_point_within_each_budget(digits_run):
    metrics = digits_run[0].metrics
    ae, pca = _points(metrics, "autoencoder"), _points(metrics, "pca")
    matched = metrics["summary"]["matched_bytes"]
    assert [row["quality"] for row in matched["scan_only"]] == list(JPEG_QUALITIES)
    binding = 0
    for size, rows in (("bytes", matched["whole_file"]), ("scan_bytes", matched["scan_only"])):
        for row, jpeg in zip(rows, metrics["jpeg"]):
            assert row["jpeg_bytes"] == jpeg[size] and row["jpeg_psnr_db"] == jpeg["psnr_db"]
            for name, points in (("autoencoder", ae), ("pca", pca)):
                inside = [p for p in points if p["bytes"] <= row["jpeg_bytes"]]
                chosen = row[name]
                if not inside:
                    assert chosen is None
                    continue
                assert chosen["bytes"] <= row["jpeg_bytes"]
                assert chosen["psnr_db"] == max(p["psnr_db"] for p in inside)
                binding += chosen["psnr_db"] < max(p["psnr_db"] for p in points)  # the budget kept a better one out
            scores = {"jpeg": row["jpeg_psnr_db"], **{n: row[n]["psnr_db"] for n in ("autoencoder", "pca") if row[n]}}
            assert row["best"] == max(scores, key=scores.get)
    assert binding >= 4  # JPEG's scans (4-55 bytes) fall inside the codes' range: the budgets bind
    # Whole files: every code fits in JPEG's smallest file, and the best of them beats it.
    assert all(row["pca"]["psnr_db"] == max(p["psnr_db"] for p in pca) for row in matched["whole_file"])
    assert matched["whole_file"][0]["best"] == "pca"


def test_the_default_codes_reach_into_jpegs_bytes():
    """On the 28x28 default images (too slow to run the demo here): PCA's largest code is well inside
    JPEG's whole files, the autoencoders' inside its scans, and no code is wider than its hidden layer."""
    images = load_dataset("fashion-mnist-small").flat("test")[:40].reshape(-1, 28, 28)
    _, files, scans = jpeg_codec(images, JPEG_QUALITIES[0])  # JPEG's smallest
    assert stored_bytes(max(_PCA_SIZES["large"]), max(BITS)) > 2 * files.mean()
    assert stored_bytes(max(k for k, _ in _AUTOENCODERS["large"]), max(BITS)) > 2 * scans.mean()
    assert all(k <= hidden for sizes in _AUTOENCODERS.values() for k, hidden in sizes)


def test_where_the_autoencoder_beats_pca():
    ae = [{"bytes": 1, "psnr_db": 12.0}, {"bytes": 2, "psnr_db": 15.0}, {"bytes": 8, "psnr_db": 16.0}]
    pca = [{"bytes": 2, "psnr_db": 14.0}, {"bytes": 4, "psnr_db": 15.5}, {"bytes": 8, "psnr_db": 17.0}]
    # 1 B: only the autoencoder has a point; 2 B: 15 > 14; 4 B: 15 < 15.5; 8 B: 16 < 17
    assert _ae_beats_pca_at(ae, pca) == [1, 2]
    assert _spans([1, 2, 3, 6, 8, 9]) == "1-3, 6, 8-9" and _spans([]) == ""


def test_matched_bytes_on_made_up_points():
    jpeg = [{"quality": 1, "bytes": 10.0, "scan_bytes": 3.0, "psnr_db": 20.0},
            {"quality": 50, "bytes": 20.0, "scan_bytes": 12.5, "psnr_db": 30.0}]
    ae = [{"code_dim": 4, "bits": 2, "bytes": 1, "psnr_db": 15.0},
          {"code_dim": 4, "bits": 8, "bytes": 4, "psnr_db": 21.0},
          {"code_dim": 8, "bits": 8, "bytes": 8, "psnr_db": 19.0}]
    pca = [{"code_dim": 16, "bits": 8, "bytes": 16, "psnr_db": 31.0}]
    whole, scan = matched_bytes(jpeg, ae, pca, "bytes"), matched_bytes(jpeg, ae, pca, "scan_bytes")
    assert [row["autoencoder"]["bytes"] for row in whole] == [4, 4]  # 8 bytes fit, but 4 are better
    assert [row["pca"] for row in whole][0] is None and whole[1]["pca"]["bytes"] == 16
    assert [row["best"] for row in whole] == ["autoencoder", "pca"]
    assert scan[0]["autoencoder"]["bytes"] == 1 and scan[0]["pca"] is None and scan[0]["best"] == "jpeg"
    assert best_within(ae, 0.5) is None and best_within(ae, 8)["bytes"] == 4


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8, 12, 16])
@pytest.mark.parametrize("code_dim", [1, 3, 8, 13])
def test_packing_stores_ceil_k_bits_over_8_bytes_and_round_trips(code_dim, bits):
    q = np.random.default_rng(code_dim * 100 + bits).integers(0, 2 ** bits, size=(7, code_dim))
    packed = pack_codes(q, bits)
    assert packed.dtype == np.uint8 and packed.shape == (7, stored_bytes(code_dim, bits))
    np.testing.assert_array_equal(unpack_codes(packed, bits, code_dim), q)


def test_packing_is_msb_first():
    np.testing.assert_array_equal(pack_codes(np.array([[1, 2, 3]]), 2), [[0b01101100]])
    assert bits_per_pixel(8, 64) == 1.0
    with pytest.raises(ValueError, match="bits must be 1 to 16"):
        pack_codes(np.zeros((1, 1)), 17)


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
    first = exact.first(2)  # the first units' quantiser quantises them as the whole one does
    np.testing.assert_array_equal(first.quantise(codes[:, :2], bits), q[:, :2])


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
