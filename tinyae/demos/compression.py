"""Lecture demo 'compression': an autoencoder as a lossy codec, in bytes, against PCA and JPEG.

An image is stored as its code: k numbers, each quantised uniformly to ``bits`` bits over the
range that code unit takes on the training set (its 1st to 99th percentile), and the k * bits
bits packed into ceil(k * bits / 8) bytes (:func:`pack_codes`). The decoder and the quantiser's ranges (two
floats per unit) are shared by every image, like a codec's tables, so they are not counted per
image. PCA is the same codec with a linear encoder and decoder (k principal components).

JPEG (Pillow, quality 1-95, optimised Huffman tables) is counted as the whole .jpg file, headers
and tables included, since that is what a decoder needs; for a 28x28 image those take ~170 of
its ~200-700 bytes. Its entropy-coded scan alone (headers not counted, which is not a file
anything can decode) is shown as well, to show where JPEG's own coding stands.

Rates are bits per pixel, bytes * 8 / (H * W); quality is PSNR in dB on the same test images.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import plot
from ..models import mlp_autoencoder
from .core import Context, _apply, _pca, _psnr, demo

__all__ = ["BITS", "JPEG_QUALITIES", "Quantiser", "bits_per_pixel", "jpeg_codec", "jpeg_scan_bytes", "pack_codes",
           "stored_bytes", "unpack_codes"]

BITS = (2, 3, 4, 6, 8)
JPEG_QUALITIES = (1, 5, 10, 20, 40, 70, 95)
_EVAL_IMAGES = 300  # test images every rate-distortion point is measured on (JPEG codes each one per quality)
_BUDGET = 8  # bytes per image for the examples figure


# --------------------------------------------------------------------------- #
# Uniform quantisation and bit packing
# --------------------------------------------------------------------------- #
@dataclass
class Quantiser:
    """Uniform scalar quantiser per code unit between ``low[j]`` and ``high[j]`` (2 floats per unit,
    shared by all images; :meth:`fit` takes them from the training codes).

    With L = 2^bits - 1 steps of size delta_j = (high_j - low_j) / L, a value z is stored as the
    integer q = round((z - low_j) / delta_j), clipped to 0..L, and read back as low_j + q delta_j:
    inside the range the error is at most delta_j / 2; outside, the value is clipped to the range.
    """

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, codes: np.ndarray, percent: float = 1.0) -> Quantiser:
        """The range of each unit on ``codes`` (N, k): from its ``percent``-th to its
        (100 - ``percent``)-th percentile (0: min and max). Clipping the rarest 1% at each end
        buys finer steps for all the others: +1 to +2 dB at 2 bits here, nothing lost at 8."""
        low, high = np.percentile(codes, [percent, 100.0 - percent], axis=0)
        return cls(low.astype(np.float64), high.astype(np.float64))

    def step(self, bits: int) -> np.ndarray:
        return (self.high - self.low) / (2 ** bits - 1)

    def quantise(self, z: np.ndarray, bits: int) -> np.ndarray:
        levels = 2 ** bits - 1
        width = np.where(self.high > self.low, self.high - self.low, 1.0)  # a constant unit stores 0
        q = np.rint((z - self.low) / width * levels)
        return np.clip(q, 0, levels).astype(np.uint16)

    def dequantise(self, q: np.ndarray, bits: int) -> np.ndarray:
        return self.low + q.astype(np.float64) * self.step(bits)


def pack_codes(q: np.ndarray, bits: int) -> np.ndarray:
    """Integers q (N, k), each below 2^bits, as (N, ceil(k * bits / 8)) bytes: the k * bits bits
    of an image written one after another (most significant bit first), the last byte padded
    with zeros. Its shape[1] is the bytes stored per image."""
    if not 1 <= bits <= 16:
        raise ValueError(f"pack_codes: bits must be 1 to 16, got {bits}")
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint16)
    planes = (q.astype(np.uint16)[:, :, None] >> shifts) & 1  # (N, k, bits)
    return np.packbits(planes.reshape(len(q), -1).astype(np.uint8), axis=1)


def unpack_codes(packed: np.ndarray, bits: int, code_dim: int) -> np.ndarray:
    """The inverse of :func:`pack_codes`: (N, bytes) -> integers (N, code_dim)."""
    planes = np.unpackbits(packed, axis=1)[:, :code_dim * bits].reshape(len(packed), code_dim, bits)
    return (planes.astype(np.uint16) << np.arange(bits - 1, -1, -1, dtype=np.uint16)).sum(axis=2, dtype=np.uint16)


def stored_bytes(code_dim: int, bits: int) -> int:
    """Bytes per image of a bit-packed code: ceil(code_dim * bits / 8)."""
    return math.ceil(code_dim * bits / 8)


def bits_per_pixel(n_bytes: float, pixels: int) -> float:
    return float(n_bytes) * 8.0 / pixels


def _code_points(quantiser: Quantiser, codes: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
                 x_test: np.ndarray, pixels: int) -> list[dict[str, Any]]:
    """The rate-distortion points of one codec (an autoencoder's or PCA's) at every bit depth:
    quantise the test images' codes, pack them, unpack, dequantise, decode."""
    points = []
    for bits in BITS:
        packed = pack_codes(quantiser.quantise(codes, bits), bits)
        n_bytes = packed.shape[1]  # what is stored per image
        points.append({"bits": bits, "bytes": n_bytes, "bpp": bits_per_pixel(n_bytes, pixels),
                       "psnr_db": _psnr(x_test, decode(_unpacked(quantiser, packed, bits, codes.shape[1])))})
    return points


