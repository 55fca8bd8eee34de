"""Whole models: tinyae against PyTorch CPU, one training step each, every contender in its own process.

    python -m benchmarks                       # from the repository root: all four models
    python -m benchmarks --models mlp keras --json out.json
    python -m benchmarks --quick               # a short run (no memory epochs)
    python -m benchmarks --backend cupy        # tinyae on the GPU (needs CuPy and a CUDA GPU)

The models (float32, Adam with lr 1e-3; batch 128, 256 for keras):

``mlp``    autoencoder 784-512-128-32-128-512-784, ReLU, Sigmoid output, MSE
``vae``    VAE 784-400-(20 mu + 20 logvar), decoder 20-400-784 logits; BCE with logits summed over
           the pixels plus the KL, averaged over the batch (tinyae.VAE's objective)
``conv``   Conv(1,16,k3,s2,p1)-ReLU-Conv(16,32,k3,s2,p1)-ReLU-Conv(32,64,k7), then
           ConvT(64,32,k7)-ReLU-ConvT(32,16,k3,s2,p1,op1)-ReLU-ConvT(16,1,k3,s2,p1,op1)-Sigmoid, MSE
``keras``  the Keras blog's autoencoder: 784-32 ReLU, 32-784 Sigmoid, binary cross-entropy on the
           probabilities (tinyae folds the Sigmoid into BCE with logits; so does torch's best)

A step is what a user runs: ``opt.zero_grad(); model.forward_backward(x); opt.step()`` with
tinyae's own classes, and ``opt.zero_grad(); loss(x).backward(); opt.step()`` in PyTorch, whose
twin of each model is built layer by layer from the tinyae model, weights copied across.

1. Parity (in this process): one step from the same weights, data and VAE noise must give the
   same loss, gradients and parameter updates (max relative difference per tensor,
   max|a - b| / max|b|; updates where Adam is ill-conditioned are counted, not judged: see the
   tolerances below); the run stops with exit status 1 when they differ by more than float32
   round-off allows.
2. Timing: each contender runs in a fresh process of its own (``python -m benchmarks.worker``),
   as a user runs it: no library's allocator or thread pool affects another's. The contenders are
   tinyae (fast kernels), tinyae with ``kernels.use("reference")`` (what the kernels save), torch
   at its defaults and torch at its best (fused Adam; channels_last for the conv model; BCE with
   logits for the keras model). ``--rounds`` rounds, the order of the contenders rotated each
   round; per process ``--warmup`` untimed steps, then ``--repeats`` timed ones. Median step
   time over all rounds and its quartiles; ``speed-up = torch time / tinyae time`` (> 1: tinyae
   is faster). Every process uses ``--threads`` threads (default: the cores).
3. SGEMM: NumPy's float32 GFLOP/s on a 2048^3 product, measured in a process of its own at the start
   of every round (the machine's speed drifts; in a contender's process its 16 MB arrays would leave
   glibc's thresholds raised for that contender alone), and the share of it that the step reaches,
   counting 2 M N K flops for every matrix product a training step needs: the forward pass, the
   weight gradients, and the input gradients of every layer but the first (the data need no
   gradient, and neither library computes one). Page faults per step are counted in every process.
4. Memory: the peak of NumPy's allocations (tracemalloc) while ``tinyae.fit`` trains one epoch of
   ``--epoch-samples`` samples (60,000 by default), the float32 dataset included, in a process of
   its own; the target is at most 1.5 x the dataset's float32 size + 200 MB.
5. Targets: those of the benchmark issue (tinyae / torch's best >= 1.1 on the MLP, >= 1.2 on the
   VAE and the conv model, >= 1.0 on the keras model; the MLP step at >= 60% of SGEMM), each
   printed with its measured value and "met" or "NOT met" (and kept in the JSON).

PyTorch is optional: without it only tinyae is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tinyae as ae
from benchmarks.common import (
    cores,
    gpu_clock,
    limit_blas_threads,
    machine,
    minor_page_faults,
    summary,
)

MODELS = ("mlp", "vae", "conv", "keras")
DESCRIPTIONS = {
    "mlp": "MLP AE 784-512-128-32-128-512-784, MSE",
    "vae": "VAE 784-400-(20+20)-400-784, BCE + KL",
    "conv": "conv AE 1-16-32-64 / 64-32-16-1, MSE",
    "keras": "Keras-blog AE 784-32-784, BCE",
}
BATCH = {"mlp": 128, "vae": 128, "conv": 128, "keras": 256}
CONTENDERS = ("tinyae", "tinyae_reference", "torch", "torch_best")
LR = 1e-3
# Parity tolerances: float32 round-off in different summation orders (a wrong gradient or
# update rule is off by 1e-2 or more). Adam's first step moves a parameter by
# lr g / (|g| + eps): for |g| near eps = 1e-8 it turns the gradient's float32 round-off
# (~1e-7 of the tensor's largest gradient) into update differences of several percent, so
# updates are judged only where |g| >= 100 eps; the other entries are counted, not judged.
LOSS_TOLERANCE = 1e-5
GRAD_TOLERANCE = 1e-4
UPDATE_TOLERANCE = 1e-3
ADAM_EPS = 1e-8
WELL_CONDITIONED_GRAD = 100 * ADAM_EPS
MEMORY_EXTRA_MB = 200.0
MB = 1e6
REPOSITORY = Path(__file__).resolve().parents[1]
# The speed targets of the benchmark issue (measured here, judged in the output, never in tests):
# (model, what, the row's key, the bound). Memory has its own bound per model (see epoch_memory).
SPEED_TARGETS = (
    ("mlp", "vs torch best", "speedup_vs_torch_best", 1.1),
    ("vae", "vs torch best", "speedup_vs_torch_best", 1.2),
    ("conv", "vs torch best", "speedup_vs_torch_best", 1.2),
    ("keras", "vs torch best", "speedup_vs_torch_best", 1.0),
    ("mlp", "share of SGEMM peak", "sgemm_fraction", 0.60),
)


# --------------------------------------------------------------------------- #
# The models in tinyae
# --------------------------------------------------------------------------- #
def build_tinyae(name: str) -> ae.Module:
    """The model ``name`` with tinyae's classes (seeded: the same weights on every run)."""
    ae.seed(0)
    if name == "mlp":
        encoder = ae.Sequential(ae.Dense(784, 512), ae.ReLU(), ae.Dense(512, 128), ae.ReLU(), ae.Dense(128, 32))
        decoder = ae.Sequential(
            ae.Dense(32, 128), ae.ReLU(), ae.Dense(128, 512), ae.ReLU(), ae.Dense(512, 784), ae.Sigmoid()
        )
        return ae.Autoencoder(encoder, decoder, loss="mse")
    if name == "vae":
        encoder = ae.Sequential(ae.Dense(784, 400), ae.ReLU(), ae.Dense(400, 40))
        decoder = ae.Sequential(ae.Dense(20, 400), ae.ReLU(), ae.Dense(400, 784))
        return ae.VAE(encoder, decoder, latent_dim=20)  # BCE with logits + KL
    if name == "conv":
        encoder = ae.Sequential(
            ae.Conv2D(1, 16, 3, stride=2, padding=1), ae.ReLU(),
            ae.Conv2D(16, 32, 3, stride=2, padding=1), ae.ReLU(),
            ae.Conv2D(32, 64, 7),
        )  # fmt: skip
        decoder = ae.Sequential(
            ae.ConvTranspose2D(64, 32, 7), ae.ReLU(),
            ae.ConvTranspose2D(32, 16, 3, stride=2, padding=1, output_padding=1), ae.ReLU(),
            ae.ConvTranspose2D(16, 1, 3, stride=2, padding=1, output_padding=1), ae.Sigmoid(),
        )  # fmt: skip
        return ae.Autoencoder(encoder, decoder, loss="mse")
    if name == "keras":
        encoder = ae.Sequential(ae.Dense(784, 32), ae.ReLU())
        decoder = ae.Sequential(ae.Dense(32, 784), ae.Sigmoid())
        return ae.Autoencoder(encoder, decoder, loss="bce")  # the Sigmoid folds into BCE with logits
    raise ValueError(f"unknown model {name!r}: expected one of {MODELS}")


