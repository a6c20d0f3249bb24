"""The exact expected RLVR update of the compositional model, the sign rule and the predictions.

Paper E states an exact expression for the expected per-step update whose direction is governed by
the task-advantage ratio [V]. Our derivation [R] (notes E.3, extended to every registry estimator):

One RLVR step draws a group of G i.i.d. chains a^(1..G) from the product policy pi = softmax(theta),
scores them (r_i = V(a^(i)) in {0, 1}), forms advantages A_i = A(r)_i with a registry estimator and
keep-mask kappa(r), and ascends

    Delta theta[s, j] = lr * (1/G) sum_i kappa A_i (1[a^(i)_s = j] - pi[s, j])          (score of a softmax)

Because the chains are independent and A depends on the chains only through the rewards,
E[1[a_s = j] - pi_j | r_i = 1] = pi_j (q+_j - P)/P and E[... | r_i = 0] = -pi_j (q+_j - P)/(1 - P),
with P = P(V = 1). Hence, exactly,

    E[Delta theta[s, j]] = lr * c(P, G) * pi[s, j] (q+[s, j] - P)
                         = lr * c(P, G) * pi (1 - pi) q-[s, j] (r[s, j] - 1),
    c(P, G) = sum_{k=1}^{G} b(k-1; G-1, P) kappa_k A_1(k) - sum_{k=0}^{G-1} b(k; G-1, P) kappa_k A_0(k),

where A_1(k) / A_0(k) is the advantage of a success / failure in a group with k successes and b is
the binomial pmf. c = 1 for reinforce and rloo, 1 - 1/G for dr_grpo; for grpo it is the expected
inverse group std. **Sign rule**: whenever c > 0 the logit of task j at step s rises in expectation
iff r[s, j] > 1. ``gradient_factor`` computes c from the registry itself (never re-implemented);
``expected_update_bruteforce`` computes E[Delta theta] by enumerating every group, with no use of
the factorisation, as the independent check.

Predictions [V, paper E Thm. 5.4 / Prop. 6.3]: learnable when the correct task keeps r > 1 at every
step along training; in the mod-3 example (S even, symmetric base model) the correct composition is
reached iff p0 > 1/3.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit

from theory.checks import as_real_array, check_choice, check_int, check_probability, check_real
from theory.composition import (Verifier, _forward_backward, check_policy, check_verifier, chain_value,
                                ratio_from_marginals)
from theory.estimators import ESTIMATORS, advantage_row, estimate, keep_row, resolve

__all__ = ["gradient_factor", "expected_update", "expected_update_bruteforce", "sign_agreement",
           "mod3_threshold", "predicted_mod3_outcome", "uniformly_positive"]


@njit(cache=True)
def _binom_pmf(n, P, out):
    """b(k; n, P) for k = 0..n into ``out`` (n + 1,), log-space; exact at P in {0, 1}."""
    if P <= 0.0 or P >= 1.0:
        for k in range(n + 1):
            out[k] = 0.0
        out[0 if P <= 0.0 else n] = 1.0
        return
    lp, lq = np.log(P), np.log1p(-P)
    for k in range(n + 1):
        out[k] = np.exp(math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)
                        + k * lp + (n - k) * lq)


@njit(cache=True)
def _gradient_factor(code, params, G, P):
    """c(P, G) of the module docstring, calling the registry's ``advantage_row``/``keep_row``."""
    b = np.empty(G)
    _binom_pmf(G - 1, P, b)
    r = np.empty(G)
    adv = np.empty(G)
    c = 0.0
    for k in range(G + 1):
        for i in range(G):
            r[i] = 1.0 if i < k else 0.0
        advantage_row(code, r, params, adv)
        kappa = 1.0 if keep_row(code, r) else 0.0
        if k >= 1:
            c += b[k - 1] * kappa * adv[0]
        if k <= G - 1:
            c -= b[k] * kappa * adv[G - 1]
    return c


def _spec(estimator: str, options: dict):
    if ESTIMATORS[check_choice("estimator", estimator, ESTIMATORS)].stateful:
        raise ValueError(f"estimator {estimator!r} is stateful (a reward history); the compositional "
                         "model has one prompt and no history, so it is not supported here")
    return resolve(estimator, **options)


def gradient_factor(estimator: str, P: float, G: int, **options) -> float:
    """c(P, G): E[Delta theta] = lr c pi (q+ - P) for binary rewards [R, see module docstring].

    >>> round(gradient_factor("dr_grpo", 0.3, 8), 12), round(gradient_factor("reinforce", 0.3, 8), 12)
    (0.875, 1.0)
    """
    spec = _spec(estimator, options)
    P = check_probability("P", P)
    G = check_int("G", G, low=1)
    return float(_gradient_factor(spec.code, spec.params, G, P))


def expected_update(pi, verifier: Verifier, estimator: str = "dr_grpo", G: int = 8, lr: float = 1.0,
                    **options) -> np.ndarray:
    """Exact E[Delta theta] (S, K) of one RLVR step from policy ``pi`` [R, module docstring].

    >>> from theory.composition import mod_verifier
    >>> p = 0.5; pi = np.array([[p, (1 - p) / 2, (1 - p) / 2]] * 2)
    >>> d = expected_update(pi, mod_verifier(2), "reinforce", G=4)
    >>> float(round(d[0, 0], 12))  # pi_c (q+_c - P) = 0.5 * (1 - p)(3p - 1)/2
    0.0625
    """
    spec = _spec(estimator, options)
    pi = check_policy(pi, check_verifier(verifier).S, verifier.K)
    G = check_int("G", G, low=1)
    lr = check_real("lr", lr, low=0.0)
    q = np.empty_like(pi)
    P = _forward_backward(pi, verifier.trans, verifier.accept, verifier.init, q)
    c = _gradient_factor(spec.code, spec.params, G, min(max(P, 0.0), 1.0))
    return lr * c * pi * (q - P)


