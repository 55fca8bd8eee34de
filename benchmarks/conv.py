"""Conv layers: tinyae against PyTorch CPU, forward + backward, at a 28x28 conv autoencoder's shapes.

    python -m benchmarks.conv                 # from the repository root
    python benchmarks/conv.py --json out.json

Each layer is timed as one forward and one backward pass (dx, dW and db, for both libraries)
on a float32 batch, with identical weights, input and upstream gradient for tinyae and
PyTorch. Both run on the same number of threads (the cores this process may use, or
``--threads``). Timed blocks alternate between the libraries, each after a short pause:
OpenBLAS's threads keep spinning for ~0.1 s after NumPy's last matrix product, and would
slow whatever ran next. The table gives the median milliseconds per call and

    ratio = torch time / tinyae time        (> 1: tinyae is faster)

``--layout`` picks the memory layout of the input and upstream gradient (the values are
the same either way):

``nchw`` (default)
    Both libraries get the same C-contiguous NCHW arrays.
``network``
    Each library gets the layout its own layers hand over inside the autoencoder: tinyae's
    conv layers return NCHW views of batch-last (C, H, W, N) memory (and the activations
    between them keep that layout), PyTorch's return contiguous NCHW; the image batch, the
    first layer's input, is contiguous NCHW for both. This saves tinyae the transposing copy
    that a contiguous NCHW array costs it.

PyTorch is optional: without it, only tinyae's times are shown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import alternate, cores, machine, pin_threads_early  # noqa: E402  (stdlib only)

# Only when run (python -m benchmarks.conv or as a script): importing it changes nothing.
_THREADS = pin_threads_early(sys.argv[1:]) if __name__ == "__main__" else cores()

import numpy as np  # noqa: E402  (after pinning the thread pools)

import tinyae as ae  # noqa: E402
from benchmarks.models import _import_torch, _torch_layer  # noqa: E402
from tinyae.layers.conv import Conv2D, ConvTranspose2D, from_chwn, to_chwn  # noqa: E402

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


def _batch_last(a: np.ndarray) -> np.ndarray:
    """The same NCHW values, stored batch-last ((C, H, W, N) memory), as tinyae's conv layers return them."""
    return from_chwn(np.ascontiguousarray(to_chwn(a)))


def _build(case: tuple, batch: int, layout: str, rng: np.random.Generator) -> dict:
    """The tinyae layer, its input and upstream gradient, and the same for torch if present."""
    _, transposed, cin, cout, k, s, p, op, side = case
    layer = ConvTranspose2D(cin, cout, k, s, p, op) if transposed else Conv2D(cin, cout, k, s, p)
    layer.bias.data = ae.to_backend(rng.standard_normal(cout), dtype=np.float32)
    x = rng.standard_normal((batch, cin, side, side)).astype(np.float32)
    y = layer(x)
    g = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    if layout == "network":
        first = case is CASES[0]  # its input is the image batch: contiguous NCHW in the network too
        bench = {"layer": layer, "x": x if first else _batch_last(x), "g": _batch_last(g)}
    else:
        bench = {"layer": layer, "x": x, "g": g}
    torch = _import_torch()
    if torch is None:
        return bench
    tlayer = _torch_layer(layer, torch)  # the same weights
    bench.update(tlayer=tlayer, tx=torch.from_numpy(x.copy()).requires_grad_(True), tg=torch.from_numpy(g))
    return bench


def _tinyae_step(bench: dict) -> None:
    bench["layer"].forward(bench["x"])
    bench["layer"].backward(bench["g"])


def _torch_step(bench: dict) -> None:
    tlayer, tx = bench["tlayer"], bench["tx"]
    tx.grad = tlayer.weight.grad = tlayer.bias.grad = None
    tlayer(tx).backward(bench["tg"])


