"""PyTorch interop: to_torch's layers and models compute what tinyae's do, one training step in torch
is tinyae's step, from_torch brings the weights back, and mismatches say where.

torch is optional: the whole file skips cleanly without it.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tinyae as ae
from tinyae import interop

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = dict(rtol=1e-5, atol=1e-5)  # float32 on both sides, summed in a different order
LABELS = np.array([0, 2, 1, 2, 0])


def _normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _data(shape, seed=0):
    """Values in (0, 1), as the autoencoders' targets are."""
    return np.random.default_rng(seed).uniform(0.05, 0.95, shape).astype(np.float32)


def _tensor(a):
    return torch.from_numpy(np.ascontiguousarray(ae.to_numpy(a)))


def _assert_close(ours, theirs):
    np.testing.assert_allclose(ae.to_numpy(ours), theirs.detach().numpy(), **TOL)


def _perturb(module, seed=0):
    """Move every torch weight, so that a round trip cannot pass by leaving the tinyae model as it was."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=generator, dtype=p.dtype))


# --------------------------------------------------------------------------- #
# Layers
# --------------------------------------------------------------------------- #
LAYERS = {  # name: (tinyae layer, input shape, the torch class it becomes)
    "dense": (lambda: ae.Dense(5, 3), (4, 5), nn.Linear),
    "conv2d": (lambda: ae.Conv2D(2, 3, (3, 2), stride=(2, 1), padding=(1, 2)), (2, 2, 7, 6), nn.Conv2d),
    "conv-transpose2d": (
        lambda: ae.ConvTranspose2D(2, 3, (3, 2), stride=(3, 2), padding=(1, 0), output_padding=(2, 1)),
        (2, 2, 4, 5),
        nn.ConvTranspose2d,
    ),
    "maxpool2d": (lambda: ae.MaxPool2D((2, 3), stride=(1, 2)), (2, 3, 5, 7), nn.MaxPool2d),
    "maxpool2d-default-stride": (lambda: ae.MaxPool2D(2), (2, 1, 4, 6), nn.MaxPool2d),
    "upsample2d": (lambda: ae.Upsample2D((2, 3)), (2, 2, 3, 4), nn.Upsample),
    "relu": (ae.ReLU, (4, 6), nn.ReLU),
    "leaky-relu": (lambda: ae.LeakyReLU(0.2), (4, 6), nn.LeakyReLU),
    "sigmoid": (ae.Sigmoid, (4, 6), nn.Sigmoid),
    "tanh": (ae.Tanh, (4, 6), nn.Tanh),
    "dropout-eval": (lambda: ae.Dropout(0.3).eval(), (4, 6), nn.Dropout),
    "flatten": (ae.Flatten, (2, 3, 4, 5), nn.Flatten),
    "reshape": (lambda: ae.Reshape(2, 3, 2), (4, 12), nn.Unflatten),
    "sequential-nested": (
        lambda: ae.Sequential(ae.Sequential(ae.Dense(5, 4), ae.Tanh()), ae.Dense(4, 2)),
        (3, 5),
        nn.Sequential,
    ),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_torch(name):
    make, shape, torch_class = LAYERS[name]
    layer = make()
    exported = ae.to_torch(layer)
    assert type(exported) is torch_class
    x = _normal(shape)
    with torch.no_grad():
        _assert_close(layer(x), exported(_tensor(x)))


def test_the_settings_carry_over():
    """Dense's weight is Linear's transposed; slopes and probabilities are kept; a nested
    Sequential stays nested; each module keeps its training flag."""
    dense = ae.Dense(5, 3)
    np.testing.assert_array_equal(ae.to_torch(dense).weight.detach().numpy(), ae.to_numpy(dense.weight.data).T)
    assert ae.to_torch(ae.LeakyReLU(0.2)).negative_slope == 0.2
    dropout = ae.to_torch(ae.Dropout(0.3))
    assert dropout.p == 0.3 and dropout.training
    model = ae.Sequential(ae.Sequential(ae.Dense(2, 2), ae.Dropout(0.4)), ae.Dense(2, 2)).eval()
    exported = ae.to_torch(model)
    assert type(exported[0]) is nn.Sequential and exported[0][1].p == 0.4
    assert not any(m.training for m in exported.modules())


def test_the_export_owns_its_weights_and_keeps_the_dtype():
    dense = ae.Dense(3, 2)
    exported = ae.to_torch(dense)
    with torch.no_grad():
        exported.weight.add_(1.0)
    assert not np.allclose(ae.to_numpy(dense.weight.data).T, exported.weight.detach().numpy())  # not a view
    for p in dense.parameters():
        p.data = ae.to_backend(p.data, dtype=np.float64)
    assert ae.to_torch(dense).weight.dtype == torch.float64


def test_trainable_flags_become_requires_grad():
    model = ae.mlp_autoencoder([6, 4, 2])
    for p in model.encoder.parameters():
        p.trainable = False  # what Module.freeze() sets
    exported = ae.to_torch(model)
    assert not any(p.requires_grad for p in exported.encoder.parameters())
    assert all(p.requires_grad for p in exported.decoder.parameters())


def test_tied_layers_stay_tied():
    shared = ae.Dense(4, 4)
    model = ae.Sequential(shared, ae.ReLU(), shared)
    exported = ae.to_torch(model)
    assert exported[0] is exported[2]
    assert len(list(exported.parameters())) == len(model.parameters()) == 2
    _perturb(exported)
    back = ae.from_torch(exported, like=model)
    assert back[0] is back[2]
    x = _normal((3, 4))
    with torch.no_grad():
        _assert_close(back(x), exported(_tensor(x)))


# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #
def _encoder(d, k):
    return ae.Sequential(ae.Dense(d, k), ae.Sigmoid())


def _decoder(k, d):
    return ae.Sequential(ae.Dense(k, d), ae.Sigmoid())


MODELS = {  # name: (model, input shape)
    "mlp_autoencoder": (lambda: ae.mlp_autoencoder([6, 4, 2]), (5, 6)),
    "mlp_autoencoder-images": (lambda: ae.mlp_autoencoder([16, 3], loss="mse", input_shape=(1, 4, 4)), (5, 1, 4, 4)),
    "conv_autoencoder": (lambda: ae.conv_autoencoder((1, 5, 4), channels=(2,), loss="mse"), (5, 1, 5, 4)),
    "conv_autoencoder-code_dim": (lambda: ae.conv_autoencoder((1, 4, 4), channels=(2, 3), code_dim=2), (5, 1, 4, 4)),
    "stacked_autoencoder": (lambda: ae.stacked_autoencoder([6, 4, 3]), (5, 6)),
    "Autoencoder": (lambda: ae.Autoencoder(_encoder(6, 3), _decoder(3, 6), "mse"), (5, 6)),
    "DenoisingAutoencoder": (lambda: ae.DenoisingAutoencoder(_encoder(6, 3), _decoder(3, 6), noise="masking"), (5, 6)),
    "SparseAutoencoder": (lambda: ae.SparseAutoencoder(_encoder(6, 3), _decoder(3, 6), penalty="kl"), (5, 6)),
    "ContractiveAutoencoder": (lambda: ae.ContractiveAutoencoder(_encoder(6, 3), _decoder(3, 6)), (5, 6)),
    "mlp_vae-bce": (lambda: ae.mlp_vae([6, 4], 2), (5, 6)),
    "mlp_vae-mse": (lambda: ae.mlp_vae([6, 4], 2, reconstruction="mse", beta=2.0, activation="tanh"), (5, 6)),
    "mlp_vae-logvar_clip": (lambda: ae.mlp_vae([6, 4], 2, logvar_clip=0.05), (5, 6)),
    "VAE": (lambda: ae.VAE(ae.Sequential(ae.Dense(6, 4)), ae.Sequential(ae.Dense(2, 6)), 2, beta=0.5), (5, 6)),
    "conv_vae": (lambda: ae.conv_vae((1, 4, 4), channels=(2,), latent_dim=2), (5, 1, 4, 4)),
    "ConditionalVAE": (
        lambda: ae.ConditionalVAE(ae.Sequential(ae.Dense(6 + 3, 4), ae.Tanh(), ae.Dense(4, 4)),
                                  ae.Sequential(ae.Dense(2 + 3, 4), ae.Tanh(), ae.Dense(4, 6)), 2, num_classes=3),
        (5, 6),
    ),
}


def _labels(model):
    """The keyword a conditional model needs with every call, none for the others."""
    return {"labels": LABELS} if isinstance(model, ae.ConditionalVAE) else {}


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_torch(name):
    """forward, encode and decode give tinyae's values; the parameters have tinyae's names, in order."""
    make, shape = MODELS[name]
    model, x = make(), _data(shape)
    exported, kw = ae.to_torch(model), _labels(model)
    assert list(exported.state_dict()) == list(model.state_dict())
    is_vae = isinstance(model, ae.VAE)
    assert type(exported).__name__ == ("TorchConditionalVAE" if kw else "TorchVAE" if is_vae else "TorchAutoencoder")
    tx = _tensor(x)
    with torch.no_grad():
        _assert_close(model.reconstruct(x, **kw), exported(tx, **kw))
        if not is_vae:
            _assert_close(model.encode(x), exported.encode(tx))
            code = model.encode(x)
            _assert_close(model.decode(code), exported.decode(_tensor(code)))
            return
        for ours, theirs in zip(model.encode(x, **kw), exported.encode(tx, **kw), strict=True):  # mu, logvar
            _assert_close(ours, theirs)
        z = _normal((shape[0], model.latent_dim))
        _assert_close(model.decode(z, **kw), exported.decode(_tensor(z), **kw))
        assert (exported.latent_dim, exported.beta, exported.reconstruction) == (
            model.latent_dim, model.beta, model.reconstruction)
        samples = exported.sample(3, labels=1) if kw else exported.sample(3)
        assert tuple(samples.shape) == (3, *shape[1:])


@pytest.mark.parametrize("name", MODELS)
def test_round_trip(name):
    """from_torch(to_torch(m), like=m) after moving the torch weights: a new model with the torch
    module's outputs, and ``like`` unchanged."""
    make, shape = MODELS[name]
    model, x = make(), _data(shape)
    before = model.state_dict()
    exported, kw = ae.to_torch(model), _labels(model)
    _perturb(exported)
    back = ae.from_torch(exported, like=model)
    assert back is not model and type(back) is type(model)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    with torch.no_grad():
        _assert_close(back.reconstruct(x, **kw), exported(_tensor(x), **kw))
    assert not np.allclose(back.reconstruct(x, **kw), model.reconstruct(x, **kw))
    theirs = exported.state_dict()
    for key, value in ae.to_torch(back).state_dict().items():
        np.testing.assert_array_equal(value.numpy(), theirs[key].numpy(), err_msg=key)


