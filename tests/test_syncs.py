"""How often a training step waits for the device: at most once, for every model.

On a GPU, every number read back to the host (``float(a)``, ``bool(a)``, a copy to NumPy) waits
for all the work queued before it. The strict backend stands in for the GPU: here its arrays count
those reads. fit's per-epoch work (snapshots for the NaN guard, the last-step check) costs the
same whatever the number of steps, so the extra reads of an epoch of 8 steps over one of 4, divided
by the 4 extra steps, is what one step costs.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinyae as ae
from tinyae import backend

strict = pytest.importorskip("array_api_strict")
Array = strict._array_object.Array

READS = ("__float__", "__int__", "__bool__", "__index__", "__complex__")


class _Counter:
    """Counts device-to-host reads of strict arrays and host-to-device copies by to_backend."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.copies = 0
        for name in READS:
            monkeypatch.setattr(Array, name, self._counting(getattr(Array, name)))
        to_device = Array.to_device

        def counted_to_device(array, device, /, *, stream=None):
            if str(device) != str(array.device):  # a move off the (stand-in) GPU is a read
                self.reads += 1
            return to_device(array, device, stream=stream)

        monkeypatch.setattr(Array, "to_device", counted_to_device)
        to_backend = backend.to_backend

        def counted_to_backend(array, name=None, dtype=None):
            moved = to_backend(array, name, dtype)
            if moved is not array and backend.backend_of(moved) == "strict":
                self.copies += 1
            return moved

        monkeypatch.setattr(backend, "to_backend", counted_to_backend)

    def _counting(self, method):
        def counted(array, *args, **kw):
            self.reads += 1
            return method(array, *args, **kw)

        return counted

    def snapshot(self) -> tuple[int, int]:
        return self.reads, self.copies


def _models():
    """Every kind of model, small (8x8 images), with the options that once read the device."""
    flat = (1, 8, 8)
    return {
        "autoencoder bce": lambda: ae.mlp_autoencoder([64, 16, 4], loss="bce"),
        "autoencoder mse": lambda: ae.mlp_autoencoder([64, 16], loss="mse", input_shape=flat),
        "denoising": lambda: ae.DenoisingAutoencoder(*_halves(ae.mlp_autoencoder([64, 8])), loss="bce",
                                                     noise="gaussian", noise_level=0.3),
        "sparse l1": lambda: ae.SparseAutoencoder(*_halves(ae.mlp_autoencoder([64, 8])), loss="bce", penalty="l1"),
        "sparse kl": lambda: ae.SparseAutoencoder(
            *_halves(ae.mlp_autoencoder([64, 8], code_activation="sigmoid")), loss="bce", penalty="kl"),
        "contractive": lambda: ae.ContractiveAutoencoder(
            *_halves(ae.mlp_autoencoder([64, 8], code_activation="sigmoid")), loss="bce"),
        "conv": lambda: ae.conv_autoencoder((1, 8, 8), channels=(2,)),
        "vae": lambda: ae.mlp_vae([64, 16], 2, logvar_clip=8.0),
        "conv vae": lambda: ae.conv_vae((1, 8, 8), channels=(2,), latent_dim=2),
        "conditional vae": lambda: ae.ConditionalVAE(
            ae.Sequential(ae.Dense(64 + 3, 8), ae.ReLU(), ae.Dense(8, 4)),
            ae.Sequential(ae.Dense(2 + 3, 8), ae.ReLU(), ae.Dense(8, 64)), latent_dim=2, num_classes=3),
    }


def _halves(model):
    return model.encoder, model.decoder


MODELS = _models()
IMAGE_MODELS = ("autoencoder mse", "conv", "conv vae")


@pytest.mark.parametrize("name", list(MODELS))
def test_a_training_step_reads_the_device_at_most_once(name, monkeypatch):
    x = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    if name in IMAGE_MODELS:
        x = x.reshape(64, 1, 8, 8)
    labels = np.arange(64) % 3 if name == "conditional vae" else None
    with ae.use_backend("strict"):
        ae.seed(0)
        model = MODELS[name]()
        optimizer = ae.Adam(model.parameters(), lr=1e-3)
        ae.fit(model, optimizer, x, epochs=1, labels=labels, progress=False)  # the moments exist from here on
        counter = _Counter(monkeypatch)
        costs = {}
        for batch_size in (16, 8):  # 4 and 8 steps in an epoch
            before = counter.snapshot()
            ae.fit(model, optimizer, x, epochs=1, batch_size=batch_size, labels=labels, progress=False)
            after = counter.snapshot()
            costs[batch_size] = (after[0] - before[0], after[1] - before[1])
    reads_per_step = (costs[8][0] - costs[16][0]) / 4
    copies_per_step = (costs[8][1] - costs[16][1]) / 4
    assert reads_per_step <= 1, f"{name}: {reads_per_step} device reads per training step (epochs: {costs})"
    # the batch, and the conditional VAE's labels: nothing is copied twice
    assert copies_per_step <= (2 if labels is not None else 1), f"{name}: {copies_per_step} copies per step"


def test_the_counter_sees_a_read():
    """The instrument works: a float() of a strict array is counted (else the test above is empty)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        counter = _Counter(monkeypatch)
        with ae.use_backend("strict"):
            a = backend.to_backend(np.ones(3, dtype=np.float32))
            float(strict.sum(a))
            ae.to_numpy(a)
    assert counter.snapshot() == (2, 1)


@pytest.mark.parametrize("name", ["denoising", "sparse l1", "vae"])
def test_no_clip_or_sign_in_a_step(name, monkeypatch):
    """array-api-compat's clip and sign for CuPy assign through boolean masks (a wait for the GPU
    each): the denoising clip, the VAE's logvar clip and the L1 gradient use min/max and comparisons."""

    def refused(*args, **kw):
        raise AssertionError("clip/sign called in a training step")

    monkeypatch.setattr(strict, "clip", refused)
    monkeypatch.setattr(strict, "sign", refused)
    x = np.random.default_rng(0).random((8, 64)).astype(np.float32)
    with ae.use_backend("strict"):
        ae.seed(0)
        model = MODELS[name]()
        model.forward_backward(ae.to_backend(x))  # refused() raises if clip or sign is called


@pytest.mark.parametrize("name", ["autoencoder bce", "vae", "sparse kl"])
def test_forward_backward_reads_its_terms_in_one_transfer(name, monkeypatch):
    x = np.random.default_rng(0).random((8, 64)).astype(np.float32)
    with ae.use_backend("strict"):
        ae.seed(0)
        model = MODELS[name]()
        xb = backend.to_backend(x)
        counter = _Counter(monkeypatch)
        values = model.forward_backward(xb)
    assert counter.snapshot()[0] == 1 and all(type(v) is float for v in values.values())
