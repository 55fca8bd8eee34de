"""Initialisation: tinyae's builders (old rule and current code) against PyTorch's default init, in test loss.

    python -m benchmarks.init                          # 3 seeds, 10 epochs, both models (tens of minutes)
    python -m benchmarks.init --seeds 0 --epochs 1     # a quick check
    python -m benchmarks.init --smoke --json out.json  # the test-suite's run: every variant in one process

For each model and seed three variants are trained, each in a fresh process of its own
(``python -m benchmarks.init --worker VARIANT ...``; a tinyae process never imports torch), the
order of the variants rotated from seed to seed:

``tinyae-old``  the builder's model with every Dense weight re-drawn by the OLD rule, He
                everywhere in a ReLU net: W ~ N(0, 2/in), b = 0 (also the code layer, the
                mu/logvar layer and the layer before the Sigmoid or the logits). Done here, with
                ``tinyae.backend.init_array``, so the old rule stays measurable whatever the
                builders do.
``tinyae-new``  the builder's model as the code builds it now (the rule it follows is recorded:
                each Dense's ``init`` and its weights' std, and whether builders.py differs from HEAD).
``torch``       the same layers in PyTorch with PyTorch's default init (nn.Linear:
                kaiming_uniform(a=sqrt 5), i.e. W ~ U(+-1/sqrt(in)), b ~ U(+-1/sqrt(in))).

and, only when asked for (``--variants tinyae-torch-init torch``, a diagnostic):

``tinyae-torch-init``  the builder's model with ``init="torch"``: PyTorch's default init drawn by
                tinyae's generator (W, b ~ U(+-1/sqrt(in))): what is left between it and torch is not the init.

The models:

``mlp``  ``tinyae.mlp_autoencoder([784, 128, 32], loss="bce")``: 784-128-ReLU-32 (linear code)
         -128-ReLU-784-Sigmoid; trained on the mean BCE per pixel (torch: nn.BCELoss() on the
         Sigmoid's output; tinyae folds the Sigmoid into BCE with logits, as it always does).
         Test metric: the BCE per pixel, averaged over the test set.
``vae``  ``tinyae.mlp_vae([784, 400], 20)``, pytorch/examples' VAE: 784-400-ReLU-(20 mu, 20
         logvar), 20-400-ReLU-784 logits. Objective per image: the BCE of the logits summed over
         the pixels plus the KL, averaged over the batch (tinyae.VAE's objective; torch computes the
         same with binary_cross_entropy_with_logits; pytorch/examples sums over the batch instead,
         which Adam's scale invariance makes nearly the same). Test metric: the negative ELBO per
         image (nats), one sample of z = mu + sigma eps per test image, with eps drawn ONCE from a
         fixed generator (the same eps for every variant, seed and epoch).

Protocol, the same for all three: the full Fashion-MNIST training set (the loader's train and
validation splits together: 60,000 images), Adam lr 1e-3 (PyTorch's defaults), batch 128, the
order shuffled every epoch by a generator seeded with (seed, epoch) and the VAE's training eps by
one seeded with the seed: a seed fixes the data order and the noise for all three variants, so
within a seed they differ only in their initial weights (and each library's round-off). The test
metric is computed after every epoch, from each model's float32 outputs (logits, mu, logvar) by
the same float64 NumPy code for both libraries. One BLAS/OpenMP thread per process (``--threads``).

The output: a markdown table per model (epoch 1 and the last: per variant the mean over seeds
and [min-max], and each tinyae variant's gap to torch, (tinyae - torch) / torch, of the means and
[min-max] of the per-seed gaps); the raw results in benchmarks/results/init-<date>.json (or --json).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import limit_blas_threads, machine, pin_threads_early  # noqa: E402

# Only when run: one thread unless --threads says otherwise (importing this module changes nothing).
_THREADS = pin_threads_early(["--threads", "1", *sys.argv[1:]]) if __name__ == "__main__" else 1

import argparse  # noqa: E402
import datetime  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import tinyae as ae  # noqa: E402
from tinyae.module import leaves  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "benchmarks" / "results"
BUILDERS = REPOSITORY / "tinyae" / "models" / "builders.py"
MODELS = ("mlp", "vae")
VARIANTS = ("tinyae-old", "tinyae-new", "torch")  # the default run
# A diagnostic, on request (--variants): the builder's model with PyTorch's default init drawn by
# tinyae (W, b ~ U(+-1/sqrt(in)) from tinyae's generator): the same distribution as torch's, in
# tinyae, so what remains between it and torch is not the initialisation.
EXTRA_VARIANTS = ("tinyae-torch-init",)
DESCRIPTIONS = {
    "mlp": "MLP AE mlp_autoencoder([784, 128, 32], loss='bce'): 784-128-ReLU-32-128-ReLU-784-Sigmoid; "
           "test BCE per pixel",
    "vae": "VAE mlp_vae([784, 400], 20): 784-400-ReLU-(20+20), 20-400-ReLU-784 logits; "
           "test negative ELBO per image (nats)",
}
LATENT = 20
LR = 1e-3
BATCH = 128
EVAL_BATCH = 1000
TEST_EPS_SEED = 12345  # the VAE's test eps: one draw, shared by every variant, seed and epoch
SMOKE_TRAIN, SMOKE_TEST = 384, 256


# --------------------------------------------------------------------------- #
# Data and the shared metrics
# --------------------------------------------------------------------------- #
def load_data(smoke: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """(train, test) as float32 rows (N, 784) in [0, 1], and a description of what they are."""
    from tinyae import data

    if smoke:
        d = data.load("fashion-mnist-small")
        return (d.flat("train")[:SMOKE_TRAIN].copy(), d.flat("test")[:SMOKE_TEST].copy(),
                f"fashion-mnist-small: the first {SMOKE_TRAIN} training and {SMOKE_TEST} test images")
    d = data.load("fashion-mnist")
    train = np.concatenate([d.flat("train"), d.flat("val")])  # the loader holds out 5000 for validation
    return train, d.flat("test").copy(), (f"Fashion-MNIST: all {len(train)} training images (the loader's "
                                          f"train + val splits), the {len(d.x_test)} test images")


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled order of epoch ``epoch``: the same for every variant of a seed."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def test_eps(n: int) -> np.ndarray:
    return np.random.default_rng(TEST_EPS_SEED).standard_normal((n, LATENT), dtype=np.float32)


def bce_from_logits(logits: np.ndarray, x: np.ndarray) -> np.ndarray:
    """BCE(s(l), x) = softplus(l) - x l, per element, in float64 (exact also for saturated units)."""
    l64, x64 = logits.astype(np.float64), x.astype(np.float64)
    return np.logaddexp(0.0, l64) - x64 * l64


def mlp_metric(logits: np.ndarray, x: np.ndarray) -> float:
    """Sum over the batch of the mean BCE per pixel of each image (divide by N for the mean)."""
    return float(bce_from_logits(logits, x).mean(axis=1).sum())


def vae_metric(mu: np.ndarray, logvar: np.ndarray, logits: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Sums over the batch of the reconstruction (BCE summed over the pixels) and of the KL."""
    mu64, lv64 = mu.astype(np.float64), logvar.astype(np.float64)
    rec = bce_from_logits(logits, x).sum()
    kl = -0.5 * np.sum(1.0 + lv64 - mu64 * mu64 - np.exp(lv64))
    return float(rec), float(kl)


