"""Exercise: the VAE's gradient through the KL term and the reparameterisation trick.

Check your answer:   tinyae check exercises/vae.py::VAEObjective
The derivation:      docs/vae.md

A VAE's encoder outputs mu and logvar, shape (N, L). The middle of the VAE, written here:

    sigma = exp(logvar / 2),    z = mu + sigma * eps,    eps ~ N(0, I) drawn once per step
    KL    = (1/N) sum_n -1/2 sum_j (1 + logvar_nj - mu_nj^2 - exp(logvar_nj))      (batch mean)
    loss  = R(z) + beta * KL      R = the decoder's reconstruction term (batch mean)

The decoder's backward pass gives g_z = dR/dz. Your backward turns it into dloss/dmu and
dloss/dlogvar, the gradient the encoder's backward pass starts from.

The check: eps is drawn by hypothesis and passed to forward (in training the VAE draws it);
R is a real reconstruction term (a Dense decoder, BCE with logits); your (dmu, dlogvar) are
compared with central differences of loss(mu, logvar) with eps held fixed.
"""

from __future__ import annotations

import tinyae as ae


class VAEObjective:
    """The reparameterised sample z and the KL term of a (beta-)VAE, with beta = self.beta."""

    exercise = "vae"  # tells `tinyae check` which gradient check to run

    def __init__(self, beta=1.0):
        self.beta = float(beta)

    def forward(self, mu, logvar, eps):
        """Given: z = mu + sigma * eps and the batch-averaged KL; returns (z, kl), z of shape (N, L).

        Keeps mu, logvar, eps and sigma for backward.
        """
        xp = ae.array_module(mu)
        n = mu.shape[0]
        sigma = xp.exp(0.5 * logvar)
        z = mu + sigma * eps
        kl = float(-0.5 * xp.sum(1.0 + logvar - mu * mu - xp.exp(logvar))) / n
        self.mu, self.logvar, self.eps, self.sigma = mu, logvar, eps, sigma
        return z, kl

    def backward(self, g_z):
        """Given g_z = dR/dz, shape (N, L) (already divided by N: R is a batch mean), return the
        pair (dmu, dlogvar), both of shape (N, L):

            dmu     = g_z * dz/dmu     + beta * dKL/dmu
            dlogvar = g_z * dz/dlogvar + beta * dKL/dlogvar

        with   dz/dmu = 1,   dz/dlogvar = eps * sigma / 2,
               dKL/dmu = mu / N,   dKL/dlogvar = (exp(logvar) - 1) / (2 N)      (the KL is a batch mean)

        Use the eps that forward used (self.eps): the gradient is that of z for THIS eps.
        Use xp = ae.array_module(g_z) for array functions (xp.exp), not numpy.
        A correct answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("VAEObjective.backward: return (dmu, dlogvar)")
