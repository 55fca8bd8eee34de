"""The autoencoder family: end-to-end gradient checks of every objective, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyae as ae
from tinyae import strategies as ts
from tinyae.gradcheck import check_model, compare_gradients, numerical_gradient
from tinyae.module import skipping_input_gradient


def _enc(d, k, act=ae.Sigmoid):
    return ae.Sequential(ae.Dense(d, k), act())


def _dec(k, d):
    return ae.Sequential(ae.Dense(k, d), ae.Sigmoid())


def _data(shape, seed=0):
    return ae.to_backend(np.random.default_rng(seed).uniform(0.05, 0.95, shape))


MODELS = {
    "ae-mse": lambda: ae.Autoencoder(_enc(5, 3, ae.Tanh), _dec(3, 5), "mse"),
    "ae-bce": lambda: ae.Autoencoder(_enc(5, 3, ae.Tanh), _dec(3, 5), "bce"),
    "denoising-gaussian": lambda: ae.DenoisingAutoencoder(_enc(5, 3), _dec(3, 5), noise="gaussian", noise_level=0.2),
    "denoising-masking": lambda: ae.DenoisingAutoencoder(_enc(5, 3), _dec(3, 5), noise="masking", noise_level=0.4),
    "denoising-salt-pepper": lambda: ae.DenoisingAutoencoder(_enc(5, 3), _dec(3, 5), noise="salt_pepper",
                                                             noise_level=0.4),
    "sparse-l1": lambda: ae.SparseAutoencoder(ae.Sequential(ae.Dense(5, 3)), _dec(3, 5), penalty="l1", weight=0.3),
    "sparse-kl": lambda: ae.SparseAutoencoder(_enc(5, 3), _dec(3, 5), penalty="kl", weight=0.5, target=0.1),
    "contractive": lambda: ae.ContractiveAutoencoder(_enc(5, 3), _dec(3, 5), weight=0.7),
    "vae-bce": lambda: ae.mlp_vae([5, 4], 2),
    "vae-mse-beta": lambda: ae.mlp_vae([5, 4], 2, reconstruction="mse", beta=4.0, activation="tanh"),
    "vae-logvar-clip": lambda: ae.mlp_vae([5, 4], 2, logvar_clip=0.05, activation="tanh"),
    "conv-ae": lambda: ae.conv_autoencoder((1, 5, 4), channels=(2,), loss="mse"),
    "conv-ae-code": lambda: ae.conv_autoencoder((1, 4, 4), channels=(2,), code_dim=2),
    "conv-vae": lambda: ae.conv_vae((1, 4, 4), channels=(2,), latent_dim=2),
}


@pytest.mark.parametrize("name", MODELS)
def test_forward_backward_gradients(backend_name, kernel_mode, name):
    """The whole objective's gradient, every parameter, float64, fixed noise (tolerance 1e-6)."""
    model = MODELS[name]()
    shape = (3, 1, 5, 4) if name == "conv-ae" else (3, 1, 4, 4) if name.startswith("conv") else (3, 5)
    check_model(model, _data(shape))


def test_bce_autoencoder_folds_its_sigmoid_into_the_loss(backend_name):
    """With loss="bce" and a decoder ending in a Sigmoid, training uses BCE with logits on the layers
    before it: the same value as BCE of forward(x), and a whole-objective gradient check passes."""
    for model in (MODELS["ae-bce"](), ae.stacked_autoencoder([5, 4, 3], loss="bce"), ae.mlp_autoencoder([5, 3])):
        assert model.folds_sigmoid and isinstance(model.loss, ae.BCEWithLogitsLoss)
        x = _data((6, 5))
        for p in model.parameters():
            p.data = ae.to_backend(p.data, dtype=np.float64)
        assert model.evaluate(x)["loss"] == pytest.approx(ae.BCELoss()(model(x), x), rel=1e-12)
        check_model(model, x)
    plain = ae.Autoencoder(_enc(5, 3), ae.Sequential(ae.Dense(3, 5), ae.Sigmoid(), ae.Dense(5, 5)), "bce")
    assert not plain.folds_sigmoid and isinstance(plain.loss, ae.BCELoss)