def test_round_trip_on_every_backend(backend_name):
    """to_torch reads from any backend; from_torch lands on like's backend and dtype."""
    model = ae.conv_autoencoder((1, 4, 4), channels=(2,), code_dim=2)
    x = ae.to_backend(_data((3, 1, 4, 4)))
    exported = ae.to_torch(model)
    with torch.no_grad():
        _assert_close(model(x), exported(_tensor(x)))
    _perturb(exported)
    back = ae.from_torch(exported.double(), like=model)  # a float64 torch module into a float32 model
    assert all(ae.backend.backend_of(p.data) == backend_name for p in back.parameters())
    assert all(ae.backend.numpy_dtype(p.data) == np.float32 for p in back.parameters())
    with torch.no_grad():
        np.testing.assert_allclose(ae.to_numpy(back(x)), exported(_tensor(x).double()).numpy(), **TOL)


def test_an_exported_model_pickles():
    """The model classes live at tinyae.interop.TorchVAE & co., where pickle (torch.save) finds them."""
    exported = ae.to_torch(MODELS["ConditionalVAE"][0]())
    again = pickle.loads(pickle.dumps(exported))
    assert type(again) is interop.TorchConditionalVAE
    tx = _tensor(_data((5, 6)))
    with torch.no_grad():
        np.testing.assert_array_equal(again(tx, LABELS).numpy(), exported(tx, LABELS).numpy())


