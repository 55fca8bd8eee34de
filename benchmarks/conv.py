"""Conv layers: tinyae against PyTorch CPU, forward + backward, at a 28x28 conv autoencoder's shapes.

    python -m benchmarks.conv                 # from the repository root
    python benchmarks/conv.py --json out.json

Each layer is timed as one forward and one backward pass (dx, dW and db, for both libraries)
on a float32 batch, with identical weights, input and upstream gradient for tinyae and
PyTorch. tinyae is timed twice, with its fast kernels (the default: im2col and col2im are
compiled loops) and with the reference ones (``tinyae.kernels.using("reference")``, NumPy
slices): the difference is the price of the convolution's data movement. Both libraries run
on the same number of threads (the cores this process may use, or ``--threads``).

Each library runs in a process of its own, as in ``python -m benchmarks``: a tinyae process
never imports torch (torch's allocations change glibc's allocator thresholds for the whole
process), and ``--processes`` rounds of them alternate with the torch processes (the machine's
speed drifts from minute to minute). Inside a process, timed blocks alternate between its
contenders, each after a short pause: OpenBLAS's threads keep spinning for ~0.1 s after
NumPy's last matrix product, and would slow whatever ran next. The table gives the median
milliseconds per call and

    ratio   = torch time / tinyae time (fast kernels)    (> 1: tinyae is faster)
    kernels = tinyae time with the reference kernels / with the fast ones

``--layout`` picks the memory layout of the input and upstream gradient (the values are
the same either way):

``nchw`` (default)
    Both libraries get the same C-contiguous NCHW arrays.
``network``
    Each library gets the layout its own layers hand over inside the autoencoder: tinyae's
    conv layers return channels-last memory (NCHW views of (N, H, W, C) arrays, as
    ``tinyae.layers.conv.from_pixel_rows`` makes them; the activations between the layers keep
    that layout), PyTorch's return contiguous NCHW; the image batch, the first layer's input,
    is contiguous NCHW for both. This saves tinyae the transposition that a contiguous NCHW
    array costs it.

PyTorch is optional: without it, only tinyae's times are shown.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import alternate, cores, limit_blas_threads, machine, pin_threads_early  # noqa: E402

# Only when run (python -m benchmarks.conv or as a script): importing it changes nothing.
_THREADS = pin_threads_early(sys.argv[1:]) if __name__ == "__main__" else cores()

import numpy as np  # noqa: E402  (after pinning the thread pools)

import tinyae as ae  # noqa: E402
from tinyae import kernels  # noqa: E402
from tinyae.layers.conv import Conv2D, ConvTranspose2D  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
WORKERS = ("tinyae", "torch")

# (label, transposed, in_channels, out_channels, kernel, stride, padding, output_padding, input side)
CASES = [
    ("conv1", False, 1, 16, 3, 2, 1, 0, 28),
    ("conv2", False, 16, 32, 3, 2, 1, 0, 14),
    ("conv3", False, 32, 64, 7, 1, 0, 0, 7),
    ("deconv3", True, 64, 32, 7, 1, 0, 0, 1),
    ("deconv2", True, 32, 16, 3, 2, 1, 1, 7),
    ("deconv1", True, 16, 1, 3, 2, 1, 1, 14),
]


def _describe(case: tuple) -> str:
    _, transposed, cin, cout, k, s, p, op, side = case
    name = "ConvT" if transposed else "Conv"
    extra = f" op{op}" if op else ""
    return f"{name} {cin}->{cout} k{k} s{s} p{p}{extra} on {side}x{side}"


def channels_last(a: np.ndarray) -> np.ndarray:
    """The same NCHW values stored channels-last ((N, H, W, C) memory), as tinyae's conv layers return them."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _build(index: int, batch: int, layout: str, torch: object = None) -> dict:
    """Case ``index``'s tinyae layer, its input and upstream gradient, and with ``torch`` the torch
    layer with the same weights and torch's own input and gradient (the same values in every process)."""
    _, transposed, cin, cout, k, s, p, op, side = case = CASES[index]
    ae.seed(index)
    rng = np.random.default_rng(index)
    layer = ConvTranspose2D(cin, cout, k, s, p, op) if transposed else Conv2D(cin, cout, k, s, p)
    layer.bias.data = ae.to_backend(rng.standard_normal(cout), dtype=np.float32)
    x = rng.standard_normal((batch, cin, side, side)).astype(np.float32)
    g = rng.standard_normal(layer.output_shape(x.shape)).astype(np.float32)
    bench = {"case": case, "layer": layer, "x": x, "g": g}
    if layout == "network":  # the first layer's input is the image batch: contiguous NCHW in the network too
        bench.update(x=x if index == 0 else channels_last(x), g=channels_last(g))
    if torch is not None:
        from benchmarks.models import _torch_layer

        tlayer = _torch_layer(layer, torch)  # the same weights
        bench.update(tlayer=tlayer, tx=torch.from_numpy(x.copy()).requires_grad_(True), tg=torch.from_numpy(g))
    return bench