def sample_shape(name: str) -> tuple[int, ...]:
    """One sample's shape: flat pixels for the MLPs, a 1x28x28 image for the conv model."""
    return (1, 28, 28) if name == "conv" else (784,)


def make_batch(name: str, n: int, seed: int = 1) -> np.ndarray:
    """n float32 'images' with pixels in [0, 1] (the values do not change the timings)."""
    return np.random.default_rng(seed).random((n, *sample_shape(name)), dtype=np.float32)


def _layers(module: ae.Module) -> list[ae.Module]:
    return list(module) if isinstance(module, ae.Sequential) else [module]


def gemm_flops(name: str, model: ae.Module, batch: int) -> float:
    """Flops of the matrix products one training step needs: 2 M N K for the forward pass, the
    weight gradient and the input gradient of every Dense and conv layer, less the first
    layer's input gradient (the data need none)."""
    flops, first = 0.0, True
    shape: tuple[int, ...] = (batch, *sample_shape(name))
    for stage in (model.encoder, model.decoder):
        if stage is model.decoder and isinstance(model, ae.VAE):
            shape = (batch, model.latent_dim)  # the VAE's decoder starts from z
        for layer in _layers(stage):
            if isinstance(layer, ae.Dense):
                macs, out_shape = batch * layer.in_features * layer.out_features, (batch, layer.out_features)
            elif isinstance(layer, (ae.Conv2D, ae.ConvTranspose2D)):
                out_shape = layer.output_shape(shape)
                kh, kw = layer.kernel_size
                # every pixel of the larger side meets every (input channel, tap, output channel)
                pixels = math.prod(out_shape[2:] if isinstance(layer, ae.Conv2D) else shape[2:])
                macs = batch * pixels * layer.in_channels * layer.out_channels * kh * kw
            else:
                continue  # activations keep the shape and do no matrix product
            flops += 2.0 * macs * (2 if first else 3)
            first, shape = False, out_shape
    return flops