def test_conditional_vae_gradients(backend_name):
    model = ae.ConditionalVAE(ae.Sequential(ae.Dense(5 + 3, 4), ae.Tanh(), ae.Dense(4, 4)),
                              ae.Sequential(ae.Dense(2 + 3, 4), ae.Tanh(), ae.Dense(4, 5)), latent_dim=2, num_classes=3)
    check_model(model, _data((4, 5)), labels=np.array([0, 2, 1, 2]))


def test_vae_uses_the_given_eps(backend_name):
    model = ae.mlp_vae([5, 4], 2)
    x = _data((3, 5))
    eps = ae.to_backend(np.zeros((3, 2)), dtype=np.float32)
    x32 = ae.to_backend(x, dtype=np.float32)
    with_zero_noise = model.evaluate(x32, eps=eps)
    assert model.evaluate(x32, eps=eps) == with_zero_noise  # deterministic given eps
    report = check_model(model, x, eps=ae.to_backend(np.random.default_rng(1).standard_normal((3, 2))))
    assert report.passed


# --------------------------------------------------------------------------- #
# The penalties alone
# --------------------------------------------------------------------------- #
@given(batch=ts.batch_sizes, units=ts.feature_sizes, rho=st.floats(0.05, 0.5), data=st.data())
def test_kl_sparsity_gradient(backend_name, batch, units, rho, data):
    h = ae.to_backend(data.draw(ts.probabilities((batch, units), 0.05, 0.95)))
    _, grad = ae.kl_sparsity(h, rho)
    check = compare_gradients("h", grad, numerical_gradient(lambda v: ae.kl_sparsity(v, rho)[0], h))
    assert check.passed, str(check)


@given(batch=ts.batch_sizes, units=ts.feature_sizes, data=st.data())
def test_l1_penalty_gradient(backend_name, batch, units, data):
    h = ae.to_backend(data.draw(ts.arrays((batch, units), min_magnitude=0.1)))
    _, grad = ae.l1_penalty(h)
    check = compare_gradients("h", grad, numerical_gradient(lambda v: ae.l1_penalty(v)[0], h))
    assert check.passed, str(check)


@given(batch=ts.batch_sizes, d=ts.feature_sizes, k=ts.feature_sizes, data=st.data())
def test_contractive_penalty_gradient(backend_name, batch, d, k, data):
    """dC/dW through both paths (the weight norms and the code) against finite differences."""
    model = ae.ContractiveAutoencoder(_enc(d, k), _dec(k, d), weight=1.0)
    x = ae.to_backend(data.draw(ts.arrays((batch, d))))
    dense = model.encoder[0]
    dense.weight.data = ae.to_backend(dense.weight.data, dtype=np.float64)
    dense.bias.data = ae.to_backend(dense.bias.data, dtype=np.float64)

    def penalty(w):
        dense.weight.data = w
        return model.contractive_penalty(model.encoder(x))[0]

    w0 = dense.weight.data
    numerical = numerical_gradient(penalty, w0)
    dense.weight.data = w0
    dense.weight.zero_grad()
    _, grad_h, grad_w = model.contractive_penalty(model.encoder(x))
    model.encoder.backward(grad_h)
    check = compare_gradients("weight", dense.weight.grad + grad_w, numerical)
    assert check.passed, str(check)


def test_contractive_penalty_equals_the_jacobian_norm():
    """C = mean over samples of ||dh/dx||_F^2, the Jacobian computed by finite differences."""
    model = ae.ContractiveAutoencoder(_enc(4, 3), _dec(3, 4))
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    x = np.random.default_rng(0).standard_normal((2, 4))
    jac_norms = []
    for row in x:
        jac = np.stack([(model.encode(row[None] + 1e-6 * e) - model.encode(row[None] - 1e-6 * e))[0] / 2e-6
                        for e in np.eye(4)])
        jac_norms.append(np.sum(jac**2))
    value = model.contractive_penalty(model.encode(x))[0]
    assert value == pytest.approx(np.mean(jac_norms), rel=1e-6)