# --------------------------------------------------------------------------- #
# One training step, in torch and in tinyae
# --------------------------------------------------------------------------- #
def _assert_same_parameters(model, exported):
    ours, theirs = model.state_dict(), ae.from_torch(exported, like=model).state_dict()
    for key, value in ours.items():
        np.testing.assert_allclose(value, theirs[key], rtol=1e-5, atol=1e-5, err_msg=key)


def test_an_autoencoder_step_in_torch_is_tinyaes():
    """tinyae's BCE autoencoder (the Sigmoid folded into the loss) and Adam, against torch's
    BCELoss of forward(x) and torch.optim.Adam."""
    model, x = ae.mlp_autoencoder([6, 4, 2], loss="bce"), _data((8, 6))
    exported = ae.to_torch(model)
    terms = model.forward_backward(x)
    ae.Adam(model.parameters(), lr=1e-2).step()
    optimizer = torch.optim.Adam(exported.parameters(), lr=1e-2)
    loss = nn.BCELoss()(exported(_tensor(x)), _tensor(x))
    loss.backward()
    optimizer.step()
    assert loss.item() == pytest.approx(terms["loss"], rel=1e-5)
    _assert_same_parameters(model, exported)


@pytest.mark.parametrize("reconstruction", ["bce", "mse"])
def test_a_vae_step_in_torch_is_tinyaes(reconstruction):
    """The VAE objective written in torch: per sample, the reconstruction summed over features plus
    beta KL, averaged over the batch, with the same eps."""
    model = ae.mlp_vae([6, 4], 2, beta=2.0, reconstruction=reconstruction)
    x, eps = _data((8, 6)), _normal((8, 2), seed=1)
    exported = ae.to_torch(model)
    terms = model.forward_backward(x, eps=eps)
    ae.Adam(model.parameters(), lr=1e-2).step()
    optimizer = torch.optim.Adam(exported.parameters(), lr=1e-2)
    tx, n = _tensor(x), x.shape[0]
    mu, logvar = exported.encode(tx)
    out = exported.decoder(exported.reparameterize(mu, logvar, _tensor(eps)))  # logits or means
    if reconstruction == "bce":
        rec = nn.functional.binary_cross_entropy_with_logits(out, tx, reduction="sum") / n
    else:
        rec = torch.sum((out - tx) ** 2) / n
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - torch.exp(logvar)) / n
    loss = rec + exported.beta * kl
    loss.backward()
    optimizer.step()
    assert (rec.item(), kl.item()) == pytest.approx((terms["reconstruction"], terms["kl"]), rel=1e-5)
    _assert_same_parameters(model, exported)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #
MISMATCHES = {  # name: (like, torch module, the error's text)
    "count": (
        lambda: ae.mlp_autoencoder([6, 4, 2]),
        lambda: nn.Sequential(nn.Linear(6, 4)),
        r"the tinyae model has 4 layers with weights \(encoder.0: Dense, .*\) but the torch module has 1 "
        r"\(0: Linear\)",
    ),
    "type": (
        lambda: ae.Sequential(ae.Dense(4, 3)),
        lambda: nn.Sequential(nn.Conv2d(4, 3, 1)),
        r"layer with weights 0 does not match: tinyae 0 = Dense\(4 -> 3\), torch 0 = Conv2d\(4, 3.*\): "
        r"a Dense pairs with a torch.nn.Linear, got a Conv2d",
    ),
    "a layer tinyae lacks": (
        lambda: ae.Sequential(ae.Dense(4, 3)),
        lambda: nn.Sequential(nn.BatchNorm1d(4)),
        r"layer with weights 0 .*a Dense pairs with a torch.nn.Linear, got a BatchNorm1d",
    ),
    "shape": (
        lambda: ae.Sequential(ae.Dense(8, 4), ae.ReLU(), ae.Dense(4, 5)),
        lambda: nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(3, 5)),
        r"layer with weights 1 does not match: tinyae 2 = Dense\(4 -> 5\), torch 2 = Linear\(in_features=3, "
        r"out_features=5, bias=True\): weight shapes differ: tinyae \(4, 5\) \(Linear's layout: \(5, 4\)\), "
        r"torch \(5, 3\)",
    ),
    "bias": (
        lambda: ae.Dense(5, 3),
        lambda: nn.Linear(5, 3, bias=False),
        r"layer with weights 0 does not match: tinyae <top> = Dense\(5 -> 3\), torch <top> = .*: "
        r"the torch layer has no bias",
    ),
    "stride": (
        lambda: ae.Conv2D(1, 2, 3, stride=2, padding=1),
        lambda: nn.Conv2d(1, 2, 3, padding=1),
        r"stride differs: tinyae \(2, 2\), torch \(1, 1\)",
    ),
    "output_padding": (
        lambda: ae.ConvTranspose2D(2, 1, 3, stride=2, output_padding=1),
        lambda: nn.ConvTranspose2d(2, 1, 3, stride=2),
        r"output_padding differs: tinyae \(1, 1\), torch \(0, 0\)",
    ),
}