def expected_update_bruteforce(pi, verifier: Verifier, estimator: str = "dr_grpo", G: int = 2,
                               lr: float = 1.0, max_groups: int = 300_000, **options) -> np.ndarray:
    """E[Delta theta] by enumerating every group of G rollouts (chain and verifier coin) — oracle.

    Uses :func:`theory.estimators.estimate` on the rewards of every group and the softmax score
    directly; needs (K^S * outcomes)^G <= ``max_groups``.
    """
    _spec(estimator, options)
    S, K = check_verifier(verifier).S, verifier.K
    pi = check_policy(pi, S, K)
    G = check_int("G", G, low=1)
    outcomes = []  # (chain, reward, probability)
    for chain in itertools.product(range(K), repeat=S):
        w = float(np.prod([pi[s, a] for s, a in enumerate(chain)]))
        v = chain_value(verifier, chain)
        for reward, pr in ((1.0, v), (0.0, 1.0 - v)):
            if pr > 0.0 and w > 0.0:
                outcomes.append((chain, reward, w * pr))
    n = len(outcomes) ** G
    if n > max_groups:
        raise ValueError(f"brute force needs at most max_groups = {max_groups} groups; got {n}")
    idx = np.array(list(itertools.product(range(len(outcomes)), repeat=G)), dtype=np.int64)  # (N, G)
    chains = np.array([o[0] for o in outcomes])  # (O, S)
    rew = np.array([o[1] for o in outcomes])[idx]  # (N, G)
    prob = np.prod(np.array([o[2] for o in outcomes])[idx], axis=1)  # (N,)
    est = estimate(estimator, rew, **options)
    A = est.advantages * est.keep[:, None]  # (N, G)
    onehot = (chains[:, :, None] == np.arange(K)[None, None, :]).astype(np.float64)  # (O, S, K)
    score = onehot[idx] - pi[None, None, :, :]  # (N, G, S, K)
    upd = np.einsum("ng,ngsk->nsk", A, score) / G
    return lr * np.einsum("n,nsk->sk", prob, upd)


def sign_agreement(update, pi, qplus, tol: float = 1e-12) -> dict:
    """Compare sign(E[Delta theta[s, j]]) with sign(r[s, j] - 1) entrywise.

    Entries with |update| <= tol and |r - 1| <= tol are ties (both neutral) and count as agreeing;
    returns counts of agreements, ties and mismatches.
    """
    tol = check_real("tol", tol, low=0.0)
    u = as_real_array("update", update)
    pi, qplus = as_real_array("pi", pi), as_real_array("qplus", qplus)
    if not (u.shape == pi.shape == qplus.shape and u.ndim == 2):
        raise ValueError(f"update, pi and qplus must share one (S, K) shape; got {u.shape}, {pi.shape}, {qplus.shape}")
    rr = ratio_from_marginals(pi, qplus)["ratio"]
    su = np.where(np.abs(u) <= tol, 0, np.sign(u))
    sr = np.where(np.abs(rr - 1.0) <= tol, 0, np.sign(rr - 1.0))
    ties = (su == 0) & (sr == 0)
    agree = su == sr
    return {"agree": int(agree.sum()), "ties": int(ties.sum()), "mismatch": int((~agree).sum()),
            "total": int(u.size)}


def mod3_threshold(S: int) -> float | None:
    """Base-model threshold of the symmetric mod-3 example: 1/3 for even S; None for odd S [R].

    For odd S the correct task's advantage (2/3) lambda^{S-1} (1 - lambda) is never negative, so
    there is no sign change: from p0 < 1/3 the dynamics creep up to the uniform point and stall.
    """
    S = check_int("S", S, low=1)
    return 1.0 / 3.0 if S % 2 == 0 else None


def predicted_mod3_outcome(p0: float, S: int) -> str:
    """"correct" (p0 > 1/3), "suboptimal" (even S, p0 < 1/3), "stall" (odd S, p0 <= 1/3, or p0 = 1/3).

    >>> predicted_mod3_outcome(0.4, 2), predicted_mod3_outcome(0.3, 2), predicted_mod3_outcome(0.3, 3)
    ('correct', 'suboptimal', 'stall')
    """
    p0 = check_probability("p0", p0)
    S = check_int("S", S, low=1)
    if p0 > 1.0 / 3.0:
        return "correct"
    if p0 == 1.0 / 3.0 or S % 2 == 1:
        return "stall"
    return "suboptimal"


def uniformly_positive(ratio_trajectory, margin: float = 0.0) -> bool:
    """Thm 5.4's assumption on a logged run: r[t, s, correct] > 1 + margin at every time and step."""
    r = as_real_array("ratio_trajectory", ratio_trajectory)
    return bool(np.all(r > 1.0 + check_real("margin", margin, low=0.0)))