# --------------------------------------------------------------------------- #
# The tinyae variants
# --------------------------------------------------------------------------- #
def build_tinyae(model: str, seed: int, variant: str) -> ae.Module:
    """The builder's model (tinyae-new), or the same with every Dense re-drawn by the old rule."""
    ae.seed(seed)
    net = ae.mlp_autoencoder([784, 128, 32], loss="bce") if model == "mlp" else ae.mlp_vae([784, 400], LATENT)
    if variant == "tinyae-old":
        ae.seed(seed)  # the old builders drew exactly these weights, in this order
        for layer in dense_layers(net):
            layer.weight.data = ae.backend.init_array((layer.in_features, layer.out_features),
                                                      std=math.sqrt(2.0 / layer.in_features))
            layer.bias.data = ae.backend.init_array((layer.out_features,))
    elif variant == "tinyae-torch-init":  # the builders' init="torch": nn.Linear's default, U(+-1/sqrt in)
        ae.seed(seed)
        net = (ae.mlp_autoencoder([784, 128, 32], loss="bce", init="torch") if model == "mlp"
               else ae.mlp_vae([784, 400], LATENT, init="torch"))
    elif variant != "tinyae-new":
        raise ValueError(f"unknown tinyae variant {variant!r}")
    return net


def dense_layers(net: ae.Module) -> list[ae.Dense]:
    return [m for stage in (net.encoder, net.decoder) for m in leaves(stage) if isinstance(m, ae.Dense)]


