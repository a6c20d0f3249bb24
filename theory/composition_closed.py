"""Paper E's closed forms of the step marginals q+ (AND and mod-m verifiers) and the symmetric mod-3
example [R]; :func:`theory.composition.task_advantage_ratio` uses them for ``method="closed"``
(and re-exports them), and tests check them against its forward-backward pass."""

from __future__ import annotations

import numpy as np

from theory.checks import check_int, check_int_sequence, check_probabilities

__all__ = ["and_marginals", "mod_marginals", "mod3_symmetric"]


def and_marginals(pi, steps=None) -> tuple[np.ndarray, float]:
    """AND verifier: q+[s, 0] = prod_{t in C, t != s} p_t, q+[s, j != 0] = 0 for checked s [R].

    For an unchecked step, q+[s, j] = prod_{t in C} p_t for every j. Leave-one-out products use
    prefix/suffix products (no division, exact for p_t = 0). P(V = 1) = prod_{t in C} p_t.
    """
    pi = check_probabilities("pi", pi)
    if pi.ndim != 2:
        raise ValueError(f"pi must be a 2-D array shaped (S, K); got rank {pi.ndim}")
    S, K = pi.shape
    steps = tuple(range(S)) if steps is None else check_int_sequence("steps", steps, low=0, high=S - 1)
    p = np.ones(S)
    p[list(steps)] = pi[list(steps), 0]
    pre = np.concatenate([[1.0], np.cumprod(p)[:-1]])
    suf = np.concatenate([np.cumprod(p[::-1])[::-1][1:], [1.0]])
    loo = pre * suf  # (S,) prod over t != s
    q = np.zeros((S, K))
    for s in range(S):
        if s in steps:
            q[s, 0] = loo[s]
        else:
            q[s, :] = loo[s]  # p[s] = 1 for an unchecked step, so loo = full product
    return q, float(np.prod(p))


def mod_marginals(pi, modulus: int = 3, offsets=None) -> tuple[np.ndarray, float]:
    """Mod-m verifier by the discrete Fourier transform [R]: with phi_t(w) = sum_j pi[t, j] w^{d_j},

        q+[s, j] = (1/m) sum_{k=0}^{m-1} zeta^{k d_j} prod_{t != s} phi_t(zeta^k),  zeta = e^{2 pi i/m}.
    """
    pi = check_probabilities("pi", pi)
    if pi.ndim != 2:
        raise ValueError(f"pi must be a 2-D array shaped (S, K); got rank {pi.ndim}")
    S, K = pi.shape
    modulus = check_int("modulus", modulus, low=2)
    if offsets is None:
        d = np.arange(K) % modulus
    else:
        d = np.asarray(check_int_sequence("offsets", offsets)) % modulus
        if d.size != K:
            raise ValueError(f"offsets must have length K = {K}; got {d.size}")
    zk = np.exp(2j * np.pi * np.arange(modulus) / modulus)  # (m,)
    phi = pi @ (zk[None, :] ** d[:, None])  # (S, m)
    pre = np.vstack([np.ones(modulus), np.cumprod(phi, axis=0)[:-1]])
    suf = np.vstack([np.cumprod(phi[::-1], axis=0)[::-1][1:], np.ones(modulus)])
    loo = pre * suf  # (S, m)
    q = (loo[:, None, :] * zk[None, None, :] ** d[None, :, None]).sum(axis=2).real / modulus
    P = float(np.prod(phi, axis=0).sum().real / modulus)
    return q, P


def mod3_symmetric(p, S: int) -> dict:
    """The symmetric mod-3 example: P(c) = p, P(w1) = P(w2) = (1 - p)/2 at each of S steps [R].

    With lambda = (3p - 1)/2:  P(V) = (1 + 2 lambda^S)/3,  q+_c = (1 + 2 lambda^{S-1})/3,
    q+_c - P(V) = (2/3) lambda^{S-1} (1 - lambda), which for S = 2 is (1 - p)(3p - 1)/2: the
    correct task gains iff p > 1/3 (the base-model threshold, paper E Prop. 6.3 [V]). For odd S
    lambda^{S-1} >= 0, so below 1/3 the dynamics creep up to the uniform point and stall.

    >>> float(round(mod3_symmetric(0.5, 2)["advantage"], 12))  # (1 - .5)(1.5 - 1)/2
    0.125
    """
    p = np.asarray(check_probabilities("p", p), dtype=np.float64)
    S = check_int("S", S, low=1)
    lam = (3.0 * p - 1.0) / 2.0
    PV = (1.0 + 2.0 * lam ** S) / 3.0
    qc = (1.0 + 2.0 * lam ** (S - 1)) / 3.0
    adv = (2.0 / 3.0) * lam ** (S - 1) * (1.0 - lam)
    return {"lambda": lam, "success": PV, "qplus_correct": qc, "advantage": adv}
