"""Training: ``fit()`` runs minibatch epochs of the model's objective and ``optimizer.step``.

Data stay on the host (NumPy); each minibatch is shuffled on the host and then moved
to the model's backend, so a dataset larger than GPU memory still trains.

On a GPU every number read back to the host waits for all the work queued before it (a sync).
A step reads its loss terms once, all together, after ``optimizer.step()``: for tinyae's models
:meth:`~tinyae.models.objective.ObjectiveModel.objective_terms` is ``forward_backward`` with the
terms kept on the device until then. A model of your own (or a subclass that overrides
``forward_backward``) is trained through its ``forward_backward``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from . import backend
from .models.autoencoder import Autoencoder
from .models.objective import ObjectiveModel, check_finite, read_terms
from .module import Module, Sequential
from .optim import SGD, Adam, LRScheduler, Optimizer, ReduceLROnPlateau
from .validation import check_int

__all__ = ["History", "TrainingDiverged", "fit", "map_batches", "pretrain_layerwise"]

Callback = Callable[[int, "History", Module], Any]


class History(dict):
    """Per-epoch values: ``history["loss"]``, ``history["val_loss"]``, every other loss term
    (``"reconstruction"``, ``"kl"``, ... and their ``"val_"`` twins), ``"lr"`` and ``"time"``.

    ``best_epoch`` (0-based) is the epoch with the lowest monitored loss (validation, else
    training); with ``early_stopping`` the model holds that epoch's weights at the end, without
    it the last epoch's. ``stopped_early`` says whether training stopped before ``epochs``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.best_epoch: int | None = None
        self.stopped_early = False

    def append(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.setdefault(key, []).append(float(value))

    @property
    def epochs(self) -> int:
        return len(self.get("loss", []))

    def plot(self, title: str = "Training curves", ylabel: str = "loss per sample") -> Any:
        """A matplotlib Figure of every loss term per epoch, training solid and validation dashed
        (:func:`tinyae.plot.training_curves`; needs matplotlib: ``pip install "tinyae[demos]"``).
        A notebook shows it; ``fig.savefig("curves.png")`` writes it."""
        if not self.epochs:
            raise ValueError("History.plot: there is nothing to plot yet (no epoch finished)")
        try:
            from . import plot  # matplotlib only when a figure is asked for
        except ImportError as error:
            raise ImportError(f'History.plot needs matplotlib: pip install "tinyae[demos]" ({error})') from error
        return plot.training_curves(self, title, ylabel)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite. The model and the optimizer are back where they were at the
    start of that epoch; ``.history`` holds the epochs completed before it."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


def _model_placement(model: Module, caller: str) -> tuple[str, np.dtype]:
    params = model.parameters()
    if not params:
        raise ValueError(f"{caller}: the model has no parameters: {model!r}")
    return backend.backend_of(params[0].data), backend.numpy_dtype(params[0].data)


def _check_trainable(model: Any, validates: bool) -> None:
    """fit needs a model that knows its objective, not a bare stack of layers."""
    needs = ("forward_backward", "evaluate") if validates else ("forward_backward",)
    if not all(callable(getattr(model, name, None)) for name in needs):
        raise TypeError(
            f"fit: expected a model with {' and '.join(f'{name}(x)' for name in needs)}, which know"
            f"{'s' if len(needs) == 1 else ''} its loss (an Autoencoder, VAE, ... e.g. "
            f"tinyae.mlp_autoencoder([784, 32]); for layers of your own, Autoencoder(encoder, decoder, "
            f"loss='mse')), got a {type(model).__name__}"
        )


def _as_host(name: str, x: Any, caller: str = "fit") -> np.ndarray:
    host = backend.to_numpy(x)
    if host.ndim < 1 or host.shape[0] == 0:
        raise ValueError(f"{caller}: {name} must be an array with at least one sample, got shape {host.shape}")
    if host.dtype.kind != "f":  # a cast would train on 0-255 pixels, or drop an imaginary part
        hint = " (8-bit images: x.astype(np.float32) / 255)" if host.dtype.kind in "uib" else ""
        raise TypeError(f"{caller}: {name} must hold real floating-point numbers, got dtype {host.dtype}; "
                        f"convert it first{hint}")
    return host


def _check_data(name: str, x: np.ndarray, target_range: tuple[float, float] | None) -> None:
    """One pass over the host data before training: a NaN would surface as a diverged loss, and a
    target outside BCE's [0, 1] gives a loss that trains without meaning."""
    finite = np.isfinite(x)
    if not finite.all():
        raise ValueError(f"fit: {name} has {x.size - int(finite.sum())} NaN/inf entries (of {x.size})")
    if target_range is not None:
        low, high = float(x.min()), float(x.max())
        if low < target_range[0] or high > target_range[1]:
            raise ValueError(
                f"fit: the model's loss needs targets in [{target_range[0]:g}, {target_range[1]:g}] (binary "
                f"cross-entropy), but {name} holds values in [{low:.4g}, {high:.4g}]; scale the data (e.g. "
                f"x / 255), or use an MSE model"
            )


def _batches(n: int, batch_size: int, shuffle: bool) -> Iterator[np.ndarray | slice]:
    """Indices of each batch: a shuffled order, or plain slices (views, no copy) in order."""
    order = backend.host_rng().permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        yield slice(start, start + batch_size) if order is None else order[start : start + batch_size]


def _step_terms(model: Any, xb: Any, kw: dict[str, Any], train: bool) -> dict[str, Any]:
    """The loss terms of one batch (with the backward pass when training): arrays on the device
    from tinyae's own objective, else the floats of the model's forward_backward / evaluate (a
    model of the user's, or a subclass that overrides them: its override is what it means)."""
    name = "forward_backward" if train else "evaluate"
    if isinstance(model, ObjectiveModel) and getattr(type(model), name) is getattr(ObjectiveModel, name):
        return model.objective_terms(xb, backward=train, **kw)
    return getattr(model, name)(xb, **kw)


def _run_epoch(model, x, labels, targets, batch_size, *, where, dtype, train, optimizer=None, shuffle=False,
               bar=None):
    """(mean of each loss term over one pass through x, weighted by batch size; the last batch and
    its keywords). ``labels`` go to the model as ``labels=`` (host arrays), ``targets`` as
    ``target=`` (moved to the device like x). ``bar`` (tqdm) moves by one per batch. A NaN or
    infinite term raises FloatingPointError; the step it came from has been taken, which the
    caller undoes (it restores the epoch's snapshot)."""
    sums: dict[str, float] = {}
    xb, kw = None, {}
    for idx in _batches(x.shape[0], batch_size, shuffle):
        xb = backend.to_backend(x[idx], where, dtype=dtype)
        kw = {} if labels is None else {"labels": labels[idx]}
        if targets is not None:
            kw["target"] = backend.to_backend(targets[idx], where, dtype=dtype)
        if train:
            optimizer.zero_grad()
        terms = _step_terms(model, xb, kw, train)
        if train:
            optimizer.step()
        values = read_terms(terms)  # the step's one read from the device
        check_finite(values, model)
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value * xb.shape[0]
        if bar is not None:
            bar.update()
    return {key: value / x.shape[0] for key, value in sums.items()}, (xb, kw)


def _check_last_step(model: Any, last_batch: tuple[Any, dict[str, Any]]) -> None:
    """Each loss is computed before its step, so the update of an epoch's last step is never seen
    by a loss of that epoch (in full-batch training, by none at all): without validation data to
    judge the weights an epoch ends with, its last batch is evaluated once more with them."""
    xb, kw = last_batch
    model.eval()
    try:
        values = read_terms(_step_terms(model, xb, kw, train=False))
    finally:
        model.train()
    try:
        check_finite(values, model)
    except FloatingPointError as exc:
        raise FloatingPointError(f"the epoch's last step left weights whose loss on its batch is not finite: "
                                 f"{exc}") from None


def _check_finite_state(model_state: dict[str, np.ndarray], optimizer_state: dict[str, Any]) -> None:
    """The last step of an epoch can break the weights after the last loss was computed (each loss
    comes before its step): check the weights and the optimizer's moments, on their host copies."""
    arrays = [(name, a) for name, a in model_state.items()]
    arrays += [(f"the optimizer's {key} of parameter {i}", a)
               for i, state in enumerate(optimizer_state["state"]) for key, a in state.items()]
    for name, a in arrays:
        finite = np.isfinite(a)
        if not finite.all():
            raise FloatingPointError(f"the epoch's last step left {a.size - int(finite.sum())} NaN/inf entries "
                                     f"in {name} (of {a.size})")


def fit(
    model: Module,
    optimizer: Optimizer,
    x_train: Any,
    x_val: Any = None,
    *,
    epochs: int,
    batch_size: int = 64,
    labels: Any = None,
    val_labels: Any = None,
    targets: Any = None,
    val_targets: Any = None,
    shuffle: bool = True,
    scheduler: LRScheduler | ReduceLROnPlateau | None = None,
    early_stopping: int | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool | str = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``x_train``; return the :class:`History`.

    Each step: ``optimizer.zero_grad()``, ``model.forward_backward(batch)`` (for tinyae's models the
    same pass with its terms kept on the device, read once after the step), ``optimizer.step()``.
    ``labels`` / ``val_labels`` are passed on as ``labels=`` (the conditional VAE, a Classifier).
    ``targets`` / ``val_targets``: what the model should output for each sample, passed on as
    ``target=`` (default: the input itself, an autoencoder's target), e.g. the originals for
    low-resolution or noisy inputs.
    Validation (``x_val``) runs ``model.evaluate`` in eval mode (no dropout, no corruption).

    ``scheduler`` is stepped once per epoch (ReduceLROnPlateau with the validation loss, or the
    training loss without validation). ``early_stopping=k`` stops after k epochs without a
    better validation (else training) loss and restores the best weights. ``callbacks`` are
    called as ``callback(epoch, history, model)`` after every epoch (figures, logging).
    ``progress``: a bar that moves with every training batch (True), none (False), or a bar
    named by the string given (``progress="vae beta=4"``).

    NaN guard: a non-finite loss term, or weights or moments left non-finite by an epoch's last
    step, stop training with :class:`TrainingDiverged`, after restoring the weights and the
    optimizer's state (moments, step count) from the start of that epoch, so training can go on
    with a lower learning rate.

    Before training, the data are checked once on the host: floating-point (8-bit images must be
    scaled first), no NaN/inf, and the targets (the inputs, or ``targets``) in [0, 1] for a model
    with a BCE reconstruction.
    """
    _check_trainable(model, validates=x_val is not None)
    epochs = check_int("fit", "epochs", epochs, minimum=1)
    batch_size = check_int("fit", "batch_size", batch_size, minimum=1)
    if early_stopping is not None:
        early_stopping = check_int("fit", "early_stopping (epochs without improvement, or None)", early_stopping,
                                   minimum=1)
    x_train = _as_host("x_train", x_train)
    x_val = None if x_val is None else _as_host("x_val", x_val)
    targets = None if targets is None else _as_host("targets", targets)
    val_targets = None if val_targets is None else _as_host("val_targets", val_targets)
    labels = None if labels is None else backend.to_numpy(labels)
    val_labels = None if val_labels is None else backend.to_numpy(val_labels)
    for name, train_side, val_side in (("labels", labels, val_labels), ("targets", targets, val_targets)):
        if x_val is not None and (train_side is None) != (val_side is None):
            raise ValueError(f"fit: give {name} for both training and validation ({name}= and val_{name}=), "
                             "or neither")
    target_range = getattr(model, "target_range", None)
    for name, x, target in (("x_train", x_train, targets), ("x_val", x_val, val_targets)):
        if x is not None:  # the loss's range applies to what the model is asked to output
            _check_data(name, x, target_range if target is None else None)
            if target is not None:
                _check_data(f"{'val_' if name == 'x_val' else ''}targets", target, target_range)
    for name, given in (("val_labels", val_labels), ("val_targets", val_targets)):
        if given is not None and x_val is None:
            raise ValueError(f"fit: {name} given without x_val (the validation inputs they belong to)")
    for name, x, y in (("labels", x_train, labels), ("val_labels", x_val, val_labels),
                       ("targets", x_train, targets), ("val_targets", x_val, val_targets)):
        if y is not None and (x is None or y.shape[0] != x.shape[0]):
            seen = None if x is None else x.shape
            raise ValueError(f"fit: {name} must have one entry per sample, got {y.shape} for inputs {seen}")
    where, dtype = _model_placement(model, "fit")
    history = History()
    monitor = "val_loss" if x_val is not None else "loss"
    best_value, best_state, waited = math.inf, None, 0

    steps_per_epoch = math.ceil(x_train.shape[0] / batch_size)
    label = progress if isinstance(progress, str) else "fit"
    # A bar that counts batches, so that a long epoch moves; closed even when training diverges.
    with tqdm(total=epochs * steps_per_epoch, desc=label, unit="batch", disable=not progress, leave=False,
              dynamic_ncols=True) as bar:
        for epoch in range(epochs):
            start = time.perf_counter()
            good_state, good_optimizer = model.state_dict(), optimizer.state_dict()  # what the NaN guard restores
            model.train()
            try:
                values, last_batch = _run_epoch(model, x_train, labels, targets, batch_size, where=where,
                                                dtype=dtype, train=True, optimizer=optimizer, shuffle=shuffle,
                                                bar=bar)
                trained = model.state_dict()  # host copies: checked here, kept if this epoch is the best
                _check_finite_state(trained, optimizer.state_dict())
                if x_val is None:
                    if callable(getattr(model, "evaluate", None)):
                        _check_last_step(model, last_batch)
                else:  # validation's loss is that of the weights the epoch ends with
                    model.eval()
                    val, _ = _run_epoch(model, x_val, val_labels, val_targets, batch_size, where=where,
                                        dtype=dtype, train=False)
                    values.update({f"val_{key}": value for key, value in val.items()})
                    model.train()
            except FloatingPointError as exc:
                model.load_state_dict(good_state)
                optimizer.load_state_dict(good_optimizer)
                model.train()
                raise TrainingDiverged(
                    f"fit: training diverged in epoch {epoch} ({exc}); the model and optimizer are back at the start "
                    f"of that epoch. Lower the learning rate (now {optimizer.lr:g}).",
                    history,
                ) from exc
            values["lr"] = optimizer.lr
            values["time"] = time.perf_counter() - start
            history.append(values)
            bar.set_postfix({"epoch": f"{epoch + 1}/{epochs}",
                             **{key: f"{values[key]:.4g}" for key in ("loss", "val_loss") if key in values}})

            if values[monitor] < best_value:
                best_value, waited, history.best_epoch = values[monitor], 0, epoch
                if early_stopping is not None:
                    best_state = trained
            else:
                waited += 1
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(values[monitor])
            elif scheduler is not None:
                scheduler.step()
            for callback in callbacks:
                callback(epoch, history, model)
            if early_stopping is not None and waited >= early_stopping:
                history.stopped_early = True
                break
    if best_state is not None and history.best_epoch != history.epochs - 1:
        model.load_state_dict(best_state)
    return history


def map_batches(
    fn: Callable[[Any], Any], x: Any, batch_size: int = 256, *, like: Module | None = None, dtype: Any = None
) -> np.ndarray:
    """Apply ``fn`` (e.g. ``model.encode``) to x in batches; return the results as one NumPy array.

    Batches go to the backend and dtype of ``like``'s parameters (default: the current
    backend, float32). ``fn`` may return an array or a tuple of arrays (then the first
    is kept, e.g. mu from a VAE's ``encode``).
    """
    if like is None:
        where, default_dtype = backend.get_backend(), np.dtype(np.float32)
    else:
        where, default_dtype = _model_placement(like, "map_batches")
    dtype = default_dtype if dtype is None else dtype
    batch_size = check_int("map_batches", "batch_size", batch_size, minimum=1)
    host = backend.to_numpy(x)
    if host.ndim < 1 or host.shape[0] == 0:  # no batch to learn the output's shape from
        raise ValueError(f"map_batches: expected an array with at least one sample, got shape {host.shape}")
    out = []
    for start in range(0, host.shape[0], batch_size):
        result = fn(backend.to_backend(host[start : start + batch_size], where, dtype=dtype))
        out.append(backend.to_numpy(result[0] if isinstance(result, tuple) else result))
    return np.concatenate(out, axis=0)


def pretrain_layerwise(
    model: Module,
    x_train: Any,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    optimizer: str = "adam",
    progress: bool | str = True,
) -> list[History]:
    """Greedy layer-wise pretraining of a stacked autoencoder (Bengio et al. 2007).

    Block pair k (``model.encoder[k]`` and its mirror ``model.decoder[-1-k]``, as built by
    :func:`tinyae.models.stacked_autoencoder`) is trained as a shallow autoencoder on the
    codes of the blocks before it, which stay fixed. The outer pair uses the model's loss,
    the inner pairs MSE. Fine-tune afterwards with :func:`fit` on the whole model.
    Returns one History per block pair. ``progress`` as in :func:`fit` (a string names the bars:
    "NAME, layer k").
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"pretrain_layerwise: optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if not isinstance(model, Autoencoder):
        raise TypeError(
            f"pretrain_layerwise: expected an Autoencoder built by stacked_autoencoder, got {type(model).__name__}"
        )
    encoder_blocks, decoder_blocks = list(model.encoder), list(model.decoder)[::-1]
    for block in encoder_blocks + decoder_blocks:
        if not isinstance(block, Sequential) or not block.parameters():
            raise ValueError(
                "pretrain_layerwise: every encoder and decoder entry must be a block, Sequential(Dense(...), "
                f"activation), with parameters (build the model with stacked_autoencoder); got {block!r}"
            )
    if len(encoder_blocks) != len(decoder_blocks):
        raise ValueError(
            f"pretrain_layerwise: expected as many encoder as decoder blocks, got {len(encoder_blocks)} and "
            f"{len(decoder_blocks)} (build the model with stacked_autoencoder)"
        )
    codes = _as_host("x_train", x_train, caller="pretrain_layerwise")
    histories = []
    for k, (enc, dec) in enumerate(zip(encoder_blocks, decoder_blocks)):
        shallow = Autoencoder(enc, dec, loss=model.loss_name if k == 0 else "mse")
        make = Adam if optimizer == "adam" else SGD
        label = f"{progress if isinstance(progress, str) else 'pretrain'}, layer {k + 1}" if progress else False
        histories.append(fit(shallow, make(shallow.parameters(), lr=lr), codes, epochs=epochs,
                             batch_size=batch_size, progress=label))
        enc.eval()
        codes = map_batches(enc, codes, like=enc)
        enc.train()
    return histories
