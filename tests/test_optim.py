"""Optimizers against steps computed by hand, schedules, and a model that really learns."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import tinyae as ae

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, -0.3, -1.0]), np.array([-0.2, 0.4, 0.0])]
START = np.array([1.0, -2.0, 0.5])


def _run(make_optimizer, grads=GRADS, start=START):
    """Apply the given gradients one step each; return the parameter after every step."""
    p = ae.Parameter(ae.to_backend(start.copy()))
    opt = make_optimizer([p])
    history = []
    for g in grads:
        p.grad = ae.to_backend(g.copy())
        opt.step()
        history.append(ae.to_numpy(p.data).copy())
    return history


def test_sgd_by_hand(backend_name):
    got = _run(lambda ps: ae.SGD(ps, lr=0.1))
    expected = START - 0.1 * GRADS[0]
    np.testing.assert_allclose(got[0], expected)
    np.testing.assert_allclose(got[2], START - 0.1 * (GRADS[0] + GRADS[1] + GRADS[2]))


def test_sgd_momentum_by_hand(backend_name):
    got = _run(lambda ps: ae.SGD(ps, lr=0.1, momentum=0.9))
    v1 = GRADS[0]
    v2 = 0.9 * v1 + GRADS[1]
    v3 = 0.9 * v2 + GRADS[2]
    np.testing.assert_allclose(got[0], START - 0.1 * v1)
    np.testing.assert_allclose(got[1], START - 0.1 * (v1 + v2))
    np.testing.assert_allclose(got[2], START - 0.1 * (v1 + v2 + v3))


def _adam_by_hand(lr, b1, b2, eps, wd):
    theta, m, v = START.copy(), np.zeros(3), np.zeros(3)
    out = []
    for t, g in enumerate(GRADS, start=1):
        theta = theta * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_by_hand(backend_name, weight_decay):
    got = _run(lambda ps: ae.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay))
    for a, b in zip(got, _adam_by_hand(0.01, 0.8, 0.99, 1e-6, weight_decay)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_adam_first_step_is_lr_times_sign():
    got = _run(lambda ps: ae.Adam(ps, lr=0.05))
    # m_hat = g and v_hat = g^2 at t = 1, so the step is lr g / (|g| + eps) = lr sign(g)
    np.testing.assert_allclose(got[0], START - 0.05 * np.sign(GRADS[0]), rtol=1e-6)


def test_adamw_decay_alone_shrinks_geometrically():
    zeros = [np.zeros(3)] * 4
    got = _run(lambda ps: ae.Adam(ps, lr=0.1, weight_decay=0.5), grads=zeros)
    np.testing.assert_allclose(got[-1], START * (1 - 0.1 * 0.5) ** 4)


def test_optimizer_keeps_float32_and_moves_with_to():
    p = ae.Parameter(np.ones(4, dtype=np.float32))
    opt = ae.Adam([p], lr=0.1)
    p.grad = np.full(4, 0.5, dtype=np.float32)
    opt.step()
    assert p.data.dtype == np.float32 and opt.state[0]["m"].dtype == np.float32
    p.to("strict")
    opt.to("strict")
    assert ae.backend.backend_of(opt.state[0]["v"]) == "strict"
    opt.step()  # moments and parameter on the same backend: no error
    assert ae.backend.backend_of(p.data) == "strict"


def test_model_moved_without_its_optimizer_is_a_clear_error_and_to_keeps_moments(rng):
    g = rng.standard_normal((3, 2)).astype(np.float32)
    results = []
    for move_optimizer in (True, False):
        ae.seed(0)
        layer = ae.Dense(3, 2)
        opt = ae.Adam(layer.parameters(), lr=0.1)
        layer.weight.grad = g.copy()
        opt.step()
        layer.to("strict")
        if move_optimizer:
            opt.to("strict")
            layer.weight.grad = ae.to_backend(g, "strict")
            opt.step()
            results.append(ae.to_numpy(layer.weight.data))
        else:
            with pytest.raises(RuntimeError, match=r"optimizer state is on 'numpy'.*call optimizer.to\(name\)"):
                opt.step()
    # the same two steps entirely on numpy
    ae.seed(0)
    layer = ae.Dense(3, 2)
    opt = ae.Adam(layer.parameters(), lr=0.1)
    for _ in range(2):
        layer.weight.grad = g.copy()
        opt.step()
    np.testing.assert_array_equal(results[0], layer.weight.data)


def test_adam_state_holds_the_textbook_moments(backend_name):
    """state["m"] and state["v"] are m and v of docs/adam.md (no folded constants)."""
    p = ae.Parameter(ae.to_backend(START.copy()))
    opt = ae.Adam([p], lr=0.01, betas=(0.8, 0.99))
    m, v = np.zeros(3), np.zeros(3)
    for g in GRADS:
        p.grad = ae.to_backend(g.copy())
        opt.step()
        m, v = 0.8 * m + 0.2 * g, 0.99 * v + 0.01 * g**2
        np.testing.assert_allclose(ae.to_numpy(opt.state[0]["m"]), m, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ae.to_numpy(opt.state[0]["v"]), v, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["fast", "reference"])
def test_optimizer_matches_torch_when_available(mode):
    """Parameters and moments equal torch's AdamW (exp_avg, exp_avg_sq) after the same steps."""
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(0).standard_normal((5, 3))
    grads = [np.random.default_rng(i).standard_normal((5, 3)) for i in range(1, 6)]
    ours = ae.Parameter(w0.copy())
    theirs = torch.tensor(w0.copy(), requires_grad=True)
    opt_ours = ae.Adam([ours], lr=0.01, weight_decay=0.05)
    opt_theirs = torch.optim.AdamW([theirs], lr=0.01, weight_decay=0.05)
    with ae.kernels.using(mode):
        for g in grads:
            ours.grad = g.copy()
            theirs.grad = torch.tensor(g)
            opt_ours.step()
            opt_theirs.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10)
    state = opt_theirs.state[theirs]
    np.testing.assert_allclose(opt_ours.state[0]["m"], state["exp_avg"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(opt_ours.state[0]["v"], state["exp_avg_sq"].numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: ae.SGD(p, lr=0), r"SGD: lr must be a finite number in \(0, inf.*, got 0.0"),
        (lambda p: ae.SGD(p, lr=0.1, momentum=1.0), r"momentum must be a finite number in \[0, 1\)"),
        (lambda p: ae.Adam(p, betas=(0.9, 1.0)), r"betas\[1\] must be a finite number in \[0, 1\), got 1.0"),
        (lambda p: ae.Adam(p, betas=0.9), r"betas must be a pair \(beta1, beta2\), got 0.9"),
        (lambda p: ae.Adam(p, lr="1e-3"), "Adam: lr must be a real number, got '1e-3'"),
        (lambda p: ae.Adam([]), "empty parameter list"),
        (lambda p: ae.Adam([np.zeros(3)]), "expected a Parameter"),
    ],
)
def test_bad_optimizer_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make([ae.Parameter(np.zeros(2))])