def _tinyae_step(bench: dict, mode: str = "fast") -> None:
    with kernels.using(mode):  # "fast" or "reference" (TINYAE_KERNELS in the environment changes neither)
        bench["layer"].forward(bench["x"])
        bench["layer"].backward(bench["g"])


def _torch_step(bench: dict) -> None:
    tlayer, tx = bench["tlayer"], bench["tx"]
    tx.grad = tlayer.weight.grad = tlayer.bias.grad = None
    tlayer(tx).backward(bench["tg"])


def _max_difference(bench: dict) -> float:
    """Largest |tinyae - torch| over the output and the three gradients, relative to each one's
    scale (a sanity check; tinyae with its fast kernels and the timed layout)."""
    layer, tlayer, tx = bench["layer"], bench["tlayer"], bench["tx"]
    layer.zero_grad()
    with kernels.using("fast"):
        y = ae.to_numpy(layer.forward(bench["x"]))
        dx = ae.to_numpy(layer.backward(bench["g"]))
    tx.grad = tlayer.weight.grad = tlayer.bias.grad = None
    ty = tlayer(tx)
    ty.backward(bench["tg"])
    pairs = [(y, ty), (dx, tx.grad), (layer.weight.grad, tlayer.weight.grad), (layer.bias.grad, tlayer.bias.grad)]
    worst = 0.0
    for ours, theirs in pairs:
        ref = theirs.detach().numpy()
        scale = max(1.0, float(np.max(np.abs(ref))))
        worst = max(worst, float(np.max(np.abs(ae.to_numpy(ours) - ref))) / scale)
    return worst


# --------------------------------------------------------------------------- #
# One process: one library's times for every layer
# --------------------------------------------------------------------------- #
def worker(name: str, batch: int, repeats: int, rounds: int, warmup: int, threads: int, layout: str) -> dict:
    """The seconds per call of every layer for ``name`` (tinyae: fast and reference kernels; torch:
    torch, and the largest difference from tinyae). Only the torch worker imports torch."""
    limiter = limit_blas_threads(threads)  # noqa: F841  (kept alive for the run)
    torch = None
    if name == "torch":
        from benchmarks.models import _import_torch

        torch = _import_torch()
        if torch is None:  # find_spec saw a torch that does not import
            return {"worker": name, "layers": None, "torch": None}
        torch.set_num_threads(threads)
    layers = []
    for index, case in enumerate(CASES):
        bench = _build(index, batch, layout, torch)
        if torch is None:
            steps = {mode: lambda bench=bench, mode=mode: _tinyae_step(bench, mode) for mode in ("fast", "reference")}
        else:
            steps = {"torch": lambda bench=bench: _torch_step(bench)}
        row = {"layer": case[0], "times_s": alternate(steps, repeats, rounds, warmup)}
        if torch is not None:
            row["max_rel_difference"] = _max_difference(bench)
        layers.append(row)
    return {"worker": name, "layers": layers, "torch": None if torch is None else torch.__version__}