# --------------------------------------------------------------------------- #
# The PyTorch twins
# --------------------------------------------------------------------------- #
def _torch_layer(layer: ae.Module, torch: Any) -> Any:
    """The torch module computing the same function as a tinyae layer, with its weights."""
    nn = torch.nn
    if isinstance(layer, ae.Dense):
        twin = nn.Linear(layer.in_features, layer.out_features)
        weight = ae.to_numpy(layer.weight.data).T  # tinyae: x W, (in, out); torch: x W^T, (out, in)
    elif isinstance(layer, ae.Conv2D):
        twin = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
        weight = ae.to_numpy(layer.weight.data)
    elif isinstance(layer, ae.ConvTranspose2D):
        twin = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                  layer.padding, layer.output_padding)
        weight = ae.to_numpy(layer.weight.data)
    elif isinstance(layer, ae.ReLU):
        return nn.ReLU()
    elif isinstance(layer, ae.Sigmoid):
        return nn.Sigmoid()
    else:
        raise TypeError(f"no torch twin for {layer!r}")
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
        twin.bias.copy_(torch.from_numpy(ae.to_numpy(layer.bias.data)))
    return twin


class TorchTwin:
    """The PyTorch model computing the tinyae model's objective, from the same weights."""

    def __init__(self, name: str, model: ae.Module, torch: Any, device: str, best: bool) -> None:
        self.name, self.torch = name, torch
        self.encoder = torch.nn.Sequential(*[_torch_layer(m, torch) for m in _layers(model.encoder)]).to(device)
        self.decoder = torch.nn.Sequential(*[_torch_layer(m, torch) for m in _layers(model.decoder)]).to(device)
        self.latent_dim = getattr(model, "latent_dim", None)
        self.channels_last = best and name == "conv"
        self.logits = best and name == "keras"
        if self.channels_last:
            self.encoder.to(memory_format=torch.channels_last)
            self.decoder.to(memory_format=torch.channels_last)
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.adam = "default (for-loop)"
        if best:
            try:
                self.optimizer = torch.optim.Adam(params, lr=LR, fused=True)
                self.adam = "fused"
            except (RuntimeError, TypeError):  # no fused Adam for this device in this version
                self.optimizer = torch.optim.Adam(params, lr=LR, foreach=True)
                self.adam = "foreach"
        else:
            self.optimizer = torch.optim.Adam(params, lr=LR)
        self.device = device

    def describe(self) -> str:
        extras = [", channels_last"] * self.channels_last + [", BCE with logits"] * self.logits
        return f"Adam {self.adam}" + "".join(extras)

    def input(self, x: np.ndarray) -> Any:
        tx = self.torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
        return tx.contiguous(memory_format=self.torch.channels_last) if self.channels_last else tx

    def objective(self, x: Any, eps: Any = None) -> Any:
        """The same objective as the tinyae model's ``forward_backward``."""
        functional = self.torch.nn.functional
        if self.name == "keras" and self.logits:  # torch at its best: the Sigmoid folded into the loss too
            return functional.binary_cross_entropy_with_logits(self.decoder[:-1](self.encoder(x)), x)
        if self.name == "keras":
            return functional.binary_cross_entropy(self.decoder(self.encoder(x)), x)
        if self.name != "vae":
            return functional.mse_loss(self.decoder(self.encoder(x)), x)
        n, k = x.shape[0], self.latent_dim
        h = self.encoder(x)
        mu, logvar = h[:, :k], h[:, k:]
        if eps is None:
            eps = self.torch.randn_like(mu)
        z = mu + self.torch.exp(0.5 * logvar) * eps
        rec = functional.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum") / n
        kl = -0.5 * self.torch.sum(1.0 + logvar - mu * mu - self.torch.exp(logvar)) / n
        return rec + kl

    def step(self, x: Any, eps: Any = None) -> Any:
        self.optimizer.zero_grad()
        loss = self.objective(x, eps)
        loss.backward()
        self.optimizer.step()
        return loss

    def _in_tinyae_layout(self, which: Callable[[Any], Any]) -> list[np.ndarray]:
        out = []
        for module in [*self.encoder, *self.decoder]:
            if hasattr(module, "weight"):
                weight, bias = (which(p).detach().cpu().numpy() for p in (module.weight, module.bias))
                out += [weight.T if isinstance(module, self.torch.nn.Linear) else weight, bias]
        return [np.array(a) for a in out]  # copies, in NumPy's default (C) order

    def parameters(self) -> list[np.ndarray]:
        """The parameters in tinyae's order and layout (Linear weights transposed back)."""
        return self._in_tinyae_layout(lambda p: p)

    def gradients(self) -> list[np.ndarray]:
        """The parameters' gradients, likewise."""
        return self._in_tinyae_layout(lambda p: p.grad)


