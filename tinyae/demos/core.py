"""The demos' machinery: the Context a demo gets, the registry, the helpers several demos share
(PSNR, PCA, applying a model in batches), and :func:`run` / :func:`run_all`."""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import backend, plot
from ..data import DEFAULT_DATASET, Dataset
from ..data import load as load_dataset
from ..module import Module
from ..optim import Adam
from ..threads import DEMO_THREADS, limit_threads, set_threads
from ..train import History, fit, map_batches
from ..validation import check_int

__all__ = ["DEMOS", "Context", "Demo", "DemoResult", "demo", "run", "run_all"]

# Each demo's epoch budget is set for the embedded default (11,000 training images); on another
# dataset it is scaled to see about as many samples (at least 2 epochs, at most 4x as many), unless
# --epochs says otherwise.
_REFERENCE_TRAIN_SIZE = 11000


@dataclass
class Context:
    """What a demo gets: the data, its output folder (None: keep the figures, write nothing), and
    the run's settings; it collects the demo's figures and the files written."""

    data: Dataset
    out: Path | None
    epochs: int | None = None
    progress: bool = True
    name: str = "demo"
    fmt: str = "png"
    dpi: int = 110
    files: list[Path] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out = None if self.out is None else Path(self.out)

    def epochs_for(self, on_default: int, images: int | None = None, reference: int = _REFERENCE_TRAIN_SIZE) -> int:
        """The epoch budget: --epochs if given, else ``on_default`` (set for the embedded dataset)
        scaled to see as many samples, at most 4x as many epochs: the 1,197 digits (9x fewer
        images) see 44% of the default's samples, which keeps ``demo all --dataset digits`` (the
        quick run) under 30 s; their figures and metrics change little (e.g. the latent demo's
        test MSE 0.036 at 6x, 0.038 at 4x). A demo that trains on a draw of the training set
        gives its size as ``images``, and the size its budget was set for as ``reference``."""
        if self.epochs is not None:
            return self.epochs
        images = len(self.data.x_train) if images is None else images
        return max(2, min(4 * on_default, round(on_default * reference / images)))

    def save(self, fig: Figure, stem: str) -> None:
        """Keep ``fig`` as ``figures[stem]`` and, with an output folder, write it as
        OUT/NAME/stem.FORMAT (a suffix on ``stem`` gives way to the run's format)."""
        stem = str(Path(stem).with_suffix("")) if Path(stem).suffix.lstrip(".") in plot.FORMATS else stem
        self.figures[stem] = fig
        if self.out is not None:
            self.files.append(plot.save(fig, self.out / f"{stem}.{self.fmt}", dpi=self.dpi))

    @property
    def d(self) -> int:
        return self.data.n_features

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.data.image_shape

    def bar(self, label: str) -> bool | str:
        """The progress setting for one model's training: a bar named "demo: label", or none."""
        return f"{self.name}: {label}" if self.progress else False

    def train(self, model: Module, x_train: np.ndarray, x_val: np.ndarray, epochs: int, lr: float = 3e-3, *,
              label: str = "fit", **kw: Any) -> History:
        """Adam, batches of 64, a progress bar named after the demo and ``label``."""
        return fit(model, Adam(model.parameters(), lr=lr), x_train, x_val, epochs=epochs, batch_size=64,
                   progress=self.bar(label), **kw)

    def showcase(self, per_class: int = 1) -> np.ndarray:
        """Indices of test images to show: ``per_class`` of every class (at most ten classes), drawn
        with a fixed seed, in class order, so every class appears in every figure."""
        rng = np.random.default_rng(0)
        classes = np.unique(self.data.y_test)[:10]
        picks = [np.flatnonzero(self.data.y_test == c) for c in classes]
        return np.concatenate([rng.choice(p, min(per_class, len(p)), replace=False) for p in picks])

    def class_labels(self, indices: np.ndarray) -> list[str]:
        return [self.data.class_names[int(c)] for c in self.data.y_test[indices]]


@dataclass
class DemoResult:
    """What :func:`run` returns: the metrics (as in metrics.json), the figures by name (shown
    inline in a notebook), and the files written (none without an output folder)."""

    name: str
    metrics: dict[str, Any]
    figures: dict[str, Figure]
    files: list[Path]


@dataclass
class Demo:
    """A registered demo. ``uses_dataset``: whether it runs on the run's dataset (``ctx.data``); a
    demo with data of its own (a table, ratings) names them under "dataset" in its metrics."""

    name: str
    title: str
    run: Callable[[Context], dict[str, Any]]
    uses_dataset: bool = True


