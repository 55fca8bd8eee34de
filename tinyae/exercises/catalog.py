"""The exercises: what each one draws, how it builds the student's object, how it checks one case.

Each :class:`Exercise` pairs a hypothesis strategy of cases (hyper-parameters and float64 NumPy
arrays, drawn with the test-suite's strategies, :mod:`tinyae.strategies`) with a ``run`` that
checks one case honestly (:mod:`tinyae.exercises.trial`). :data:`EXERCISES` is the catalogue the
command line and the templates in ``exercises/`` name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import backend
from .. import strategies as ts
from ..gradcheck import numerical_gradient
from ..layers import Conv2D, ConvTranspose2D, Dense, Dropout, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Tanh
from ..losses import BCELoss, BCEWithLogitsLoss, MSELoss, gaussian_kl
from ..optim import Adam
from . import adam_step, vae_steps
from .trial import (
    Trial,
    disagreement,
    entering,
    failed,
    given,
    kept,
    loss_trial,
    module_trial,
    pair_checks,
    snapshot,
)

__all__ = ["EXERCISES", "Case", "Exercise", "exercise_of"]

Case = dict[str, Any]


@dataclass(frozen=True)
class Exercise:
    """One kind of exercise: the cases to draw and the check to run on each.

    ``cases(fixed)`` is a hypothesis strategy of cases (dicts of hyper-parameters and float64
    NumPy arrays); ``fixed`` pins hyper-parameters (read from an instance, when one is given).
    ``build(cls, case, *args)`` makes a fresh object of the student's class; ``run(make, case,
    seed)`` checks one case, ``make()`` building a fresh object each time it is called, and
    returns a :class:`~tinyae.exercises.trial.Trial` with one verdict per tensor, named as in
    ``tensors``. ``config`` lists the case's keys that describe it (the rest are its arrays).
    ``library`` is tinyae's class the template implements; the student's forward is compared
    with it on every case. ``steps`` names, for an objective checked step by step, the step each tensor's gradient
    belongs to (``tensors`` in backward order), so the report can name the first wrong one.
    """

    name: str
    title: str
    method: str
    tensors: tuple[str, ...]
    hyper: tuple[str, ...]
    config: tuple[str, ...]
    cases: Callable[[dict[str, Any]], Any]
    build: Callable[..., Any]
    run: Callable[[Callable[..., Any], Case, int], Trial]
    steps: dict[str, str] = field(default_factory=dict)
    library: type | None = None  # tinyae's own class: the template's forward must compute what it does


def _layer(*params: str) -> Callable[[Callable[[], Any], Case, int], Trial]:
    """The run of a layer with these parameters, set to the case's O(1) values (a zero bias would hide bugs)."""

    def run(make: Callable[[], Any], case: Case, seed: int) -> Trial:
        return module_trial(make, case, seed, params=params)

    return run


def _normal(draw: Any) -> np.random.Generator:
    """A generator of O(1) standard-normal values (weights, the upstream gradient g), seeded by hypothesis.

    Independent normal entries: hypothesis's own arrays are often nearly constant, and a
    symmetric W, say, would hide a missing transpose.
    """
    return np.random.default_rng(draw(st.integers(0, 2**16)))


# -- Dense ------------------------------------------------------------------- #
def _dense_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        batch = draw(ts.batch_sizes)
        n_in = ts.fixed_or_drawn(draw, fixed, "in_features", ts.feature_sizes)
        n_out = ts.fixed_or_drawn(draw, fixed, "out_features", ts.feature_sizes)
        x = draw(ts.arrays((batch, n_in)))
        rng = _normal(draw)
        return {
            "batch": batch, "in_features": n_in, "out_features": n_out, "x": x,
            "weight": rng.standard_normal((n_in, n_out)), "bias": rng.standard_normal(n_out),
            "g": rng.standard_normal((batch, n_out)),
        }

    return cases()


# -- element-wise activations -------------------------------------------------- #
def _activation_cases(min_magnitude: float, max_magnitude: float) -> Callable[[dict[str, Any]], Any]:
    def make(fixed: dict[str, Any]) -> Any:
        @st.composite
        def cases(draw: Any) -> Case:
            shape = draw(ts.shapes())
            x = draw(ts.arrays(shape, min_magnitude=min_magnitude, max_magnitude=max_magnitude))
            return {"shape": shape, "x": x, "g": _normal(draw).standard_normal(shape)}

        return cases()

    return make


