"""Integer class labels as one-hot rows: the Classifier's targets and the conditional VAE's condition."""

from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["one_hot"]


def one_hot(labels: Any, num_classes: int, like: Any, owner: str = "one_hot") -> Any:
    """(N, C) one-hot rows for N integer labels in [0, C), on the backend and dtype of ``like``
    (an (N, ...) array: the logits, say): row n is 1 in column labels[n], 0 elsewhere.

    The labels are checked on the host (a host array costs nothing to read; one on a device is
    read back once), then copied to ``like``'s backend and compared with 0..C-1 there. ``owner``
    names the model in the error messages.
    """
    if labels is None:
        raise ValueError(f"{owner}: labels are required (integers in [0, {num_classes}))")
    host = backend.to_numpy(labels)
    if host.size and host.dtype.kind not in "iu":
        raise ValueError(f"{owner}: labels must be integers in [0, {num_classes}), got dtype {host.dtype}")
    if host.ndim != 1 or host.shape[0] != like.shape[0]:
        raise ValueError(f"{owner}: expected {like.shape[0]} labels (one per sample), got shape {tuple(host.shape)}")
    if host.size and (host.min() < 0 or host.max() >= num_classes):
        raise ValueError(f"{owner}: labels must be in [0, {num_classes}), got [{host.min()}, {host.max()}]")
    xp = backend.array_module(like)
    codes = xp.reshape(xp.arange(num_classes, device=backend.device_of(like)), (1, -1))
    y = backend.to_backend(host.astype("int64"), backend.backend_of(like))
    return xp.astype(xp.reshape(y, (-1, 1)) == codes, like.dtype)