def describe_init(net: ae.Module) -> list[dict]:
    """Each Dense's declared ``init`` and its weights' std beside the He and Glorot stds."""
    rows = []
    for layer in dense_layers(net):
        fan_in, fan_out = layer.in_features, layer.out_features
        w = ae.to_numpy(layer.weight.data)
        rows.append({"shape": [fan_in, fan_out], "init": getattr(layer, "init", None), "std": float(w.std()),
                     "he_std": math.sqrt(2.0 / fan_in), "glorot_std": math.sqrt(2.0 / (fan_in + fan_out)),
                     "bias_abs_max": float(np.abs(ae.to_numpy(layer.bias.data)).max())})
    return rows


def rule_of(rows: list[dict]) -> str:
    """Per layer, the std its weights are nearest to (within 10%): 'he' sqrt(2/in), 'glorot'
    sqrt(2/(in+out)) or 'torch' sqrt(1/(3 in)) (U(+-1/sqrt in)); '?' when none is that near.
    (Where two of them are within 10% of each other the nearest wins: read the stds in the JSON.)"""
    names = []
    for r in rows:
        fan_in = r["shape"][0]
        stds = {"he": r["he_std"], "glorot": r["glorot_std"], "torch": math.sqrt(1.0 / (3 * fan_in))}
        off = {name: abs(r["std"] / std - 1) for name, std in stds.items()}
        best = min(off, key=off.get)
        names.append(best if off[best] <= 0.1 else "?")
    return "-".join(names)


def tinyae_logits(net: ae.Autoencoder, x: Any) -> Any:
    """The decoder's output before its Sigmoid (the logits of the reconstruction)."""
    h = net.encoder(x)
    for layer in list(leaves(net.decoder))[:-1]:
        h = layer(h)
    return h


def train_tinyae(model: str, seed: int, variant: str, train: np.ndarray, test: np.ndarray, epochs: int) -> dict:
    net = build_tinyae(model, seed, variant)
    out: dict[str, Any] = {"layers": describe_init(net)}
    if model == "mlp" and not net.folds_sigmoid:
        raise AssertionError("mlp_autoencoder(loss='bce') no longer ends in a Sigmoid")
    optimizer = ae.Adam(net.parameters(), lr=LR)
    noise = np.random.default_rng([seed, 1_000_000])
    eps_test = test_eps(len(test))

    def evaluate() -> dict:
        net.eval()
        sums = np.zeros(2)
        own = 0.0
        for start in range(0, len(test), EVAL_BATCH):
            xb = test[start:start + EVAL_BATCH]
            if model == "mlp":
                sums[0] += mlp_metric(ae.to_numpy(tinyae_logits(net, xb)), xb)
                own += net.evaluate(xb)["loss"] * len(xb)
            else:
                mu, logvar = net.encode(xb)
                eps = eps_test[start:start + EVAL_BATCH]
                z = mu + np.exp(0.5 * logvar) * eps
                sums += vae_metric(ae.to_numpy(mu), ae.to_numpy(logvar), ae.to_numpy(net.decoder(z)), xb)
                own += net.evaluate(xb, eps=eps)["loss"] * len(xb)
        net.train()
        return {"test": float(sums.sum()) / len(test), "terms": (sums / len(test)).tolist(), "own": own / len(test)}

    def step(xb: np.ndarray) -> float:
        optimizer.zero_grad()
        kw = {} if model == "mlp" else {"eps": noise.standard_normal((len(xb), LATENT), dtype=np.float32)}
        loss = net.forward_backward(xb, **kw)["loss"]
        optimizer.step()
        return loss

    return run_epochs(out, step, evaluate, seed, train, epochs)