# -- Dropout --------------------------------------------------------------------- #
def _dropout_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(ts.shapes())
        p = ts.fixed_or_drawn(draw, fixed, "p", ts.dropout_probabilities)
        training = ts.fixed_or_drawn(draw, fixed, "training", st.booleans().map(lambda b: not b))  # True first
        x = draw(ts.arrays(shape))
        return {"shape": shape, "p": p, "training": training, "x": x, "g": _normal(draw).standard_normal(shape)}

    return cases()


def _build_dropout(cls: type, case: Case) -> Any:
    return cls(case["p"]).train(case["training"])


# -- Conv2D ---------------------------------------------------------------------- #
CONV_MAX_INPUT, CONV_MAX_WEIGHT = 150, 100  # elements: keeps one case's finite differences ~20 ms


def _as_pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)  # type: ignore[return-value]


def _conv_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        if fixed:  # an instance: its channels, kernel, stride and padding; draw the rest
            (kh, kw), (ph, pw) = fixed["kernel_size"], fixed["padding"]
            cfg = {
                "batch": draw(st.integers(1, 3)),
                "in_channels": fixed["in_channels"],
                "height": draw(st.integers(max(1, kh - 2 * ph), max(1, kh - 2 * ph) + 5)),
                "width": draw(st.integers(max(1, kw - 2 * pw), max(1, kw - 2 * pw) + 5)),
                "out_channels": fixed["out_channels"],
                "kernel_size": fixed["kernel_size"],
                "stride": fixed["stride"],
                "padding": fixed["padding"],
            }
        else:
            drawn = draw(ts.conv_configs(max_input=CONV_MAX_INPUT, max_weight=CONV_MAX_WEIGHT))
            cfg = {k: drawn[k] for k in ("batch", "in_channels", "height", "width", "out_channels",
                                         "kernel_size", "stride", "padding")}
        (kh, kw), (sh, sw), (ph, pw) = (_as_pair(cfg[k]) for k in ("kernel_size", "stride", "padding"))
        ho, wo = (cfg["height"] + 2 * ph - kh) // sh + 1, (cfg["width"] + 2 * pw - kw) // sw + 1
        return _with_conv_arrays(draw, cfg, (cfg["out_channels"], cfg["in_channels"], kh, kw), (ho, wo))

    return cases()


def _with_conv_arrays(draw: Any, cfg: Case, weight_shape: tuple[int, ...], out_size: tuple[int, int]) -> Case:
    """The case's arrays: the input x, O(1) weights and bias, and g of the output's shape (N, O, Ho, Wo)."""
    cfg["x"] = draw(ts.arrays((cfg["batch"], cfg["in_channels"], cfg["height"], cfg["width"])))
    rng = _normal(draw)
    cfg["weight"] = rng.standard_normal(weight_shape)
    cfg["bias"] = rng.standard_normal(cfg["out_channels"])
    cfg["g"] = rng.standard_normal((cfg["batch"], cfg["out_channels"], *out_size))
    return cfg


def _build_conv(cls: type, case: Case) -> Any:
    return cls(case["in_channels"], case["out_channels"], case["kernel_size"], case["stride"], case["padding"])


# -- BCE ------------------------------------------------------------------------- #
def _bce_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(ts.shapes(max_dims=3))
        reduction = ts.fixed_or_drawn(draw, fixed, "reduction", st.sampled_from(["mean", "sum"]))
        return {"shape": shape, "reduction": reduction,
                "pred": draw(ts.probabilities(shape)), "target": draw(ts.probabilities(shape, 0.0, 1.0))}

    return cases()


# -- LeakyReLU ------------------------------------------------------------------- #
def _leaky_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(ts.shapes())
        slope = ts.fixed_or_drawn(draw, fixed, "negative_slope", ts.negative_slopes)
        x = draw(ts.arrays(shape, min_magnitude=0.1, max_magnitude=2.0))  # off the kink at 0
        return {"shape": shape, "negative_slope": slope, "x": x, "g": _normal(draw).standard_normal(shape)}

    return cases()