# --------------------------------------------------------------------------- #
# Behaviour and errors
# --------------------------------------------------------------------------- #
def test_denoising_corrupts_only_in_training():
    ae.seed(0)
    model = ae.DenoisingAutoencoder(_enc(50, 4), _dec(4, 50), noise="masking", noise_level=0.5)
    x = np.full((40, 50), 0.5, dtype=np.float32)
    corrupted = model.corrupt(x)
    assert abs(float(np.mean(corrupted == 0)) - 0.5) < 0.05
    salt_pepper = ae.DenoisingAutoencoder(_enc(50, 4), _dec(4, 50), noise="salt_pepper", noise_level=0.2).corrupt(x)
    assert abs(float(np.mean(salt_pepper == 1)) - 0.1) < 0.03 and abs(float(np.mean(salt_pepper == 0)) - 0.1) < 0.03
    gaussian = ae.DenoisingAutoencoder(_enc(50, 4), _dec(4, 50), noise_level=2.0).corrupt(x)
    assert gaussian.min() >= 0 and gaussian.max() <= 1  # clipped to the data range
    model.eval()
    assert model.evaluate(x) == ae.Autoencoder(model.encoder, model.decoder, "mse").evaluate(x)


def test_vae_sample_and_decode_are_probabilities(backend_name):
    model = ae.mlp_vae([6, 5], 3)
    samples = ae.to_numpy(model.sample(7))
    assert samples.shape == (7, 6) and samples.min() >= 0 and samples.max() <= 1
    mu, logvar = model.encode(ae.to_backend(np.ones((2, 6), dtype=np.float32)))
    assert tuple(mu.shape) == tuple(logvar.shape) == (2, 3)


def test_conditional_vae_generates_the_chosen_class():
    model = ae.ConditionalVAE(_enc(6 + 4, 4), ae.Sequential(ae.Dense(2 + 4, 6)), 2, 4)
    assert ae.to_numpy(model.sample(5, labels=3)).shape == (5, 6)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\), got \[0, 7\]"):
        model.sample(2, labels=[0, 7])
    with pytest.raises(ValueError, match="labels must be integers in \\[0, 4\\), got dtype float64"):
        model.sample(2, labels=[0.7, 2.9])  # would otherwise be truncated to classes 0 and 2
    assert ae.to_numpy(model.sample(3, labels=np.int64(2))).shape == (3, 6)
    with pytest.raises(ValueError, match="labels are required"):
        model.forward_backward(np.ones((2, 6), dtype=np.float32))


def _inits(model):
    return [(type(m).__name__, m.init) for m in model.modules() if hasattr(m, "init")]


def test_builders_initialise_each_layer_for_the_activation_after_it():
    """He before a ReLU; Glorot before a sigmoid, a tanh, and linear outputs (codes, mu/logvar, logits)."""
    assert _inits(ae.mlp_autoencoder([64, 32, 8])) == [("Dense", "he"), ("Dense", "xavier"),  # code: linear
                                                       ("Dense", "he"), ("Dense", "xavier")]  # output: sigmoid
    assert _inits(ae.mlp_autoencoder([64, 8], activation="tanh", code_activation="relu", loss="mse")) == [
        ("Dense", "he"), ("Dense", "xavier")]
    assert _inits(ae.mlp_vae([64, 32], 4)) == [("Dense", "he"), ("Dense", "xavier"), ("Dense", "he"),
                                               ("Dense", "xavier")]  # mu/logvar and logits are linear
    assert _inits(ae.stacked_autoencoder([64, 32, 8], activation="relu", loss="mse")) == [
        ("Dense", "he"), ("Dense", "he"), ("Dense", "he"), ("Dense", "xavier")]
    assert _inits(ae.conv_vae((1, 8, 8), channels=(4, 8), latent_dim=2)) == [
        ("Conv2D", "he"), ("Conv2D", "he"), ("Dense", "xavier"), ("Dense", "he"),
        ("ConvTranspose2D", "he"), ("ConvTranspose2D", "xavier")]


def test_builders_take_torchs_default_init_everywhere():
    for model in (ae.mlp_autoencoder([64, 32, 8], init="torch"), ae.mlp_vae([64, 32], 4, init="torch"),
                  ae.conv_vae((1, 8, 8), channels=(4, 8), latent_dim=2, init="torch"),
                  ae.conv_autoencoder((1, 8, 8), channels=(4,), code_dim=3, init="torch"),
                  ae.stacked_autoencoder([64, 32, 8], init="torch")):
        assert {init for _, init in _inits(model)} == {"torch"}
    with pytest.raises(ValueError, match=r"init must be one of \('rule', 'torch'\), got 'he'"):
        ae.mlp_autoencoder([64, 8], init="he")