def _max_difference(bench: dict) -> float:
    """Largest |tinyae - torch| over the output and the three gradients (a sanity check)."""
    layer, tlayer, tx = bench["layer"], bench["tlayer"], bench["tx"]
    layer.zero_grad()
    y = ae.to_numpy(layer.forward(bench["x"]))
    dx = ae.to_numpy(layer.backward(bench["g"]))
    tx.grad = tlayer.weight.grad = tlayer.bias.grad = None
    ty = tlayer(tx)
    ty.backward(bench["tg"])
    pairs = [
        (y, ty),
        (dx, tx.grad),
        (layer.weight.grad, tlayer.weight.grad),
        (layer.bias.grad, tlayer.bias.grad),
    ]
    worst = 0.0
    for ours, theirs in pairs:
        ref = theirs.detach().numpy()
        scale = max(1.0, float(np.max(np.abs(ref))))
        worst = max(worst, float(np.max(np.abs(ae.to_numpy(ours) - ref))) / scale)
    return worst


def run(batch: int, repeats: int, rounds: int, warmup: int, threads: int, layout: str = "nchw") -> dict:
    torch = _import_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    ae.seed(0)
    rng = np.random.default_rng(0)
    rows = []
    for case in CASES:
        bench = _build(case, batch, layout, rng)
        has_torch = "tlayer" in bench
        steps = {"tinyae": lambda bench=bench: _tinyae_step(bench)}
        if has_torch:
            steps["torch"] = lambda bench=bench: _torch_step(bench)
        times = alternate(steps, repeats, rounds, warmup)
        row = {"layer": case[0], "shape": _describe(case), "tinyae_ms": 1e3 * statistics.median(times["tinyae"])}
        if has_torch:
            row["torch_ms"] = 1e3 * statistics.median(times["torch"])
            row["ratio"] = row["torch_ms"] / row["tinyae_ms"]
            row["max_rel_difference"] = _max_difference(bench)
        rows.append(row)
    total = {"tinyae_ms": sum(r["tinyae_ms"] for r in rows)}
    if torch is not None:
        total["torch_ms"] = sum(r["torch_ms"] for r in rows)
        total["ratio"] = total["torch_ms"] / total["tinyae_ms"]
    return {
        "benchmark": "conv layers, forward + backward, float32",
        "batch": batch,
        "layout": layout,
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        **machine(),
        "torch": None if torch is None else torch.__version__,
        "rows": rows,
        "total": total,
    }


def format_table(result: dict) -> str:
    has_torch = result["torch"] is not None
    head = f"{'layer':<9} {'shape':<36} {'tinyae ms':>10}"
    if has_torch:
        head += f" {'torch ms':>10} {'ratio':>7} {'max diff':>9}"
    lines = [
        f"conv forward+backward, batch {result['batch']}, float32, {result['layout']} layout, "
        f"{result['threads']} threads, "
        f"numpy {result['numpy']}, torch {result['torch'] or 'not installed'}",
        "ratio = torch time / tinyae time (> 1: tinyae is faster); medians of "
        f"{result['rounds']} x {result['repeats']} calls",
        head,
        "-" * len(head),
    ]
    for r in result["rows"]:
        line = f"{r['layer']:<9} {r['shape']:<36} {r['tinyae_ms']:>10.2f}"
        if has_torch:
            line += f" {r['torch_ms']:>10.2f} {r['ratio']:>7.2f} {r['max_rel_difference']:>9.1e}"
        lines.append(line)
    t = result["total"]
    lines.append("-" * len(head))
    line = f"{'total':<9} {'':<36} {t['tinyae_ms']:>10.2f}"
    if has_torch:
        line += f" {t['torch_ms']:>10.2f} {t['ratio']:>7.2f}"
    lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--repeats", type=int, default=10, help="calls per timed block (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="timed blocks per library, layer (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per library first (default 3)")
    parser.add_argument("--threads", type=int, default=_THREADS, help="threads for both (default: the cores)")
    parser.add_argument("--layout", choices=("nchw", "network"), default="nchw", help="input memory layout (see above)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    result = run(args.batch, args.repeats, args.rounds, args.warmup, args.threads, args.layout)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
