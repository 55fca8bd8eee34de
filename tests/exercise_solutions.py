"""Solutions to the exercise templates tanh.py ... adam.py, for the tests (no tests in this file).

Three dicts keyed by the template's file name in exercises/, in the shape of REFERENCE and
FROM_DOCSTRING in tests/test_exercises.py: each code string replaces the template's
`raise NotImplementedError(...)` line (dedented, then indented to that line; see fill() there).

* REFERENCE: the library's own method (for gaussian_kl, tinyae.gaussian_kl's gradients).
* FROM_DOCSTRING: what a student writes from the template's docstring (so its formulas and hints are right).
* MISTAKES: template -> [(name, code, the tensors that must fail)], classic planted mistakes; every
  other tensor of the exercise must pass.

What the cases must draw for these verdicts to hold (tinyae/exercises/catalog.py draws it: a check
outside these conditions can fail a correct answer, or pass a mistake):

* leaky_relu.py: |x| >= 0.1 (x +- h must not cross the kink at 0) and a slope away from 1
  (tinyae.strategies.negative_slopes, [0.01, 0.5]); at a = 1 "slope_on_the_wrong_side" is right.
* conv_transpose2d.py: tinyae.strategies.conv_configs(transposed=True); the mistakes need C > 1
  (weight, input) or an output larger than 1x1 (bias).
* maxpool2d.py: inputs without ties (tinyae.strategies.distinct_values); "overlap_overwritten"
  needs a stride smaller than the kernel along some axis (overlapping windows).
* mse.py: more than one element per sample somewhere ("mean_over_batch" is right when D = 1).
* adam.py: a large eps (0.1: with eps = 1e-8 "eps_inside_sqrt" is within 1e-6 of right), a
  positive weight decay (with wd = 0 "coupled_weight_decay" is right); "t_not_incremented" divides
  by 1 - b1^0 = 0, so p.data becomes inf/NaN: a failure of "parameter", not a crash.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- #
# The library's own methods
# --------------------------------------------------------------------------- #
REFERENCE = {
    "tanh.py": "return ae.Tanh.backward(self, grad_out)",
    # The template keeps x (the library's forward keeps the slope array): a library layer on the same x.
    "leaky_relu.py": """
        reference = ae.LeakyReLU(self.negative_slope)
        reference.forward(self._x)
        return reference.backward(grad_out)
    """,
    "conv_transpose2d.py": "return ae.ConvTranspose2D.backward(self, grad_out)",
    "maxpool2d.py": "return ae.MaxPool2D.backward(self, grad_out)",
    # The template's value_and_grad leaves the gradient to backward; the library's computes it.
    "mse.py": """
        pred, target = self._cache
        return ae.MSELoss.value_and_grad(self, ae.array_module(pred), pred, target, self._scale(pred))[1]
    """,
    "gaussian_kl.py": """
        _, dmu, dlogvar = ae.gaussian_kl(self.mu, self.logvar)
        return dmu, dlogvar
    """,
    "adam.py": "ae.Adam.step(self)",
}

# --------------------------------------------------------------------------- #
# What a student writes from each docstring
# --------------------------------------------------------------------------- #
FROM_DOCSTRING = {
    "tanh.py": "return grad_out * (1.0 - self._y * self._y)",
    "leaky_relu.py": """
        xp = ae.array_module(grad_out)
        a = self.negative_slope
        return grad_out * (a + (1.0 - a) * xp.astype(self._x > 0, self._x.dtype))
    """,
    "conv_transpose2d.py": """
        xp = ae.array_module(grad_out)
        xm, x_shape = self._cache
        gc = im2col(grad_out, self.kernel_size, self.stride, self.padding)
        self.weight.grad += weight_tensor(xm.T @ gc, self.weight.data.shape)
        self.bias.grad += xp.sum(pixel_rows(grad_out), axis=0)
        n, _, h, w = x_shape
        return from_pixel_rows(gc @ weight_matrix(self.weight.data).T, n, h, w)
    """,
    "maxpool2d.py": """
        xp = ae.array_module(grad_out)
        argmax, x_shape = self._cache
        c = x_shape[1]
        kh, kw = self.kernel_size
        taps = xp.reshape(xp.arange(kh * kw, device=device_of(grad_out)), (1, 1, -1))
        one_hot = xp.astype(taps == xp.reshape(argmax, (-1, c, 1)), grad_out.dtype)
        g = xp.reshape(pixel_rows(grad_out), (-1, c, 1))
        dcols = xp.reshape(one_hot * g, (-1, c * kh * kw))
        return col2im(dcols, x_shape, self.kernel_size, self.stride, (0, 0))
    """,
    "mse.py": """
        pred, target = self._cache
        grad = 2.0 * (pred - target)
        if self.reduction == "mean":
            n = 1
            for size in pred.shape:
                n *= size
            grad = grad / n
        return grad
    """,
    "gaussian_kl.py": """
        xp = ae.array_module(self.mu)
        n = self.mu.shape[0]
        return self.mu / n, (xp.exp(self.logvar) - 1.0) / (2 * n)
    """,
    "adam.py": """
        self.t += 1
        b1, b2 = self.betas
        for i, p in enumerate(self.params):
            xp = ae.array_module(p.data)
            g = p.grad
            m, v = self.moments(i)
            p.data *= 1.0 - self.lr * self.weight_decay
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            m_hat = m / (1.0 - b1**self.t)
            v_hat = v / (1.0 - b2**self.t)
            p.data -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
    """,
}

# --------------------------------------------------------------------------- #
# Classic mistakes, and the tensors whose check must fail (every other one passes)
# --------------------------------------------------------------------------- #
# The body of the maxpool2d loop mistake: each window's g written (=) at its arg-max, so an element
# that is the max of two overlapping windows keeps the last one's g instead of the sum.
_MAXPOOL_OVERWRITTEN = """
    xp = ae.array_module(grad_out)
    argmax, x_shape = self._cache
    n, c, ho, wo = grad_out.shape
    kw = self.kernel_size[1]
    sh, sw = self.stride
    dx = xp.zeros(x_shape, dtype=grad_out.dtype, device=device_of(grad_out))
    for s in range(n):
        for a in range(ho):
            for b in range(wo):
                row = (s * ho + a) * wo + b
                for ch in range(c):
                    tap = int(argmax[row, ch])
                    dx[s, ch, sh * a + tap // kw, sw * b + tap % kw] = grad_out[s, ch, a, b]  # should be +=
    return dx
"""

_ADAM_LOOP = """
    {increment}
    b1, b2 = self.betas
    for i, p in enumerate(self.params):
        xp = ae.array_module(p.data)
        g = {gradient}
        m, v = self.moments(i)
        p.data *= {decay}
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        m_hat = m / {c1}
        v_hat = v / {c2}
        p.data -= self.lr * m_hat / ({denominator})
"""


def _adam(**changes: str) -> str:
    parts = {
        "increment": "self.t += 1",
        "gradient": "p.grad",
        "decay": "1.0 - self.lr * self.weight_decay",
        "c1": "(1.0 - b1**self.t)",
        "c2": "(1.0 - b2**self.t)",
        "denominator": "xp.sqrt(v_hat) + self.eps",
    }
    parts.update(changes)
    return _ADAM_LOOP.format(**parts)


MISTAKES = {
    "tanh.py": [
        ("one_minus_y", "return grad_out * (1.0 - self._y)", {"input"}),
        ("upstream_gradient_dropped", "return 1.0 - self._y * self._y", {"input"}),
        # 1 / cosh(x)^2 is right, but of x: the template keeps y = tanh(x)
        (
            "sech_squared_of_y",
            """
            xp = ae.array_module(grad_out)
            return grad_out / (xp.cosh(self._y) * xp.cosh(self._y))
            """,
            {"input"},
        ),
    ],
    "leaky_relu.py": [
        (
            "slope_on_the_wrong_side",  # a where x > 0, 1 where x <= 0
            """
            xp = ae.array_module(grad_out)
            a = self.negative_slope
            return grad_out * (1.0 + (a - 1.0) * xp.astype(self._x > 0, self._x.dtype))
            """,
            {"input"},
        ),
        (
            "zero_for_negatives",  # the ReLU's derivative
            """
            xp = ae.array_module(grad_out)
            return grad_out * xp.astype(self._x > 0, self._x.dtype)
            """,
            {"input"},
        ),
        ("slope_everywhere", "return grad_out * self.negative_slope", {"input"}),
    ],
    "conv_transpose2d.py": [  # the docstring's answer with one thing wrong
        ("weight_gradient_transposed",  # Gc^T Xm, reshaped to W's shape anyway
         FROM_DOCSTRING["conv_transpose2d.py"].replace("xm.T @ gc", "gc.T @ xm"), {"weight"}),
        ("bias_not_summed_over_pixels",  # the first output pixel's g only
         FROM_DOCSTRING["conv_transpose2d.py"].replace("pixel_rows(grad_out), axis=0", "grad_out[:, :, 0, 0], axis=0"),
         {"bias"}),
        ("input_gradient_reshaped_not_permuted",  # (N H W, C) rows reshaped straight to (N, C, H, W)
         FROM_DOCSTRING["conv_transpose2d.py"].replace(
             "from_pixel_rows(gc @ weight_matrix(self.weight.data).T, n, h, w)",
             "xp.reshape(gc @ weight_matrix(self.weight.data).T, x_shape)"), {"input"}),
    ],
    "maxpool2d.py": [
        (
            "spread_to_whole_window",  # every element of the window gets g, not only the max
            """
            xp = ae.array_module(grad_out)
            argmax, x_shape = self._cache
            c = x_shape[1]
            kh, kw = self.kernel_size
            g = xp.reshape(pixel_rows(grad_out), (-1, c, 1))
            dcols = xp.reshape(g * xp.ones((1, 1, kh * kw), dtype=g.dtype, device=device_of(g)), (-1, c * kh * kw))
            return col2im(dcols, x_shape, self.kernel_size, self.stride, (0, 0))
            """,
            {"input"},
        ),
        ("overlap_overwritten", _MAXPOOL_OVERWRITTEN, {"input"}),
    ],
    "mse.py": [
        (
            "factor_2_missing",
            """
            pred, target = self._cache
            grad = pred - target
            if self.reduction == "mean":
                n = 1
                for size in pred.shape:
                    n *= size
                grad = grad / n
            return grad
            """,
            {"prediction"},
        ),
        (
            "mean_over_batch",  # "mean" divided by the batch size N instead of every element
            """
            pred, target = self._cache
            grad = 2.0 * (pred - target)
            if self.reduction == "mean":
                grad = grad / pred.shape[0]
            return grad
            """,
            {"prediction"},
        ),
        (
            "mean_not_divided",  # the 1/n of "mean" forgotten
            """
            pred, target = self._cache
            return 2.0 * (pred - target)
            """,
            {"prediction"},
        ),
    ],
    "gaussian_kl.py": [
        (
            "sign_flipped",
            """
            xp = ae.array_module(self.mu)
            n = self.mu.shape[0]
            return -self.mu / n, (1.0 - xp.exp(self.logvar)) / (2 * n)
            """,
            {"mu", "logvar"},
        ),
        (
            "missing_1_over_N",  # the sum over the batch, not its mean
            """
            xp = ae.array_module(self.mu)
            return self.mu, (xp.exp(self.logvar) - 1.0) / 2
            """,
            {"mu", "logvar"},
        ),
        (
            "logvar_half_missing",
            """
            xp = ae.array_module(self.mu)
            n = self.mu.shape[0]
            return self.mu / n, (xp.exp(self.logvar) - 1.0) / n
            """,
            {"logvar"},
        ),
    ],
    "adam.py": [
        ("no_bias_correction", _adam(c1="1.0", c2="1.0"), {"parameter"}),
        ("eps_inside_sqrt", _adam(denominator="xp.sqrt(v_hat + self.eps)"), {"parameter"}),
        # classic Adam's L2 penalty: wd theta added to g, so m and v average it too
        (
            "coupled_weight_decay",
            _adam(gradient="p.grad + self.weight_decay * p.data", decay="1.0"),
            {"parameter", "m", "v"},
        ),
        ("t_not_incremented", _adam(increment="pass"), {"parameter"}),
    ],
}
