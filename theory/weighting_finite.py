"""Paper B at finite group size G: the exact mean log-odds step and the responses per update.

Beyond the paper (its theory is the population limit G -> inf). For the simulator's KL-proximal
update with the importance-weighted advantage estimate (simulate/weighting.py)

    z_y <- z_y + eta * sum_i A_i 1{y_i = y} / (G pi(y)),

the first-order change of the log-odds l = log(rho/(1-rho)) is, since dl/dz_y = pi(y)(r(y)-rho)/(rho(1-rho)),

    Delta l = eta * (1/G) sum_i A_i (r_i - rho) / (rho (1 - rho))        (importance weights cancel)

whatever the split of the probability inside the correct and the wrong set. Its expectation over
the k ~ Binomial(G, rho) successes of a group is the finite-G drift computed here, with the
registry's own advantages (so rloo's G/(G-1), grpo's Bessel factor and eps, and dapo's keep-mask
are all included). For the binary weightings and 0 < k < G it equals w(k/G); an all-fail group
contributes w(0) rho and an all-pass group w(1)(1 - rho) [R derivation]:

    E[Delta l] / eta = E[ w_G(k) ] / (rho (1 - rho)) -> omega(rho)  as G -> inf.

DAPO's dynamic sampling is modelled per prompt [R]: a dropped group is redrawn for the same prompt up
to ``max_refill`` times; the update uses the first kept group. This is the full-batch analogue of
refilling a batch, and it makes the cost per update G (1 - q^(R+1)) / (1 - q), q = P(drop),
which is about max(G, 1/rho)-like: the a + b/rho clock of theory.weighting, realised.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.stats import binom

from theory.checks import check_int, check_probability, check_real
from theory.estimators import ESTIMATORS, estimate
from theory.weighting import _check_interval, _check_name, budget_scale

__all__ = ["group_terms", "finite_group_drift", "expected_responses", "finite_group_time"]


def group_terms(name: str, rho: float, group_size: int, **options) -> tuple[np.ndarray, np.ndarray]:
    """Per-k first-order terms (1/G) sum_i A_i (r_i - rho) and keep flags, k = 0..G: two (G+1,) arrays.

    >>> t, keep = group_terms("linear_r", 0.1, 4)
    >>> round(float(t[0]), 6)  # all-fail group: every A_i = -1, (r_i - rho) = -0.1
    0.1
    """
    _check_name(name)
    rho = check_probability("rho", rho)
    g = check_int("group_size", group_size, low=1)
    # keyed on the entry object, not its name: a name re-registered at run time is a new entry
    m_ar, m_a, keep = _moments(ESTIMATORS[name], g, tuple(sorted(options.items())))
    return m_ar - rho * m_a, keep  # (G+1,) each


@lru_cache(maxsize=256)
def _moments(entry, g, options):
    """Row means of A_i r_i and of A_i over the G+1 canonical groups (k ones, then zeros)."""
    rows = (np.arange(g)[None, :] < np.arange(g + 1)[:, None]).astype(np.float64)  # (G+1, G)
    est = estimate(entry.name, rows, **dict(options))
    m_ar, m_a = (est.advantages * rows).mean(axis=1), est.advantages.mean(axis=1)
    for arr in (m_ar, m_a, est.keep):
        arr.flags.writeable = False
    return m_ar, m_a, est.keep.astype(np.float64)


def finite_group_drift(name: str, rho: float, group_size: int, *, max_refill: int = 0, **options) -> float:
    """E[Delta l] / eta of the KL-proximal update with groups of G, rho in (0, 1) [R derivation].

    Sum_k Binom(k; G, rho) keep_k term_k / (rho (1 - rho)), times sum_{j<=R} q^j for a filtering
    estimator with ``max_refill`` = R redraws (q = drop probability).

    >>> round(finite_group_drift("rloo", 0.3, 8), 12)  # unbiased: G/(G-1) E[rho_hat (1 - rho_hat)] = rho(1-rho)
    1.0
    """
    rho = check_probability("rho", rho, open_low=True, open_high=True)
    refill = check_int("max_refill", max_refill, low=0)
    terms, keep = group_terms(name, rho, group_size, **options)
    pmf = binom.pmf(np.arange(terms.size), terms.size - 1, rho)
    q = 1.0 - float(np.dot(pmf, keep))
    return float(np.dot(pmf, keep * terms) * _geometric(q, refill) / (rho * (1.0 - rho)))


def _geometric(q, refill):
    return float(sum(q**j for j in range(refill + 1)))


def expected_responses(name: str, rho: float, group_size: int, *, max_refill: int = 0, **options) -> float:
    """Expected responses one update consumes: G sum_{j<=R} q^j (G unless the estimator filters).

    >>> round(expected_responses("dapo", 0.01, 16, max_refill=1000), 1)  # about 1/rho at small rho
    107.7
    """
    rho = check_probability("rho", rho)
    refill = check_int("max_refill", max_refill, low=0)
    _, keep = group_terms(name, rho, group_size, **options)
    pmf = binom.pmf(np.arange(keep.size), keep.size - 1, rho)
    return (keep.size - 1) * _geometric(1.0 - float(np.dot(pmf, keep)), refill)


def finite_group_time(name: str, rho0: float, rho1: float, group_size: int, step: float, *,
                      budget: float = 1.0, max_refill: int = 0, max_steps: int = 200_000,
                      **options) -> tuple[float, float]:
    """(regular time, responses per prompt) of the mean-drift recursion at group size G [R].

    l_{t+1} = l_t + step * k * finite_group_drift(rho_t), k the population budget scale of
    theory.weighting (the simulator's normalisation); the regular time is step times the hitting
    index (interpolated), the responses sum expected_responses over the updates. It ignores the
    fluctuations around the mean path, so it predicts the simulator only up to that Jensen gap.
    """
    rho0, rho1 = _check_interval(rho0, rho1)
    step = check_real("step", step, low=0.0, open_low=True)
    k = budget_scale(name, rho0, rho1, budget, **options)
    rho, ell, t, resp = rho0, np.log(rho0) - np.log1p(-rho0), 0, 0.0
    while t < max_steps:
        cost = expected_responses(name, rho, group_size, max_refill=max_refill, **options)
        ell += step * k * finite_group_drift(name, rho, group_size, max_refill=max_refill, **options)
        new = float(1.0 / (1.0 + np.exp(-ell)))
        if new >= rho1:
            frac = (rho1 - rho) / (new - rho)
            return step * (t + frac), resp + frac * cost
        resp += cost
        rho, t = new, t + 1
    raise ValueError(f"rho did not reach rho1 within max_steps={max_steps}")
