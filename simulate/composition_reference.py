"""Vectorised NumPy reference of the sampled compositional dynamics (the bench baseline).

Same model, same random numbers and same estimator calls as
:func:`simulate.composition.sampled_runs`, vectorised over runs instead of compiled: the counter
RNG of :mod:`simulate.rng` is evaluated on uint64 arrays (``uniform_np``, tested against
``uniform_py`` bit for bit), advantages come from :func:`theory.estimators.estimate` on the
(runs, G) reward array. Results agree with the Numba kernel to round-off (the score sum is an
einsum here, a loop there); tests/test_composition_simulate.py checks it.

``rlvr-lab bench`` times :func:`simulate.composition._sampled_runs` (threads claim runs, each run
serial) against this reference (target >= 5x) and against :func:`_minimum_work`, what no
exact simulator of the model can avoid, in the kernel's layout: per run and iteration the stream
key, the G (S + 1) counter draws and the S K exps of the softmax (target >= 50% of it). The
floor draws one at a time: drawing them in vector blocks as the kernel does (simulate.rng.uniforms_into)
made the floor 7% slower (3.9 -> 4.2 ns per rollout-step, 1 thread, interleaved A/B), while the
kernel gained 7% from it (10.9 -> 10.15), so each keeps its faster form.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulate.rng import stream_key, uniform_at, uniform_np
from simulate.schedule import claim, workers
from theory.composition import Verifier
from theory.estimators import estimate

__all__ = ["sampled_runs_numpy", "make_bench_cases"]


def sampled_runs_numpy(pi0, verifier: Verifier, seeds, *, estimator: str = "dr_grpo", G: int = 8,
                       lr: float = 0.5, n_iter: int = 1000, eps: float = 0.1, log_every: int = 10,
                       **options) -> np.ndarray:
    """Final logits (R, S, K) of the sampled runs (no logging, no early stop)."""
    seeds = np.asarray(seeds, dtype=np.int64)
    R, S, K = seeds.size, verifier.S, verifier.K
    theta = np.broadcast_to(np.log(np.asarray(pi0, dtype=np.float64)), (R, S, K)).copy()
    counters = (np.arange(G)[:, None] * (S + 1) + np.arange(S + 1)[None, :])  # (G, S + 1)
    for t in range(n_iter):
        e = np.exp(theta - theta.max(axis=2, keepdims=True))
        pi = e / e.sum(axis=2, keepdims=True)  # (R, S, K)
        u = uniform_np(seeds[:, None, None], t, counters[None])  # (R, G, S + 1)
        cum = np.cumsum(pi, axis=2)  # (R, S, K)
        acts = np.minimum((u[:, :, :S, None] >= cum[:, None, :, :]).sum(axis=3), K - 1)  # (R, G, S)
        x = np.full((R, G), verifier.init, dtype=np.int64)
        for s in range(S):
            x = verifier.trans[acts[:, :, s], x]
        rew = (u[:, :, S] < verifier.accept[x]).astype(np.float64)  # (R, G)
        est = estimate(estimator, rew, **options)
        A = est.advantages * est.keep[:, None]  # (R, G)
        onehot = acts[..., None] == np.arange(K)  # (R, G, S, K)
        score = onehot - pi[:, None]  # (R, G, S, K)
        theta += lr * np.einsum("rg,rgsk->rsk", A, score) / G
    return theta


@njit(cache=True, parallel=True)
def _minimum_work(n_workers, seeds, S, K, G, n_iter, acc):
    """Draws and softmax exps only, in the kernel's layout (module docstring); acc (R,)."""
    R = seeds.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        r = claim(counter)
        while r < R:
            tot = 0.0
            for t in range(n_iter):
                key = stream_key(seeds[r], t)
                u = 0.0
                for c in range(G * (S + 1)):
                    u = uniform_at(key, c)
                    tot += u
                for j in range(S * K):
                    tot += np.exp(u - j)
            acc[r] = tot
            r = claim(counter)
    return acc


def make_bench_cases(quick: bool) -> list:
    """Sampled-dynamics kernel (all threads and one thread) vs this reference and the minimum work."""
    from simulate.composition import _prepare, _sampled_runs
    from theory.bench import BenchCase, with_threads
    from theory.composition import mod_verifier

    R, n_iter, G = (64, 100, 8) if quick else (256, 400, 8)
    v = mod_verifier(2)
    pi0 = np.array([[0.3, 0.35, 0.35]] * 2)
    seeds = np.arange(R, dtype=np.int64)
    kw = dict(estimator="grpo", G=G, lr=0.5, n_iter=n_iter, log_every=n_iter)
    spec, G, lr, n_iter, eps, log_every, theta0, out, _ = _prepare(pi0, v, "grpo", G, 0.5, n_iter, 0.1, n_iter,
                                                                   {}, R)

    def kernel():  # what sampled_runs runs, without its input checks
        _sampled_runs(workers(R), theta0, seeds, v.trans, v.accept, v.init, spec.code, spec.params, G, lr, n_iter, eps,
                      log_every, False, *out)
        return out[0]

    def limit():
        _minimum_work(workers(R), seeds, v.S, v.K, G, n_iter, np.zeros(R))

    return [BenchCase(
        name="composition.sampled_runs", unit="rollout-steps", work=float(R * n_iter * G * v.S),
        candidates={"numba kernel": kernel, "numba kernel, 1 thread": lambda: with_threads(1, kernel),
                    "numpy": lambda: sampled_runs_numpy(pi0, v, seeds, **kw),
                    "minimum work (draws + softmax exps)": limit},
        reference="numpy", kernel="numba kernel", limit="minimum work (draws + softmax exps)",
        serial="numba kernel, 1 thread",
        setup=lambda: (kernel(), _minimum_work(1, seeds[:1], v.S, v.K, G, 1, np.zeros(1))),
        note=f"mod-3, S=2, K=3, G={G}, {R} runs x {n_iter} iterations, grpo; threads claim runs",
        targets={"numba kernel": ">= 5x numpy, >= 50% of minimum work"})]