# --------------------------------------------------------------------------- #
# Schedules
# --------------------------------------------------------------------------- #
def _opt(lr=1.0):
    return ae.SGD([ae.Parameter(np.zeros(1))], lr=lr)


# Each float or int argument of each optimizer and schedule, given a non-finite value: refused at
# once, naming it (Adam(lr=inf), eps=nan, weight_decay=nan, StepLR(step_size=nan), min_lr=nan and
# ReduceLROnPlateau's patience, threshold, cooldown were taken, and turned up later as a NaN loss
# or a "cannot convert float NaN to integer").
NON_FINITE_ARGUMENTS = {
    "SGD-lr": lambda v: ae.SGD(_opt().params, lr=v),
    "SGD-momentum": lambda v: ae.SGD(_opt().params, lr=0.1, momentum=v),
    "Adam-lr": lambda v: ae.Adam(_opt().params, lr=v),
    "Adam-betas[0]": lambda v: ae.Adam(_opt().params, betas=(v, 0.999)),
    "Adam-betas[1]": lambda v: ae.Adam(_opt().params, betas=(0.9, v)),
    "Adam-eps": lambda v: ae.Adam(_opt().params, eps=v),
    "Adam-weight_decay": lambda v: ae.Adam(_opt().params, weight_decay=v),
    "StepLR-step_size": lambda v: ae.StepLR(_opt(), step_size=v),
    "StepLR-gamma": lambda v: ae.StepLR(_opt(), step_size=2, gamma=v),
    "CosineAnnealingLR-t_max": lambda v: ae.CosineAnnealingLR(_opt(), t_max=v),
    "CosineAnnealingLR-min_lr": lambda v: ae.CosineAnnealingLR(_opt(), t_max=4, min_lr=v),
    "ReduceLROnPlateau-factor": lambda v: ae.ReduceLROnPlateau(_opt(), factor=v),
    "ReduceLROnPlateau-patience": lambda v: ae.ReduceLROnPlateau(_opt(), patience=v),
    "ReduceLROnPlateau-threshold": lambda v: ae.ReduceLROnPlateau(_opt(), threshold=v),
    "ReduceLROnPlateau-cooldown": lambda v: ae.ReduceLROnPlateau(_opt(), cooldown=v),
    "ReduceLROnPlateau-min_lr": lambda v: ae.ReduceLROnPlateau(_opt(), min_lr=v),
}


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("case", NON_FINITE_ARGUMENTS)
def test_non_finite_optimizer_and_schedule_arguments_are_refused(case, value):
    owner, name = case.split("-")
    with pytest.raises((ValueError, TypeError)) as info:
        NON_FINITE_ARGUMENTS[case](value)
    assert str(info.value).startswith(f"{owner}: {name} must be") and repr(value) in str(info.value), info.value


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: ae.StepLR(_opt(), step_size=2.5), TypeError, "StepLR: step_size must be an integer, got 2.5"),
        (lambda: ae.ReduceLROnPlateau(_opt(), patience=1.5), TypeError, "patience must be an integer, got 1.5"),
        # a negative margin counted a worse metric as an improvement; a negative patience or
        # min_lr reduced the lr at every epoch, down to a negative lr
        (lambda: ae.ReduceLROnPlateau(_opt(), threshold=-0.1), ValueError, "threshold must be a finite number in"),
        (lambda: ae.ReduceLROnPlateau(_opt(), patience=-1), ValueError, "patience must be >= 0, got -1"),
        (lambda: ae.ReduceLROnPlateau(_opt(), min_lr=-1e-3), ValueError, "min_lr must be a finite number in"),
        (lambda: ae.CosineAnnealingLR(_opt(), t_max=4, min_lr=-1.0), ValueError, "min_lr must be a finite number"),
        (lambda: ae.ReduceLROnPlateau("adam"), TypeError, "ReduceLROnPlateau: expected an Optimizer, got str"),
    ],
)
def test_bad_schedule_arguments(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_step_lr():
    opt = _opt()
    sched = ae.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]


