"""Paper C simulator: a NumPy twin of the value-MSE loop, the bare-work limit, and the benchmark.

``value_mse_numpy`` runs :func:`simulate.kernel.simulate`'s loop for an exogenous logistic drift the
idiomatic NumPy way: per iteration, the batch's (B, G) uniforms at once (simulate.rng.uniform_np,
the kernel's numbers), categorical draws by a cumulative sum, the leave-one-out and global means
vectorised, and KAE (triangular kernel) as masked (B, history) weight matrices over the whole
stored history. It agrees with the kernel to round-off (tests/test_kernel_bench.py).
``_bare_work`` is the practical limit of the same work: the kernel's loop structure (threads claim
runs, serial iterations) doing only what the model itself needs: the draws, the drift's sigmoid, and
the inverse-CDF draw of a response from the K-response policy (its CDF and the search). Baselines
and metrics are the measurement, not the model, and are left out.

Benchmark (``rlvr-lab bench --only kernel``): traces per second of the three.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulate.kernel import Method, draw_batch, prompt_parameters, simulate
from simulate.kernel_drift import DRIFTS, _value, exogenous_policy
from simulate.weighting import _categorical, _cdf
from simulate.rng import stream_key, uniform_at, uniform_np
from simulate.schedule import claim, workers
from theory.bench import BenchCase, with_threads

__all__ = ["value_mse_numpy", "bench_cases"]

LOGISTIC = DRIFTS["logistic"]  # the drift the floor and the NumPy twin measure


def value_mse_numpy(*, n_prompts, batch_size, group_size, n_steps, reuse, bandwidths, n_responses=32,
                    n_correct=8, n_runs=1, seed=0) -> np.ndarray:
    """Value MSE (R, T, 3 + len(bandwidths)) of oracle, grpo, global and triangular KAE per bandwidth."""
    P, B, G, T, K, nc = n_prompts, batch_size, group_size, n_steps, n_responses, n_correct
    par = prompt_parameters(n_runs, P, seed)
    correct = np.arange(K) < nc  # (K,)
    hs = np.asarray(bandwidths, dtype=np.float64)
    out = np.zeros((n_runs, T, 3 + hs.size))
    for run in range(n_runs):
        a, b = par["a"][run], par["b"][run]
        perm = np.arange(P)
        h_it = np.zeros((P, T * G))
        h_z = np.zeros((P, T * G))
        h_n = np.zeros(P, dtype=np.int64)
        batch = perm[:B]
        for i in range(1, T + 1):
            if (i - 1) % reuse == 0:
                u = uniform_np(seed, (run * T + i - 1) * (P + 1) + P, np.arange(B))
                for j in range(B):
                    q = j + int(u[j] * (P - j))
                    perm[[j, q]] = perm[[q, j]]
                batch = perm[:B].copy()
            v = 1.0 / (1.0 + np.exp(-(a[batch] + b[batch] * (i / T))))  # (B,)
            pi = np.where(correct[None, :], (v / nc)[:, None], ((1.0 - v) / (K - nc))[:, None])  # (B, K)
            u = uniform_np(seed, ((run * T + i - 1) * (P + 1) + batch)[:, None], np.arange(G)[None, :])  # (B, G)
            cdf = np.cumsum(pi, axis=1)
            ys = np.minimum((cdf[:, None, :] <= u[:, :, None]).sum(axis=2), K - 1)  # (B, G)
            z = correct[ys].astype(np.float64)  # (B, G)
            tot = z.sum(axis=1, keepdims=True)
            loo = (tot - z) / (G - 1) if G > 1 else np.zeros_like(z)
            gm = z.mean()
            cols = [np.broadcast_to(v[:, None], z.shape), loo, np.full_like(z, gm)]
            valid = np.arange(T * G)[None, :] < h_n[batch][:, None]  # (B, history)
            for h in hs:
                w = np.maximum(1.0 - (i - h_it[batch]) / (i * h), 0.0) * valid  # (B, history)
                num = (w * h_z[batch]).sum(axis=1, keepdims=True) + (tot - z)
                den = w.sum(axis=1, keepdims=True) + (G - 1)
                cols.append(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0))
            for m, vhat in enumerate(cols):
                out[run, i - 1, m] = ((vhat - v[:, None]) ** 2).mean()
            pos = h_n[batch][:, None] + np.arange(G)[None, :]
            h_it[batch[:, None], pos] = i
            h_z[batch[:, None], pos] = z
            h_n[batch] += G
    return out


@njit(cache=True, parallel=True)
def _bare_work(n_workers, a, b, bsz, g, n_steps, reuse, seed, correct, n_corr, out):
    """What any exact simulator of the logistic drift must do, in the kernel's layout (threads claim
    runs): the minibatch shuffles, per batch prompt the drift's sigmoid and the CDF of its K-response
    policy, per rollout the counter draw and its inverse-CDF response. No baseline, no metric."""
    n_runs, n_p = a.shape
    K = correct.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        perm = np.empty(n_p, np.int64)
        pi = np.empty(K)
        cum = np.empty(K)
        run = claim(counter)
        while run < n_runs:
            perm[:] = np.arange(n_p)
            acc = 0.0
            for i in range(1, n_steps + 1):
                if (i - 1) % reuse == 0:
                    draw_batch(seed, run, i, n_steps, bsz, perm)
                for j in range(bsz):
                    p = perm[j]
                    v = _value(LOGISTIC, a[run, p], b[run, p], 0.0, i / n_steps)  # w: unused by it
                    exogenous_policy(v, correct, n_corr, pi)
                    last = _cdf(pi, cum, K)
                    key = stream_key(seed, (run * n_steps + i - 1) * (n_p + 1) + p)
                    for k in range(g):
                        acc += _categorical(cum, last, uniform_at(key, k), K)
            out[run] = acc
            run = claim(counter)


def bench_cases(quick: bool) -> list[BenchCase]:
    """Value-MSE sweep: Numba (all threads and one; threads claim runs) vs the NumPy twin vs the
    bare-work floor."""
    p, bsz, g, t, runs = (200, 16, 4, 60, 2) if quick else (400, 32, 8, 200, 4)
    hs = (0.1, 0.3)
    k_resp, n_corr = 32, 8
    kw = dict(n_prompts=p, batch_size=bsz, group_size=g, n_steps=t, reuse=10, n_runs=runs, seed=1,
              n_responses=k_resp, n_correct=n_corr)
    base = (Method("oracle"), Method("grpo"), Method("global")) + tuple(Method("kae", "triangular", h) for h in hs)
    par = prompt_parameters(runs, p, kw["seed"])
    sink = np.empty(runs)
    correct = (np.arange(k_resp) < n_corr).astype(np.float64)  # the exogenous layout: the first n_corr

    def numba_run():
        simulate(drift="logistic", baselines=base, capacity=t * g, **kw)

    def numpy_run():
        value_mse_numpy(bandwidths=hs, **kw)

    def bare():
        _bare_work(workers(runs), par["a"], par["b"], bsz, g, t, kw["reuse"], kw["seed"], correct, n_corr, sink)

    return [BenchCase(name="kernel.value_mse", unit="traces", work=float(runs * t * bsz * g),
                      candidates={"numba sweep": numba_run, "numba sweep, 1 thread": lambda: with_threads(1, numba_run),
                                  "numpy twin": numpy_run, "minimum work (draws + inverse CDF)": bare},
                      reference="numpy twin", kernel="numba sweep", limit="minimum work (draws + inverse CDF)",
                      serial="numba sweep, 1 thread", setup=numba_run,
                      note=f"R={runs} runs, P={p}, B={bsz}, G={g}, T={t}, J=10, 5 baselines (2 KAE)",
                      targets={"numba sweep": ">= 10x numpy twin, >= 50% of minimum work"})]
