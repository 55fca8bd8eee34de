r"""The "backprop ninja" VAE: the whole objective in atomic steps, each step's gradient checked on its own.

The objective, one step per line (x: (N, D) in [0, 1], eps: (N, L), parameters We, be, Wd, bd):

    1  h      = x We + be                                   encoder affine      (N, 2L)
    2  mu     = h[:, :L],   logvar = h[:, L:]               split
    3  sigma  = exp(logvar / 2)                             exp
    4  z      = mu + sigma * eps                            reparameterise
    5  logits = z Wd + bd                                   decoder affine      (N, D)
    6  R      = (1/N) sum softplus(logits) - x * logits     BCE on logits
    7  KL     = (1/N) sum -1/2 (1 + logvar - mu^2 - exp(logvar))
       loss   = R + beta KL

The student's ``backward()`` returns dloss/dv for every intermediate v (through every path
below it). The grader computes each one numerically by treating v as a free variable: v is
perturbed, the steps *after* it are recomputed, the steps before it are held. The gradients are
judged in backward order, so the report can name the first wrong step: every gradient after it
is computed from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import backend
from .. import strategies as ts
from ..gradcheck import numerical_gradient
from ..losses import BCEWithLogitsLoss, gaussian_kl
from .trial import Trial, entering, failed, given, judged, kept, snapshot

PARAMETERS = ("We", "be", "Wd", "bd")

# backward order: each gradient is computed from the ones before it in this table
STEPS = {
    "logits": "step 6 (BCE on logits)",
    "Wd": "step 5 (decoder affine)",
    "bd": "step 5 (decoder affine)",
    "z": "step 5 (decoder affine)",
    "sigma": "step 4 (reparameterise)",
    "mu": "steps 4 and 7 (reparameterise, KL)",
    "logvar": "steps 3 and 7 (exp, KL)",
    "h": "step 2 (split)",
    "We": "step 1 (encoder affine)",
    "be": "step 1 (encoder affine)",
}
TENSORS = tuple(STEPS)


def cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def draw_case(draw: Any) -> dict[str, Any]:
        n, d, latent = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
        beta = ts.fixed_or_drawn(draw, fixed, "beta", st.sampled_from([1.0, 0.5, 4.0]))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))  # independent O(1) normal entries
        return {
            "batch": n, "features": d, "latent_dim": latent, "beta": beta,
            "x": draw(ts.probabilities((n, d), 0.0, 1.0)),
            "eps": rng.standard_normal((n, latent)),
            # scaled so that logvar stays O(1): exp(logvar) must not dwarf the other terms
            "We": 0.5 * rng.standard_normal((d, 2 * latent)), "be": 0.5 * rng.standard_normal(2 * latent),
            "Wd": rng.standard_normal((latent, d)), "bd": rng.standard_normal(d),
        }

    return draw_case()


def build(cls: type, case: dict[str, Any]) -> Any:
    return cls(beta=case["beta"])


def objective(case: dict[str, Any], free: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
    """The loss, and every intermediate; a value in ``free`` replaces its step (the steps after it see it)."""
    free = free or {}
    v = {k: free.get(k, given(case[k])) for k in PARAMETERS}
    x, eps, n, latent = given(case["x"]), given(case["eps"]), case["batch"], case["latent_dim"]
    xp = backend.array_module(x)

    def step(name: str, compute: Callable[[], Any]) -> None:
        v[name] = free[name] if name in free else compute()

    step("h", lambda: x @ v["We"] + v["be"])
    step("mu", lambda: v["h"][:, :latent])
    step("logvar", lambda: v["h"][:, latent:])
    step("sigma", lambda: xp.exp(0.5 * v["logvar"]))
    step("z", lambda: v["mu"] + v["sigma"] * eps)
    step("logits", lambda: v["z"] @ v["Wd"] + v["bd"])
    rec = BCEWithLogitsLoss("sum")(v["logits"], x) / n
    kl, _, _ = gaussian_kl(v["mu"], v["logvar"])
    return rec + case["beta"] * kl, v


def run(make: Callable[[], Any], case: dict[str, Any], seed: int) -> Trial:
    _, point = objective(case)
    numerical = {}
    for name in TENSORS:
        at = backend.to_numpy(point[name])
        numerical[name] = numerical_gradient(lambda value, name=name: objective(case, {name: value})[0], given(at))
    entering("__init__")
    obj = make()
    handed = {k: given(case[k]) for k in PARAMETERS}
    for k, value in handed.items():
        setattr(obj, k, value)
    x, eps = given(case["x"]), given(case["eps"])
    entering("forward")
    obj.forward(x, eps)
    entering("backward")
    grads = obj.backward()
    if not isinstance(grads, dict):
        raise TypeError(f"backward must return a dict of gradients keyed {', '.join(TENSORS)}; got "
                        f"{type(grads).__name__}")
    checks = []
    for name in TENSORS:
        if name not in grads:
            checks.append(failed(name, f"backward returned no {name!r} entry", hint="return a dict with every key "
                                 "of the docstring's table"))
        else:
            checks.append(judged(name, snapshot(grads[name]), numerical[name]))
    return Trial(kept(checks, {"x": x, "eps": eps, **handed}, case))
