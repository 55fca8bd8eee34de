"""A classifier on top of an encoder: the supervised half of feature learning.

x -> encoder -> code h -> head -> logits z (N, C); the objective is the softmax cross-entropy of z
against the one-hot labels (docs/softmax-cross-entropy.md). The encoder may be a pretrained
autoencoder's (``model.encoder``), frozen (``encoder.freeze()``: only the head trains) or not (fine-
tuning), or an empty ``Sequential()`` for a head on the raw inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..losses import SoftmaxCrossEntropyLoss
from ..module import Module, skipping_input_gradient
from ..validation import check_int
from .labels import one_hot
from .objective import ObjectiveModel

__all__ = ["Classifier"]


class Classifier(ObjectiveModel):
    r"""Logits z = head(encoder(x)) for ``num_classes`` classes, trained by softmax cross-entropy.

        t = one_hot(labels)                      (N, C)
        L = -(1/N) sum_n sum_c t_nc log softmax(z_n)_c,    dL/dz = (softmax(z) - t) / N

    Train it with ``fit(classifier, opt, x, x_val, labels=y, val_labels=y_val)``: fit passes each
    batch's labels on as ``labels=``. ``forward_backward(x, labels=y)`` is one step by hand; instead
    of integer labels, ``target=`` takes (N, C) probabilities (soft labels) of the logits' dtype.

    Backward: dL/dh = head.backward(dL/dz), then encoder.backward(dL/dh), without dL/dx (the data's
    gradient, which nobody needs). A frozen encoder (``classifier.encoder.freeze()``: every
    parameter untrainable) is not run backward at all: no optimizer reads its gradients, which stay
    zero (PyTorch skips parameters with ``requires_grad=False`` in the same way); the head trains on
    the fixed codes at the cost of a forward pass through the encoder.
    """

    loss_term = "cross_entropy"

    def __init__(self, encoder: Module, head: Module, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.num_classes = check_int("Classifier", "num_classes", num_classes, minimum=2)
        self.loss = SoftmaxCrossEntropyLoss()

    # -- the network ---------------------------------------------------------- #
    def encode(self, x: Any) -> Any:
        return self.encoder(x)

    def forward(self, x: Any) -> Any:
        """The logits z (N, C); softmax(z) are the class probabilities."""
        return self.head(self.encoder(x))

    def backward(self, grad_out: Any) -> Any:
        return self.encoder.backward(self.head.backward(grad_out))

    def encoder_trains(self) -> bool:
        """Whether any encoder parameter is trainable (else the encoder's backward is skipped)."""
        return any(p.trainable for p in self.encoder.parameters())

    # -- the objective ---------------------------------------------------------- #
    def _objective(self, x: Any, target: Any, backward: bool, labels: Any = None) -> dict[str, Any]:
        if labels is None and target is x:  # objective_terms' default target is the input: no labels given
            raise ValueError("Classifier: labels are required: fit(model, optimizer, x, labels=y) or "
                             "forward_backward(x, labels=y), with integers in [0, num_classes)")
        if labels is not None and target is not x:
            raise ValueError("Classifier: give labels= (integers) or target= (probabilities), not both")
        z = self.forward(x)
        if labels is not None:
            target = one_hot(labels, self.num_classes, z, owner="Classifier")
        ce = self.loss.value(z, target)
        if backward:
            grad_z = self.loss.backward()  # (softmax(z) - t) / N
            if self.encoder_trains():
                grad_h = self.head.backward(grad_z)
                with skipping_input_gradient(self.encoder):  # its input is the data
                    self.encoder.backward(grad_h)
            else:  # nothing before the head learns: the head's input needs no gradient either
                with skipping_input_gradient(self.head):
                    self.head.backward(grad_z)
        return {"loss": ce, "cross_entropy": ce}

    # -- predictions ------------------------------------------------------------ #
    def predict(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """The most likely class of each sample, argmax_c z_nc, as a NumPy int64 array of shape (N,).
        Runs in eval mode (no dropout) in batches of ``batch_size``
        (:func:`tinyae.train.map_batches`: x may be a NumPy array or one on the model's backend)."""
        from ..train import map_batches  # train imports the models

        was_training = self.training
        self.eval()
        try:
            classes = map_batches(lambda xb: backend.array_module(xb).argmax(self.forward(xb), axis=1), x,
                                  batch_size, like=self)
        finally:
            self.train(was_training)
        return classes.astype(np.int64)

    def accuracy(self, x: Any, labels: Any, batch_size: int = 1024) -> float:
        """The fraction of samples whose predicted class is their label."""
        y = backend.to_numpy(labels).reshape(-1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"Classifier.accuracy: expected {x.shape[0]} labels (one per sample), got {y.shape[0]}")
        if y.shape[0] == 0:
            raise ValueError("Classifier.accuracy: expected at least one sample, got none")
        return float(np.mean(self.predict(x, batch_size) == y))
