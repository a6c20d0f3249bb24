"""Paper A simulator: the NumPy twin of the Numba kernel, the bare-draw limit, and the benchmark.

``simulate_policy_gradient_numpy`` runs the same loop as :func:`simulate.budget.simulate_policy_gradient`
written the idiomatic NumPy way: per iteration, every (prompt, rollout, stage) uniform at once from a
vectorised port of simulate.rng's counter generator (same numbers as the kernel), geometric stage
times by inversion, a cumulative sum over stages, and advantages from the registry's NumPy API
(``theory.estimators.estimate``). It agrees with the kernel to round-off (summation order differs);
tests/test_budget_simulate.py checks it.

Benchmark (``rlvr-lab bench``): rollouts per second of the sweep kernel (the figures' path) against
this twin (target >= 5x) and against simulate.budget_kernel._minimum_work, the draws and logs any
exact simulator of the model needs, in the kernel's layout (target >= 50% of it).
"""

from __future__ import annotations

import numpy as np
import numba

from simulate.rng import uniform_np
from theory.bench import BenchCase, with_threads
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


def _sweep_numpy(*, seeds, theta0s, Hs, **kw) -> list:
    """The NumPy twin over a sweep's runs, one after another (NumPy has no parallel layout)."""
    return [simulate_policy_gradient_numpy(theta0=t, H=h, seed=int(s), **kw) for s, t, h in zip(seeds, theta0s, Hs)]


def make_bench_cases(quick: bool) -> list:
    """One case per K in {1, 4}: the sweep kernel (the path every figure takes) on R >= 2 runs per
    thread, against the NumPy twin, its minimum-work reference and itself on one thread."""
    from simulate.budget import _outputs, difficulty_population, simulate_sweep, theta_for_budget
    from simulate.budget_kernel import BLOCK, _minimum_work, _sweep_kernel
    from simulate.rng import padded
    from simulate.schedule import workers
    from theory.estimators import resolve

    P, G, n_iter, H = (256, 8, 20, 256) if quick else (1024, 8, 40, 256)
    R = max(4, 2 * numba.get_num_threads())
    spec = resolve("grpo")
    d = difficulty_population(P, 0.5)
    seeds = np.arange(1, R + 1, dtype=np.int64)
    Hs = np.full(R, float(H))
    lrs = np.full(R, 0.01)
    cases = []
    for K in (1, 4):
        th = np.full(R, theta_for_budget(1.5, d, H, K))  # balanced xi: few truncated rollouts
        outs = _outputs((R,), n_iter)
        kernel = lambda K=K, th=th, outs=outs: _sweep_kernel(workers(R), seeds, th, d, Hs, K, G, n_iter, lrs, 0,
                                                             spec.code, spec.params, *outs)
        public = lambda K=K, th=th: simulate_sweep(d=d, theta0=th, H=H, seed=seeds, K=K, G=G, n_iter=n_iter,
                                                   lr=0.01, estimator="grpo")
        twin = lambda K=K, th=th: _sweep_numpy(seeds=seeds, theta0s=th, Hs=[H] * R, d=d, K=K, G=G,
                                               n_iter=n_iter, lr=0.01, estimator="grpo")
        limit = lambda K=K, th=th: _minimum_work(workers(R), seeds, th, d, K, G, n_iter, np.zeros((R, BLOCK, padded(G * K))))
        cases.append(BenchCase(
            name=f"budget.sweep_K{K}", unit="rollouts", work=float(R * P * G * n_iter),
            candidates={"numba sweep kernel": kernel,
                        "numba sweep kernel, 1 thread": lambda k=kernel: with_threads(1, k),
                        "simulate_sweep (public, with accuracy)": public, "numpy": twin,
                        "minimum work (draws + inversion)": limit},
            reference="numpy", kernel="numba sweep kernel", limit="minimum work (draws + inversion)",
            serial="numba sweep kernel, 1 thread",
            note=(f"{R} runs x P={P} x G={G} x {n_iter} iterations, H={H}, K={K}, xi0=1.5, grpo, binary "
                  "reward; the figures' path: one parallel region over runs, each run serial"),
            setup=lambda K=K, th=th: (_sweep_kernel(1, seeds[:1], th[:1], d[:2], Hs[:1], K, G, 1, lrs[:1], 0, spec.code,
                                                    spec.params, *_outputs((1,), 1)),
                                      _minimum_work(1, seeds[:1], th[:1], d[:2], K, G, 1, np.zeros((1, BLOCK, padded(G * K))))),
            targets={"numba sweep kernel": ">= 5x numpy, >= 50% of minimum work"}))
    return cases
