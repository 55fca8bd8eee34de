"""One contender of ``python -m benchmarks``, in a process of its own (as a user runs it).

    python -m benchmarks.worker CONTENDER MODEL [--batch N] [--threads T] [--repeats R] [--warmup W]

CONTENDER is tinyae, tinyae_reference, torch or torch_best (see benchmarks/models.py), or
``sgemm`` for the machine's float32 matrix-product speed, or ``memory`` for the peak memory of one
``fit`` epoch. Prints one line of JSON. A tinyae process
never imports torch, so glibc's allocator and the thread pools behave as in a user's program.
"""

import sys

from benchmarks.common import pin_threads_early

THREADS = pin_threads_early(sys.argv[1:])  # before NumPy or torch load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402

from benchmarks import models  # noqa: E402
from benchmarks.common import sgemm_gflops  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("contender", choices=(*models.CONTENDERS, "sgemm", "memory"))
    parser.add_argument("model", choices=models.MODELS)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    parser.add_argument("--epoch-samples", type=int, default=60000)
    args = parser.parse_args(argv)
    batch = args.batch or models.BATCH[args.model]
    if args.contender == "memory":
        result = models.epoch_memory(args.model, args.epoch_samples, batch)
    elif args.contender == "sgemm":
        result = {"sgemm_gflops": sgemm_gflops(backend_name=args.backend)}
    else:
        result = models.time_contender(args.contender, args.model, batch=batch, repeats=args.repeats,
                                       warmup=args.warmup, threads=args.threads, backend_name=args.backend)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