def test_builders_restore_the_input_shape():
    for shape in [(1, 28, 28), (1, 8, 8), (2, 7, 9)]:
        model = ae.conv_autoencoder(shape)
        x = np.zeros((2, *shape), dtype=np.float32)
        assert model(x).shape == x.shape
    mlp = ae.mlp_autoencoder([64, 16, 2], input_shape=(1, 8, 8))
    assert mlp(np.zeros((3, 1, 8, 8), dtype=np.float32)).shape == (3, 1, 8, 8)
    assert mlp.encode(np.zeros((3, 1, 8, 8), dtype=np.float32)).shape == (3, 2)
    assert [type(m).__name__ for m in ae.mlp_autoencoder([784, 128, 64, 32]).encoder] == [
        "Dense", "ReLU", "Dense", "ReLU", "Dense"]
    vae = ae.conv_vae((1, 8, 8), latent_dim=3)
    assert vae.reconstruct(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape == (2, 1, 8, 8)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: ae.Autoencoder(_enc(2, 1), _dec(1, 2), loss="l2"), ValueError, "loss must be one of"),
        (lambda: ae.DenoisingAutoencoder(_enc(2, 1), _dec(1, 2), noise="blur"), ValueError, "noise must be one of"),
        (lambda: ae.DenoisingAutoencoder(_enc(2, 1), _dec(1, 2), noise="masking", noise_level=1.5), ValueError,
         "noise_level"),
        (lambda: ae.ContractiveAutoencoder(ae.Sequential(ae.Dense(2, 1), ae.ReLU()), _dec(1, 2)), ValueError,
         r"must be Sequential\(Dense\(d, k\), Sigmoid\(\)\)"),
        (lambda: ae.mlp_autoencoder([784, 32], input_shape=(1, 8, 8)), ValueError, "sizes\\[0\\] = 784 must equal"),
        (lambda: ae.VAE(_enc(4, 3), _dec(2, 4), 2).forward_backward(np.ones((1, 4), dtype=np.float32)), ValueError,
         r"expected the encoder to output \(N, 4\).*got \(1, 3\)"),
        (lambda: ae.mlp_vae([4, 3], 2).backward(None), NotImplementedError, "use forward_backward"),
        # the KL penalty is defined for mean activations in (0, 1): a tanh code is refused when built
        (lambda: ae.SparseAutoencoder(_enc(2, 2, ae.Tanh), _dec(2, 2), penalty="kl"), ValueError,
         r"penalty='kl' needs a code in \(0, 1\): the encoder must end in a Sigmoid"),
        (lambda: ae.kl_sparsity(np.array([[-0.5, 0.2], [0.1, 0.3]], dtype=np.float32), 0.05), ValueError,
         r"strictly inside \(0, 1\).*\[-0.2, 0.25\]"),
    ],
)
def test_model_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


# --------------------------------------------------------------------------- #
# The encoder's backward pass without the data's gradient (needs_input_grad)
# --------------------------------------------------------------------------- #
class _DenseWithItsOwnBackward(ae.Dense):
    """A subclass that writes its own backward (as an exercise does): it must still run."""

    flags: list[bool] = []

    def backward(self, grad_out):
        type(self).flags.append(self.needs_input_grad)
        return ae.Dense.backward(self, grad_out)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: ae.Sequential(ae.Dense(6, 4), ae.ReLU(), ae.Dense(4, 3)), (5, 6)),
        (lambda: ae.Sequential(ae.Flatten(), ae.Dense(8, 3), ae.Tanh()), (5, 2, 2, 2)),
        (lambda: ae.Sequential(ae.Sequential(ae.Dense(6, 4), ae.Sigmoid()), ae.Dense(4, 3)), (5, 6)),
        (lambda: ae.Sequential(ae.Conv2D(2, 3, 3, stride=2, padding=1), ae.ReLU(), ae.Conv2D(3, 4, 2)), (5, 2, 5, 5)),
        (lambda: ae.Sequential(ae.ConvTranspose2D(2, 3, 3, stride=2), ae.ReLU(), ae.Conv2D(3, 4, 2)), (5, 2, 3, 3)),
        (lambda: ae.Sequential(ae.Sigmoid(), ae.Dense(6, 3)), (5, 6)),
        (lambda: ae.Dense(6, 3), (5, 6)),
    ],
)
def test_skipping_the_input_gradient_keeps_every_parameter_gradient(backend_name, make, shape):
    rng = np.random.default_rng(3)
    ae.seed(0)
    full = make()
    ae.seed(0)
    skipping = make()  # the same weights
    x = ae.to_backend(rng.standard_normal(shape), dtype=np.float32)
    g = ae.to_backend(rng.standard_normal(tuple(full(x).shape)), dtype=np.float32)
    assert full.backward(g) is not None
    skipping(x)
    with skipping_input_gradient(skipping) as marked:
        assert marked is not None and marked.needs_input_grad is False and marked.parameters()
        assert skipping.backward(g) is None
    assert marked.needs_input_grad is True  # as it was
    for a, b in zip(full.parameters(), skipping.parameters()):
        np.testing.assert_allclose(ae.to_numpy(b.grad), ae.to_numpy(a.grad), rtol=1e-6, atol=1e-7)


