"""The ``tinyae`` command: ``tinyae demo NAME|all ...`` and ``tinyae check FILES... [FILE::ClassName]``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from .backend import BACKENDS
from .data import DATASETS, DEFAULT_DATASET
from .exercises.batch import FORMATS
from .exercises.limits import DEFAULT_EXAMPLES, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from .threads import DEMO_JOBS, DEMO_THREADS

FIGURE_FORMATS = ("png", "svg", "pdf")  # tinyae.plot.FORMATS, without importing matplotlib for --help


def _whole(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def _positive(text: str) -> int:
    return _whole(text, 1, "a number >= 1")


def _non_negative(text: str) -> int:
    return _whole(text, 0, "a number >= 0")


def _dpi(text: str) -> int:
    value = _whole(text, 20, "a resolution from 20 to 1200")
    if value > 1200:
        raise argparse.ArgumentTypeError(f"expected a resolution from 20 to 1200, got {value}")
    return value


def _usage_error(command: str, option: str, problem: str) -> int:
    """``tinyae demo: error: argument --out: ...``: argparse's one-line form for a value argparse
    itself cannot judge (it depends on the file system); the exit status is argparse's, 2."""
    print(f"tinyae {command}: error: argument {option}: {problem}", file=sys.stderr)
    return 2


def _nearest_existing(path: str) -> str:
    """``path`` itself when it exists, else its nearest existing parent (what mkdir -p would write in)."""
    current = os.path.abspath(path)
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _why_folder_unwritable(path: str) -> str:
    """What stops files being written into folder ``path`` (made if missing), as argparse's "got ..."
    part of a message, or "" when nothing does."""
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{path!r}, an existing file"
    base = _nearest_existing(path)
    if not os.path.isdir(base):
        return f"{path!r}, inside {base!r}, which is a file"
    if not os.access(base, os.W_OK | os.X_OK):
        if base == os.path.abspath(path):
            return f"{path!r}, which is not writable"
        return f"{path!r}, which would be made in {base!r}, which is not writable"
    return ""


def _folder_problem(path: str) -> str:
    """Why ``tinyae demo --out PATH`` cannot write its figures there, or ""."""
    trouble = _why_folder_unwritable(path) if path else "''"
    return f"expected a writable folder, got {trouble}" if trouble else ""


def _file_problem(path: str) -> str:
    """Why ``tinyae check --json PATH`` cannot write its results there (its folder made if missing), or ""."""
    expected = "expected a file name in a writable folder"
    if not path:
        return f"{expected}, got ''"
    if os.path.isdir(path):
        return f"{expected}, got {path!r}, a folder"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{expected}, got {path!r}, an existing read-only file"
    trouble = _why_folder_unwritable(os.path.dirname(os.path.abspath(path)))
    return f"{expected}, got {path!r}, whose folder is {trouble}" if trouble else ""


def _demo(args: argparse.Namespace) -> int:
    if not args.list:  # --out first, in milliseconds: not after the imports, nor after a demo has trained
        problem = _folder_problem(args.out)
        if problem:
            return _usage_error("demo", "--out", problem)
    try:
        import matplotlib

        matplotlib.use("Agg")  # the command writes files: no display needed, no windows in a lecture
        from . import demos
    except ImportError as exc:  # matplotlib or scikit-learn missing
        print(f'tinyae demo needs the demos extra: pip install "tinyae[demos]" ({exc})', file=sys.stderr)
        return 2
    from . import backend
    from .data import DatasetUnavailable

    if args.list:
        for name, entry in demos.DEMOS.items():
            print(f"{name:10s} {entry.title}")
        return 0
    unknown = [name for name in args.names if name not in demos.DEMOS and name != "all"]
    if not args.names or unknown:
        problem = f"unknown demo {unknown[0]!r}" if unknown else "name a demo"
        print(f"tinyae demo: {problem}: expected one of {', '.join(demos.DEMOS)} or 'all'", file=sys.stderr)
        return 2
    try:
        backend.set_backend(args.backend)
        start = time.perf_counter()
        demos.run_all(args.names, args.dataset, args.out, epochs=args.epochs, progress=not args.no_progress,
                      seed=args.seed, fmt=args.format, dpi=args.dpi, threads=args.threads or None, jobs=args.jobs)
    except (DatasetUnavailable, backend.BackendUnavailable) as exc:
        print(f"tinyae demo: {exc}", file=sys.stderr)
        return 2
    print(f"done in {time.perf_counter() - start:.0f} s; figures under {args.out}/")
    return 0


