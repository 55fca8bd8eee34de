"""Checkpoints: a model's parameters in a ``.npz`` file, written atomically, read without pickle.

The file holds one array per parameter, keyed by its dotted name (``"encoder.0.weight"``),
exactly ``model.state_dict()``. Saving writes a temporary file beside the target and
renames it over the target only once it is complete, so a crash never leaves a half-written
checkpoint. Loading checks every name and shape before anything is written into the
model, so a mismatched or corrupt file leaves the model untouched.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .module import Module

__all__ = ["CheckpointError", "load", "save"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or does not fit the model."""


def save(model: Module, path: str | os.PathLike) -> Path:
    """Write ``model.state_dict()`` to ``path`` (a ``.npz``; the suffix is added if missing)."""
    path = _npz_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **state)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600); give it a normal file's mode
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _npz_path(path: str | os.PathLike) -> Path:
    """``"model"`` and ``"model.npz"`` name the same checkpoint, for save and load alike."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint, by name, read fully (allow_pickle=False)."""
    path = Path(path)
    if not path.exists() and _npz_path(path).exists():
        path = _npz_path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    unreadable = (zipfile.BadZipFile, OSError, ValueError, EOFError)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"it holds a single {type(data).__name__}, not named arrays")
        with data:
            return {name: data[name] for name in data.files}
    except unreadable as exc:
        raise CheckpointError(
            f"{path} is not a readable tinyae checkpoint (truncated or corrupt .npz): {type(exc).__name__}: {exc}"
        ) from None


def load(model_or_path: Module | str | os.PathLike, path: str | os.PathLike | None = None) -> Any:
    """``load(model, path)``: load a checkpoint into ``model`` (checked first) and return the model.
    ``load(path)``: return the checkpoint's arrays as a dict."""
    if path is None:
        if isinstance(model_or_path, Module):
            raise TypeError("load(model, path): the path is missing")
        return read(model_or_path)
    model = model_or_path
    state = read(path)
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: {message}") from None
    return model