DEMOS: dict[str, Demo] = {}


def demo(name: str, title: str, *, uses_dataset: bool = True) -> Callable:
    def register(fn: Callable[[Context], dict[str, Any]]) -> Callable:
        DEMOS[name] = Demo(name, title, fn, uses_dataset)
        return fn

    return register


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
def mse_per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mean((a.reshape(len(a), -1) - b.reshape(len(b), -1)) ** 2, axis=1)


def psnr(clean: np.ndarray, other: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: 10 log10(1 / MSE), the MSE pooled
    over every pixel of every image (not a mean of per-image PSNRs)."""
    return float(10.0 * np.log10(1.0 / np.mean((clean - other) ** 2)))


def apply_model(model: Module, fn: Callable, x: np.ndarray) -> np.ndarray:
    """fn (e.g. model.encode) over x in batches, in eval mode, as a NumPy array."""
    model.eval()
    try:
        return map_batches(fn, x, like=model)
    finally:
        model.train()


def mean_image_mse(ctx: Context) -> float:
    return float(np.mean((ctx.data.flat("test") - ctx.data.flat("train").mean(axis=0)) ** 2))


@dataclass
class PCA:
    """Principal component analysis of flat rows: ``mean`` (D,) and ``components`` (k, D), largest
    variance first. z = (x - mean) V^T, x_hat = z V + mean.

    :meth:`fit` takes the eigenvectors of the rows' scatter matrix (what scikit-learn's PCA computes
    for many more rows than columns, up to signs): one D x D eigendecomposition, in a fraction of the
    time scikit-learn takes to import, and every k <= the one fitted is :meth:`first`.
    """

    mean: np.ndarray
    components: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, k: int) -> PCA:
        k = check_int("PCA", "k (components)", k, minimum=1)
        if k > x.shape[1]:
            raise ValueError(f"PCA: expected at most {x.shape[1]} components (the rows' length), got k={k}")
        mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
        centred = x - mean
        # the scatter in the data's float32 (the same results to 4 decimals as float64 here, in half
        # the time), its eigendecomposition in float64; eigh gives ascending eigenvalues
        _, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
        return cls(mean, np.ascontiguousarray(vectors[:, ::-1][:, :k].T).astype(np.float32))

    def first(self, k: int) -> PCA:
        return PCA(self.mean, self.components[:k])

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.components.T

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        return z @ self.components + self.mean


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #
def _finite(value: Any) -> Any:
    """JSON numbers must be finite: fail loudly on a NaN instead of writing one."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise FloatingPointError(f"a demo metric is {value}")
    return value


def _check_names(names: list[str]) -> list[str]:
    """The demos to run, in order, each once ("all" anywhere stands for every demo)."""
    expanded = [n for name in names for n in (DEMOS if name == "all" else [name])]
    for name in expanded:
        if name not in DEMOS:
            raise ValueError(f"unknown demo {name!r}: expected one of {', '.join(DEMOS)} or 'all'")
    return list(dict.fromkeys(expanded))


def run(name: str, data: Dataset | str = DEFAULT_DATASET, out: str | Path | None = None, *,
        epochs: int | None = None, progress: bool = True, seed: int = 0, fmt: str = "png",
        dpi: int = 110) -> DemoResult:
    """Run one demo on ``data`` (a Dataset, or a dataset's name for :func:`tinyae.data.load`) and
    return its metrics and figures. With ``out``, also write the figures (``fmt``: png, svg or pdf)
    and metrics.json into ``out/name`` and print what was written."""
    _check_names([name])
    if fmt not in plot.FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}: expected one of {', '.join(plot.FORMATS)}")
    plot.check_dpi(dpi)
    if isinstance(data, str):
        data = load_dataset(data)
    entry = DEMOS[name]
    folder = None if out is None else Path(out) / name
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    ctx = Context(data, folder, epochs, progress, name, fmt, dpi)
    print(f"[{name}] {entry.title} ...", flush=True)
    backend.seed(seed)
    start = time.perf_counter()
    metrics = entry.run(ctx)
    about_data = ({"dataset": data.name, "image_shape": list(data.image_shape), "train_images": len(data.x_train)}
                  if entry.uses_dataset else {})
    metrics = _finite({"demo": name, "title": entry.title, **about_data, **metrics,
                       "seconds": round(time.perf_counter() - start, 2)})
    if folder is None:
        print(f"[{name}] {len(ctx.figures)} figures ({metrics['seconds']:.1f} s)")
    else:
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        print(f"[{name}] {len(ctx.files)} figures and metrics.json in {folder}/ ({metrics['seconds']:.1f} s)")
        for path in ctx.files:
            print(f"    {path}")
    return DemoResult(name, metrics, ctx.figures, ctx.files)


