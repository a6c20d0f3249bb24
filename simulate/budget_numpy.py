"""Paper A simulator: the NumPy twin of the Numba kernel, the bare-draw limit, and the benchmark.

``simulate_policy_gradient_numpy`` runs the same loop as :func:`simulate.budget.simulate_policy_gradient`
written the idiomatic NumPy way: per iteration, every (prompt, rollout, stage) uniform at once from a
vectorised port of simulate.rng's counter generator (same numbers as the kernel), geometric stage
times by inversion, a cumulative sum over stages, and advantages from the registry's NumPy API
(``theory.estimators.estimate``). It agrees with the kernel to round-off (summation order differs);
tests/test_budget_simulate.py checks it. ``_bare_draws`` is the practical limit: the kernel's loop
structure (serial iterations, ``prange`` over prompts) drawing the same uniforms and nothing else.

Benchmark (``rlvr-lab bench``): rollouts per second of the three, targets >= 5x the NumPy twin and
within 2x of the bare-draw limit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulate.rng import uniform, uniform_np
from theory.bench import BenchCase
from theory.estimators import estimate

__all__ = ["simulate_policy_gradient_numpy", "make_bench_cases"]

def simulate_policy_gradient_numpy(*, d, theta0, H, K=1, G=8, n_iter=20, lr=0.01, estimator="grpo",
                                   reward="binary", seed=0, **estimator_options) -> dict:
    """NumPy twin of the kernel: returns ``theta`` (n_iter + 1,), ``grad`` and ``tokens`` (n_iter,)."""
    d = np.asarray(d, dtype=np.float64)
    P = d.size
    streams = (np.arange(P, dtype=np.uint64) << np.uint64(32))[:, None, None]  # (P, 1, 1)
    counters = (np.arange(G, dtype=np.uint64)[:, None] * np.uint64(K) + np.arange(K, dtype=np.uint64))[None]
    theta = np.empty(n_iter + 1)
    grad = np.empty(n_iter)
    tokens = np.empty(n_iter)
    theta[0] = theta0
    for it in range(n_iter):
        z = theta[it] - d  # (P,); the kernel's stable sigmoid, branch for branch
        with np.errstate(over="ignore"):
            p = np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))
        u = uniform_np(seed, streams + np.uint64(it), counters)  # (P, G, K)
        with np.errstate(divide="ignore"):
            stage = np.floor(np.log(u) / np.log1p(-p)[:, None, None]) + 1.0  # (P, G, K)
        cum = np.cumsum(stage, axis=2)  # (P, G, K)
        s = (cum <= H).sum(axis=2)  # (P, G) stages done within H
        t = cum[:, :, -1]  # (P, G) tokens to the K-th stage
        solved = t <= H
        n = np.minimum(t, H)
        r = np.where(solved, 1.0 if reward == "binary" else (H - t + 1.0) / H, 0.0)  # (P, G)
        est = estimate(estimator, r, **estimator_options)
        score = s - n * p[:, None]  # (P, G)
        grad[it] = np.sum(np.where(est.keep[:, None], est.advantages * score, 0.0)) / (P * G)
        tokens[it] = n.sum()
        theta[it + 1] = theta[it] + lr * grad[it]
    return {"theta": theta, "grad": grad, "tokens": tokens}


@njit(cache=True, parallel=True)
def _bare_draws(seed, P, G, K, n_iter, acc):
    """The limit: the kernel's loops drawing the same G*K uniforms per prompt and iteration."""
    for it in range(n_iter):
        for x in prange(P):
            stream = (x << 32) + it
            s = 0.0
            for c in range(G * K):
                s += uniform(seed, stream, c)
            acc[x] += s
    return acc


def make_bench_cases(quick: bool) -> list:
    """One case per K in {1, 4}: the three implementations on the same (P, G, n_iter) workload."""
    from simulate.budget import difficulty_population, simulate_policy_gradient, theta_for_budget

    P, G, n_iter, H = (256, 8, 20, 256) if quick else (1024, 8, 40, 256)
    cases = []
    for K in (1, 4):
        d = difficulty_population(P, 0.5)
        th = theta_for_budget(1.5, d, H, K)  # balanced xi: few truncated (early-stopped) rollouts
        kw = dict(d=d, theta0=th, H=H, K=K, G=G, n_iter=n_iter, lr=0.01, estimator="grpo", seed=1)
        cases.append(BenchCase(
            name=f"budget_pg_K{K}", unit="rollouts", work=float(P * G * n_iter),
            candidates={"numba": lambda kw=kw: simulate_policy_gradient(**kw),
                        "numba-serial": lambda kw=kw: simulate_policy_gradient(**kw, parallel=False),
                        "numpy": lambda kw=kw: simulate_policy_gradient_numpy(**kw),
                        "draws-only": lambda K=K: _bare_draws(1, P, G, K, n_iter, np.zeros(P))},
            reference="numba",
            note=(f"P={P}, G={G}, H={H}, K={K}, xi0=1.5, grpo, binary reward; includes the Python wrapper. "
                  "numba-serial is the same loop without prange (one parallel region per iteration "
                  "costs a scheduler slice when the cores are shared)"),
            setup=lambda kw=kw, K=K: (simulate_policy_gradient(**{**kw, "n_iter": 1}),
                                      simulate_policy_gradient(**{**kw, "n_iter": 1}, parallel=False),
                                      _bare_draws(1, 2, 2, K, 1, np.zeros(2))),
            targets={"numpy": "numba >= 5x numpy", "draws-only": "numba within 2x of draws-only"}))
    return cases
