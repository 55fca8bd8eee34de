"""One Adam step (and two, and three): the student's ``step()`` against tinyae's Adam on the reference kernels.

Not a gradient check: the parameters start from the same values, get the same fresh gradients
at every step, and after 1-3 steps the parameter and both moments (``self.state[i]["m"]``,
``["v"]``) are compared, by the same error measure as a gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .. import backend, kernels
from .. import strategies as ts
from ..module import Parameter
from ..optim import Adam
from .trial import Trial, entering, failed, given, judged, snapshot

Case = dict[str, Any]
REFERENCE_STEP = Adam.step  # taken now: while a student's file is graded, tinyae's own step refuses to run


def cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shapes = draw(st.lists(ts.shapes(min_dims=1, max_dims=2, max_side=4), min_size=1, max_size=2))
        steps = draw(st.integers(1, 3))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))  # independent O(1) normal entries
        case: Case = {
            "parameters": len(shapes), "steps": steps,
            "lr": ts.fixed_or_drawn(draw, fixed, "lr", st.sampled_from([1e-3, 0.1])),
            "betas": ts.fixed_or_drawn(draw, fixed, "betas", st.sampled_from([(0.9, 0.999), (0.5, 0.8)])),
            "eps": ts.fixed_or_drawn(draw, fixed, "eps", st.sampled_from([1e-8, 0.1])),
            "weight_decay": ts.fixed_or_drawn(draw, fixed, "weight_decay", st.sampled_from([0.0, 0.1])),
        }
        for i, shape in enumerate(shapes):
            case[f"p{i}"] = rng.standard_normal(shape)
            case[f"g{i}"] = rng.standard_normal((steps, *shape))  # a fresh gradient at every step
        return case

    return cases()


def build(cls: type, case: Case, params: list[Any]) -> Any:
    return cls(params, lr=case["lr"], betas=case["betas"], eps=case["eps"], weight_decay=case["weight_decay"])


def run(make: Callable[..., Any], case: Case, seed: int) -> Trial:
    """``steps`` steps of the student's Adam and of tinyae's (reference kernels), from the same start."""
    def run(build: Callable[[list[Any]], Any], step: Callable[[Any], None]) -> tuple[list[Any], Any]:
        params = [Parameter(given(case[f"p{i}"]), f"p{i}") for i in range(case["parameters"])]
        entering("__init__")
        opt = build(params)
        for t in range(case["steps"]):
            for i, p in enumerate(params):
                p.grad = given(case[f"g{i}"][t])
            entering("step")
            step(opt)
        return params, opt

    with kernels.using("reference"):
        ref_params, ref = run(lambda params: build(Adam, case, params), REFERENCE_STEP)
    params, opt = run(make, lambda opt: opt.step())
    checks = []
    for tensor in ("parameter", "m", "v"):
        worst = None
        for i, p in enumerate(params):
            if tensor == "parameter":
                mine, right = p.data, ref_params[i].data
            else:
                state = opt.state[i] if i < len(getattr(opt, "state", [])) else {}
                mine, right = state.get(tensor), ref.state[i][tensor]
            if mine is None:
                check = failed(tensor, f"self.state[{i}][{tensor!r}] was never set: keep the moments there")
            else:
                check = judged(tensor, snapshot(mine), backend.to_numpy(right))
            if worst is None or not check.passed and (worst.passed or check.error > worst.error):
                worst = check
        assert worst is not None
        checks.append(worst)
    return Trial(checks)
