"""Lecture demo 'compression': an autoencoder as a lossy codec, in bytes, against PCA and JPEG.

An image is stored as its code: k numbers, each quantised uniformly to ``bits`` bits over the
range that code unit takes on training images (its 1st to 99th percentile on 3,000 of them), and
the k * bits bits packed into ceil(k * bits / 8) bytes (:func:`pack_codes`). The decoder and the
quantiser's ranges (two floats per unit) are shared by every image, like a codec's tables, so they
are not counted per image. PCA is the same codec with a linear encoder and decoder (its first k
principal components); its codes go up to k = 512, the autoencoders' to k = 64 (784-128-k).

JPEG (Pillow, quality 1-95, optimised Huffman tables) is counted as the whole .jpg file, headers
and tables included, since that is what a decoder needs; for a 28x28 image those take 170-186 of
its 198-673 bytes. Its entropy-coded scan alone (headers not counted, which is not a file
anything can decode) is shown as well, to show where JPEG's own coding stands.

Rates are bits per pixel, bytes * 8 / (H * W); quality is PSNR in dB on the same 200 test images:
10 log10(1 / MSE), the MSE pooled over all their pixels (not a mean of per-image PSNRs). Each JPEG
quality is compared with the best autoencoder and the best PCA point that store at most as many
bytes per image as JPEG's mean (measured points, not interpolated): ``summary["matched_bytes"]``.

What it measured on the default dataset (autoencoders 2 epochs each, the demo's time budget):

- Against JPEG's whole file PCA wins from JPEG's smallest file up to quality 40: within q1's
  198 bytes (18.2 dB) PCA gives 25.2 dB (k = 512 at 3 bits, 192 bytes), within q40's 349 bytes
  (27.0 dB) 28.7 dB (k = 512 at 4 bits, 256 bytes). JPEG wins from 4.3 bpp (418 bytes) up: q70,
  429 bytes, 31.1 dB against PCA's 30.5. The autoencoder, 17.2 dB at its largest (64 bytes), is
  below JPEG's smallest file.
- Against JPEG's scan alone, PCA wins up to quality 10 (70 bytes: 21.8 dB against 21.7) and JPEG
  from 0.73 bpp (72 bytes) up. At q1's 28-byte scan (18.2 dB): PCA 19.3 dB (24 bytes), the
  autoencoder 17.0 dB (16 bytes).
- The autoencoder beats PCA only at 1-3 bytes per image (2 bytes: 15.5 dB against 14.8); at 4
  bytes they are level (15.7, 15.8) and beyond PCA wins, by 1 to 5 dB at 16-64 bytes. Trained
  longer (``--epochs 20``, ~35 s) it beats PCA up to 16 bytes (8 bytes: 18.3 dB against 16.9) and
  still levels off near 19.4 dB: a nonlinear code helps most when it is short, and PCA, solved
  exactly, keeps improving with k.
- On the 8x8 digits (``--dataset digits``) JPEG's headers alone (163-169 bytes) are larger than the
  image as raw 8-bit pixels (64 bytes): no code reaches JPEG's smallest file, and PCA with every
  component at 8 bits (64 bytes, 36.7 dB) beats all of its files but q95's (221 bytes, 43.7 dB).
  JPEG's scan alone (4-53 bytes) wins from 4.5 bpp (36 bytes) up.
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
from ..optim import Adam
from ..train import fit
from .core import PCA, Context, apply_model, demo, psnr

__all__ = ["BITS", "JPEG_QUALITIES", "Quantiser", "bits_per_pixel", "best_within", "jpeg_codec", "jpeg_scan_bytes",
           "matched_bytes", "pack_codes", "stored_bytes", "unpack_codes"]

BITS = (2, 3, 4, 6, 8)
JPEG_QUALITIES = (1, 5, 10, 20, 40, 70, 95)
_EVAL_IMAGES = 200  # test images every rate-distortion point is measured on (JPEG: 200 x 7 files to write and read)
_LOW_BUDGET = 4  # bytes per image for the examples figure's low-rate rows
_RANGE_IMAGES = 3000  # training images the quantiser's ranges are taken on (percentiles need no more)
# (code size, hidden width) of each autoencoder, and PCA's code sizes: 28x28 images, then the 8x8 digits.
# The largest autoencoder code reaches into JPEG's scan sizes; PCA's into its whole files.
_AUTOENCODERS = {"large": ((4, 128), (16, 128), (64, 128)), "small": ((4, 128), (16, 128), (32, 128))}
_PCA_SIZES = {"large": (8, 16, 32, 64, 128, 256, 512), "small": (4, 8, 16, 32, 64)}
# Batches of 128: on the 28x28 images as much PSNR per second of training as 64 (measured), on the
# digits, where a step's fixed cost dominates, twice the epochs per second.
_BATCH, _LR = 128, 5e-3


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

    def first(self, k: int) -> Quantiser:
        """The quantiser of the first k units (PCA's codes are nested)."""
        return Quantiser(self.low[:k], self.high[:k])

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


@dataclass
class Codec:
    """A code-based codec: encode (N, D) -> (N, k), decode back, and the quantiser of its k units."""

    encode: Callable[[np.ndarray], np.ndarray]
    decode: Callable[[np.ndarray], np.ndarray]
    quantiser: Quantiser
    code_dim: int

    def round_trip(self, x: np.ndarray, bits: int, codes: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """x through the codec at ``bits`` per number: quantise, pack, unpack, dequantise, decode.
        Returns (the reconstructions, bytes stored per image). ``codes``: encode(x), if known."""
        codes = self.encode(x) if codes is None else codes
        packed = pack_codes(self.quantiser.quantise(codes, bits), bits)
        z = self.quantiser.dequantise(unpack_codes(packed, bits, self.code_dim), bits).astype(np.float32)
        return self.decode(z), packed.shape[1]


def _code_points(codec: Codec, x_test: np.ndarray, pixels: int) -> list[dict[str, Any]]:
    """The rate-distortion points of one codec (an autoencoder's or PCA's) at every bit depth."""
    codes = codec.encode(x_test)
    points = []
    for bits in BITS:
        decoded, n_bytes = codec.round_trip(x_test, bits, codes)
        points.append({"bits": bits, "bytes": n_bytes, "bpp": bits_per_pixel(n_bytes, pixels),
                       "psnr_db": psnr(x_test, decoded)})
    return points


def _pca_codec(pca: PCA, quantiser: Quantiser, k: int) -> Codec:
    """PCA with the first k components: z = (x - mean) V_k^T, x_hat = z V_k + mean, clipped to the
    pixels' range [0, 1] as the autoencoder's sigmoid and JPEG's 8 bits are (a fair comparison)."""
    first = pca.first(k)
    return Codec(first.transform, lambda z: np.clip(first.inverse_transform(z), 0.0, 1.0), quantiser.first(k), k)


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
    for image in np.rint(np.asarray(images) * 255).astype(np.uint8):
        buffer = io.BytesIO()
        Image.fromarray(image, "L").save(buffer, "JPEG", quality=quality, optimize=True)
        data = buffer.getvalue()
        sizes.append(len(data))
        scans.append(jpeg_scan_bytes(data))
        with Image.open(io.BytesIO(data)) as read:
            decoded.append(np.asarray(read))
    return np.stack(decoded).astype(np.float32) / 255.0, np.array(sizes), np.array(scans)


# --------------------------------------------------------------------------- #
# The summary: where each method stands
# --------------------------------------------------------------------------- #
def _wins_above(jpeg: list[tuple[float, float]], others: list[tuple[float, float]]) -> float | None:
    """The rate (bpp) from which JPEG's curve (points joined by straight lines) lies above the
    best PSNR any other codec reaches at the same or a lower rate, up to JPEG's highest rate;
    None if JPEG's last point does not win. Measured on a fine grid along JPEG's curve."""
    bpp, db = np.array(sorted(jpeg)).T
    grid = np.geomspace(bpp[0], bpp[-1], 2000)
    curve = np.interp(grid, bpp, db)
    rates, best = _envelope(others)
    at = np.searchsorted(rates, grid, side="right") - 1  # the last point at or below each rate
    wins = curve > np.where(at >= 0, best[np.maximum(at, 0)], -np.inf)
    if not wins[-1]:
        return None
    losing = np.flatnonzero(~wins)
    return float(grid[0] if len(losing) == 0 else grid[losing[-1] + 1])


def _envelope(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(rates, best PSNR at or below each rate): the upper envelope of (rate, PSNR) points, a step
    function that changes only at a point that beats every cheaper one."""
    rates, db = np.array(sorted(points)).T
    return rates, np.maximum.accumulate(db)


def best_within(points: list[dict[str, Any]], budget: float, size: str = "bytes") -> dict[str, Any] | None:
    """The point of highest PSNR among ``points`` whose ``size`` is at most ``budget`` (None if none is)."""
    inside = [p for p in points if p[size] <= budget]
    return max(inside, key=lambda p: (p["psnr_db"], -p[size])) if inside else None


def matched_bytes(jpeg: list[dict[str, Any]], ae: list[dict[str, Any]], pca: list[dict[str, Any]],
                  size: str = "bytes") -> list[dict[str, Any]]:
    """For each JPEG point (its mean ``size`` per image: "bytes", the whole file, or "scan_bytes"),
    the best autoencoder and PCA points (each with its "code_dim") that store at most as many
    bytes per image: measured points, not interpolated; None where no point is that small."""
    rows = []
    for p in jpeg:
        row: dict[str, Any] = {"quality": p["quality"], "jpeg_bytes": p[size], "jpeg_psnr_db": p["psnr_db"]}
        for name, points in (("autoencoder", ae), ("pca", pca)):
            best = best_within(points, p[size])
            row[name] = None if best is None else {key: best[key] for key in ("code_dim", "bits", "bytes",
                                                                               "psnr_db")}
        scores = {"jpeg": p["psnr_db"], **{name: row[name]["psnr_db"] for name in ("autoencoder", "pca")
                                           if row[name] is not None}}
        row["best"] = max(scores, key=scores.get)
        rows.append(row)
    return rows


def _lowest(points: list[dict[str, Any]], rate: str = "bpp") -> dict[str, Any]:
    return min(points, key=lambda p: (p[rate], -p["psnr_db"]))


def _ae_beats_pca_at(ae: list[dict[str, Any]], pca: list[dict[str, Any]]) -> list[int]:
    """The byte budgets (each size a point of either has) at which the best autoencoder point within
    the budget beats the best PCA point within it."""
    budgets = []
    for budget in sorted({p["bytes"] for p in (*ae, *pca)}):
        a, b = best_within(ae, budget), best_within(pca, budget)
        if a is not None and (b is None or a["psnr_db"] > b["psnr_db"]):
            budgets.append(budget)
    return budgets


def _spans(sizes: list[int]) -> str:
    """Byte counts as runs: [2, 3, 4, 8] -> "2-4, 8"."""
    runs: list[list[int]] = []
    for size in sizes:
        if runs and size == runs[-1][-1] + 1:
            runs[-1].append(size)
        else:
            runs.append([size])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


# --------------------------------------------------------------------------- #
# The demo
# --------------------------------------------------------------------------- #
@demo("compression", "Compression in bits: rate-distortion against JPEG and PCA")
def compression(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    _, height, width = ctx.shape
    pixels = height * width
    x_train = data.flat("train")
    # Every point is measured on the same test images: a fixed draw of at most 200.
    picks = np.random.default_rng(0).choice(len(data.x_test), min(_EVAL_IMAGES, len(data.x_test)), replace=False)
    picks.sort()
    x_test = data.flat("test")[picks]
    scale = "large" if ctx.d >= 256 else "small"
    pca_sizes = tuple(k for k in _PCA_SIZES[scale] if k <= ctx.d)
    epochs = ctx.epochs_for(2)
    codecs: dict[tuple[str, int], Codec] = {}

    # PCA: one eigendecomposition; the codes are nested, so are the quantiser's ranges.
    pca_all = PCA.fit(x_train, max(pca_sizes))
    x_range = x_train[np.random.default_rng(1).choice(len(x_train), min(_RANGE_IMAGES, len(x_train)),
                                                       replace=False)]
    pca_quantiser = Quantiser.fit(pca_all.transform(x_range))
    for k in pca_sizes:
        codecs["PCA", k] = _pca_codec(pca_all, pca_quantiser, k)
    # Autoencoders: a linear code (in a few epochs it trains further than a sigmoid one, and the
    # quantiser's per-unit range bounds it anyway).
    for k, hidden in _AUTOENCODERS[scale]:
        model = mlp_autoencoder([ctx.d, hidden, k], loss="bce")
        fit(model, Adam(model.parameters(), lr=_LR), x_train, None, epochs=epochs, batch_size=_BATCH,
            progress=ctx.bar(f"{ctx.d}-{hidden}-{k}"))  # no validation: nothing reads it
        encode = lambda x, m=model: apply_model(m, m.encode, x)  # noqa: E731
        decode = lambda z, m=model: apply_model(m, m.decode, z)  # noqa: E731
        codecs["autoencoder", k] = Codec(encode, decode, Quantiser.fit(encode(x_range)), k)
    ae = {k: _code_points(c, x_test, pixels) for (name, k), c in codecs.items() if name == "autoencoder"}
    pca = {k: _code_points(c, x_test, pixels) for (name, k), c in codecs.items() if name == "PCA"}

    jpeg = []
    images = x_test.reshape(-1, height, width)
    for quality in JPEG_QUALITIES:
        decoded, files, scans = jpeg_codec(images, quality)
        jpeg.append({"quality": quality, "bytes": float(files.mean()), "scan_bytes": float(scans.mean()),
                     "header_bytes": float((files - scans).mean()), "bpp": bits_per_pixel(files.mean(), pixels),
                     "bpp_scan_only": bits_per_pixel(scans.mean(), pixels),
                     "psnr_db": psnr(images, decoded)})

    flat_ae = [{"code_dim": k, **p} for k, points in ae.items() for p in points]
    flat_pca = [{"code_dim": k, **p} for k, points in pca.items() for p in points]
    others = [(p["bpp"], p["psnr_db"]) for p in (*flat_ae, *flat_pca)]
    wins = _wins_above([(p["bpp"], p["psnr_db"]) for p in jpeg], others)
    wins_scan = _wins_above([(p["bpp_scan_only"], p["psnr_db"]) for p in jpeg], others)
    matched = {"whole_file": matched_bytes(jpeg, flat_ae, flat_pca, "bytes"),
               "scan_only": matched_bytes(jpeg, flat_ae, flat_pca, "scan_bytes")}
    ae_wins_at = _ae_beats_pca_at(flat_ae, flat_pca)
    ctx.save(rate_distortion_figure(ae, pca, jpeg, matched, wins, wins_scan, ae_wins_at, pixels, len(x_test), epochs,
                                    [f"{ctx.d}-{h}-{k}" for k, h in _AUTOENCODERS[scale]]), "rate_distortion")

    # Examples: each codec at its best within JPEG's smallest file, within that file's scan, and at a low rate.
    shown = ctx.showcase()
    originals = data.flat("test")[shown]
    smallest = jpeg[0]
    budgets = sorted([(smallest["bytes"], f"JPEG's smallest file ({smallest['bytes']:.0f} B)"),
                      (smallest["scan_bytes"], f"its scan alone ({smallest['scan_bytes']:.0f} B)"),
                      (float(_LOW_BUDGET), f"{_LOW_BUDGET} B")], reverse=True)
    decoded_jpeg = jpeg_codec(originals.reshape(-1, height, width), smallest["quality"])[0]
    examples: list[tuple[str, np.ndarray]] = [
        ("original", originals),
        (f"JPEG q={smallest['quality']} (its smallest)\n{smallest['bytes']:.0f} B file "
         f"({smallest['scan_bytes']:.0f} B scan), {smallest['psnr_db']:.1f} dB", decoded_jpeg)]
    at_budget, seen, described = [], set(), []
    for budget, words in budgets:
        for name, points in (("PCA", flat_pca), ("autoencoder", flat_ae)):
            point = best_within(points, budget)
            if point is None or (name, point["code_dim"], point["bits"]) in seen:  # shown for a larger budget
                continue
            k, bits = point["code_dim"], point["bits"]
            seen.add((name, k, bits))
            described += [] if words in described else [words]
            at_budget.append({"budget_bytes": budget, "codec": name.lower(), **point})
            examples.append((f"{name} <= {budget:.0f} B: k={k}, {bits} bits\n{point['bytes']} B, "
                             f"{point['psnr_db']:.1f} dB", codecs[name, k].round_trip(originals, bits)[0]))
    ctx.save(examples_figure(examples, described, len(x_test), ctx.shape, ctx.class_labels(shown)),
             "compression_examples")

    summary = {
        "matched_bytes": matched,
        "lowest_rate": {"autoencoder": _lowest(flat_ae), "pca": _lowest(flat_pca),
                        "jpeg_whole_file": {"quality": jpeg[0]["quality"], "bpp": jpeg[0]["bpp"],
                                            "bytes": jpeg[0]["bytes"], "psnr_db": jpeg[0]["psnr_db"]},
                        "jpeg_scan_only": {"quality": jpeg[0]["quality"], "bpp": jpeg[0]["bpp_scan_only"],
                                           "bytes": jpeg[0]["scan_bytes"], "psnr_db": jpeg[0]["psnr_db"]}},
        "examples": at_budget,
        "byte_range": {"autoencoder": [min(p["bytes"] for p in flat_ae), max(p["bytes"] for p in flat_ae)],
                       "pca": [min(p["bytes"] for p in flat_pca), max(p["bytes"] for p in flat_pca)],
                       "jpeg_whole_file": [jpeg[0]["bytes"], jpeg[-1]["bytes"]],
                       "jpeg_scan_only": [jpeg[0]["scan_bytes"], jpeg[-1]["scan_bytes"]]},
        "highest_psnr_db": {"autoencoder": max(p["psnr_db"] for p in flat_ae),
                            "pca": max(p["psnr_db"] for p in flat_pca)},
        "jpeg_wins_above_bpp": wins,
        "jpeg_scan_only_wins_above_bpp": wins_scan,
        "autoencoder_beats_pca_at_bytes": ae_wins_at,
        "jpeg_mean_header_bytes": float(np.mean([p["header_bytes"] for p in jpeg])),
        "note": ("matched_bytes: for each JPEG quality, the best autoencoder and PCA points (measured, not "
                 "interpolated) that store at most JPEG's mean bytes per image, whole file or scan only "
                 "(null: no point that small). jpeg_wins_above_bpp: the rate from which JPEG (whole file; "
                 "_scan_only: its scan alone) gives a higher PSNR than any autoencoder or PCA point at the same "
                 "or a lower rate, up to JPEG's highest quality (null: not at its highest). PSNR: 10 log10(1 / the "
                 "mean squared error over all pixels of the test images)."),
    }
    return {"code_sizes": [k for k, _ in _AUTOENCODERS[scale]], "hidden": [h for _, h in _AUTOENCODERS[scale]],
            "pca_code_sizes": list(pca_sizes), "bits": list(BITS), "epochs": epochs, "batch_size": _BATCH,
            "test_images": len(x_test), "pixels": pixels, "autoencoder": {str(k): v for k, v in ae.items()},
            "pca": {str(k): v for k, v in pca.items()}, "jpeg": jpeg, "summary": summary}


# --------------------------------------------------------------------------- #
# The figures: plain functions of the measurements
# --------------------------------------------------------------------------- #
def _psnr_words(n_images: int) -> str:
    """What every dB figure is: not a mean of per-image PSNRs, but the PSNR of the pooled error."""
    return f"PSNR of the mean squared error over the {n_images} test images"


def rate_distortion_figure(ae: dict[int, list], pca: dict[int, list], jpeg: list, matched: dict[str, list],
                           wins: float | None, wins_scan: float | None, ae_wins_at: list[int], pixels: int,
                           n_images: int, epochs: int, ae_names: list[str]):
    """:func:`tinyae.plot.rate_distortion` with the demo's words: the verdicts in the title, how
    bytes are counted and the matched-bytes comparison at JPEG's smallest file in the note."""
    shaded = [(rate, end, f"JPEG ({name}) beats every code as small, above {rate:.2g} bpp")
              for rate, end, name in ((wins_scan, jpeg[-1]["bpp_scan_only"], "scan only"),
                                      (wins, jpeg[-1]["bpp"], "whole file")) if rate is not None]
    verdict = ("JPEG's whole file never wins" if wins is None else
               f"JPEG's whole file wins above {wins:.2g} bpp ({wins * pixels / 8:.0f} B)")
    ae_words = ("the autoencoder never beats PCA" if not ae_wins_at else
                f"the autoencoder beats PCA at {_spans(ae_wins_at)} B per image")
    note = ("Autoencoder and PCA: ceil(k x bits / 8) bytes per image, the k numbers quantised uniformly over each "
            "unit's training range (1st-99th\npercentile) and bit-packed; the decoder and the ranges (2 floats per "
            f"unit) are shared, not counted. Autoencoders: {epochs} epochs each (the demo's\ntime budget). JPEG: "
            "Pillow, optimised Huffman tables: the whole .jpg file, headers and tables included "
            f"(~{np.mean([p['header_bytes'] for p in jpeg]):.0f} B), and its scan alone.\n"
            f"Matched bytes, JPEG q{jpeg[0]['quality']}: "
            f"{_matched_words(matched['whole_file'][0], 'its whole file')};\n"
            f"{_matched_words(matched['scan_only'][0], 'its scan alone')}.")
    return plot.rate_distortion(
        pca, dict(zip(ae_names, ae.values())), jpeg, shaded=shaded,
        xlabel=f"bits per pixel (bytes per image x 8 / {pixels} pixels), log scale",
        ylabel=f"dB: {_psnr_words(n_images)}",
        title=("Rate-distortion: autoencoders and PCA (k numbers x 2-8 bits) against JPEG (quality 1-95)\n"
               f"{verdict}; {ae_words}"), note=note)


def _matched_words(row: dict[str, Any], kind: str) -> str:
    """One matched-bytes row in words: "{kind}, 198 B, 18.2 dB; within it PCA 25.2 dB (192 B), ..."."""
    within = [f"{'PCA' if name == 'pca' else name} {row[name]['psnr_db']:.1f} dB ({row[name]['bytes']} B)"
              for name in ("pca", "autoencoder") if row[name] is not None]
    return (f"{kind}, {row['jpeg_bytes']:.0f} B, {row['jpeg_psnr_db']:.1f} dB; within it "
            + (", ".join(within) if within else "no code"))


def examples_figure(rows: list[tuple[str, np.ndarray]], budgets: list[str], n_images: int,
                    image_shape: tuple[int, ...], col_labels: list[str]):
    """The same test images through each codec at matched byte budgets (described in ``budgets``),
    one labelled row each: (label, images)."""
    within = ", ".join(budgets[:-1]) + " and " + budgets[-1] if len(budgets) > 1 else budgets[0]
    title = (f"Matched bytes: the best code of each kind within {within} per image.\n"
             f"dB: {_psnr_words(n_images)} (the images shown are examples)")
    return plot.image_rows([images for _, images in rows], [label for label, _ in rows], title,
                           image_shape=image_shape, col_labels=col_labels)
