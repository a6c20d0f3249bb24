"""Paper A on a real model: per-prompt E[T] and the relative budget xi = H / E[T], with censoring.

Measured from G rollouts per prompt at horizon H_max (``rlvr-lab llm xi``):

- q(H) = P(T <= H) for every H <= H_max, exactly, from the one set of rollouts (causal sampling).
  Every rollout is observed over the whole window [1, H_max] (a rollout that stopped with EOS
  without a correct answer is a known failure at every H <= H_max), so the Kaplan-Meier estimate
  on the window reduces to the empirical fraction; censoring only matters for E[T].
- E[T] per prompt by censored maximum likelihood: rollouts without a correct answer within H_max
  are *censored at H_max*, never dropped.
  * exponential (continuous geometric, constant per-token hazard): p_hat = d / sum_i min(T_i, H_max),
    E[T] = 1 / p_hat (d = successes); d = 0 gives E[T] = inf (xi = 0, deficient).
  * Gamma(K, p_x) with one shape K shared by all prompts (paper A's case study [S]): per-prompt
    rates and K by maximising the censored likelihood (profile over a K grid).
- xi_x = H / E[T]_x and the regime per prompt: deficient xi < 0.5, balanced 0.5 <= xi <= 5,
  ample xi > 5 (the thresholds of paper A's experiments [S]).
- the horizon range that puts the data set at xi in [1.5, 2]: H in [1.5, 2] x E[T]_pooled, with
  E[T]_pooled the censored exponential MLE over all rollouts; and the ceiling d / (n - d) that xi
  approaches if q(H) stays saturated beyond H_max (a model that stops with a wrong answer never
  succeeds later), which says whether that range is reachable at all.

Modelling choices [R]: T is discrete (tokens) but the likelihoods are the continuous ones (T >= 1
is far from 0 here); EOS-stopped failures are censored at H_max (the model could not have
succeeded later in that rollout, so this overstates the hazard's time scale slightly against a
cure-fraction model; we report the cure-fraction-free fits and their fit quality instead).

Example::

    >>> import numpy as np
    >>> t = np.array([[3.0, np.inf], [np.inf, np.inf]])
    >>> exp_mle(t, 10).round(3).tolist()  # E[T]: (3 + 10) / 1 and inf
    [13.0, inf]
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from theory.checks import check_int

__all__ = ["success_curve", "exp_mle", "gamma_mle", "regimes", "xi_summary", "gamma_q"]

DEFICIENT, AMPLE = 0.5, 5.0


def success_curve(times, horizons) -> np.ndarray:
    """q(H) = mean 1{T <= H} over all rollouts, for each H in ``horizons`` -> (len(horizons),)."""
    t = np.asarray(times, dtype=np.float64).ravel()
    return np.array([(t <= h).mean() for h in np.asarray(horizons)])


def exp_mle(times, h_max: int) -> np.ndarray:
    """Censored exponential MLE of E[T] per prompt (row): sum_i min(T_i, H_max) / d  -> (N,)."""
    t = np.atleast_2d(np.asarray(times, dtype=np.float64))  # (N, G)
    d = (t <= h_max).sum(axis=1)
    exposure = np.minimum(t, h_max).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.where(d > 0, exposure / np.maximum(d, 1), np.inf)


def _gamma_loglik(log_p, k, events, n_cens, h_max):
    p = np.exp(log_p)
    ll = np.sum(special.xlogy(k - 1, events) + k * log_p - p * events - special.gammaln(k))
    if n_cens:
        ll += n_cens * np.log(max(special.gammaincc(k, p * h_max), 1e-300))
    return ll


def gamma_mle(times, h_max: int, k_grid=None) -> dict:
    """Censored Gamma(K, p_x) MLE with shared shape K: {"k", "rates" (N,), "mean_t" (N,), "loglik"}.

    Prompts without a success have rate 0 (E[T] = inf) and do not inform K.
    """
    h_max = check_int("h_max", h_max, low=1)
    t = np.atleast_2d(np.asarray(times, dtype=np.float64))
    k_grid = np.exp(np.linspace(np.log(0.2), np.log(20.0), 41)) if k_grid is None else np.asarray(k_grid)
    rows = [(r[r <= h_max], int((r > h_max).sum())) for r in t]
    best = None
    for k in k_grid:
        total, rates = 0.0, np.zeros(len(rows))
        for i, (ev, nc) in enumerate(rows):
            if ev.size == 0:
                continue
            guess = np.log(k * ev.size / max(ev.sum() + nc * h_max, 1e-9))
            res = optimize.minimize_scalar(lambda lp: -_gamma_loglik(lp, k, ev, nc, h_max),
                                           bracket=(guess - 1.0, guess + 1.0))
            rates[i] = np.exp(res.x)
            total += -res.fun
        if best is None or total > best["loglik"]:
            best = {"k": float(k), "rates": rates, "loglik": float(total)}
    with np.errstate(divide="ignore"):
        best["mean_t"] = np.where(best["rates"] > 0, best["k"] / np.where(best["rates"] > 0, best["rates"], 1), np.inf)
    return best


def gamma_q(horizons, k: float, rate: float) -> np.ndarray:
    """q(H) = P(T <= H) for T ~ Gamma(k, rate): the regularised lower incomplete gamma."""
    return special.gammainc(k, rate * np.asarray(horizons, dtype=np.float64))


def regimes(xi) -> list[str]:
    """'deficient' (xi < 0.5), 'balanced' (0.5 <= xi <= 5) or 'ample' (xi > 5) per entry."""
    xi = np.asarray(xi, dtype=np.float64)
    return ["deficient" if x < DEFICIENT else "ample" if x > AMPLE else "balanced" for x in xi]


def xi_summary(times, h_max: int, horizon: int | None = None) -> dict:
    """Everything ``rlvr-lab llm xi`` reports, from solution times (N, G) observed to ``h_max``.

    ``horizon`` (default h_max) is the H at which xi and the regimes are stated.
    """
    h_max = check_int("h_max", h_max, low=1)
    horizon = h_max if horizon is None else check_int("horizon", horizon, low=1)
    t = np.atleast_2d(np.asarray(times, dtype=np.float64))  # (N, G)
    hs = np.arange(1, h_max + 1)
    mean_t = exp_mle(t, h_max)  # (N,)
    xi = horizon / mean_t
    d_all = int((t <= h_max).sum())
    pooled = float(np.minimum(t, h_max).sum() / d_all) if d_all else float("inf")
    gam = gamma_mle(t, h_max)
    ok = gam["rates"] > 0
    q_gamma = (np.array([gamma_q(hs, gam["k"], r) for r in gam["rates"][ok]]).sum(0) / t.shape[0]
               if ok.any() else np.zeros(h_max))
    q_exp = (np.array([1.0 - np.exp(-hs / m) for m in mean_t[np.isfinite(mean_t)]]).sum(0) / t.shape[0]
             if np.isfinite(mean_t).any() else np.zeros(h_max))
    counts = {r: regimes(xi).count(r) for r in ("deficient", "balanced", "ample")}
    return {
        "h_max": h_max, "horizon": horizon, "num_prompts": t.shape[0], "group": t.shape[1],
        "successes": d_all, "rollouts": int(t.size),
        "q_curve": {"H": hs, "q": success_curve(t, hs), "q_exp_fit": q_exp, "q_gamma_fit": q_gamma},
        "per_prompt": {"successes": (t <= h_max).sum(1), "mean_t_exp": mean_t, "xi": xi,
                       "regime": regimes(xi), "mean_t_gamma": gam["mean_t"], "times": t},
        "gamma_fit": {"k": gam["k"], "loglik": gam["loglik"]},
        "regime_counts": counts,
        "pooled_mean_t": pooled, "pooled_xi": horizon / pooled,
        "horizon_for_xi_1p5_to_2": [1.5 * pooled, 2.0 * pooled],
        # If q stays at its H_max value for longer horizons (the failed rollouts stopped with EOS or
        # keep failing), the censored-at-H_max estimate gives xi(H) -> d / (n - d): the largest xi
        # that raising H can reach. The [1.5, 2] horizon range above is an extrapolation of the
        # exponential model and is unreachable when this ceiling is below 1.5.
        "xi_ceiling_if_q_saturates": d_all / max(t.size - d_all, 1),
        "xi_1p5_reachable_if_q_saturates": bool(d_all / max(t.size - d_all, 1) >= 1.5),
    }
