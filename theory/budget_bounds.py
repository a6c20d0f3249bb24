"""Paper A: finite-sample requirements per regime and the Gamma case-study recursion.

Reproduces, as executable formulas, the sample-complexity side of paper A (notes A.3):
Theorem 6.2's per-iteration sample requirement [S] with the exact Gamma(K) anti-concentration and
reward spread substituted [R], Theorem 6.3's per-regime scalings [S], and Theorem 6.4's case study
(T ~ Gamma(K, p)) in which xi grows by about 1/(2K) per iteration with n_i proportional to
K xi_i^2 [S], computed by the recursion of the notes' derivation [R].

Departures and open choices:
- Constants (C, log(|R|/delta)) are set to 1: only shapes in xi are meaningful [R].
- The regime-averaged c_0(xi; kappa) is taken as the per-prompt c(eps = kappa) of
  :func:`theory.budget.anti_concentration` with the graded reward [R].
- f(xi) of Assumption 4.3 is the small-xi law of q(xi) for Gamma(K): (K xi)^K / K! [R].
- The case-study threshold is kappa_i = min(kappa_max, 1/(K xi_i^2)) (the notes' choice, capped at
  kappa_max = 1 so that it is a valid threshold at small xi) and the step solves
  J(xi_{i+1}) = J(xi_i) + sqrt(kappa_i) sigma_i / 2 exactly (not its linearisation) [R].

Used by ``rlvr-lab reproduce --only budget_samples`` and ``--only budget_growth``.
"""

from __future__ import annotations

import math

import numpy as np

from theory.budget import anti_concentration, graded_mean_inverse, graded_reward_moments, regime
from theory.checks import as_finite_array, as_real_array, check_int, check_real

__all__ = ["small_budget_rate", "required_samples_bound", "regime_sample_scaling", "case_study_kappa",
           "case_study_step", "case_study_recursion"]


def small_budget_rate(xi, K: int = 1):
    """f(xi) = (K xi)^K / K!, the rate at which q(xi) and c_0 vanish as xi -> 0 (Gamma(K)) [R].

    >>> round(float(small_budget_rate(0.1, K=2)), 12)
    0.02
    """
    K = check_int("K", K, low=1)
    xi = as_real_array("xi", xi)
    if not np.all(np.isfinite(xi)) or np.any(xi <= 0):
        raise ValueError("xi must be finite and > 0")
    return np.exp(K * np.log(K * xi) - math.lgamma(K + 1))


def required_samples_bound(xi, kappa: float = 0.1, K: int = 1):
    """Theorem 6.2's requirement n >= 2CH log(|R|/delta) / (sqrt(kappa) c_0(xi; kappa) sigma) [S].

    With the constants set to 1 and the exact Gamma(K) graded-reward sigma/H and c(kappa)
    substituted [R]: n(xi) = 1 / (sqrt(kappa) c(kappa) (sigma/H)). It is infinite where
    c(kappa) = 0. Behaviour: ~ xi^(-3K/2) as xi -> 0, minimal at xi = Theta(1), ~ sqrt(K) xi as
    xi -> infinity (Theorem 6.3).

    >>> round(float(required_samples_bound(1.0, 0.1)), 3)
    21.767
    """
    kappa = check_real("kappa", kappa, low=0, open_low=True)
    K = check_int("K", K, low=1)
    _, var = graded_reward_moments(xi, K)
    c = anti_concentration(xi, kappa, K)
    with np.errstate(divide="ignore"):
        return np.where(c * var > 0, 1.0 / (np.sqrt(kappa) * c * np.sqrt(np.maximum(var, 1e-300))), np.inf)


def regime_sample_scaling(xi, kappa: float = 0.1, K: int = 1):
    """Theorem 6.3's per-regime order of the required n_i (constants 1) [S].

    deficient: kappa^(-1/2) f(xi)^(-3/2); balanced: kappa^(-1/2); ample: xi kappa^(-1/2), with f
    from :func:`small_budget_rate` and the regimes of :func:`theory.budget.regime`. Orders of
    growth only: the pieces do not join continuously at the thresholds.

    >>> regime_sample_scaling([1.0, 10.0], kappa=0.25).tolist()
    [2.0, 20.0]
    """
    kappa = check_real("kappa", kappa, low=0, open_low=True)
    xi = as_real_array("xi", xi)
    reg = np.asarray(regime(xi))
    base = kappa ** -0.5
    return np.where(reg == "deficient", base * small_budget_rate(xi, K) ** -1.5,
                    np.where(reg == "ample", base * xi, base))


def case_study_kappa(xi, K: int = 1, kappa_max: float = 1.0):
    """The case-study threshold kappa_i = min(kappa_max, 1 / (K xi_i^2)) [S form, R cap]."""
    K = check_int("K", K, low=1)
    kappa_max = check_real("kappa_max", kappa_max, low=0, open_low=True)
    return np.minimum(kappa_max, 1.0 / (K * as_finite_array("xi", xi, low=0, open_low=True) ** 2))


def case_study_step(xi: float, sigma_over_H: float, K: int = 1, kappa_max: float = 1.0) -> float:
    """One idealized online step: the xi' with J(xi') = J(xi) + sqrt(kappa) sigma / 2 [S/R].

    J = E[R] (graded reward, Gamma(K) law) at the fixed horizon H, so in units of H the step
    solves m(xi') = m(xi) + sqrt(kappa) s / 2 with m = E[R]/H and s = ``sigma_over_H`` (the exact
    sigma/H, or an estimate of it from samples). Theorem 6.2 guarantees at least this gain when
    n_i samples are used; the case study takes it as the realised gain.

    >>> round(case_study_step(10.0, float(np.sqrt(graded_reward_moments(10.0)[1]))) - 10.0, 3)
    0.526
    """
    xi = check_real("xi", xi, low=0, open_low=True)
    s = check_real("sigma_over_H", sigma_over_H, low=0.0)
    kappa_max = check_real("kappa_max", kappa_max, low=0, open_low=True)
    kappa = float(case_study_kappa(xi, K, kappa_max))
    m = float(graded_reward_moments(xi, K)[0])
    target = min(m + 0.5 * math.sqrt(kappa) * s, 1.0 - 1e-12)
    return graded_mean_inverse(target, K) if target > m else xi


def case_study_recursion(xi0: float, n_iter: int, K: int = 1, kappa_max: float = 1.0) -> dict:
    """Exact-moment recursion of Theorem 6.4's case study (T ~ Gamma(K, p)) [S/R].

    Returns ``xi`` (n_iter + 1,), ``kappa`` (n_iter,), ``n_samples`` = K xi_i^2, the order of n_i
    (n_iter,), and ``increment`` xi_{i+1} - xi_i (n_iter,). The increments tend to 1/(2K)
    (slowly, as 1/(2K) + O(1/xi)), so xi grows linearly and n_i grows quadratically in i.

    >>> d = case_study_recursion(1.0, 40, K=1)
    >>> 0.5 < float(d["increment"][-1]) < 0.52
    True
    """
    xi0 = check_real("xi0", xi0, low=0, open_low=True)
    n_iter = check_int("n_iter", n_iter, low=1)
    K = check_int("K", K, low=1)
    xi = np.empty(n_iter + 1)
    xi[0] = xi0
    for i in range(n_iter):
        s = float(np.sqrt(graded_reward_moments(xi[i], K)[1]))
        xi[i + 1] = case_study_step(xi[i], s, K, kappa_max)
    return {"xi": xi, "kappa": case_study_kappa(xi[:-1], K, kappa_max), "n_samples": K * xi[:-1] ** 2,
            "increment": np.diff(xi)}

