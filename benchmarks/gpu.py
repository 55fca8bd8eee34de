"""``python -m benchmarks.gpu``: tinyae on a CUDA GPU through CuPy, in one command (under 3 minutes).

    python -m benchmarks.gpu                                   # all three parts, printed as tables
    python -m benchmarks.gpu --out benchmarks/results/gpu-DATE.json   # also keep the results as JSON
    python -m benchmarks.gpu --backend strict --parts gradcheck models --steps 2   # CI: no GPU needed

1. ``gradcheck``: every layer type (Dense, Conv2D, ConvTranspose2D, ReLU, LeakyReLU, Sigmoid, Tanh,
   Dropout, MaxPool2D, Upsample2D, Flatten, Reshape), every loss and penalty, and the whole objective
   of every model family, on small float64 inputs on the GPU backend, against central differences
   (``tinyae.gradcheck``: max|a - n| / max(1, max|a|, max|n|) <= 1e-6 per tensor).
2. ``models``: every model family trained ``--steps`` steps on NumPy and on the GPU backend from the
   same seed, so from identical weights (parameter init is drawn on the host). The optimizer is Adam
   (lr 1e-3) with eps = 1e-3: with an eps that large the update is a smooth function of the gradient,
   so float32 round-off (cuBLAS sums in another order than NumPy's BLAS) cannot flip the step of a
   near-zero gradient the way eps = 1e-8 can, and the weights stay comparable.
   Per-step noise comes from each backend's own generator, so NumPy and CuPy draw *different* noise.
   Therefore every noisy model is run twice:

   * ``fixed`` noise: the noise is drawn on the host once per step and the same arrays go to both
     backends (a denoiser's corrupted input, a VAE's eps). These rows, and the models without
     noise (``none``), are compared exactly: the max relative difference of the per-step losses and
     of the final weights (max|a - b| / max|b| per tensor), tolerance 1e-4.
   * ``own`` noise: each backend draws its own (the only way for dropout, whose masks cannot be
     passed in). These rows are compared on loss magnitude only: the mean loss over the steps within
     50%; the weight difference is shown, not judged.

   On ``--backend strict`` the noise stream equals NumPy's, so every row should agree exactly there.
3. ``speed``: training steps per second of ``mlp_autoencoder([784, 128, 32], loss="bce")`` (Adam,
   lr 1e-3) at batch 128 and 1024: tinyae on CuPy (its step reads the loss terms back in one
   transfer, as ``fit`` does once per step, though fit reads after ``step()`` and this before it),
   against PyTorch on CUDA on an identical model from the same weights (``benchmarks.models.TorchTwin``:
   Adam fused, BCE with logits; its step does not read the loss back), when torch with CUDA is
   installed (else: skipped, and the output says why). Warm-up steps first; the GPU is synchronised
   before every reading of the clock; the median of ``--rounds`` blocks of ``--repeats`` steps, the
   contenders alternating. Ratio = tinyae steps/s / torch steps/s (> 1: tinyae is faster).

Exit status: 0 when every check passes; 1 when a gradient check fails or NumPy and the GPU backend
disagree beyond the tolerances above; 2 when CuPy or a usable GPU is missing (one line on stderr,
saying what is missing and how to install it: nothing else runs) or an option is wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinyae as ae
from benchmarks.models import relative_difference
from tinyae.gradcheck import check_loss, check_model, check_module, compare_gradients, numerical_gradient

PARTS = ("gradcheck", "models", "speed")
SEED = 0
LR = 1e-3
ADAM_EPS = 1e-3  # the models part's Adam: see the module docstring
EXACT_TOLERANCE = 1e-4  # max relative difference, losses and weights, noise-free or fixed-noise rows
MAGNITUDE_TOLERANCE = 0.5  # relative difference of the mean loss, own-noise rows
BATCH = 16
FEATURES = 64  # the models part's data: 8x8 "images", flat or (1, 8, 8)
IMAGE = (1, 8, 8)
SPEED_SIZES = [784, 128, 32]
SPEED_BATCHES = (128, 1024)


# --------------------------------------------------------------------------- #
# 1. Gradient checks
# --------------------------------------------------------------------------- #
def _normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def _off_kink(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values at least 0.1 away from 0 (ReLU's kink), of both signs."""
    return rng.uniform(0.1, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values 2/size apart (far more than h = 1e-5): no max-pool ties, whatever the perturbation."""
    size = math.prod(shape)
    return (rng.permutation(size).reshape(shape) * (2.0 / size) - 1.0).astype(np.float64)


def _layer_cases() -> list[tuple[str, Callable[[], ae.Module], Callable[[np.random.Generator], np.ndarray]]]:
    """(name, the layer, its input): every layer type, small enough to check element by element."""
    return [
        ("Dense(5 -> 4)", lambda: ae.Dense(5, 4), lambda r: _normal(r, (3, 5))),
        ("Conv2D(2 -> 3, k3, s2, p1)", lambda: ae.Conv2D(2, 3, 3, stride=2, padding=1),
         lambda r: _normal(r, (2, 2, 5, 5))),
        ("ConvTranspose2D(2 -> 3, k3, s2, p1, op1)",
         lambda: ae.ConvTranspose2D(2, 3, 3, stride=2, padding=1, output_padding=1),
         lambda r: _normal(r, (2, 2, 3, 3))),
        ("ReLU", ae.ReLU, lambda r: _off_kink(r, (3, 4))),
        ("LeakyReLU(0.1)", lambda: ae.LeakyReLU(0.1), lambda r: _off_kink(r, (3, 4))),
        ("Sigmoid", ae.Sigmoid, lambda r: _normal(r, (3, 4), 2.0)),
        ("Tanh", ae.Tanh, lambda r: _normal(r, (3, 4))),
        ("Dropout(0.3), training", lambda: ae.Dropout(0.3).train(True), lambda r: _normal(r, (4, 5))),
        ("Dropout(0.3), eval", lambda: ae.Dropout(0.3).eval(), lambda r: _normal(r, (4, 5))),
        ("MaxPool2D(2)", lambda: ae.MaxPool2D(2), lambda r: _distinct(r, (2, 2, 4, 4))),
        ("MaxPool2D(3, stride=2)", lambda: ae.MaxPool2D(3, stride=2), lambda r: _distinct(r, (1, 2, 5, 5))),
        ("Upsample2D(2)", lambda: ae.Upsample2D(2), lambda r: _normal(r, (2, 2, 3, 3))),
        ("Flatten", ae.Flatten, lambda r: _normal(r, (2, 2, 3, 3))),
        ("Reshape(2, 3, 3)", lambda: ae.Reshape(2, 3, 3), lambda r: _normal(r, (2, 18))),
        ("Sequential(Dense, Tanh, Dense, Sigmoid)",
         lambda: ae.Sequential(ae.Dense(4, 3), ae.Tanh(), ae.Dense(3, 4), ae.Sigmoid()),
         lambda r: _normal(r, (3, 4))),
    ]


def _tiny_models() -> list[tuple[str, Callable[[], ae.Module], tuple[int, ...], dict]]:
    """(name, the model, its input shape, forward_backward's keywords): every family, tiny."""
    def enc(d: int, k: int, act: Callable[[], ae.Module] = ae.Sigmoid) -> ae.Sequential:
        return ae.Sequential(ae.Dense(d, k), act())

    def dec(k: int, d: int) -> ae.Sequential:
        return ae.Sequential(ae.Dense(k, d), ae.Sigmoid())

    eps = np.random.default_rng(3).standard_normal((3, 2))
    return [
        ("Autoencoder (bce)", lambda: ae.mlp_autoencoder([5, 3], loss="bce"), (3, 5), {}),
        ("Autoencoder (mse)", lambda: ae.Autoencoder(enc(5, 3, ae.Tanh), dec(3, 5), "mse"), (3, 5), {}),
        ("DenoisingAutoencoder (gaussian)",
         lambda: ae.DenoisingAutoencoder(enc(5, 3), dec(3, 5), noise="gaussian", noise_level=0.2), (3, 5), {}),
        ("DenoisingAutoencoder (masking)",
         lambda: ae.DenoisingAutoencoder(enc(5, 3), dec(3, 5), noise="masking", noise_level=0.4), (3, 5), {}),
        ("SparseAutoencoder (l1)", lambda: ae.SparseAutoencoder(ae.Sequential(ae.Dense(5, 3)), dec(3, 5),
                                                                 penalty="l1", weight=0.3), (3, 5), {}),
        ("SparseAutoencoder (kl)", lambda: ae.SparseAutoencoder(enc(5, 3), dec(3, 5), penalty="kl", weight=0.5,
                                                                 target=0.1), (3, 5), {}),
        ("ContractiveAutoencoder", lambda: ae.ContractiveAutoencoder(enc(5, 3), dec(3, 5), weight=0.7), (3, 5), {}),
        ("VAE (fixed eps)", lambda: ae.mlp_vae([5, 4], 2), (3, 5), {"eps": eps}),
        ("VAE (own eps)", lambda: ae.mlp_vae([5, 4], 2, reconstruction="mse", activation="tanh"), (3, 5), {}),
        ("ConditionalVAE", lambda: ae.ConditionalVAE(
            ae.Sequential(ae.Dense(5 + 3, 4), ae.Tanh(), ae.Dense(4, 4)),
            ae.Sequential(ae.Dense(2 + 3, 4), ae.Tanh(), ae.Dense(4, 5)), latent_dim=2, num_classes=3),
         (3, 5), {"labels": np.array([0, 2, 1])}),
        ("conv_autoencoder", lambda: ae.conv_autoencoder((1, 4, 4), channels=(2,), code_dim=2), (3, 1, 4, 4), {}),
        ("conv_vae", lambda: ae.conv_vae((1, 4, 4), channels=(2,), latent_dim=2), (3, 1, 4, 4), {}),
    ]


def _penalty_check(name: str, f: Callable[[Any], tuple], h: Any) -> ae.gradcheck.GradCheckReport:
    """A (value, gradient) function such as l1_penalty, against central differences of its value."""
    report = ae.gradcheck.GradCheckReport(name)
    report.checks.append(compare_gradients("h", f(h)[1], numerical_gradient(lambda v: f(v)[0], h)))
    return report


def _gaussian_kl_check(mu: Any, logvar: Any) -> ae.gradcheck.GradCheckReport:
    report = ae.gradcheck.GradCheckReport("gaussian_kl(mu, logvar)")
    _, dmu, dlogvar = ae.gaussian_kl(mu, logvar)
    report.checks.append(compare_gradients("mu", dmu, numerical_gradient(lambda m: ae.gaussian_kl(m, logvar)[0], mu)))
    report.checks.append(compare_gradients("logvar", dlogvar,
                                           numerical_gradient(lambda v: ae.gaussian_kl(mu, v)[0], logvar)))
    return report


def run_gradchecks(backend_name: str) -> list[dict[str, Any]]:
    """Every layer, loss, penalty and model objective checked on ``backend_name``; one row each."""
    rows = []
    rng = np.random.default_rng(SEED)

    def on(a: np.ndarray) -> Any:
        return ae.to_backend(np.asarray(a, dtype=np.float64), backend_name)

    def record(kind: str, report: ae.gradcheck.GradCheckReport, subject: str | None = None) -> None:
        worst = max(report.checks, key=lambda c: c.error, default=None)
        rows.append({"kind": kind, "subject": subject or report.subject, "passed": report.passed,
                     "max_error": report.max_error, "worst": str(worst) if worst and not report.passed else ""})

    def built(build: Callable[[], ae.Module]) -> ae.Module:
        # Seeded, so the weights do not depend on what ran before: with unlucky weights a tiny conv
        # model's ReLUs can all be dead, its code exactly 0, and a decoder ReLU sit on its kink.
        ae.seed(SEED)
        return build()

    with ae.use_backend(backend_name):
        for name, build, draw in _layer_cases():
            record("layer", check_module(built(build), on(draw(rng)), raise_on_fail=False), name)
        pred, target = on(rng.uniform(0.05, 0.95, (3, 4))), on(rng.uniform(0.0, 1.0, (3, 4)))
        logits = on(rng.standard_normal((3, 4)) * 2)
        for loss in (ae.MSELoss(), ae.MSELoss(reduction="sum"), ae.BCELoss(), ae.BCELoss(reduction="sum")):
            record("loss", check_loss(loss, pred, target, raise_on_fail=False))
        for loss in (ae.BCEWithLogitsLoss(), ae.BCEWithLogitsLoss(reduction="sum")):
            record("loss", check_loss(loss, logits, target, raise_on_fail=False))
        record("loss", _gaussian_kl_check(on(rng.standard_normal((3, 2))), on(rng.standard_normal((3, 2)) * 0.5)))
        record("loss", _penalty_check("l1_penalty(h)", ae.l1_penalty, on(_off_kink(rng, (3, 4)))))
        record("loss", _penalty_check("kl_sparsity(h, 0.1)", lambda h: ae.kl_sparsity(h, 0.1),
                                      on(rng.uniform(0.05, 0.95, (3, 4)))))
        for name, build, shape, kw in _tiny_models():
            kw = {k: on(v) if k == "eps" else v for k, v in kw.items()}
            record("model", check_model(built(build), on(rng.uniform(0.05, 0.95, shape)), raise_on_fail=False, **kw),
                   f"{name}.forward_backward")
    return rows


# --------------------------------------------------------------------------- #
# 2. The model families on NumPy and on the GPU backend
# --------------------------------------------------------------------------- #
@dataclass
class ModelCase:
    name: str
    build: Callable[[], ae.Module]
    noise: str = "none"  # "none"; "input" (a denoiser's corruption) or "eps" (a VAE's): can be fixed; "dropout"
    image: bool = False
    classes: int = 0  # a conditional VAE's labels


def _mlp(d: int, k: int, act: Callable[[], ae.Module] = ae.ReLU) -> tuple[ae.Sequential, ae.Sequential]:
    return (ae.Sequential(ae.Dense(d, k), act()), ae.Sequential(ae.Dense(k, d), ae.Sigmoid()))


def model_cases() -> list[ModelCase]:
    """Every model family, built the way the builders and the demos build them, at 8x8 sizes."""
    def denoising(noise: str) -> Callable[[], ae.Module]:
        def build() -> ae.Module:
            parts = ae.mlp_autoencoder([FEATURES, 32, 8], loss="bce")
            return ae.DenoisingAutoencoder(parts.encoder, parts.decoder, "bce", noise=noise, noise_level=0.3)
        return build

    def cvae() -> ae.Module:
        return ae.ConditionalVAE(ae.Sequential(ae.Dense(FEATURES + 10, 32), ae.ReLU(), ae.Dense(32, 8)),
                                 ae.Sequential(ae.Dense(4 + 10, 32), ae.ReLU(), ae.Dense(32, FEATURES)),
                                 latent_dim=4, num_classes=10)

    def dropout_ae() -> ae.Module:
        encoder = ae.Sequential(ae.Dense(FEATURES, 32), ae.ReLU(), ae.Dropout(0.2), ae.Dense(32, 8))
        decoder = ae.Sequential(ae.Dense(8, 32), ae.ReLU(), ae.Dense(32, FEATURES), ae.Sigmoid())
        return ae.Autoencoder(encoder, decoder, "bce")

    return [
        ModelCase("mlp_autoencoder", lambda: ae.mlp_autoencoder([FEATURES, 32, 8], loss="bce")),
        ModelCase("mlp_autoencoder (mse)", lambda: ae.mlp_autoencoder([FEATURES, 32, 8], loss="mse")),
        ModelCase("stacked_autoencoder", lambda: ae.stacked_autoencoder([FEATURES, 32, 8], loss="bce")),
        ModelCase("denoising (gaussian)", denoising("gaussian"), "input"),
        ModelCase("denoising (masking)", denoising("masking"), "input"),
        ModelCase("denoising (salt_pepper)", denoising("salt_pepper"), "input"),
        ModelCase("sparse (l1)", lambda: ae.SparseAutoencoder(*_mlp(FEATURES, 32), "bce", penalty="l1",
                                                              weight=1e-3)),
        ModelCase("sparse (kl)", lambda: ae.SparseAutoencoder(*_mlp(FEATURES, 32, ae.Sigmoid), "bce", penalty="kl",
                                                              weight=0.1, target=0.05)),
        ModelCase("contractive", lambda: ae.ContractiveAutoencoder(*_mlp(FEATURES, 16, ae.Sigmoid), "bce",
                                                                   weight=0.1)),
        ModelCase("mlp_vae", lambda: ae.mlp_vae([FEATURES, 32], 4), "eps"),
        ModelCase("conditional VAE", cvae, "eps", classes=10),
        ModelCase("conv_autoencoder", lambda: ae.conv_autoencoder(IMAGE, channels=(4, 8)), image=True),
        ModelCase("conv_autoencoder (code 4)", lambda: ae.conv_autoencoder(IMAGE, channels=(4, 8), code_dim=4),
                  image=True),
        ModelCase("conv_vae", lambda: ae.conv_vae(IMAGE, channels=(4, 8), latent_dim=4), "eps", image=True),
        ModelCase("autoencoder with Dropout(0.2)", dropout_ae, "dropout"),
    ]


Noise = list[dict[str, np.ndarray]]  # the fixed noise: one dict of keyword arrays per step


def _train(case: ModelCase, backend_name: str, x_host: np.ndarray, steps: int, fixed: Noise | None,
           labels: np.ndarray | None) -> tuple[list[float], list[np.ndarray]]:
    """``steps`` Adam steps from seed SEED on ``backend_name``: the losses and the final weights (on the host)."""
    ae.seed(SEED)  # the same init (host generator) and the same noise stream position on every backend
    with ae.use_backend(backend_name):
        model = case.build()
        optimizer = ae.Adam(model.parameters(), lr=LR, eps=ADAM_EPS)
        x = ae.to_backend(x_host)
        losses = []
        for k in range(steps):
            kw: dict[str, Any] = {} if fixed is None else {key: ae.to_backend(v) for key, v in fixed[k].items()}
            if labels is not None:
                kw["labels"] = labels
            optimizer.zero_grad()
            losses.append(model.forward_backward(x, **kw)["loss"])
            optimizer.step()
        return losses, [ae.to_numpy(p.data).copy() for p in model.parameters()]


def _fixed_noise(case: ModelCase, x_host: np.ndarray, steps: int) -> Noise:
    """The noise of every step, drawn on the host, to give the same arrays to both backends."""
    with ae.backend.preserved_rng(), ae.use_backend("numpy"):
        ae.seed(SEED + 1)
        model = case.build()
        if case.noise == "input":  # the model's own corruption, drawn by NumPy
            return [{"corrupted": ae.to_numpy(model.corrupt(x_host))} for _ in range(steps)]
        rng = np.random.default_rng(SEED + 1)
        return [{"eps": rng.standard_normal((x_host.shape[0], model.latent_dim), dtype=np.float32)}
                for _ in range(steps)]


def compare_models(backend_name: str, steps: int = 5, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each model family trained ``steps`` steps on NumPy and on ``backend_name``: one row per comparison
    (see the module docstring for which rows are judged exactly and which on loss magnitude)."""
    data = np.random.default_rng(SEED + 2)
    rows = []
    for case in model_cases():
        if names is not None and case.name not in names:
            continue
        shape = (BATCH, *IMAGE) if case.image else (BATCH, FEATURES)
        x_host = data.uniform(0.05, 0.95, shape).astype(np.float32)
        labels = data.integers(0, case.classes, BATCH) if case.classes else None
        modes = ["none"] if case.noise == "none" else ["own"] if case.noise == "dropout" else ["fixed", "own"]
        for mode in modes:
            fixed = _fixed_noise(case, x_host, steps) if mode == "fixed" else None
            ref_losses, ref_weights = _train(case, "numpy", x_host, steps, fixed, labels)
            losses, weights = _train(case, backend_name, x_host, steps, fixed, labels)
            loss_diff = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(losses, ref_losses))
            weight_diff = max(relative_difference(a.astype(np.float64), b.astype(np.float64))
                              for a, b in zip(weights, ref_weights))
            if mode == "own":
                judged, tolerance = "loss magnitude", MAGNITUDE_TOLERANCE
                ref_mean, mean = statistics.fmean(ref_losses), statistics.fmean(losses)
                verdict_value = abs(mean - ref_mean) / max(abs(ref_mean), 1e-30)
            else:
                judged, tolerance = "exact", EXACT_TOLERANCE
                verdict_value = max(loss_diff, weight_diff)
            rows.append({"model": case.name, "noise": mode, "judged": judged, "steps": steps,
                         "loss_numpy": ref_losses[-1], "loss_backend": losses[-1],
                         "loss_rel_diff": loss_diff, "weight_rel_diff": weight_diff,
                         "mean_loss_rel_diff": abs(statistics.fmean(losses) - statistics.fmean(ref_losses))
                         / max(abs(statistics.fmean(ref_losses)), 1e-30),
                         "tolerance": tolerance,
                         "passed": bool(math.isfinite(verdict_value) and verdict_value <= tolerance)})
    return rows


# --------------------------------------------------------------------------- #
# 3. Speed: the MLP autoencoder 784-128-32, tinyae on CuPy against torch on CUDA
# --------------------------------------------------------------------------- #
def _torch_cuda() -> tuple[Any, str]:
    """(torch, "") when torch with a CUDA device is importable, else (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} has no CUDA device"
    return torch, ""


def _time_batch(batch: int, torch: Any, clock: Callable[[], float], repeats: int, rounds: int, warmup: int,
                backend_name: str = "cupy", device: str = "cuda") -> tuple[dict[str, Any], str]:
    """One batch size: tinyae on ``backend_name`` and (with torch) its twin on ``device``, from the same
    weights (the defaults are the GPU's; a test runs it on strict and torch CPU)."""
    from benchmarks.models import TorchTwin, tinyae_step

    ae.seed(SEED)
    with ae.use_backend(backend_name):
        model = ae.mlp_autoencoder(SPEED_SIZES, loss="bce")
    optimizer = ae.Adam(model.parameters(), lr=LR)
    host_x = np.random.default_rng(1).random((batch, SPEED_SIZES[0]), dtype=np.float32)
    x = ae.to_backend(host_x, backend_name)
    steps: dict[str, Callable[[], Any]] = {"tinyae": lambda: tinyae_step(model, optimizer, x)}
    config = ""
    if torch is not None:
        # the twin's "keras" objective is the BCE of an autoencoder ending in a Sigmoid (with logits when best)
        twin = TorchTwin("keras", model, torch, device, best=True)
        tx = twin.input(host_x)
        steps["torch"] = lambda: twin.step(tx)
        config = twin.describe()
    for step in steps.values():
        for _ in range(warmup):
            step()
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():  # alternating, so that a slow phase of the GPU hits both alike
            start = clock()
            for _ in range(repeats):
                step()
            rates[name].append(repeats / (clock() - start))
    row: dict[str, Any] = {"batch": batch, "tinyae_steps_per_s": statistics.median(rates["tinyae"])}
    if "torch" in rates:
        row["torch_steps_per_s"] = statistics.median(rates["torch"])
        row["ratio"] = row["tinyae_steps_per_s"] / row["torch_steps_per_s"]
    return row, config


def time_speed(batches: tuple[int, ...] = SPEED_BATCHES, repeats: int = 50, rounds: int = 5,
               warmup: int = 10) -> dict[str, Any]:
    """Steps per second of the 784-128-32 MLP autoencoder on CuPy and, when present, torch CUDA."""
    from benchmarks.common import gpu_clock

    torch, why_not = _torch_cuda()
    clock = gpu_clock(torch.cuda.synchronize if torch is not None else None)  # waits for CuPy's and torch's work
    result: dict[str, Any] = {"model": f"mlp_autoencoder({SPEED_SIZES}, loss='bce'), Adam lr {LR:g}",
                              "torch": torch.__version__ if torch is not None else None,
                              "torch_skipped": why_not, "torch_config": "", "rows": []}
    for batch in batches:
        row, result["torch_config"] = _time_batch(batch, torch, clock, repeats, rounds, warmup)
        result["rows"].append(row)
    return result


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #
def format_gradchecks(rows: list[dict], backend_name: str) -> str:
    lines = [f"1. Gradient checks on {backend_name!r} (float64; PASS: max|a - n| / max(1, |a|, |n|) <= 1e-6)",
             f"   {'kind':6s} {'subject':52s} {'max error':>10s}  verdict"]
    for r in rows:
        lines.append(f"   {r['kind']:6s} {r['subject'][:52]:52s} {r['max_error']:10.1e}  "
                     f"{'PASS' if r['passed'] else 'FAIL'}")
        if r["worst"]:
            lines.append(f"          {r['worst']}")
    failed = sum(not r["passed"] for r in rows)
    lines.append(f"   {len(rows) - failed} of {len(rows)} pass")
    return "\n".join(lines)


def format_models(rows: list[dict], backend_name: str) -> str:
    steps = rows[0]["steps"] if rows else 0
    lines = [f"2. NumPy against {backend_name!r}: {steps} Adam steps (eps {ADAM_EPS:g}) from the same seed, batch "
             f"{BATCH}; max relative difference",
             "   noise: none / fixed (drawn on the host, the same arrays on both: judged exactly, "
             f"tolerance {EXACT_TOLERANCE:g}) /",
             f"          own (each backend's generator: judged on the mean loss only, within "
             f"{MAGNITUDE_TOLERANCE:.0%})",
             f"   {'model':30s} {'noise':5s} {'losses':>9s} {'weights':>9s} {'mean loss':>9s}  judged on      verdict"]
    for r in rows:
        lines.append(f"   {r['model'][:30]:30s} {r['noise']:5s} {r['loss_rel_diff']:9.1e} {r['weight_rel_diff']:9.1e} "
                     f"{r['mean_loss_rel_diff']:9.1e}  {r['judged']:14s} {'ok' if r['passed'] else 'DIFFERENT'}")
    failed = sum(not r["passed"] for r in rows)
    lines.append(f"   {len(rows) - failed} of {len(rows)} agree")
    return "\n".join(lines)


def format_speed(speed: dict) -> str:
    lines = [f"3. Speed: {speed['model']}, training steps per second (median of blocks; GPU synchronised)"]
    if speed.get("skipped"):
        return lines[0] + f"\n   skipped: {speed['skipped']}"
    torch_label = f"torch CUDA ({speed.get('torch_config', '')})" if speed["torch"] else "torch CUDA"
    lines.append(f"   {'batch':>6s} {'tinyae/CuPy':>12s} {torch_label:>34s} {'ratio':>7s}")
    for r in speed["rows"]:
        theirs = f"{r['torch_steps_per_s']:.1f}" if "torch_steps_per_s" in r else "-"
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "-"
        lines.append(f"   {r['batch']:6d} {r['tinyae_steps_per_s']:12.1f} {theirs:>34s} {ratio:>7s}")
    if speed["torch_skipped"]:
        lines.append(f"   torch: skipped ({speed['torch_skipped']})")
    else:
        lines.append("   ratio = tinyae / torch (> 1: tinyae is faster); tinyae reads the loss back every step")
    return "\n".join(lines)


def gpu_facts(backend_name: str) -> dict[str, Any]:
    if backend_name != "cupy":
        return {"backend": backend_name}
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props.get("name", b"?")
    return {"backend": "cupy", "cupy": cupy.__version__, "device": name.decode() if isinstance(name, bytes) else name,
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(), "driver": cupy.cuda.runtime.driverGetVersion()}


# --------------------------------------------------------------------------- #
# The command
# --------------------------------------------------------------------------- #
def _out_problem(path: str) -> str:
    if os.path.isdir(path):
        return f"--out {path!r} is a folder: give a file name, e.g. benchmarks/results/gpu-DATE.json"
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"--out {path!r}: cannot write into {str(folder)!r}"
    return ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("cupy", "strict"), default="cupy",
                        help="the GPU backend (default cupy; strict: CI's stand-in, no GPU, no speed part)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="parts to run (all)")
    parser.add_argument("--steps", type=int, default=5, help="training steps per model in part 2 (default 5)")
    parser.add_argument("--repeats", type=int, default=50, help="steps per timed block in part 3 (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="timed blocks per contender in part 3 (default 5)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first in part 3 (default 10)")
    parser.add_argument("--out", metavar="PATH", help="also write the results as JSON to PATH "
                        "(e.g. benchmarks/results/gpu-DATE.json)")
    args = parser.parse_args(argv)
    for name in ("steps", "repeats", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"argument --{name}: expected a number >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"argument --warmup: expected a number >= 0, got {args.warmup}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.out:
        problem = _out_problem(args.out)
        if problem:
            print(f"benchmarks.gpu: {problem}", file=sys.stderr)
            return 2
    try:
        with ae.use_backend(args.backend):  # CuPy, a GPU and its libraries (NVRTC, cuBLAS, cuRAND), or why not
            pass
    except ae.BackendUnavailable as exc:
        print(f"benchmarks.gpu: cannot run: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {"gpu": gpu_facts(args.backend), "parts": args.parts}
    started = time.perf_counter()
    failed = False
    print(f"tinyae {ae.__version__} on " + ", ".join(f"{k} {v}" for k, v in result["gpu"].items()), flush=True)
    if "gradcheck" in args.parts:
        rows = run_gradchecks(args.backend)
        result["gradcheck"] = rows
        failed |= not all(r["passed"] for r in rows)
        print("\n" + format_gradchecks(rows, args.backend), flush=True)
    if "models" in args.parts:
        rows = compare_models(args.backend, steps=args.steps)
        result["models"] = rows
        failed |= not all(r["passed"] for r in rows)
        print("\n" + format_models(rows, args.backend), flush=True)
    if "speed" in args.parts:
        if args.backend == "cupy":
            speed = time_speed(repeats=args.repeats, rounds=args.rounds, warmup=args.warmup)
        else:
            speed = {"model": f"mlp_autoencoder({SPEED_SIZES})", "skipped": f"timing needs --backend cupy, not "
                     f"{args.backend!r}", "rows": []}
        result["speed"] = speed
        print("\n" + format_speed(speed), flush=True)
    result["seconds"] = time.perf_counter() - started
    result["passed"] = not failed
    print(f"\n{'all checks pass' if not failed else 'SOME CHECKS FAIL'} ({result['seconds']:.0f} s)")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