def _spawn(name: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "benchmarks.conv", "--worker", name, "--batch", str(args.batch),
               "--repeats", str(args.repeats), "--rounds", str(args.rounds), "--warmup", str(args.warmup),
               "--threads", str(args.threads), "--layout", args.layout]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.conv worker {name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- #
# The whole run
# --------------------------------------------------------------------------- #
def run(batch: int, repeats: int, rounds: int, warmup: int, threads: int, layout: str = "nchw",
        processes: int = 2) -> dict:
    args = argparse.Namespace(batch=batch, repeats=repeats, rounds=rounds, warmup=warmup, threads=threads,
                              layout=layout)
    names = WORKERS if importlib.util.find_spec("torch") is not None else WORKERS[:1]
    outputs: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(processes):
        for name in names[r % len(names):] + names[: r % len(names)]:  # rotate who goes first
            out = _spawn(name, args)
            if out["layers"] is not None:
                outputs[name].append(out)
    has_torch = bool(outputs.get("torch"))

    def median_ms(name: str, index: int, contender: str) -> float:
        times = [t for out in outputs[name] for t in out["layers"][index]["times_s"][contender]]
        return 1e3 * statistics.median(times)

    rows = []
    for index, case in enumerate(CASES):
        row = {"layer": case[0], "shape": _describe(case), "tinyae_ms": median_ms("tinyae", index, "fast"),
               "tinyae_reference_ms": median_ms("tinyae", index, "reference")}
        row["kernels"] = row["tinyae_reference_ms"] / row["tinyae_ms"]
        if has_torch:
            row["torch_ms"] = median_ms("torch", index, "torch")
            row["ratio"] = row["torch_ms"] / row["tinyae_ms"]
            row["max_rel_difference"] = max(out["layers"][index]["max_rel_difference"] for out in outputs["torch"])
        rows.append(row)
    total = {key: sum(r[key] for r in rows) for key in ("tinyae_ms", "tinyae_reference_ms")}
    total["kernels"] = total["tinyae_reference_ms"] / total["tinyae_ms"]
    if has_torch:
        total["torch_ms"] = sum(r["torch_ms"] for r in rows)
        total["ratio"] = total["torch_ms"] / total["tinyae_ms"]
    return {
        "benchmark": "conv layers, forward + backward, float32, each library in its own process",
        "batch": batch,
        "layout": layout,
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "processes": processes,
        **machine(),
        "numba": kernels.jit.version(),
        "torch": outputs["torch"][0]["torch"] if has_torch else None,
        "rows": rows,
        "total": total,
    }


def format_table(result: dict) -> str:
    has_torch = result["torch"] is not None
    head = f"{'layer':<9} {'shape':<36} {'tinyae ms':>10} {'reference':>10} {'kernels':>8}"
    if has_torch:
        head += f" {'torch ms':>10} {'ratio':>7} {'max diff':>9}"
    numba = f"numba {result['numba']}" if result["numba"] else "no numba (fast = reference)"
    lines = [
        f"conv forward+backward, batch {result['batch']}, float32, {result['layout']} layout, "
        f"{result['threads']} threads, numpy {result['numpy']}, {numba}, torch {result['torch'] or 'not installed'}",
        "tinyae ms: fast kernels; reference: reference kernels; kernels = reference / fast"
        + ("; ratio = torch time / tinyae time (> 1: tinyae is faster)" if has_torch else ""),
        f"medians of {result['processes']} processes x {result['rounds']} x {result['repeats']} calls",
        head,
        "-" * len(head),
    ]

    def cells(r: dict) -> str:
        line = f" {r['tinyae_ms']:>10.2f} {r['tinyae_reference_ms']:>10.2f} {r['kernels']:>8.2f}"
        if has_torch:
            line += f" {r['torch_ms']:>10.2f} {r['ratio']:>7.2f}"
        return line

    for r in result["rows"]:
        line = f"{r['layer']:<9} {r['shape']:<36}" + cells(r)
        if has_torch:
            line += f" {r['max_rel_difference']:>9.1e}"
        lines.append(line)
    lines.append("-" * len(head))
    lines.append(f"{'total':<9} {'':<36}" + cells(result["total"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--repeats", type=int, default=10, help="calls per timed block (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="timed blocks per contender, layer, process (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per contender first (default 3)")
    parser.add_argument("--threads", type=int, default=_THREADS, help="threads for both (default: the cores)")
    parser.add_argument("--layout", choices=("nchw", "network"), default="nchw", help="input memory layout (see above)")
    parser.add_argument("--processes", type=int, default=2, help="processes per library, alternating (default 2)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--worker", choices=WORKERS, help="internal: time one library in this process, print JSON")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.batch, args.repeats, args.rounds, args.warmup, args.threads,
                                args.layout)))
        return 0
    result = run(args.batch, args.repeats, args.rounds, args.warmup, args.threads, args.layout, args.processes)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