# --------------------------------------------------------------------------- #
# The torch variant
# --------------------------------------------------------------------------- #
def train_torch(model: str, seed: int, train: np.ndarray, test: np.ndarray, epochs: int, threads: int) -> dict:
    import torch
    from torch import nn
    from torch.nn import functional

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    if model == "mlp":
        encoder = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 32))
        decoder = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
        bce = nn.BCELoss()
    else:  # pytorch/examples' fc1, (fc21, fc22) as one Linear(400, 40): the same U(+-1/sqrt 400) draws; fc3, fc4
        encoder = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 2 * LATENT))
        decoder = nn.Sequential(nn.Linear(LATENT, 400), nn.ReLU(), nn.Linear(400, 784))
    linears = [m for m in [*encoder, *decoder] if isinstance(m, nn.Linear)]
    out: dict[str, Any] = {"layers": [
        {"shape": [m.in_features, m.out_features], "init": "torch default", "std": float(m.weight.detach().std()),
         "he_std": math.sqrt(2.0 / m.in_features), "glorot_std": math.sqrt(2.0 / (m.in_features + m.out_features)),
         "bias_abs_max": float(m.bias.detach().abs().max())} for m in linears]}
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=LR)
    noise = np.random.default_rng([seed, 1_000_000])
    eps_test = test_eps(len(test))

    def objective(x: Any, eps: Any) -> Any:
        if model == "mlp":
            return bce(decoder(encoder(x)), x)
        h = encoder(x)
        mu, logvar = h[:, :LATENT], h[:, LATENT:]
        z = mu + torch.exp(0.5 * logvar) * eps
        n = x.shape[0]
        rec = functional.binary_cross_entropy_with_logits(decoder(z), x, reduction="sum") / n
        kl = -0.5 * torch.sum(1.0 + logvar - mu * mu - torch.exp(logvar)) / n
        return rec + kl

    def evaluate() -> dict:
        encoder.eval(), decoder.eval()
        sums = np.zeros(2)
        own = 0.0
        with torch.no_grad():
            for start in range(0, len(test), EVAL_BATCH):
                xb = test[start:start + EVAL_BATCH]
                tx = torch.from_numpy(xb)
                if model == "mlp":
                    sums[0] += mlp_metric(decoder[:-1](encoder(tx)).numpy(), xb)
                    own += float(objective(tx, None)) * len(xb)
                else:
                    eps = torch.from_numpy(eps_test[start:start + EVAL_BATCH])
                    h = encoder(tx)
                    mu, logvar = h[:, :LATENT], h[:, LATENT:]
                    logits = decoder(mu + torch.exp(0.5 * logvar) * eps)
                    sums += vae_metric(mu.numpy(), logvar.numpy(), logits.numpy(), xb)
                    own += float(objective(tx, eps)) * len(xb)
        encoder.train(), decoder.train()
        return {"test": float(sums.sum()) / len(test), "terms": (sums / len(test)).tolist(), "own": own / len(test)}

    def step(xb: np.ndarray) -> float:
        optimizer.zero_grad()
        eps = None if model == "mlp" else torch.from_numpy(noise.standard_normal((len(xb), LATENT), dtype=np.float32))
        loss = objective(torch.from_numpy(xb), eps)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    out["torch"] = torch.__version__
    return run_epochs(out, step, evaluate, seed, train, epochs)


# --------------------------------------------------------------------------- #
# The epochs, the same loop for both libraries
# --------------------------------------------------------------------------- #
def run_epochs(out: dict, step: Any, evaluate: Any, seed: int, train: np.ndarray, epochs: int) -> dict:
    """Test metric before training and after every epoch; train loss (mean over the batches, weighted
    by their size) and the seconds of each epoch's training and of each evaluation."""
    out.update(test=[], test_terms=[], test_own=[], train_loss=[], train_s=[], eval_s=[])

    def record() -> None:
        start = time.perf_counter()
        e = evaluate()
        out["eval_s"].append(time.perf_counter() - start)
        out["test"].append(e["test"])
        out["test_terms"].append(e["terms"])
        out["test_own"].append(e["own"])

    record()  # epoch 0: the initial weights
    for epoch in range(1, epochs + 1):
        order = epoch_order(seed, epoch, len(train))
        total = 0.0
        start = time.perf_counter()
        for s in range(0, len(train), BATCH):
            xb = train[order[s:s + BATCH]]
            loss = step(xb)
            if not math.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch}: the training loss is {loss}")
            total += loss * len(xb)
        out["train_s"].append(time.perf_counter() - start)
        out["train_loss"].append(total / len(train))
        record()
    return out