# -- ConvTranspose2D --------------------------------------------------------------- #
def _conv_transpose_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        drawn = draw(ts.conv_configs(transposed=True, max_input=CONV_MAX_INPUT, max_weight=CONV_MAX_WEIGHT))
        cfg = {k: drawn[k] for k in ("batch", "in_channels", "height", "width", "out_channels", "kernel_size",
                                     "stride", "padding", "output_padding")}
        for k in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding"):
            if k in fixed:
                cfg[k] = fixed[k]
        (kh, kw), (sh, sw), (ph, pw), (oph, opw) = (_as_pair(cfg[k]) for k in
                                                    ("kernel_size", "stride", "padding", "output_padding"))
        if "padding" in fixed:  # an instance's padding: draw inputs large enough for an output of 1x1
            cfg["height"] = max(cfg["height"], (2 * ph - kh - oph) // sh + 2)
            cfg["width"] = max(cfg["width"], (2 * pw - kw - opw) // sw + 2)
        ho = (cfg["height"] - 1) * sh - 2 * ph + kh + oph
        wo = (cfg["width"] - 1) * sw - 2 * pw + kw + opw
        return _with_conv_arrays(draw, cfg, (cfg["in_channels"], cfg["out_channels"], kh, kw), (ho, wo))

    return cases()


def _build_conv_transpose(cls: type, case: Case) -> Any:
    return cls(case["in_channels"], case["out_channels"], case["kernel_size"], case["stride"], case["padding"],
               case["output_padding"])


# -- MaxPool2D ---------------------------------------------------------------------- #
def _pool_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        kernel = ts.fixed_or_drawn(draw, fixed, "kernel_size", st.sampled_from([(1, 1), (2, 2), (3, 3), (2, 3)]))
        stride = ts.fixed_or_drawn(draw, fixed, "stride", st.sampled_from([None, (1, 1), (2, 2), (1, 2)]))
        stride = kernel if stride is None else stride
        n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        h, w = draw(st.integers(kernel[0], kernel[0] + 3)), draw(st.integers(kernel[1], kernel[1] + 3))
        rng = _normal(draw)
        x = ts.distinct_values((n, c, h, w), rng)  # no ties: each window's maximum stays put under x +- h
        ho, wo = (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1
        return {"batch": n, "channels": c, "height": h, "width": w, "kernel_size": kernel, "stride": stride,
                "x": x, "g": rng.standard_normal((n, c, ho, wo))}

    return cases()


# -- MSE ------------------------------------------------------------------------------ #
def _mse_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(ts.shapes(max_dims=3))
        reduction = ts.fixed_or_drawn(draw, fixed, "reduction", st.sampled_from(["mean", "sum"]))
        return {"shape": shape, "reduction": reduction, "pred": draw(ts.arrays(shape)),
                "target": draw(ts.arrays(shape))}

    return cases()


# -- the Gaussian KL alone --------------------------------------------------------------- #
def _kl_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        n, latent = draw(ts.batch_sizes), draw(st.integers(1, 4))
        return {"batch": n, "latent_dim": latent, "mu": draw(ts.arrays((n, latent))),
                "logvar": draw(ts.arrays((n, latent)))}

    return cases()


def _run_kl(make: Callable[[], Any], case: Case, seed: int) -> Trial:
    """KL(mu, logvar) from the student's forward; its backward() returns (dKL/dmu, dKL/dlogvar)."""
    entering("__init__")
    reference = make()

    def kl(mu_: Any, logvar_: Any) -> float:
        entering("forward")
        return float(reference.forward(mu_, logvar_))

    numerical_mu = numerical_gradient(lambda m: kl(m, given(case["logvar"])), given(case["mu"]))
    numerical_logvar = numerical_gradient(lambda lv: kl(given(case["mu"]), lv), given(case["logvar"]))
    entering("__init__")
    obj = make()
    handed = {k: given(case[k]) for k in ("mu", "logvar")}
    entering("forward")
    value = float(obj.forward(handed["mu"], handed["logvar"]))
    wrong = disagreement(value, gaussian_kl(given(case["mu"]), given(case["logvar"]))[0], "tinyae.gaussian_kl")
    if wrong:
        return Trial([failed("mu", wrong), failed("logvar", wrong)])
    entering("backward")
    checks = pair_checks(obj.backward(), {"mu": numerical_mu, "logvar": numerical_logvar})
    return Trial(kept(checks, handed, case))


# -- the VAE objective ------------------------------------------------------------ #
def _vae_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        n, latent, d = draw(ts.batch_sizes), draw(st.integers(1, 4)), draw(ts.feature_sizes)
        beta = ts.fixed_or_drawn(draw, fixed, "beta", st.sampled_from([1.0, 0.5, 4.0]))
        return {
            "batch": n, "latent_dim": latent, "features": d, "beta": beta,
            "mu": draw(ts.arrays((n, latent))),
            "logvar": draw(ts.arrays((n, latent))),
            "eps": draw(ts.arrays((n, latent))),
            "x": draw(ts.probabilities((n, d), 0.0, 1.0)),
            **dict(zip(("decoder_weight", "decoder_bias"), _decoder(draw, latent, d))),
        }

    return cases()


def _decoder(draw: Any, latent: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = _normal(draw)
    return rng.standard_normal((latent, d)), rng.standard_normal(d)


def _build_vae(cls: type, case: Case) -> Any:
    return cls(beta=case["beta"])


def _run_vae(make: Callable[[], Any], case: Case, seed: int) -> Trial:
    """loss(mu, logvar) = R(z) + beta KL with z = mu + exp(logvar / 2) eps, eps fixed.

    R is a real VAE's reconstruction term: a Dense decoder to logits, BCE with logits summed
    over features and averaged over the batch. g_z = dR/dz comes from the decoder's backward
    pass and goes to the student's backward, which returns (dloss/dmu, dloss/dlogvar). The
    numerical gradients use a fresh object and pristine copies; the student's gets copies.
    """
    n, beta = case["batch"], case["beta"]
    decoder, rec = Dense(case["latent_dim"], case["features"]), BCEWithLogitsLoss("sum")
    decoder.weight.data, decoder.bias.data = given(case["decoder_weight"]), given(case["decoder_bias"])
    x = given(case["x"])
    entering("__init__")
    reference = make()

    def loss(mu_: Any, logvar_: Any) -> float:
        entering("forward")
        z, kl = reference.forward(mu_, logvar_, given(case["eps"]))
        return rec(decoder.forward(z), x) / n + beta * float(kl)

    numerical_mu = numerical_gradient(lambda m: loss(m, given(case["logvar"])), given(case["mu"]))
    numerical_logvar = numerical_gradient(lambda lv: loss(given(case["mu"]), lv), given(case["logvar"]))
    entering("__init__")
    obj = make()
    handed = {k: given(case[k]) for k in ("mu", "logvar", "eps")}
    entering("forward")
    z, kl = obj.forward(handed["mu"], handed["logvar"], handed["eps"])
    mu, logvar, eps = (given(case[k]) for k in ("mu", "logvar", "eps"))
    xp = backend.array_module(mu)
    right_z = mu + xp.exp(0.5 * logvar) * eps  # z = mu + sigma eps, and the KL, as tinyae computes them
    wrong = disagreement(snapshot(z), snapshot(right_z), "z = mu + sigma * eps") or disagreement(
        float(kl), gaussian_kl(mu, logvar)[0], "tinyae.gaussian_kl")
    if wrong:
        return Trial([failed("mu", wrong), failed("logvar", wrong)])
    rec(decoder.forward(z), x)
    g_z = decoder.backward(rec.backward() * (1.0 / n))
    entering("backward")
    checks = pair_checks(obj.backward(g_z), {"mu": numerical_mu, "logvar": numerical_logvar})
    return Trial(kept(checks, handed, case))


EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in [
        Exercise("dense", "the Dense layer y = x W + b", "backward", ("input", "weight", "bias"),
                 ("in_features", "out_features"), ("batch", "in_features", "out_features"),
                 _dense_cases, lambda cls, c: cls(c["in_features"], c["out_features"]), _layer("weight", "bias")),
        Exercise("sigmoid", "the sigmoid y = 1 / (1 + exp(-x))", "backward", ("input",), (), ("shape",),
                 _activation_cases(0.0, 6.0), lambda cls, c: cls(), _layer()),
        Exercise("relu", "the ReLU y = max(x, 0)", "backward", ("input",), (), ("shape",),
                 _activation_cases(0.1, 2.0), lambda cls, c: cls(), _layer()),
        Exercise("dropout", "inverted dropout y = x * mask", "backward", ("input",), ("p", "training"),
                 ("shape", "p", "training"), _dropout_cases, _build_dropout, _layer()),
        Exercise("conv2d", "the 2-D convolution (im2col)", "backward", ("input", "weight", "bias"),
                 ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
                 ("batch", "in_channels", "height", "width", "out_channels", "kernel_size", "stride", "padding"),
                 _conv_cases, _build_conv, _layer("weight", "bias")),
        Exercise("bce", "binary cross-entropy on probabilities", "backward", ("prediction",), ("reduction",),
                 ("shape", "reduction"), _bce_cases, lambda cls, c: cls(reduction=c["reduction"]), loss_trial),
        Exercise("vae", "the VAE objective: KL and the reparameterisation z = mu + sigma * eps", "backward",
                 ("mu", "logvar"), ("beta",), ("batch", "latent_dim", "features", "beta"),
                 _vae_cases, _build_vae, _run_vae),
        Exercise("tanh", "the tanh y = tanh(x)", "backward", ("input",), (), ("shape",),
                 _activation_cases(0.0, 3.0), lambda cls, c: cls(), _layer()),
        Exercise("leaky_relu", "the leaky ReLU y = max(x, 0) + slope * min(x, 0)", "backward", ("input",),
                 ("negative_slope",), ("shape", "negative_slope"), _leaky_cases,
                 lambda cls, c: cls(c["negative_slope"]), _layer()),
        Exercise("conv_transpose2d", "the transposed 2-D convolution (the adjoint of im2col)", "backward",
                 ("input", "weight", "bias"),
                 ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding"),
                 ("batch", "in_channels", "height", "width", "out_channels", "kernel_size", "stride", "padding",
                  "output_padding"), _conv_transpose_cases, _build_conv_transpose, _layer("weight", "bias")),
        Exercise("maxpool2d", "2-D max pooling", "backward", ("input",), ("kernel_size", "stride"),
                 ("batch", "channels", "height", "width", "kernel_size", "stride"), _pool_cases,
                 lambda cls, c: cls(c["kernel_size"], c["stride"]), _layer()),
        Exercise("mse", "the mean squared error", "backward", ("prediction",), ("reduction",),
                 ("shape", "reduction"), _mse_cases, lambda cls, c: cls(reduction=c["reduction"]), loss_trial),
        Exercise("gaussian_kl", "the KL divergence KL(N(mu, sigma^2) || N(0, 1)), batch mean", "backward",
                 ("mu", "logvar"), (), ("batch", "latent_dim"), _kl_cases, lambda cls, c: cls(), _run_kl),
        Exercise("adam", "one Adam step (and two, and three)", "step", ("parameter", "m", "v"),
                 ("lr", "betas", "eps", "weight_decay"),
                 ("parameters", "steps", "lr", "betas", "eps", "weight_decay"),
                 adam_step.cases, adam_step.build, adam_step.run),
        Exercise("vae_steps", "a whole VAE objective, step by step (backprop ninja)", "backward",
                 vae_steps.TENSORS, ("beta",), ("batch", "features", "latent_dim", "beta"),
                 vae_steps.cases, vae_steps.build, vae_steps.run, steps=vae_steps.STEPS),
    ]
}

# tinyae's own class behind each template: a class without an `exercise` attribute that subclasses one
# of these gets its check, and the template's forward is compared with it on every case.
LIBRARY_CLASSES: dict[str, type] = {
    "dense": Dense, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "dropout": Dropout,
    "conv2d": Conv2D, "conv_transpose2d": ConvTranspose2D, "maxpool2d": MaxPool2D, "mse": MSELoss, "bce": BCELoss,
    "adam": Adam,
}
EXERCISES = {name: replace(e, library=LIBRARY_CLASSES.get(name)) for name, e in EXERCISES.items()}


def exercise_of(target: Any) -> Exercise | None:
    """The :class:`Exercise` a class (or instance) is graded as, or None if it is not one.

    Raises ValueError for an ``exercise`` attribute that names no known exercise.
    """
    cls = target if isinstance(target, type) else type(target)
    name = getattr(cls, "exercise", None)
    if isinstance(name, str):
        if name not in EXERCISES:
            raise ValueError(
                f"{cls.__name__}.exercise = {name!r} names no exercise; known: {', '.join(EXERCISES)}"
            )
        return EXERCISES[name]
    for known, base in LIBRARY_CLASSES.items():
        if issubclass(cls, base):
            return EXERCISES[known]
    return None