# --------------------------------------------------------------------------- #
# Parity: one step from the same weights
# --------------------------------------------------------------------------- #
def tinyae_step(model: ae.Module, optimizer: ae.Adam, x: Any, **kw: Any) -> float:
    """One training step, the way a user runs it."""
    optimizer.zero_grad()
    loss = model.forward_backward(x, **kw)["loss"]
    optimizer.step()
    return loss


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max|a - b| / max|b| over a tensor: relative to its scale (0 for two empty selections)."""
    if theirs.size == 0:
        return 0.0
    return float(np.max(np.abs(ours - theirs))) / max(float(np.max(np.abs(theirs))), 1e-30)


def parity(name: str, model: ae.Module, optimizer: ae.Adam, twins: dict[str, TorchTwin], x: Any) -> dict:
    """One step of tinyae and of each twin from the same weights, data and noise: the max relative
    differences of the loss, the gradients and the parameter updates (see the tolerances above)."""
    host_x = ae.to_numpy(x)
    kw, eps = {}, None
    if name == "vae":
        eps = np.random.default_rng(2).standard_normal((host_x.shape[0], model.latent_dim), dtype=np.float32)
        kw = {"eps": ae.to_backend(eps, ae.backend.backend_of(x))}
    before = [ae.to_numpy(p.data).copy() for p in model.parameters()]
    loss = tinyae_step(model, optimizer, x, **kw)
    grads = [ae.to_numpy(p.grad) for p in model.parameters()]
    updates = [ae.to_numpy(p.data) - b for p, b in zip(model.parameters(), before)]
    result: dict[str, Any] = {"loss": loss}
    for label, twin in twins.items():
        if not all(np.array_equal(a, b) for a, b in zip(twin.parameters(), before)):
            raise AssertionError(f"{name}: the {label} twin does not start from tinyae's weights")
        t_eps = None if eps is None else twin.torch.from_numpy(eps).to(twin.device)
        t_loss = float(twin.step(twin.input(host_x), t_eps).detach())
        t_grads = twin.gradients()
        t_updates = [after - b for after, b in zip(twin.parameters(), before)]
        judged = [np.abs(g) >= WELL_CONDITIONED_GRAD for g in t_grads]
        result[label] = {
            "loss_rel_diff": abs(loss - t_loss) / abs(t_loss),
            "grad_rel_diff": max(relative_difference(a, b) for a, b in zip(grads, t_grads)),
            "update_rel_diff": max(relative_difference(a[j], b[j]) for a, b, j in zip(updates, t_updates, judged)),
            "updates_not_judged": int(sum(j.size - np.count_nonzero(j) for j in judged)),
        }
    return result


def worst_difference(result: dict) -> float:
    """The largest of all relative differences against all twins."""
    keys = ("loss_rel_diff", "grad_rel_diff", "update_rel_diff")
    return max((d[k] for d in result.values() if isinstance(d, dict) for k in keys), default=0.0)


def parity_failures(name: str, result: dict) -> list[str]:
    checks = (("loss", "loss_rel_diff", LOSS_TOLERANCE), ("gradients", "grad_rel_diff", GRAD_TOLERANCE),
              ("parameter updates", "update_rel_diff", UPDATE_TOLERANCE))
    problems = []
    for label, diff in result.items():
        if not isinstance(diff, dict):
            continue
        for what, key, tolerance in checks:
            if not diff[key] <= tolerance:  # NaN fails too
                problems.append(f"{name}: {what} differ from {label} by {diff[key]:.2e} "
                                f"(max|a - b| / max|b|; tolerance {tolerance:g})")
    return problems




# --------------------------------------------------------------------------- #
# One contender, in the process it runs in (python -m benchmarks.worker)
# --------------------------------------------------------------------------- #
def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def time_contender(contender: str, name: str, *, batch: int, repeats: int, warmup: int, threads: int,
                   backend_name: str = "numpy") -> dict:
    """Build model ``name`` for ``contender``, run ``warmup`` steps, then time ``repeats`` steps.

    Returns the seconds of each timed step, the page faults per step, and the configuration
    (tinyae's kernels, or torch's optimizer and layout)."""
    limiter = limit_blas_threads(threads)  # noqa: F841  (kept alive for the run)
    with ae.use_backend(backend_name):
        model = build_tinyae(name)
    host_x = make_batch(name, batch)
    result: dict[str, Any] = {"contender": contender, "model": name, "batch": batch, "threads": threads}
    torch = None
    if contender.startswith("tinyae"):
        ae.kernels.use("reference" if contender == "tinyae_reference" else "fast")
        optimizer = ae.Adam(model.parameters(), lr=LR)
        x = ae.to_backend(host_x, backend_name)
        result["config"] = f"kernels {ae.kernels.mode()}" + (
            f" (numba {ae.kernels.jit.version()})" if ae.kernels.mode() == "fast" and ae.kernels.jit.version() else "")

        def step() -> Any:
            return tinyae_step(model, optimizer, x)
    else:
        torch = _import_torch()
        if torch is None:
            raise RuntimeError("torch is not installed")
        torch.set_num_threads(threads)
        device = "cuda" if backend_name == "cupy" and torch.cuda.is_available() else "cpu"
        twin = TorchTwin(name, model, torch, device, best=contender == "torch_best")
        tx = twin.input(host_x)
        result["config"] = twin.describe()

        def step() -> Any:
            return twin.step(tx)
    clock = time.perf_counter
    if backend_name == "cupy":
        clock = gpu_clock(torch.cuda.synchronize if torch is not None and torch.cuda.is_available() else None)
    for _ in range(warmup):
        step()
    faults, times = minor_page_faults(), []
    for _ in range(repeats):
        start = clock()
        step()
        times.append(clock() - start)
    result["page_faults_per_step"] = (minor_page_faults() - faults) / repeats
    result["times_s"] = times
    return result


def epoch_memory(name: str, samples: int, batch: int) -> dict:
    """Peak NumPy memory (tracemalloc) of one ``fit`` epoch, dataset included, against the target."""
    tracemalloc.start()
    try:
        data = make_batch(name, samples, seed=3)
        model = build_tinyae(name)
        start = time.perf_counter()
        ae.fit(model, ae.Adam(model.parameters(), lr=LR), data, epochs=1, batch_size=batch, progress=False)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dataset = samples * 784 * 4
    target = 1.5 * dataset + MEMORY_EXTRA_MB * MB
    return {"samples": samples, "dataset_mb": dataset / MB, "peak_mb": peak / MB, "target_mb": target / MB,
            "within_target": peak <= target, "epoch_s": seconds}


def spawn(task: str, name: str, args: argparse.Namespace, batch: int) -> dict:
    """Run ``python -m benchmarks.worker`` for one contender (or the SGEMM measurement, or the memory
    epoch) and read its JSON."""
    command = [sys.executable, "-m", "benchmarks.worker", task, name, "--batch", str(batch),
               "--threads", str(args.threads), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--backend", args.backend, "--epoch-samples", str(args.epoch_samples)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {task} {name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- #
# The whole run
# --------------------------------------------------------------------------- #
def run_model(name: str, args: argparse.Namespace, contenders: tuple[str, ...], torch: Any) -> dict:
    batch = args.batch or BATCH[name]
    row: dict[str, Any] = {"model": name, "description": DESCRIPTIONS[name], "batch": batch}
    with ae.use_backend(args.backend):
        model = build_tinyae(name)
    twins: dict[str, TorchTwin] = {}
    if torch is not None:
        device = "cuda" if args.backend == "cupy" and torch.cuda.is_available() else "cpu"
        twins = {label: TorchTwin(name, model, torch, device, best=label == "torch_best")
                 for label in ("torch", "torch_best")}
    row["parity"] = parity(name, model, ae.Adam(model.parameters(), lr=LR), twins,
                           ae.to_backend(make_batch(name, batch), args.backend))
    if parity_failures(name, row["parity"]):
        return row
    runs: dict[str, list[dict]] = {c: [] for c in contenders}
    sgemm = []
    for r in range(args.rounds):
        sgemm.append(spawn("sgemm", name, args, batch)["sgemm_gflops"])
        for contender in contenders[r % len(contenders):] + contenders[: r % len(contenders)]:
            runs[contender].append(spawn(contender, name, args, batch))
    for contender, outputs in runs.items():
        row[contender] = summary([t for out in outputs for t in out["times_s"]])
        row[contender]["samples_per_s"] = batch / (row[contender]["median_ms"] / 1e3)
        row[contender]["page_faults_per_step"] = float(np.median([out["page_faults_per_step"] for out in outputs]))
        row[f"{contender}_config"] = outputs[0]["config"]
    for label in ("torch", "torch_best"):
        if label in runs:
            row[f"speedup_vs_{label}"] = row[label]["median_ms"] / row["tinyae"]["median_ms"]
    if "tinyae_reference" in runs:
        row["reference_over_fast"] = row["tinyae_reference"]["median_ms"] / row["tinyae"]["median_ms"]
    row["sgemm_gflops"] = float(np.median(sgemm))
    row["gflop_per_step"] = gemm_flops(name, model, batch) / 1e9
    row["tinyae"]["gflops"] = row["gflop_per_step"] / (row["tinyae"]["median_ms"] / 1e3)
    row["tinyae"]["sgemm_fraction"] = row["tinyae"]["gflops"] / row["sgemm_gflops"]
    return row


def run(args: argparse.Namespace) -> dict:
    torch = _import_torch() if args.torch else None
    if torch is not None:
        torch.set_num_threads(args.threads)
    contenders = tuple(c for c in CONTENDERS if torch is not None or not c.startswith("torch"))
    result: dict[str, Any] = {
        "benchmark": "one training step (forward + backward + Adam), float32, each contender in its own process",
        "backend": args.backend,
        "threads": args.threads,
        "repeats": args.repeats,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "torch": None if torch is None else torch.__version__,
        "numba": ae.kernels.jit.version(),
        **machine(),
    }
    result["rows"], failures = [], []
    for name in args.models:
        row = run_model(name, args, contenders, torch)
        failures += parity_failures(name, row["parity"])
        result["rows"].append(row)
        if failures:
            break
    result["parity_failures"] = failures
    result["targets"] = target_verdicts(result) if torch is not None and args.backend == "numpy" else []
    result["memory"] = {}
    if args.epoch_samples and not failures and args.backend == "numpy":
        for name in args.models:
            result["memory"][name] = spawn("memory", name, args, args.batch or BATCH[name])
    return result


def target_verdicts(result: dict) -> list[dict]:
    """Each speed target of the issue that this run measured, with its value and whether it is met."""
    rows = {r["model"]: r for r in result["rows"]}
    verdicts = []
    for model, what, key, bound in SPEED_TARGETS:
        row = rows.get(model)
        value = None if row is None else row.get(key, row.get("tinyae", {}).get(key))
        if value is not None:
            verdicts.append({"model": model, "target": what, "value": value, "bound": bound, "met": value >= bound})
    return verdicts


def format_table(result: dict) -> str:
    has_torch = result["torch"] is not None
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
                     for b in result["blas"]) or "unknown BLAS"
    sgemm = "-".join(sorted({f"{r['sgemm_gflops']:.0f}" for r in result["rows"] if "sgemm_gflops" in r},
                            key=float)) or "?"
    lines = [
        f"tinyae ({result['backend']}) vs PyTorch {result['torch'] or 'not installed'}: one training step "
        f"(forward + backward + Adam lr 1e-3), float32, {result['threads']} threads, each contender in its own process",
        f"numpy {result['numpy']} with {blas}; numba {result['numba'] or 'not installed'}; "
        f"SGEMM {sgemm} GFLOP/s (2048^3, best of 7, a process of its own before each round)",
        f"ms per step: median [quartiles] of {result['rounds']} processes x {result['repeats']} steps each, "
        "contenders rotated; speed-up = torch ms / tinyae ms (> 1: tinyae is faster)",
    ]
    head = f"{'model':<6} {'batch':>5} {'tinyae ms':>20} {'reference ms':>20} {'%SGEMM':>7}"
    if has_torch:
        head += f" {'torch ms':>20} {'best ms':>20} {'vs torch':>9} {'vs best':>8} {'parity':>8}"
    lines += [head, "-" * len(head)]

    def cell(stats: dict) -> str:
        return f"{stats['median_ms']:.2f} [{stats['q1_ms']:.2f}-{stats['q3_ms']:.2f}]"

    for r in result["rows"]:
        if "tinyae" not in r:
            continue
        t = r["tinyae"]
        ref = cell(r["tinyae_reference"]) if "tinyae_reference" in r else "-"
        line = f"{r['model']:<6} {r['batch']:>5} {cell(t):>20} {ref:>20} {100 * t['sgemm_fraction']:>6.1f}%"
        if has_torch:
            worst = worst_difference(r["parity"])
            line += f" {cell(r['torch']):>20} {cell(r['torch_best']):>20} {r['speedup_vs_torch']:>8.2f}x "
            line += f"{r['speedup_vs_torch_best']:>7.2f}x {worst:>8.1e}"
        lines.append(line)
    lines.append("-" * len(head))
    for r in result["rows"]:
        if "tinyae" not in r:
            continue
        faults = ", ".join(f"{c.replace('_', ' ')} {r[c]['page_faults_per_step']:.0f}" for c in CONTENDERS if c in r)
        extra = f"; torch best: {r['torch_best_config']}" if has_torch else ""
        lines.append(f"{r['model']:<6} {r['description']}, {r['gflop_per_step']:.3f} GFLOP per step{extra}; "
                     f"reference kernels {r['reference_over_fast']:.2f}x the fast ones' time; "
                     f"page faults per step: {faults}")
    if has_torch:
        lines.append("parity = the largest max|a - b| / max|b| of the loss, the gradients and the parameter "
                     "updates of one step, against both torch configurations")
    for name, m in result["memory"].items():
        verdict = "within" if m["within_target"] else "OVER"
        lines.append(
            f"memory {name:<5} peak {m['peak_mb']:.0f} MB for one epoch of {m['samples']} samples "
            f"(dataset {m['dataset_mb']:.0f} MB; target <= 1.5 x dataset + 200 MB = {m['target_mb']:.0f} MB: "
            f"{verdict}; epoch {m['epoch_s']:.1f} s under tracemalloc)"
        )
    for v in result.get("targets", []):
        shown = (lambda x: f"{100 * x:.1f}%") if v["target"].startswith("share") else (lambda x: f"{x:.2f}x")
        lines.append(f"target {v['model']:<5} {v['target']:<20} >= {shown(v['bound']):>6}: measured "
                     f"{shown(v['value']):>6}  {'met' if v['met'] else 'NOT met'}")
    for problem in result["parity_failures"]:
        lines.append(f"PARITY FAILURE: {problem}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None, threads: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="models to run (all)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 128; 256 for keras)")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per process (default 30; quick 10)")
    parser.add_argument("--rounds", type=int, default=None, help="processes per contender (default 3; quick 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10; quick 3)")
    parser.add_argument("--threads", type=int, default=threads, help="threads for both (default: the cores)")
    parser.add_argument("--epoch-samples", type=int, default=None,
                        help="samples in the memory epoch (default 60000; 0 or --quick: skip)")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy", help="tinyae's backend")
    parser.add_argument("--no-torch", dest="torch", action="store_false", help="time tinyae only")
    parser.add_argument("--quick", action="store_true", help="a short run: fewer steps, no memory epochs")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    defaults = {"repeats": (30, 10), "rounds": (3, 1), "warmup": (10, 3), "epoch_samples": (60000, 0)}
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def main(argv: list[str] | None = None, threads: int | None = None) -> int:
    args = parse_args(argv, threads or cores())
    try:
        ae.set_backend(args.backend)  # refuses a missing GPU up front, with the install hint
        ae.set_backend("numpy")
    except ae.BackendUnavailable as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    result = run(args)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["parity_failures"] else 0