def run_all(names: list[str], dataset: str = DEFAULT_DATASET, out: str | Path | None = "tinyae-figures", *,
            epochs: int | None = None, progress: bool = True, seed: int = 0, fmt: str = "png", dpi: int = 110,
            threads: int | None = DEMO_THREADS, jobs: int = 1) -> dict[str, DemoResult]:
    """Run several demos (``["all"]`` for every one) on a dataset loaded once; see :func:`run`.

    ``threads``: NumPy's BLAS threads while the demos run (default 1, see :mod:`tinyae.threads`;
    None leaves the process's setting alone).

    ``jobs``: demos run at once, each in a process of its own (``tinyae demo`` uses
    :data:`tinyae.threads.DEMO_JOBS`). Every demo seeds its generators itself, so the results are the same as one
    after the other. The workers write the figures; their results carry the metrics and the files
    but no Figure objects. Without an output folder, with one demo, on another backend than NumPy,
    or for a demo registered at run time (not in a ``tinyae.demos`` module, which a new process
    would not know), the demos run here, one after the other. The workers are spawned: they import
    the caller's main script, so a script calling ``run_all(..., jobs=2)`` needs an
    ``if __name__ == "__main__":`` guard. With ``threads=None`` each worker keeps NumPy's own setting.
    """
    names = _check_names(names)
    jobs = check_int("run_all", "jobs", jobs, minimum=1)
    parallel = (jobs > 1 and len(names) > 1 and out is not None and backend.get_backend() == "numpy"
                and all(DEMOS[name].run.__module__.startswith(f"{__package__}.") for name in names))
    if parallel:
        load_dataset(dataset)  # here first: a missing dataset is the caller's clear error, not a broken worker
        return _run_in_workers(names, dataset, Path(out), min(jobs, len(names)), threads, progress,
                               dict(epochs=epochs, seed=seed, fmt=fmt, dpi=dpi))
    data = load_dataset(dataset)
    with contextlib.nullcontext() if threads is None else limit_threads(threads):
        return {name: run(name, data, out, epochs=epochs, progress=progress, seed=seed, fmt=fmt, dpi=dpi)
                for name in names}


# --------------------------------------------------------------------------- #
# Demos in worker processes
# --------------------------------------------------------------------------- #
_WORKER_DATA: Dataset | None = None


def _start_worker(dataset: str, threads: int | None) -> None:
    """A worker's set-up, once: no display, its BLAS threads, the dataset loaded."""
    global _WORKER_DATA
    import matplotlib

    matplotlib.use("Agg")
    if threads is not None:
        set_threads(threads)
    _WORKER_DATA = load_dataset(dataset)


def _run_in_worker(name: str, out: Path, settings: dict[str, Any]) -> tuple[dict[str, Any], list[Path], str]:
    """One demo in a worker: (its metrics, the files written, what it printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = run(name, _WORKER_DATA, out, progress=False, **settings)
    return result.metrics, result.files, printed.getvalue()


def _run_in_workers(names: list[str], dataset: str, out: Path, jobs: int, threads: int | None, progress: bool,
                    settings: dict[str, Any]) -> dict[str, DemoResult]:
    """The demos in ``jobs`` fresh processes (spawned: nothing of this process's threads is
    copied), in order; each demo's lines are printed when it ends, under a bar counting demos."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    results: dict[str, DemoResult] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(dataset, threads)) as pool, \
            tqdm(total=len(names), desc=f"demos ({jobs} at a time)", unit="demo", disable=not progress,
                 leave=False, dynamic_ncols=True) as bar:
        futures = {pool.submit(_run_in_worker, name, out, settings): name for name in names}
        try:
            for future in as_completed(futures):
                metrics, files, printed = future.result()
                name = futures[future]
                results[name] = DemoResult(name, metrics, {}, files)
                bar.write(printed.rstrip("\n"))
                bar.update()
        except BaseException:  # a demo failed: the others stop now, not after the running one ends
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return {name: results[name] for name in names}