def _check(args: argparse.Namespace) -> int:
    if args.json is not None:
        problem = _file_problem(args.json)  # before any grading, so no result is lost at the end
        if problem:
            return _usage_error("check", "--json", problem)
    from .exercises.batch import main_check

    if args.exercise is not None:
        from .exercises import EXERCISES  # hypothesis is needed from here on anyway

        if args.exercise not in EXERCISES:
            print(f"tinyae check: unknown --exercise {args.exercise!r}: expected one of {', '.join(EXERCISES)}",
                  file=sys.stderr)
            return 2
    return main_check(args.targets, exercise=args.exercise, max_examples=args.max_examples, seed=args.seed,
                      backend_name=args.backend, timeout=args.timeout, memory_mb=args.memory or None,
                      jobs=args.jobs, json_out=args.json, fmt=args.format)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="tinyae", description="Autoencoders from scratch: lecture demos and "
                                     "gradient-check exercises.")
    parser.add_argument("--version", action="version", version=f"tinyae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run lecture demos; each writes its figures and metrics.json",
                               description="Run lecture demos. Each trains what it needs and writes its figures and "
                               "a metrics.json into OUT/NAME/.")
    demo.add_argument("names", nargs="*", metavar="NAME", help="demo names, or 'all' (see --list)")
    demo.add_argument("--list", action="store_true", help="list the demos and exit")
    demo.add_argument("--dataset", default=DEFAULT_DATASET, choices=list(DATASETS),
                      help="fashion-mnist-small (default: 14,000 28x28 images inside tinyae), digits (8x8, quick); "
                      "mnist and fashion-mnist read the full IDX files from disk (see the README)")
    demo.add_argument("--out", default="tinyae-figures", help="output folder (default: %(default)s)")
    demo.add_argument("--epochs", type=_positive, default=None,
                      help="epochs for every model (default: per demo; in the stacked demo, pretraining gets N // 2 "
                      "per layer and the model trained from scratch N plus those, to match its passes over the data)")
    demo.add_argument("--format", default="png", choices=FIGURE_FORMATS,
                      help="figure files: png (default), or svg / pdf for slides")
    demo.add_argument("--dpi", type=_dpi, default=110, help="resolution of PNG figures (default: %(default)s; "
                      "200 or more for a projector)")
    demo.add_argument("--threads", type=_non_negative, default=DEMO_THREADS,
                      help="NumPy BLAS threads (default: %(default)s, steady on a shared machine; 0 leaves NumPy's "
                      "own setting; see docs/performance.md)")
    demo.add_argument("--jobs", type=_positive, default=DEMO_JOBS,
                      help="demos run at once, each in a process of its own on its own BLAS threads (default: "
                      "%(default)s, two on a machine of two cores or more; the results are the same as one at a "
                      "time; the NumPy backend only)")
    demo.add_argument("--backend", default="numpy", choices=BACKENDS)
    demo.add_argument("--seed", type=_non_negative, default=0, help="seed of every generator (a number >= 0; "
                      "default: %(default)s)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(run=_demo)

    check = commands.add_parser(
        "check", help="grade gradient-check exercises (one file, or a whole class)",
        description="Grade students' backward passes against numerical gradients over many shapes. Each file is "
        "graded in a child process with a time and a memory limit (not a security sandbox: see exercises/README.md). "
        "One file prints its full report; several print one line each and a class summary. Exit 0 only when "
        "every gradient of every file passes.")
    check.add_argument("targets", nargs="+", metavar="FILE", help="FILE.py or FILE.py::ClassName, one or many")
    check.add_argument("--exercise", default=None, metavar="NAME",
                       help="grade the files' classes as this exercise (dense, conv2d ...)")
    check.add_argument("--json", default=None, metavar="OUT", help="write the results as JSON to OUT")
    check.add_argument("--format", default="tinyae", choices=FORMATS,
                       help="the JSON written by --json: tinyae's per-file results (default), or Gradescope's "
                       "results.json for one submission")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help="wall-clock seconds per file (default: %(default)g)")
    check.add_argument("--memory", type=_non_negative, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help="address-space limit per file in MB, 0 for none (default: %(default)s)")
    check.add_argument("--jobs", type=_positive, default=None, help="files graded at once (default: the core count)")
    check.add_argument("--max-examples", type=_positive, default=DEFAULT_EXAMPLES,
                       help="cases per search (default: %(default)s)")
    check.add_argument("--seed", type=_non_negative, default=0, help="hypothesis's seed (a number >= 0; default: "
                       "%(default)s)")
    check.add_argument("--backend", default=None, choices=BACKENDS,
                       help="check on this backend (default: numpy, then a few cases on strict)")
    check.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # `tinyae check ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
