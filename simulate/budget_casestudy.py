"""Paper A: the idealized online update of the Gamma(K) case study (Theorem 6.4 [S]), simulated.

Each iteration i draws n_i = ceil(c_n K xi_i^2) rollouts of T ~ Gamma(K, rate K/E[T]) (units
E[T] = 1, so H = xi_i; a stage time is Exp(1)/K from simulate.rng), estimates the graded reward's
spread sigma_hat/H from them (R = (H - T)_+), and moves the policy to the relative budget at which
J = E[R] has grown by exactly the guaranteed amount sqrt(kappa_i) sigma_hat / 2, with
kappa_i = min(1, 1/(K xi_i^2)) (:func:`theory.budget_bounds.case_study_step`). This is the case
study under its own assumptions (the realised gain equals Theorem 6.2's guarantee) with the one
source of noise the theorem has: the sample estimate of sigma. c_n (default 8) is the constant in
n_i = Theta(K xi_i^2) [R]; the plain policy-gradient counterpart is simulate.budget.

Run: ``rlvr-lab reproduce --only budget_growth``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from simulate.rng import exponential
from theory.budget_bounds import case_study_step
from theory.checks import check_int, check_real

__all__ = ["gamma_graded_rewards", "simulate_case_study"]


@njit(cache=True, parallel=True)
def _gamma_graded_kernel(seed, stream, xi, K, out):
    """out[i] = (xi - T_i)_+ / xi, T_i = sum of K Exp(1) / K: Gamma(K, rate K), mean 1."""
    for i in prange(out.shape[0]):
        t = 0.0
        for k in range(K):
            t += exponential(seed, stream, i * K + k)
        t /= K
        out[i] = max(xi - t, 0.0) / xi


def gamma_graded_rewards(n: int, xi: float, K: int = 1, seed: int = 0, stream: int = 0) -> np.ndarray:
    """n graded rewards (H - T)_+ / H at relative budget xi, T ~ Gamma(K, rate K) (mean 1): (n,).

    >>> gamma_graded_rewards(3, 1.5, K=2, seed=1).shape
    (3,)
    """
    n = check_int("n", n, low=1)
    xi = check_real("xi", xi, low=0.0, open_low=True)
    K = check_int("K", K, low=1)
    seed = check_int("seed", seed, low=0)
    stream = check_int("stream", stream, low=0)
    out = np.empty(n)
    _gamma_graded_kernel(seed, stream, xi, K, out)
    return out


def simulate_case_study(xi0: float, n_iter: int, K: int = 1, seed: int = 0, c_n: float = 8.0,
                        n_min: int = 16) -> dict:
    """Idealized case-study run: ``xi`` (n_iter + 1,), ``n_samples`` and ``sigma_hat`` (n_iter,).

    >>> d = simulate_case_study(1.0, 5, K=1, seed=0)
    >>> d["xi"].shape, bool(np.all(np.diff(d["xi"]) > 0))
    ((6,), True)
    """
    xi0 = check_real("xi0", xi0, low=0.0, open_low=True)
    n_iter = check_int("n_iter", n_iter, low=1)
    K = check_int("K", K, low=1)
    c_n = check_real("c_n", c_n, low=0.0, open_low=True)
    n_min = check_int("n_min", n_min, low=2)
    xi = np.empty(n_iter + 1)
    xi[0] = xi0
    n_samples = np.empty(n_iter, dtype=np.int64)
    sigma_hat = np.empty(n_iter)
    for i in range(n_iter):
        n_samples[i] = max(n_min, math.ceil(c_n * K * xi[i] ** 2))
        r = gamma_graded_rewards(int(n_samples[i]), float(xi[i]), K, seed, stream=i)
        sigma_hat[i] = float(r.std(ddof=1))
        xi[i + 1] = case_study_step(float(xi[i]), sigma_hat[i], K)
    return {"xi": xi, "n_samples": n_samples, "sigma_hat": sigma_hat}
