"""Exercise: the gradient of a VAE's KL term, KL(N(mu, sigma^2) || N(0, I)), averaged over the batch.

Check your answer:   tinyae check exercises/gaussian_kl.py::GaussianKL
The derivation:      docs/vae.md (the KL term)

A VAE's encoder outputs mu and logvar = log sigma^2, both of shape (N, L): N samples, L latent
dimensions. The KL term of its loss, summed over the latent dimensions and averaged over the batch:

    KL = (1/N) sum_n -1/2 sum_j (1 + logvar_nj - mu_nj^2 - exp(logvar_nj))

Every entry (n, j) of mu and of logvar appears in one term of the sum only.
(exercises/vae.py then puts this gradient together with the reparameterisation z = mu + sigma * eps.)
"""

from __future__ import annotations

import tinyae as ae


class GaussianKL:
    """The batch-averaged KL divergence of N(mu, diag(exp(logvar))) from the prior N(0, I)."""

    exercise = "gaussian_kl"  # tells `tinyae check` which gradient check to run

    def forward(self, mu, logvar):
        """Given: the KL above, as a Python float, for mu and logvar of shape (N, L).

        Keeps mu and logvar for backward.
        """
        xp = ae.array_module(mu)
        n = mu.shape[0]
        kl = float(-0.5 * xp.sum(1.0 + logvar - mu * mu - xp.exp(logvar))) / n
        self.mu, self.logvar = mu, logvar
        return kl

    def backward(self):
        """Return the pair (dKL/dmu, dKL/dlogvar), both of shape (N, L), with mu = self.mu and
        logvar = self.logvar from forward and N = mu.shape[0] (element-wise, the KL is a batch mean):

            dKL/dmu     = -1/(2N) (-2 mu)             = mu / N
            dKL/dlogvar = -1/(2N) (1 - exp(logvar))   = (exp(logvar) - 1) / (2 N)

        Use xp = ae.array_module(self.mu) for array functions (xp.exp), not numpy.
        The check compares with central differences of forward(mu, logvar) in float64: a correct
        answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("GaussianKL.backward: return (dmu, dlogvar)")