def test_the_flag_is_put_back_after_an_exception_and_a_wrong_layer_is_refused():
    net = ae.Sequential(ae.Dense(4, 3), ae.ReLU(), ae.Dense(3, 2))
    with pytest.raises(KeyboardInterrupt), skipping_input_gradient(net):
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of a step
    assert net[0].needs_input_grad is True and "needs_input_grad" not in vars(net[0])
    net[2].needs_input_grad = False  # by hand, on the wrong layer: Dense(4 -> 3) would learn nothing
    net(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match=r"layer 2 \(Dense\(3 -> 2\)\) has needs_input_grad = False .* layer 0"):
        net.backward(np.ones((2, 2), dtype=np.float32))


def test_models_skip_the_datas_gradient_only_during_their_backward_pass():
    """forward_backward runs the first layer's own backward with needs_input_grad False; outside it the
    layers are left as they were: model.backward returns dL/dx, and the encoder can be reused elsewhere."""
    encoder = ae.Sequential(_DenseWithItsOwnBackward(4, 3), ae.ReLU())
    model = ae.Autoencoder(encoder, ae.Sequential(ae.Dense(3, 4)))
    _DenseWithItsOwnBackward.flags.clear()
    x = np.ones((2, 4), dtype=np.float32)
    model.forward_backward(x)
    assert _DenseWithItsOwnBackward.flags == [False] and encoder[0].needs_input_grad is True
    model(x)
    assert model.backward(np.ones((2, 4), dtype=np.float32)).shape == (2, 4)
    bigger = ae.Autoencoder(ae.Sequential(ae.Dense(6, 4), ae.ReLU(), encoder), ae.Sequential(ae.Dense(3, 6)))
    bigger.forward_backward(np.ones((2, 6), dtype=np.float32))  # encoder's Dense is not first here
    assert _DenseWithItsOwnBackward.flags[-1] is True


def test_pretraining_leaves_the_stacked_model_trainable_end_to_end():
    """pretrain_layerwise trains block k as its own autoencoder (its input, the codes, is data then);
    afterwards the whole model's backward still reaches every block."""
    model = ae.stacked_autoencoder([8, 6, 4], loss="mse")
    x = np.random.default_rng(0).uniform(0, 1, (32, 8)).astype(np.float32)
    ae.pretrain_layerwise(model, x, epochs=1, batch_size=16, progress=False)
    model.zero_grad()
    model.forward_backward(x)
    assert all(np.any(ae.to_numpy(p.grad)) for p in model.parameters())


def test_vae_objective_value_by_hand(backend_name):
    """The loss is, per sample, BCE summed over features plus beta * KL, then the batch mean."""
    model = ae.mlp_vae([4, 3], 2, beta=2.0)
    for p in model.parameters():
        p.data = ae.to_backend(p.data, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (5, 4))
    eps = rng.standard_normal((5, 2))
    terms = model.evaluate(ae.to_backend(x), eps=ae.to_backend(eps))
    h = ae.to_numpy(model.encoder(ae.to_backend(x)))
    mu, logvar = h[:, :2], h[:, 2:]
    logits = ae.to_numpy(model.decoder(ae.to_backend(mu + np.exp(logvar / 2) * eps)))
    bce = np.logaddexp(0, logits) - x * logits  # -[x log s(l) + (1 - x) log(1 - s(l))]
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)
    assert terms["reconstruction"] == pytest.approx(bce.sum(axis=1).mean(), rel=1e-12)
    assert terms["kl"] == pytest.approx(kl.mean(), rel=1e-12)
    assert terms["loss"] == pytest.approx((bce.sum(axis=1) + 2.0 * kl).mean(), rel=1e-12)


