"""One BLAS thread or two? Training steps of the demos' models at each count, quiet and under load.

    python -m benchmarks.threads [--load N] [--rounds R]

times training steps (batch 64, the embedded 28x28 images) of each demo model size with NumPy's
BLAS limited to 1 and to all cores (threadpoolctl), alternating the two in one process. With
``--load N`` it first starts N busy processes (each a Python loop that never sleeps), the
"other CPU-bound process" a shared classroom machine has. The ratio column is the time with all
cores over the time with one thread: above 1, the extra thread costs more than it gives.
The demos' thread count (``tinyae.threads.DEMO_THREADS``) and the rule in docs/performance.md come
from these numbers.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing

from .common import alternate, cores, machine, summary


def _burn(stop) -> None:  # a CPU-bound neighbour
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _models(shape):
    import tinyae as ae

    d = shape[0] * shape[1] * shape[2]
    return {
        "MLP 784-64-8": (64, lambda: ae.mlp_autoencoder([d, 64, 8], loss="bce")),
        "MLP 784-128-32-2": (64, lambda: ae.mlp_autoencoder([d, 128, 32, 2], loss="bce")),
        "VAE 784-256-2": (64, lambda: ae.mlp_vae([d, 256], 2)),
        "MLP 784-512-32": (64, lambda: ae.mlp_autoencoder([d, 512, 32], loss="bce")),
        "conv 8-16": (64, lambda: ae.conv_autoencoder(shape, (8, 16), code_dim=32)),
        "MLP 784-512-32, batch 512": (512, lambda: ae.mlp_autoencoder([d, 512, 32], loss="bce")),
        "MLP 784-1024-256, batch 512": (512, lambda: ae.mlp_autoencoder([d, 1024, 256], loss="bce")),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0, help="busy processes running beside the timing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed block")
    parser.add_argument("--models", nargs="*", default=None, help="only these rows (names as printed)")
    args = parser.parse_args(argv)

    import numpy as np
    from threadpoolctl import threadpool_limits

    import tinyae as ae
    from tinyae.data import load

    data = load()
    if cores() < 2:
        print("this process may use one core only: there is no second thread to compare")
        return
    stop = multiprocessing.Event()
    neighbours = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.load)]
    for p in neighbours:
        p.start()
    print(f"{machine()['processor']}, {cores()} cores, {args.load} busy neighbour(s); ms per training step")
    print(f"{'model (batch 64 unless said)':28s} {'1 thread':>9s} {f'{cores()} threads':>10s} {'ratio':>6s}")
    try:
        for name, (batch, build) in _models(data.image_shape).items():
            if args.models and name not in args.models:
                continue
            ae.seed(0)
            model = build()
            opt = ae.Adam(model.parameters(), lr=1e-3)
            x = ae.to_backend(data.x_train[:batch * args.steps], dtype=np.float32)
            flat = not name.startswith("conv")
            batches = [x[i:i + batch] for i in range(0, x.shape[0], batch)]
            batches = [xb.reshape(batch, -1) for xb in batches] if flat else batches

            def block(model=model, opt=opt, batches=batches):
                for xb in batches:
                    opt.zero_grad()
                    model.forward_backward(xb)
                    opt.step()

            def at(threads, block=block):
                with threadpool_limits(threads, user_api="blas"):
                    block()

            # Alternated 1, n, 1, n, ... after a warm-up of each, every block after the quiet pause.
            times = alternate({n: functools.partial(at, n) for n in (1, cores())}, repeats=1, rounds=args.rounds,
                              warmup=1)
            one, many = (summary(times[n])["median_ms"] / len(batches) for n in (1, cores()))
            print(f"{name:28s} {one:9.2f} {many:10.2f} {many / one:6.2f}")
    finally:
        stop.set()
        for p in neighbours:
            p.join()


if __name__ == "__main__":
    main()