def _pca_codec(pca: Any, k: int) -> tuple[Callable, Callable]:
    """PCA with the first k of ``pca``'s components: z = (x - mean) V_k^T, x_hat = z V_k + mean, clipped to
    the pixels' range [0, 1] as the autoencoder's sigmoid and JPEG's 8 bits are (a fair comparison)."""
    v, mean = pca.components_[:k], pca.mean_
    return (lambda x: (x - mean) @ v.T), (lambda z: np.clip(z @ v + mean, 0.0, 1.0))


def _unpacked(quantiser: Quantiser, packed: np.ndarray, bits: int, code_dim: int) -> np.ndarray:
    return quantiser.dequantise(unpack_codes(packed, bits, code_dim), bits).astype(np.float32)


# --------------------------------------------------------------------------- #
# JPEG
# --------------------------------------------------------------------------- #
def jpeg_scan_bytes(data: bytes) -> int:
    """The bytes of a baseline JPEG file's entropy-coded scan: what follows the start-of-scan
    header, up to the end-of-image marker; the rest of the file (markers, quantisation and
    Huffman tables, the JFIF header) is overhead the same for every image of a size and quality."""
    i = 2  # after SOI (FF D8)
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"jpeg_scan_bytes: expected a marker at byte {i}")
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:  # start of scan: its header, then the coded data up to EOI (FF D9)
            return len(data) - (i + 2 + length) - 2
        i += 2 + length
    raise ValueError("jpeg_scan_bytes: no start-of-scan marker")


