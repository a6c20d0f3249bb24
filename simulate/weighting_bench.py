"""Paper B simulator: the minimum-work reference and the bench case.

``rlvr-lab bench`` times :func:`simulate.weighting._dynamics` (the kernel :func:`simulate.weighting.simulate`
runs: one parallel region over prompts, each prompt's steps serial) against

- :func:`simulate.weighting._numpy_reference`, the same KL-proximal dynamics vectorised over
  prompts (target >= 5x);
- :func:`_minimum_work`, what no exact simulator of the model can avoid, in the kernel's layout:
  per prompt and step the stream key and the G counter draws, and the K exps of a softmax on every
  step where the policy moved (taken from the kernel's own run, whose ``signal`` says which);
  target >= 50% of it. The inverse-CDF search and the estimator are not counted as unavoidable.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulate.rng import stream_key, uniform_at
from simulate.schedule import claim, workers
from simulate.weighting import _dynamics, _numpy_reference, initial_logits, initial_success
from theory.bench import BenchCase, with_threads
from theory.estimators import resolve

__all__ = ["make_bench_cases"]


@njit(cache=True, parallel=True)
def _minimum_work(n_workers, K, g, n_steps, seed, moved, acc):
    """Draws and softmax exps only, in the kernel's layout (module docstring); acc (P,)."""
    P = moved.shape[1]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        p = claim(counter)
        while p < P:
            tot = 0.0
            for t in range(n_steps):
                key = stream_key(seed, p * n_steps + t)
                u = 0.0
                for i in range(g):
                    u = uniform_at(key, i)
                    tot += u
                if moved[t, p]:
                    for k in range(K):
                        tot += np.exp(u - k)
            acc[p] = tot
            p = claim(counter)
    return acc


def make_bench_cases(quick: bool) -> list[BenchCase]:
    """Dynamics kernel (all threads and one thread) vs the NumPy reference and the minimum work."""
    p, g, t = (512, 16, 50) if quick else (4096, 16, 200)
    spec = resolve("grpo")
    logits, correct = initial_logits(initial_success("from_scratch", p, 0))
    outs = (np.empty((t + 1, p)), np.empty((t, p), np.int32), np.empty((t, p), np.int32),
            np.empty((t, p), np.bool_))

    def kernel():
        _dynamics(workers(p), spec.code, spec.params, logits, correct, g, 0.01, 0, t, 0, 1, *outs)

    def numpy_run():
        _numpy_reference(spec.code, spec.params, logits, correct, g, 0.01, t, 1)

    def limit():
        _minimum_work(workers(p), logits.shape[1], g, t, 1, outs[3], np.zeros(p))

    return [BenchCase(name="weighting.dynamics", unit="responses", work=float(p * g * t),
                      candidates={"numba kernel": kernel, "numba kernel, 1 thread": lambda: with_threads(1, kernel),
                                  "numpy": numpy_run, "minimum work (draws + softmax exps)": limit},
                      reference="numpy", kernel="numba kernel", limit="minimum work (draws + softmax exps)",
                      serial="numba kernel, 1 thread",
                      note=f"P={p} prompts, G={g}, K=8, {t} KL-proximal steps, grpo, from-scratch start; "
                           "one parallel region over prompts",
                      setup=kernel,  # also fills outs[3] (signal), which the minimum work reads
                      targets={"numba kernel": ">= 5x numpy, >= 50% of minimum work"})]
