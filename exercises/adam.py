"""Exercise: one step of the Adam optimizer, with AdamW's decoupled weight decay.

Check your answer:   tinyae check exercises/adam.py::Adam
The derivation:      docs/adam.md

Not a backward pass this time, but the step that uses the gradients: for each parameter theta
(p.data) with its gradient g (p.grad, what the backward passes added up), Adam keeps two running
averages, the first moment m (of g) and the second moment v (of g^2), and moves theta by
lr m_hat / (sqrt(v_hat) + eps), with m_hat and v_hat the averages corrected for starting at 0.
Every operation is element-wise, on arrays of the parameter's shape.
"""

from __future__ import annotations

import tinyae as ae


class Adam(ae.Adam):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0). ``tinyae.Adam`` gives
    the constructor and the state:

        self.params          the Parameters: theta = p.data (update it), g = p.grad (read it)
        self.lr              lr                      self.betas    (b1, b2)
        self.eps             eps                     self.weight_decay    wd (0: no decay)
        self.t               the step count: 0 before the first step
        self.moments(i)      (m, v) of parameter i, kept in self.state[i]["m"] and self.state[i]["v"]
    """

    exercise = "adam"  # tells `tinyae check` which check to run

    def moments(self, i):
        """Given: the pair (m, v) of parameter i, the arrays self.state[i]["m"] and self.state[i]["v"]:
        zeros of p.data's shape and dtype at the first step, and the SAME two arrays at every step after."""
        return self._buffer(i, "m"), self._buffer(i, "v")

    def step(self):
        """One Adam step. First the step count, once per step (1 at the first step):

            t <- t + 1                                         self.t += 1

        then for every parameter i, with p = self.params[i], theta = p.data, g = p.grad and
        m, v = self.moments(i):

            theta <- theta (1 - lr wd)                         decoupled weight decay (nothing when wd = 0)
            m <- b1 m + (1 - b1) g                             first moment
            v <- b2 v + (1 - b2) g^2                           second moment (g^2 = g * g, element-wise)
            m_hat = m / (1 - b1^t),   v_hat = v / (1 - b2^t)   bias correction (t = self.t, after the +1)
            theta <- theta - lr m_hat / (sqrt(v_hat) + eps)    eps AFTER the square root

        Update theta, m and v IN PLACE: p.data *= ..., p.data -= ..., m *= b1 then m += ... (or
        m[...] = ...). A name bound to a new array (m = b1 * m + ...) leaves self.state[i]["m"] as it
        was, and the next step would start from the old m. The decay multiplies theta; it is NOT added
        to g (that would be classic Adam's L2 penalty, which m and v would then average).
        Use xp = ae.array_module(p.data) for xp.sqrt, not numpy: the same code then runs on every backend.

        The check runs several steps with fresh gradients, side by side with tinyae.Adam (the same
        start and hyper-parameters), and compares theta, m and v with its, in float64: a correct
        answer agrees to round-off (~1e-15); the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Adam.step: update every p.data and its moments m, v in place")