def worker(args: argparse.Namespace) -> list[dict]:
    """One variant and seed, each of ``args.model`` in turn (one model per process in a real run;
    all of them in one process with --smoke, which runs every variant in the calling process)."""
    limiter = None if args.in_process else limit_blas_threads(args.threads)  # noqa: F841  (kept alive for the run)
    train, test, what = load_data(args.smoke)
    results = []
    for model in args.model:
        start = time.perf_counter()
        if args.worker == "torch":
            result = train_torch(model, args.seed, train, test, args.epochs, args.threads)
        else:
            result = train_tinyae(model, args.seed, args.worker, train, test, args.epochs)
        result.update(variant=args.worker, model=model, seed=args.seed, epochs=args.epochs, data=what,
                      threads=args.threads, wall_s=time.perf_counter() - start, rule=rule_of(result["layers"]),
                      code=code_state())  # per process: the code may change during a long run
        results.append(result)
    return results


def spawn(variant: str, models: list[str], seed: int, args: argparse.Namespace) -> list[dict]:
    command = [sys.executable, "-m", "benchmarks.init", "--worker", variant, "--model", *models, "--seed", str(seed),
               "--epochs", str(args.epochs), "--threads", str(args.threads), *(["--smoke"] if args.smoke else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"init worker {variant} {' '.join(models)} seed {seed} failed (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- #
# The whole run, its summary and table
# --------------------------------------------------------------------------- #
def code_state() -> dict:
    """Which code was measured: the commit, and whether builders.py differs from it."""
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPOSITORY, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "builders_modified": bool(git("status", "--porcelain", "--", str(BUILDERS))),
            "builders_sha256": hashlib.sha256(BUILDERS.read_bytes()).hexdigest()[:16]}


def summarise(runs: list[dict], epochs: int, variants: tuple[str, ...] = VARIANTS) -> dict:
    """Per model, per epoch shown (1 and the last): each variant's mean [min, max] over seeds and each
    tinyae variant's gap to torch: of the means, and [min, max] of the per-seed gaps, in %."""
    out: dict[str, Any] = {}
    for model in sorted({r["model"] for r in runs}, key=MODELS.index):
        mine = [r for r in runs if r["model"] == model]
        by = {v: {r["seed"]: r for r in mine if r["variant"] == v} for v in variants}
        seeds = sorted(set.intersection(*(set(d) for d in by.values())))
        rows = {}
        for epoch in sorted({1, epochs}):
            row: dict[str, Any] = {}
            for v in variants:
                vals = [by[v][s]["test"][epoch] for s in seeds]
                row[v] = {"mean": statistics.fmean(vals), "min": min(vals), "max": max(vals), "per_seed": vals}
            for v in (v for v in variants if v != "torch" and "torch" in variants):
                per_seed = [100 * (by[v][s]["test"][epoch] / by["torch"][s]["test"][epoch] - 1) for s in seeds]
                row[f"{v}_gap_pct"] = {"of_means": 100 * (row[v]["mean"] / row["torch"]["mean"] - 1),
                                       "min": min(per_seed), "max": max(per_seed), "per_seed": per_seed}
            rows[str(epoch)] = row
        timing = {v: {"train_s_per_epoch": statistics.median(t for s in seeds for t in by[v][s]["train_s"]),
                      "wall_s": [by[v][s]["wall_s"] for s in seeds]} for v in variants}
        rules = {v: sorted({by[v][s]["rule"] for s in seeds}) for v in variants}
        builders = sorted({r["code"]["builders_sha256"] for r in mine if "code" in r})
        out[model] = {"seeds": seeds, "epochs": rows, "timing": timing, "rules": rules, "builders_sha256": builders}
    return out


def format_tables(result: dict) -> str:
    lines = [f"tinyae init rules against PyTorch's default init: {result['data']}; Adam lr 1e-3, batch {BATCH}, "
             f"{result['epochs']} epoch(s), seeds {' '.join(map(str, result['seeds']))}, {result['threads']} "
             f"thread(s) per process, each variant in its own process (order rotated per seed)",
             f"code: commit {result['code']['commit']}, builders.py "
             f"{'MODIFIED (uncommitted)' if result['code']['builders_modified'] else 'as committed'} "
             f"(sha256 {result['code']['builders_sha256']}); torch {result['torch']}, numpy {result['numpy']}"]
    variants = tuple(result.get("variants", VARIANTS))
    compared = [v for v in variants if v != "torch" and "torch" in variants]
    for model, s in result["summary"].items():
        heads = [*variants, *(f"{v.removeprefix('tinyae-')} vs torch" for v in compared)]
        lines += ["", f"### {DESCRIPTIONS[model]}", "",
                  "mean over seeds [min-max]; gap = tinyae / torch - 1 of the means [min-max of the per-seed gaps]",
                  "", "| epoch | " + " | ".join(heads) + " |", "|---:|" + "---:|" * len(heads)]
        digits = 5 if model == "mlp" else 2
        for epoch, row in s["epochs"].items():
            cells = [f"{row[v]['mean']:.{digits}f} [{row[v]['min']:.{digits}f}-{row[v]['max']:.{digits}f}]"
                     for v in variants]
            cells += [f"{g['of_means']:+.2f}% [{g['min']:+.2f}, {g['max']:+.2f}]"
                      for g in (row[f"{v}_gap_pct"] for v in compared)]
            lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
        lines += ["", "training s/epoch (median): " + ", ".join(
            f"{v} {s['timing'][v]['train_s_per_epoch']:.2f}" for v in variants)
            + "; process wall s: " + ", ".join(
            f"{v} {min(s['timing'][v]['wall_s']):.0f}-{max(s['timing'][v]['wall_s']):.0f}" for v in variants)]
        lines.append("init per Dense (by weight std): " + "; ".join(
            f"{v} {'/'.join(s['rules'][v])}" for v in variants)
            + f"; builders.py sha256 in the workers: {', '.join(s.get('builders_sha256', [])) or '?'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "init rules: test loss after every epoch, tinyae (old rule, current builders) and torch defaults",
        "date": datetime.date.today().isoformat(), "epochs": args.epochs, "seeds": args.seeds,
        "models": args.models, "threads": args.threads, "smoke": args.smoke, "code": code_state(),
        "optimizer": f"Adam lr {LR}, batch {BATCH}, shuffled (order seeded by (seed, epoch))",
        "vae_test_protocol": f"one z = mu + sigma eps per test image, eps drawn once (seed {TEST_EPS_SEED})",
        **machine(),
    }
    try:
        import importlib.metadata as md
        result["torch"] = md.version("torch")
    except Exception:  # noqa: BLE001  (not installed: the torch workers will say so)
        result["torch"] = None
    variants = tuple(args.variants)
    result["variants"] = list(variants)
    runs = []
    groups = [list(args.models)] if args.smoke else [[m] for m in args.models]
    for models in groups:
        for k, seed in enumerate(args.seeds):
            order = variants[k % len(variants):] + variants[:k % len(variants)]  # rotated from seed to seed
            for variant in order:
                # a smoke run checks the plumbing, not speed: it saves three torch imports in one process
                done = worker(argparse.Namespace(**{**vars(args), "worker": variant, "model": models, "seed": seed,
                                                    "in_process": True})) if args.smoke else spawn(variant, models,
                                                                                                  seed, args)
                for r in done:
                    runs.append(r)
                    if not args.quiet:
                        print(f"{r['model']} seed {seed} {variant:<10} rule {r['rule']:<22} test "
                              + " ".join(f"{t:.5g}" for t in r["test"]) + f"  ({r['wall_s']:.0f} s)",
                              file=sys.stderr, flush=True)
    result["data"] = runs[0]["data"] if runs else ""
    result["runs"] = runs
    result["summary"] = summarise(runs, args.epochs, variants)
    result["total_s"] = time.perf_counter() - start
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.init", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads per process (default 1)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"a few seconds: {SMOKE_TRAIN} training images of fashion-mnist-small, 1 epoch, seed 0")
    parser.add_argument("--json", metavar="PATH", help="where to write the raw results "
                        "(default benchmarks/results/init-<date>.json; --smoke: not written unless given)")
    parser.add_argument("--quiet", action="store_true", help="no progress line per process")
    parser.add_argument("--variants", nargs="+", choices=(*VARIANTS, *EXTRA_VARIANTS), default=list(VARIANTS),
                        help="what to train (default: %(default)s; tinyae-torch-init is a diagnostic)")
    parser.add_argument("--worker", choices=(*VARIANTS, *EXTRA_VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--model", nargs="+", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke and args.worker is None:
        args.epochs, args.seeds = 1, [0]
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.in_process = False
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return 0
    result = run(args)
    table = format_tables(result)
    print(table)
    path = args.json or (None if args.smoke else str(RESULTS / f"init-{result['date']}.json"))
    if path:
        Path(path).write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nraw results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