def test_cosine_annealing():
    opt = _opt(2.0)
    sched = ae.CosineAnnealingLR(opt, t_max=4, min_lr=0.0)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [2 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (1, 2, 3, 4, 4)], atol=1e-12)


def test_reduce_on_plateau():
    opt = _opt()
    sched = ae.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=0.2)
    lrs = []
    for metric in [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]:
        sched.step(metric)
        lrs.append(opt.lr)
    # improves at epochs 1, 2 and 6; three bad epochs in a row (more than patience=2) halve the lr
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]
    with pytest.raises(ValueError, match="finite metric, got nan"):
        sched.step(float("nan"))


# --------------------------------------------------------------------------- #
# Behaviour: a small autoencoder really learns
# --------------------------------------------------------------------------- #
def test_mlp_autoencoder_learns_low_rank_data(backend_name):
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((256, 3))
    data = np.tanh(codes @ rng.standard_normal((3, 16))).astype(np.float32)  # a 3-D manifold in 16-D
    x = ae.to_backend(data)
    model = ae.Sequential(ae.Dense(16, 32), ae.Tanh(), ae.Dense(32, 4), ae.Dense(4, 32), ae.Tanh(),
                          ae.Dense(32, 16))
    opt = ae.Adam(model.parameters(), lr=3e-3)
    loss = ae.MSELoss()
    baseline = float(np.mean((data - data.mean(axis=0)) ** 2))  # predicting the mean sample
    for _ in range(300):
        opt.zero_grad()
        loss(model(x), x)
        model.backward(loss.backward())
        opt.step()
    final = loss(model(x), x)
    assert final < 0.05 * baseline, (final, baseline)


def test_optimizer_state_dict_takes_adam_back_to_the_snapshot():
    p = ae.Parameter(np.ones(3, dtype=np.float32), "w")
    opt = ae.Adam([p], lr=0.1)
    p.grad = np.full(3, 0.5, dtype=np.float32)
    opt.step()
    snapshot, data = opt.state_dict(), p.data.copy()
    m, v = opt.state[0]["m"].copy(), opt.state[0]["v"].copy()
    for _ in range(3):
        opt.step()
        opt.lr = 0.01
    opt.load_state_dict(snapshot)
    p.data = data.copy()  # step() updates p.data in place
    assert opt.t == 1 and opt.lr == 0.1
    np.testing.assert_array_equal(opt.state[0]["m"], m)
    np.testing.assert_array_equal(opt.state[0]["v"], v)
    opt.step()  # the second step again, from the same state
    second = p.data.copy()
    opt.load_state_dict(snapshot)
    p.data = data.copy()
    opt.step()
    np.testing.assert_array_equal(p.data, second)