def test_denoising_reconstructs_the_clean_input():
    """The target is the clean x: the loss is L(g(f(x~)), x), not L(g(f(x~)), x~)."""
    model = ae.DenoisingAutoencoder(_enc(6, 3), _dec(3, 6), "mse", noise="masking", noise_level=0.5)
    x = np.random.default_rng(0).uniform(0.2, 1.0, (8, 6)).astype(np.float32)
    corrupted = model.corrupt(x)
    value = model.evaluate(x, corrupted=corrupted)["reconstruction"]
    assert value == pytest.approx(float(np.mean((model(corrupted) - x) ** 2)), rel=1e-6)
    assert value != pytest.approx(float(np.mean((model(corrupted) - corrupted) ** 2)), rel=1e-3)


# --------------------------------------------------------------------------- #
# Hyper-parameters that would surface later as a NaN blamed on something else
# --------------------------------------------------------------------------- #
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda v: ae.VAE(_enc(4, 4), _dec(2, 4), 2, beta=v), "VAE: beta must be a finite number in"),
        (lambda v: ae.VAE(_enc(4, 4), _dec(2, 4), 2, logvar_clip=v), "VAE: logvar_clip must be a finite number"),
        (lambda v: ae.DenoisingAutoencoder(_enc(2, 1), _dec(1, 2), noise_level=v),
         r"noise_level \(noise='gaussian'\) must be a finite number"),
        (lambda v: ae.DenoisingAutoencoder(_enc(2, 1), _dec(1, 2), noise="masking", noise_level=v),
         r"noise_level \(noise='masking'\) must be a finite number in \[0, 1\]"),
        (lambda v: ae.DenoisingAutoencoder(_enc(2, 1), _dec(1, 2), clip=(0.0, v)), "clip must be a finite number"),
        (lambda v: ae.SparseAutoencoder(_enc(2, 1), _dec(1, 2), weight=v), "SparseAutoencoder: weight must be"),
        (lambda v: ae.SparseAutoencoder(_enc(2, 1), _dec(1, 2), penalty="kl", target=v), "target must be"),
        (lambda v: ae.ContractiveAutoencoder(_enc(2, 1), _dec(1, 2), weight=v), "ContractiveAutoencoder: weight"),
    ],
)
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_models_refuse_non_finite_hyper_parameters(make, message, value):
    with pytest.raises(ValueError, match=message):
        make(value)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ae.VAE(_enc(4, 4), _dec(2, 4), 2.5), r"latent_dim must be an integer, got 2.5"),
        (lambda: ae.ConditionalVAE(_enc(6, 4), _dec(4, 4), 2, num_classes=2.0), "num_classes must be an integer"),
        (lambda: ae.DenoisingAutoencoder(_enc(2, 1), _dec(1, 2), clip=(1.0, 0.0)), "low < high"),
        (lambda: ae.mlp_vae([4, 3], 2).sample(0), "n must be >= 1"),
    ],
)
def test_models_refuse_malformed_sizes(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


@pytest.mark.parametrize(
    "make",
    [lambda: ae.mlp_autoencoder([4, 2]), lambda: ae.mlp_vae([4, 3], 2),
     lambda: ae.SparseAutoencoder(_enc(4, 2), _dec(2, 4), penalty="kl")],
)
def test_models_refuse_an_empty_batch(make):
    model = make()
    for run in (model.forward_backward, model.evaluate):
        with pytest.raises(ValueError, match=r"expected a batch of at least one sample, got shape \(0, 4\)"):
            run(np.zeros((0, 4), np.float32))


def test_vae_eps_must_match_the_model(backend_name):
    model = ae.mlp_vae([4, 3], 2)
    x = ae.to_backend(np.full((2, 4), 0.5), dtype=np.float32)
    if backend_name == "strict":
        with pytest.raises(TypeError, match="VAE: backends differ: eps is on 'numpy', the model on 'strict'"):
            model.forward_backward(x, eps=np.zeros((2, 2), np.float32))
    with pytest.raises(TypeError, match="VAE: expected eps of dtype float32"):
        model.forward_backward(x, eps=ae.to_backend(np.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"expected eps of shape \(2, 2\), got \(2, 3\)"):
        model.forward_backward(x, eps=ae.to_backend(np.zeros((2, 3)), dtype=np.float32))


def test_objective_terms_are_arrays_and_forward_backward_their_floats(backend_name):
    """objective_terms keeps the terms on the device (what fit reads once per step); forward_backward
    gives the same numbers as floats."""
    x = ae.to_backend(np.random.default_rng(1).uniform(0.1, 0.9, (3, 4)), dtype=np.float32)
    ae.seed(3)
    model = ae.mlp_vae([4, 3], 2)
    eps = ae.to_backend(np.random.default_rng(2).normal(size=(3, 2)), dtype=np.float32)
    terms = model.objective_terms(x, backward=False, eps=eps)
    assert set(terms) == {"loss", "reconstruction", "kl"}
    assert all(not isinstance(v, float) and ae.backend.backend_of(v) == backend_name for v in terms.values())
    floats = model.evaluate(x, eps=eps)
    assert all(type(v) is float for v in floats.values())
    assert floats == pytest.approx({k: float(v) for k, v in terms.items()}, rel=1e-6)


def test_forward_backward_names_a_non_finite_term():
    model = ae.mlp_autoencoder([2, 1], loss="mse")
    with pytest.raises(FloatingPointError, match=r"Autoencoder: expected finite loss terms, got loss = nan, "
                                                 r"reconstruction = nan; MSELoss.*2 NaN/inf entries and the target 1"):
        model.forward_backward(np.array([[np.nan, 0.0]], np.float32))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_bce_model_without_a_sigmoid_names_the_range_its_output_left():
    """The loss's own diagnosis reaches forward_backward and fit, not only a direct loss(pred, x)."""
    model = ae.Autoencoder(ae.Sequential(ae.Dense(2, 2)), ae.Sequential(ae.Dense(2, 2)), loss="bce")
    model.decoder[0].bias.data[...] = 5.0  # outputs near 5: no probabilities
    x = np.full((4, 2), 0.5, np.float32)
    message = r"reconstruction = nan; BCELoss\(reduction='mean'\): expected predictions in \[0, 1\]"
    with pytest.raises(FloatingPointError, match=message):
        model.forward_backward(x)
    with pytest.raises(ae.TrainingDiverged, match=message):
        ae.fit(model, ae.SGD(model.parameters(), 1e-3), x, epochs=1, progress=False)


def test_a_classifier_takes_labels_or_soft_targets_not_both():
    from tinyae.models.classifier import Classifier

    model = Classifier(ae.Sequential(), ae.Dense(2, 3), num_classes=3)
    x, y = np.full((4, 2), 0.5, np.float32), np.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match="labels= \\(integers\\) or target= \\(probabilities\\), not both"):
        model.forward_backward(x, target=np.full((4, 3), 1 / 3, np.float32), labels=y)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_classifier_whose_loss_overflows_gets_its_losss_diagnosis():
    """The diagnosis follows the model's loss term (cross_entropy here), not only a reconstruction."""
    from tinyae.models.classifier import Classifier

    model = Classifier(ae.Sequential(), ae.Dense(2, 2), num_classes=2)
    model.head.weight.data[...] = 0.0
    model.head.bias.data[...] = np.array([3e38, -3e38], np.float32)  # finite logits, z - max(z) overflows
    x, y = np.full((4, 2), 0.5, np.float32), np.array([0, 1, 0, 1])
    message = r"cross_entropy = nan; SoftmaxCrossEntropyLoss.*the logits and targets are finite but the loss is not"
    with pytest.raises(FloatingPointError, match=message):
        model.forward_backward(x, labels=y)
    with pytest.raises(ae.TrainingDiverged, match=message):
        ae.fit(model, ae.SGD(model.parameters(), 1e-3), x, labels=y, epochs=1, progress=False)


def test_kl_sparsity_accepts_a_sigmoid_subclass_and_shape_layers_after_it():
    class MySigmoid(ae.Sigmoid):  # e.g. a student's, from exercises/sigmoid.py
        pass

    for encoder in (ae.Sequential(ae.Dense(4, 2), MySigmoid()),
                    ae.Sequential(ae.Dense(4, 4), ae.Sigmoid(), ae.Reshape(1, 2, 2), ae.Flatten())):
        model = ae.SparseAutoencoder(encoder, _dec(encoder[0].out_features, 4), penalty="kl")
        assert np.isfinite(model.forward_backward(np.full((3, 4), 0.5, np.float32))["sparsity"])
