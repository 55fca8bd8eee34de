"""Execute every notebook in notebooks/ in a fresh Jupyter kernel and say which ran:
``python scripts/run_notebooks.py [NOTEBOOK ...] [--timeout S] [--jobs N]``.

CI runs this. Without ``TINYAE_NOTEBOOK_DATA`` the kernels get ``TINYAE_NOTEBOOK_DATA=digits`` and
``TINYAE_NOTEBOOK_EPOCHS=1`` (``TINYAE_NOTEBOOK_DATA=fashion-mnist-small`` alone runs each demo's real
budget), so every demo runs on the 8x8 digits with one epoch: this checks that each notebook
runs, not what its figures show. The notebooks are executed in memory, in a temporary working
folder: nothing is written back into them or into the repository. Prints one line per notebook
(its name, seconds, ok or the error's last line) and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tinyae.threads import DEMO_JOBS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _last_line(exc: BaseException) -> str:
    """The error's last line: "Name: message" for an error raised in a cell."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}"
    else:
        text = str(exc) or type(exc).__name__
    lines = [line.strip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def run_one(path: str, timeout: float) -> tuple[str, float, str | None]:
    """Execute one notebook; (its name, seconds, None when it ran or the error's last line)."""
    import nbclient
    import nbformat

    start = time.perf_counter()
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="tinyae-notebook-") as workdir:
        client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": workdir}})
        try:
            asyncio.run(asyncio.wait_for(client.async_execute(), timeout))  # the whole notebook's limit
            error = None
        except asyncio.TimeoutError:
            error = f"timed out after {timeout:g} s"
        except Exception as exc:  # a cell's error, a dead kernel ...: reported, the others still run
            error = _last_line(exc)
    return Path(path).name, time.perf_counter() - start, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: every notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds each notebook may take (default 300)")
    parser.add_argument("--jobs", type=int, default=DEMO_JOBS,
                        help="notebooks run at once (default: 2, or 1 on a 1-core machine)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 1
    # Before any kernel starts: the kernels inherit this environment.
    if "TINYAE_NOTEBOOK_DATA" not in os.environ:  # the quick check; a dataset given alone runs its real budget
        os.environ["TINYAE_NOTEBOOK_DATA"] = "digits"
        os.environ.setdefault("TINYAE_NOTEBOOK_EPOCHS", "1")
    settings = f"TINYAE_NOTEBOOK_DATA={os.environ['TINYAE_NOTEBOOK_DATA']}"
    if os.environ.get("TINYAE_NOTEBOOK_EPOCHS"):
        settings += f" TINYAE_NOTEBOOK_EPOCHS={os.environ['TINYAE_NOTEBOOK_EPOCHS']}"
    print(f"running {len(paths)} notebooks, {args.jobs} at a time ({settings})", flush=True)
    start = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, str(path), args.timeout) for path in paths]
        for future in as_completed(futures):
            name, seconds, error = future.result()
            print(f"{name:<28} {seconds:6.1f} s  {'ok' if error is None else 'FAILED: ' + error}", flush=True)
            if error is not None:
                failed.append(name)
    total = time.perf_counter() - start
    print(f"{len(paths) - len(failed)} of {len(paths)} notebooks ran in {total:.1f} s"
          + (f"; failed: {', '.join(sorted(failed))}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
