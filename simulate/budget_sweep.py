"""Paper A sweeps over the initial relative budget xi0, built on simulate.budget.simulate_sweep.

Two ways to set xi0 (paper A's figure on learning efficiency [V]):
- ``mode="horizon"``: one base policy (population E[T] = ``mean_T_base`` tokens), H = xi0 * E[T];
  accuracy is measured at a fixed evaluation horizon H_eval = ``xi_eval`` * E[T] so the metric
  itself does not change with the training horizon [R].
- ``mode="difficulty"``: one horizon H = ``H_fixed``; the base policy's hazard is shifted so that
  the population has relative budget xi0 (a difficulty shift is a theta shift in this model);
  accuracy is measured at H_eval = H.
Efficiency metrics over the n_iter iterations of a run (gain = accuracy after - accuracy before):
per iteration gain / n_iter, per rollout gain / rollouts, per token gain / generated tokens.
``samples_needed`` measures the rollouts needed for a reliable one-step improvement (see there).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from simulate.budget import difficulty_population, simulate_sweep, theta_for_budget
from theory.checks import as_real_array, as_seed_array, check_int, check_real


def _xi_grid(xi_grid):
    arr = as_real_array("xi_grid", xi_grid)
    if arr.ndim != 1 or arr.size < 1 or not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError("xi_grid must hold finite values > 0 in a non-empty 1-D array")
    return arr


def _horizons(xi_grid, mean_T, mean_T_name):
    """H = round(xi mean_T) >= 1 for each xi: integers the simulator holds exactly (<= 2**53)."""
    H = np.maximum(1.0, np.round(xi_grid * mean_T))
    if np.any(H > 2.0**53):
        raise ValueError(f"xi_grid * {mean_T_name} must be at most 2**53 tokens (an exact horizon); got "
                         f"xi = {float(xi_grid[H > 2.0**53][0])!r} with {mean_T_name} = {mean_T!r}")
    return H.astype(np.int64)


__all__ = ["efficiency_sweep", "samples_needed", "Z90"]

Z90 = float(special.ndtri(0.9))


def efficiency_sweep(xi_grid, seeds, *, mode="horizon", estimator="grpo", reward="binary", K=1, P=64, G=8,
                     n_iter=15, lr=0.01, spread=0.5, mean_T_base=128.0, H_fixed=256, xi_eval=1.75) -> dict:
    """Runs every (seed, xi0); returns arrays shaped (S, X) plus the actual ``xi0`` (X,)."""
    xi_grid = _xi_grid(xi_grid)
    seeds = as_seed_array("seeds", seeds)
    if seeds.size < 1:
        raise ValueError("seeds must hold at least one seed")
    K, n_iter, lr = check_int("K", K, low=1), check_int("n_iter", n_iter, low=1), check_real("lr", lr)
    mean_T_base = check_real("mean_T_base", mean_T_base, low=0.0, open_low=True)
    H_fixed = check_int("H_fixed", H_fixed, low=1)
    xi_eval = check_real("xi_eval", xi_eval, low=0.0, open_low=True)
    d = difficulty_population(P, spread)
    if mode == "horizon":
        H = _horizons(xi_grid, mean_T_base, "mean_T_base")  # (X,)
        theta = np.full(xi_grid.size, theta_for_budget(float(H_fixed) / mean_T_base, d, H_fixed, K))
        H_eval = np.full(xi_grid.size, max(1, round(xi_eval * mean_T_base)), dtype=np.int64)
        xi0 = H / mean_T_base
    elif mode == "difficulty":
        H = np.full(xi_grid.size, H_fixed, dtype=np.int64)
        theta = np.array([theta_for_budget(float(x), d, H_fixed, K) for x in xi_grid])
        H_eval = H
        xi0 = xi_grid
    else:
        raise ValueError(f"mode must be 'horizon' or 'difficulty'; got {mode!r}")
    S, X = seeds.size, xi_grid.size
    run = simulate_sweep(d=d, theta0=np.tile(theta, S), H=np.tile(H, S), H_eval=np.tile(H_eval, S),
                         seed=np.repeat(seeds, X), K=K, G=G, n_iter=n_iter, lr=lr, estimator=estimator,
                         reward=reward)
    gain = (run.accuracy[:, -1] - run.accuracy[:, 0]).reshape(S, X)
    informative = (run.mixed_groups if reward == "binary" else run.success_groups).mean(axis=1) / P
    return {"xi0": xi0, "gain": gain, "per_iteration": gain / n_iter,
            "per_rollout": gain / run.rollouts.sum(axis=1).reshape(S, X),
            "per_token": gain / run.tokens.sum(axis=1).reshape(S, X),
            "informative": informative.reshape(S, X), "acc0": run.accuracy[:, 0].reshape(S, X),
            "acc_end": run.accuracy[:, -1].reshape(S, X)}


def samples_needed(xi_grid, seed, *, estimator="rloo", reward="graded", K=1, P=64, G=8, n_batches=40,
                   mean_T=32.0) -> dict:
    """Rollouts n_90(xi) for a reliable one-step improvement at fixed policy, per xi (X,) [R].

    Definition (declared before measuring): a one-step update from n rollouts (n/G groups) is
    reliable when, with probability >= 0.9, its gradient estimate g_n is at least half of its mean,
    so that a small step along it realises at least half of the exact step's improvement. With the
    per-group contribution c (variance v, mean m) and the central limit theorem,
    n_90 = G (2 z_0.9)^2 v / m^2. m and v are estimated from ``n_batches`` independent batches of P
    groups at lr = 0 (v = P * variance of the batch means); homogeneous prompts, E[T] = mean_T.
    """
    xi_grid = _xi_grid(xi_grid)
    K, n_batches = check_int("K", K, low=1), check_int("n_batches", n_batches, low=2)
    mean_T = check_real("mean_T", mean_T, low=0.0, open_low=True)
    if K >= mean_T:
        raise ValueError(f"mean_T must be > K = {K} (per-token hazard K / mean_T below 1); got {mean_T!r}")
    d = np.zeros(check_int("P", P, low=1))
    H = _horizons(xi_grid, mean_T, "mean_T")
    theta = np.full(xi_grid.size, float(special.logit(K / mean_T)))
    run = simulate_sweep(d=d, theta0=theta, H=H, seed=seed, K=K, G=G, n_iter=n_batches, lr=0.0,
                         estimator=estimator, reward=reward)
    m = run.grad.mean(axis=1)  # (X,)  batch means are per-rollout averages: c / G
    v = P * run.grad.var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        n90 = np.where(m > 0, (2 * Z90) ** 2 * v * G / m**2, np.inf)
    return {"xi": H / mean_T, "mean": m, "var": v, "n90": n90}
