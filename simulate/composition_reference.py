"""Vectorised NumPy reference of the sampled compositional dynamics (the bench baseline).

Same model, same random numbers and same estimator calls as
:func:`simulate.composition.sampled_runs`, vectorised over runs instead of compiled: the counter
RNG of :mod:`simulate.rng` is evaluated on uint64 arrays (``uniform_np``, tested against
``uniform_py`` bit for bit), advantages come from :func:`theory.estimators.estimate` on the
(runs, G) reward array. Results agree with the Numba kernel to round-off (the score sum is an
einsum here, a loop there); tests/test_composition_simulate.py checks it.
"""

from __future__ import annotations

import numpy as np

from simulate.rng import uniform_np
from theory.composition import Verifier
from theory.estimators import estimate

__all__ = ["sampled_runs_numpy"]

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