@pytest.mark.parametrize("make", [lambda ps: ae.SGD(ps, lr=0.1, momentum=0.9), lambda ps: ae.Adam(ps, lr=0.1)])
def test_optimizers_skip_frozen_parameters(backend_name, make):
    model = ae.mlp_autoencoder([4, 3, 2], loss="mse").to(backend_name)
    model.encoder.freeze()
    before = model.state_dict()
    opt = make(model.parameters())
    x = ae.to_backend(np.random.default_rng(0).random((8, 4)), dtype=np.float32)
    model.forward_backward(x)
    assert any(np.abs(ae.to_numpy(p.grad)).max() > 0 for p in model.encoder.parameters())  # gradients still flow
    opt.step()
    after = model.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before if k.startswith("encoder."))
    assert all(not np.array_equal(after[k], before[k]) for k in before if k.startswith("decoder."))
    assert model.num_parameters(trainable_only=True) == sum(p.size for p in model.decoder.parameters())


def test_adam_counts_each_parameters_steps_as_torch_does():
    """Frozen for two steps, then unfrozen: the parameter's first update is Adam's first step
    (bias correction from t = 1), as torch skips a parameter without a gradient."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0, grads = rng.standard_normal(5), rng.standard_normal((4, 5))
    frozen, moving = ae.Parameter(w0.copy()), ae.Parameter(w0.copy())
    opt = ae.Adam([frozen, moving], lr=0.1)
    theirs = [torch.tensor(w0.copy(), requires_grad=True) for _ in range(2)]
    opt_theirs = torch.optim.Adam(theirs, lr=0.1)
    frozen.trainable = False
    for step, g in enumerate(grads):
        if step == 2:
            frozen.trainable = True
        for p in (frozen, moving):
            p.grad = g.copy()
        opt.step()
        theirs[0].grad = torch.tensor(g) if step >= 2 else None
        theirs[1].grad = torch.tensor(g)
        opt_theirs.step()
    assert opt.t == 4 and opt.steps == (2, 4)
    for ours, other in zip((frozen, moving), theirs):
        np.testing.assert_allclose(ours.data, other.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_adam_steps_wait_while_frozen_and_come_back_with_a_snapshot(rng):
    """Per-parameter step counts without torch: an optimizer made before freeze() skips the frozen
    parameters, their count waits, and state_dict / load_state_dict (fit's NaN guard) restore it."""
    model = ae.mlp_autoencoder([4, 2], loss="mse")
    opt = ae.Adam(model.parameters(), lr=0.01)
    x = rng.random((8, 4)).astype(np.float32)
    model.encoder.freeze()
    for _ in range(2):
        opt.zero_grad()
        model.forward_backward(x)
        opt.step()
    assert opt.t == 2 and opt.steps == (0, 0, 2, 2)
    snapshot = opt.state_dict()
    model.unfreeze()
    opt.step()
    assert opt.steps == (1, 1, 3, 3)
    opt.load_state_dict(snapshot)
    assert opt.t == 2 and opt.steps == (0, 0, 2, 2)


# --------------------------------------------------------------------------- #
# A step without a gradient says so
# --------------------------------------------------------------------------- #
NO_GRADIENT = (r"no parameter received a gradient since zero_grad\(\).*"
               r"model\.backward\(loss\.backward\(\)\).*model\.forward_backward\(x\)")
OPTIMIZERS = [lambda ps: ae.SGD(ps, lr=0.1, momentum=0.9), lambda ps: ae.Adam(ps, lr=0.1)]


@pytest.mark.parametrize("make", OPTIMIZERS, ids=["SGD", "Adam"])
def test_step_after_the_pytorch_habit_warns_and_leaves_the_weights(make):
    """pred = model(x); loss(pred, x); loss.backward(); opt.step(): in PyTorch a training step, here
    a step with no gradient at all (loss.backward() only returns dL/dpred)."""
    model = ae.mlp_autoencoder([6, 3], loss="mse")
    opt, loss = make(model.parameters()), ae.MSELoss()
    x = np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(4, 6)
    before = model.state_dict()
    opt.zero_grad()
    pred = model(x)
    loss(pred, x)
    loss.backward()
    with pytest.warns(UserWarning, match=NO_GRADIENT):
        opt.step()
    after = model.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)


@pytest.mark.parametrize("make", OPTIMIZERS, ids=["SGD", "Adam"])
def test_a_step_with_gradients_does_not_warn(make):
    model = ae.mlp_autoencoder([6, 3], loss="mse")
    opt, loss = make(model.parameters()), ae.MSELoss()
    x = np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(4, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.zero_grad()
        model.forward_backward(x)
        opt.step()
        opt.zero_grad()
        loss(model(x), x)
        model.backward(loss.backward())  # the gradient passed back by hand
        opt.step()
        opt.zero_grad()
        for p in model.parameters():  # a gradient assigned directly (a gradient check, a test)
            p.grad = np.ones_like(p.data)
        opt.step()
        model.encoder.freeze()  # the frozen encoder is not looked at; the decoder has gradients
        opt.step()