@pytest.mark.parametrize("name", MISMATCHES)
def test_a_mismatched_torch_module_is_refused(name):
    make_like, make_module, message = MISMATCHES[name]
    like = make_like()
    before = like.state_dict()
    with pytest.raises(ValueError, match=message):
        ae.from_torch(make_module(), like=like)
    for key, value in like.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_unknown_modules_are_named():
    class Scale(ae.Module):
        def forward(self, x):
            return 2.0 * x

    class MyDense(ae.Dense):  # a subclass may change forward: not exported as a Linear
        pass

    for module, name in ((ae.Sequential(ae.Dense(2, 2), Scale()), "Scale"), (MyDense(2, 2), "MyDense")):
        with pytest.raises(TypeError, match=rf"to_torch: no PyTorch counterpart for .*{name}"):
            ae.to_torch(module)
    class Gain(ae.Module):  # a layer with weights that no torch layer pairs with
        def __init__(self):
            super().__init__()
            self.gain = ae.Parameter(np.ones(2, dtype=np.float32), "gain")

    with pytest.raises(TypeError, match=r"from_torch: 1 is a Gain with parameters \['gain'\], which no PyTorch"):
        ae.from_torch(nn.Sequential(nn.Linear(2, 2)), like=ae.Sequential(ae.Dense(2, 2), Gain()))
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        ae.from_torch(ae.Dense(2, 2), like=ae.Dense(2, 2))


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` meets where it is not installed
    for call in (lambda: ae.to_torch(ae.ReLU()), lambda: ae.from_torch(None, like=ae.ReLU())):
        with pytest.raises(ImportError, match="pip install torch"):
            call()


def test_importing_tinyae_does_not_import_torch():
    """tinyae never depends on torch: only to_torch / from_torch import it."""
    code = "import sys, tinyae, tinyae.interop; assert 'torch' not in sys.modules, 'tinyae imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_onnx_export_falls_out_of_the_torch_path(tmp_path):
    """ONNX through torch's exporter (it needs the onnx package), checked with onnx's own reference
    evaluator: the exported graph computes what tinyae computes, for any batch size."""
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    ae.seed(0)
    model = ae.conv_autoencoder((1, 8, 8), channels=(2, 4), code_dim=3)
    path = tmp_path / "ae.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is "legacy"; the newer one also needs onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(ae.to_torch(model).eval(), (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "N"}})
    onnx.checker.check_model(onnx.load(str(path)))
    x = np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(ReferenceEvaluator(str(path)).run(None, {"x": x})[0], ae.to_numpy(model(x)),
                               rtol=1e-5, atol=1e-6)