def jpeg_codec(images: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each image (N, H, W) in [0, 1] as an 8-bit greyscale JPEG file (Pillow, optimised Huffman
    tables): (decoded images in [0, 1], file bytes per image, scan bytes per image)."""
    from PIL import Image  # matplotlib's dependency

    decoded, sizes, scans = [], [], []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(np.rint(image * 255).astype(np.uint8), "L").save(buffer, "JPEG", quality=quality,
                                                                         optimize=True)
        data = buffer.getvalue()
        sizes.append(len(data))
        scans.append(jpeg_scan_bytes(data))
        with Image.open(io.BytesIO(data)) as read:
            decoded.append(np.asarray(read, dtype=np.float32) / 255.0)
    return np.stack(decoded), np.array(sizes), np.array(scans)


# --------------------------------------------------------------------------- #
# The summary: where each method stands
# --------------------------------------------------------------------------- #
def _wins_above(jpeg: list[tuple[float, float]], others: list[tuple[float, float]]) -> float | None:
    """The rate (bpp) from which JPEG's curve (points joined by straight lines) lies above the
    best PSNR any other codec reaches at the same or a lower rate, up to JPEG's highest rate;
    None if JPEG's last point does not win. Measured on a fine grid along JPEG's curve."""
    bpp, psnr = np.array(sorted(jpeg)).T
    grid = np.geomspace(bpp[0], bpp[-1], 2000)
    curve = np.interp(grid, bpp, psnr)
    best = np.array([max((p for b, p in others if b <= r), default=-np.inf) for r in grid])
    wins = curve > best
    if not wins[-1]:
        return None
    losing = np.flatnonzero(~wins)
    return float(grid[0] if len(losing) == 0 else grid[losing[-1] + 1])


def _lowest(points: list[dict[str, Any]], rate: str = "bpp") -> dict[str, Any]:
    return min(points, key=lambda p: (p[rate], -p["psnr_db"]))


# --------------------------------------------------------------------------- #
# The figures
# --------------------------------------------------------------------------- #
def _rate_distortion_figure(ae: dict[int, list], pca: dict[int, list], jpeg: list, wins: float | None,
                            wins_scan: float | None, pixels: int, n_images: int, epochs: int):
    fig, ax = plot._subplots(figsize=(8.6, 5.4))
    for i, k in enumerate(ae):
        colour = f"C{i}"
        for points, style, name in ((ae[k], "-o", "autoencoder"), (pca[k], "--s", "PCA")):
            ax.plot([p["bpp"] for p in points], [p["psnr_db"] for p in points], style, color=colour, markersize=4,
                    label=f"{name}, k = {k}", markerfacecolor="white" if name == "PCA" else colour)
    for p in ae[max(ae)]:  # the bit depths once, along the largest code's line
        ax.annotate(f"{p['bits']}b", (p["bpp"], p["psnr_db"]), textcoords="offset points", xytext=(0, 6),
                    fontsize=7, ha="center", color=f"C{len(ae) - 1}")
    ax.plot([p["bpp"] for p in jpeg], [p["psnr_db"] for p in jpeg], "-^", color="black", markersize=4,
            label="JPEG, whole file")
    ax.plot([p["bpp_scan_only"] for p in jpeg], [p["psnr_db"] for p in jpeg], ":^", color="grey", markersize=4,
            markerfacecolor="white", label="JPEG, scan only (headers not counted:\nnot a decodable file)")
    for p in jpeg[::2]:
        ax.annotate(f"q{p['quality']}", (p["bpp"], p["psnr_db"]), textcoords="offset points", xytext=(5, -9),
                    fontsize=7)
    for rate, style, name in ((wins, "-", "JPEG (whole file)"), (wins_scan, ":", "JPEG scan only")):
        if rate is not None:
            ax.axvline(rate, color="black", linestyle=style, linewidth=0.8, alpha=0.6,
                       label=f"{name} wins above {rate:.3g} bpp")
    ax.set_xscale("log")
    ax.set_xlabel(f"bits per pixel (bytes stored per image x 8 / {pixels} pixels), log scale")
    ax.set_ylabel(f"PSNR (dB), {n_images} test images")
    verdict = ("JPEG never wins" if wins is None else f"JPEG's whole file wins above {wins:.3g} bpp")
    ax.set_title(f"Rate-distortion: autoencoders and PCA (k numbers, 2-8 bits each) against JPEG\n{verdict}"
                 + ("" if wins_scan is None else f", its scan alone above {wins_scan:.3g} bpp")
                 + ("" if wins is None or wins > 1.05 * jpeg[0]["bpp"] else "\n(about where JPEG starts: no JPEG "
                    f"file of these images is smaller than {min(p['bytes'] for p in jpeg):.0f} bytes on average)"),
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.text(0.01, -0.02,
             "Autoencoder and PCA: ceil(k x bits / 8) bytes per image, the k codes quantised uniformly over each "
             "unit's training range\n(1st-99th percentile) and bit-packed; the decoder and the ranges (2 floats per "
             f"unit) are shared, not counted. Autoencoders: {epochs} epochs each.\nJPEG: Pillow, quality 1-95, "
             "optimised Huffman tables: the whole .jpg file, headers and tables included (solid), and its "
             "entropy-coded\nscan alone (dotted). Autoencoder and PCA are measured only up to their largest code "
             f"at 8 bits ({max(ae)} bytes).", fontsize=7, va="top")
    return fig


# --------------------------------------------------------------------------- #
# The demo
# --------------------------------------------------------------------------- #
@demo("compression", "Compression in bits: rate-distortion against JPEG and PCA")
def compression(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    _, height, width = ctx.shape
    pixels = height * width
    x_train = data.flat("train")
    # Every point is measured on the same test images: a fixed draw of at most 300.
    picks = np.random.default_rng(0).choice(len(data.x_test), min(_EVAL_IMAGES, len(data.x_test)), replace=False)
    picks.sort()
    x_test = data.flat("test")[picks]
    sizes = (8, 16, 32) if ctx.d >= 256 else (4, 8, 16)
    epochs = ctx.epochs_for(3)
    ae: dict[int, list] = {}
    pca: dict[int, list] = {}
    codecs: dict[tuple[str, int], tuple[Callable, Callable, Quantiser]] = {}  # (encode, decode, quantiser)
    components = _pca(max(sizes), x_train)  # PCA's codes are nested: its first k components are PCA with k
    for k in sizes:
        # A linear code: in a few epochs it trains further than a sigmoid one, and the quantiser's
        # per-unit range bounds it anyway.
        model = mlp_autoencoder([ctx.d, 128, k], loss="bce")
        ctx.train(model, x_train, None, epochs, label=f"{ctx.d}-128-{k}")  # no validation: nothing reads it
        encode = lambda x, m=model: _apply(m, m.encode, x)  # noqa: E731
        decode = lambda z, m=model: _apply(m, m.decode, z)  # noqa: E731
        for name, codec, points in (("autoencoder", (encode, decode), ae), ("PCA", _pca_codec(components, k), pca)):
            quantiser = Quantiser.fit(codec[0](x_train))
            codecs[name, k] = (*codec, quantiser)
            points[k] = _code_points(quantiser, codec[0](x_test), codec[1], x_test, pixels)
    jpeg = []
    images = x_test.reshape(-1, height, width)
    for quality in JPEG_QUALITIES:
        decoded, files, scans = jpeg_codec(images, quality)
        jpeg.append({"quality": quality, "bytes": float(files.mean()), "scan_bytes": float(scans.mean()),
                     "header_bytes": float((files - scans).mean()), "bpp": bits_per_pixel(files.mean(), pixels),
                     "bpp_scan_only": bits_per_pixel(scans.mean(), pixels),
                     "psnr_db": _psnr(images, decoded)})
    others = [(p["bpp"], p["psnr_db"]) for points in (*ae.values(), *pca.values()) for p in points]
    wins = _wins_above([(p["bpp"], p["psnr_db"]) for p in jpeg], others)
    wins_scan = _wins_above([(p["bpp_scan_only"], p["psnr_db"]) for p in jpeg], others)
    ctx.save(_rate_distortion_figure(ae, pca, jpeg, wins, wins_scan, pixels, len(x_test), epochs), "rate_distortion")

    # Examples at a byte budget: the best autoencoder and PCA points within it, and the smallest JPEG.
    flat_ae = [{"code_dim": k, **p} for k, points in ae.items() for p in points]
    flat_pca = [{"code_dim": k, **p} for k, points in pca.items() for p in points]
    best = lambda points: max((p for p in points if p["bytes"] <= _BUDGET), key=lambda p: p["psnr_db"])  # noqa: E731
    at_budget = {"autoencoder": best(flat_ae), "pca": best(flat_pca), "jpeg_smallest": jpeg[0]}
    shown = ctx.showcase()
    originals = data.flat("test")[shown]
    rows, labels = [originals], ["original"]
    for name, point in (("autoencoder", at_budget["autoencoder"]), ("PCA", at_budget["pca"])):
        k, bits = point["code_dim"], point["bits"]
        encode, decode, quantiser = codecs[name, k]
        packed = pack_codes(quantiser.quantise(encode(originals), bits), bits)
        rows.append(decode(_unpacked(quantiser, packed, bits, k)))
        labels.append(f"{name}: k={k}, {bits} bits\n{packed.shape[1]} bytes, {point['psnr_db']:.1f} dB")
    rows.append(jpeg_codec(originals.reshape(-1, height, width), JPEG_QUALITIES[0])[0])
    labels.append(f"JPEG q={JPEG_QUALITIES[0]} (its smallest)\n{jpeg[0]['bytes']:.0f} bytes "
                  f"({jpeg[0]['scan_bytes']:.0f} scan), {jpeg[0]['psnr_db']:.1f} dB")
    title = (f"At most {_BUDGET} bytes per image ({bits_per_pixel(_BUDGET, pixels):.2g} bpp): the autoencoder "
             f"and PCA;\nJPEG cannot go below ~{jpeg[0]['bytes']:.0f} bytes (dB: mean over {len(x_test)} test images)")
    ctx.save(plot.image_rows(rows, labels, title, image_shape=ctx.shape, col_labels=ctx.class_labels(shown)),
             "compression_examples")

    summary = {
        "lowest_rate": {"autoencoder": _lowest(flat_ae), "pca": _lowest(flat_pca),
                        "jpeg_whole_file": {"quality": jpeg[0]["quality"], "bpp": jpeg[0]["bpp"],
                                            "bytes": jpeg[0]["bytes"], "psnr_db": jpeg[0]["psnr_db"]},
                        "jpeg_scan_only": {"quality": jpeg[0]["quality"], "bpp": jpeg[0]["bpp_scan_only"],
                                           "bytes": jpeg[0]["scan_bytes"], "psnr_db": jpeg[0]["psnr_db"]}},
        "best_within_budget": {"budget_bytes": _BUDGET, "autoencoder": at_budget["autoencoder"],
                               "pca": at_budget["pca"]},
        "highest_psnr_of_autoencoder_and_pca_db": max(p for _, p in others),
        "highest_rate_of_autoencoder_and_pca_bpp": max(b for b, _ in others),
        "jpeg_wins_above_bpp": wins,
        "jpeg_scan_only_wins_above_bpp": wins_scan,
        "jpeg_mean_header_bytes": float(np.mean([p["header_bytes"] for p in jpeg])),
        "note": ("jpeg_wins_above_bpp: the rate from which JPEG (whole file) gives a higher PSNR than any "
                 "autoencoder or PCA point at the same or a lower rate (null: never); autoencoder and PCA are "
                 "measured only up to their largest code at 8 bits"),
    }
    return {"code_sizes": list(sizes), "bits": list(BITS), "epochs": epochs, "test_images": len(x_test),
            "pixels": pixels, "autoencoder": {str(k): v for k, v in ae.items()},
            "pca": {str(k): v for k, v in pca.items()}, "jpeg": jpeg, "summary": summary}
