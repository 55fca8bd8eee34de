"""Exercise ("backprop ninja"): the gradient of a whole VAE objective, one atomic step at a time.

Check your answer:   tinyae check exercises/vae_steps.py::VAESteps
The derivation:      docs/vae.md (the KL and the reparameterisation), docs/bce.md, docs/dense.md

No layers, no library backward passes: the objective of a one-layer VAE is written out below as
seven small steps, and you write the gradient of every intermediate, from the loss back to the
encoder's weights. The checker tests each intermediate gradient on its own, against finite
differences of the loss with that intermediate set free, so it can tell you the FIRST step you
got wrong (every gradient after it is computed from it, so fix that one first).
"""

from __future__ import annotations

import tinyae as ae


class VAESteps:
    """A VAE with a one-layer encoder (We, be) and a one-layer decoder (Wd, bd), beta = self.beta.

    The checker sets the weights: self.We (D, 2L), self.be (2L,), self.Wd (L, D), self.bd (D,).
    """

    exercise = "vae_steps"  # tells `tinyae check` which gradient check to run

    def __init__(self, beta=1.0):
        self.beta = float(beta)

    def forward(self, x, eps):
        """Given: the loss of a batch x (N, D), values in [0, 1], with the noise eps (N, L).
        Every intermediate is kept in self.v for backward."""
        xp = ae.array_module(x)
        n, latent = x.shape[0], eps.shape[1]
        h = x @ self.We + self.be                                   # 1 encoder affine     (N, 2L)
        mu, logvar = h[:, :latent], h[:, latent:]                   # 2 split              (N, L) each
        sigma = xp.exp(0.5 * logvar)                                # 3 exp
        z = mu + sigma * eps                                        # 4 reparameterise     (N, L)
        logits = z @ self.Wd + self.bd                              # 5 decoder affine     (N, D)
        # 6 BCE on logits, summed over features, averaged over the batch: softplus(a) - x a per pixel
        rec = float(xp.sum(xp.maximum(logits, 0.0) - x * logits + xp.log(1.0 + xp.exp(-xp.abs(logits))))) / n
        kl = float(-0.5 * xp.sum(1.0 + logvar - mu * mu - xp.exp(logvar))) / n   # 7 KL, batch mean
        self.v = {"x": x, "eps": eps, "h": h, "mu": mu, "logvar": logvar, "sigma": sigma, "z": z,
                  "logits": logits, "n": n}
        return rec + self.beta * kl

    def backward(self):
        """Return a dict of dloss/dv for every intermediate v, each of v's shape:

            key        the gradient                                                 step
            "logits"   (sigmoid(logits) - x) / N                                    6
            "Wd"       z^T dlogits                                                  5
            "bd"       dlogits summed over the batch                                5
            "z"        dlogits Wd^T                                                 5
            "sigma"    dz * eps                                                     4
            "mu"       dz + beta * mu / N              (z's path, then the KL's)    4, 7
            "logvar"   dsigma * sigma / 2 + beta * (exp(logvar) - 1) / (2 N)        3, 7
            "h"        [dmu, dlogvar] side by side: shape (N, 2L)                   2
            "We"       x^T dh                                                       1
            "be"       dh summed over the batch                                     1

        where dv means dloss/dv, sigmoid(a) = 1 / (1 + exp(-a)), N the batch size, and the
        intermediates are in self.v (self.v["z"], self.v["sigma"] ...).

        Use xp = ae.array_module(self.v["x"]) for array functions (xp.exp, xp.sum(..., axis=0),
        xp.concat([a, b], axis=1)), not numpy. A correct answer scores an error of ~1e-9 or
        better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("VAESteps.backward: return the dict of gradients, from 'logits' to 'be'")
