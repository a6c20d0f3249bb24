"""Paper D (PREPO): prompt perplexity, the perplexity-schedule window and relative-entropy weights.

Reproduces the method definitions of paper D (Sun et al. 2025, arXiv 2511.00794; notes:
shared/papers/D_prepo.md, section D.2). Three pieces, each usable on its own:

- prompt perplexity  P_i = exp(-(1/T) sum_t log pi(x_{i,t} | x_{i,<t}))  [V, D.2(a)];
- the schedule window over candidates sorted by ascending perplexity,
  l(rho) = floor(pace(rho) (|B| - K)),  I_rho = sorted[l : l + K]  [V, D.2(b)], selection ratio
  K/|B| = 20 % by default [V]; linear pacing pace(rho) = rho [V]; ``quadratic`` (rho^2) and
  ``exponential`` ((e^{a rho} - 1)/(e^a - 1)) are our forms of the alternatives the paper only
  names [R];
- relative-entropy rollout weights w_i = Hbar_i / Hbar  [V, D.2(c)] with Hbar the simple mean of
  the rollouts' mean token entropies (mean_i w_i = 1) or the token-weighted mean
  sum_k |o_k| Hbar_k / sum_k |o_k| (then sum_i w_i |o_i| = sum_i |o_i|: the effective batch size is
  preserved) [S, identity checked: R].

The weights compose with ANY registry estimator (theory.estimators): they multiply the estimator's
advantages, A'_i = w_i A_i (:func:`weighted_advantages`), and never fork it. A zero advantage stays
zero, so the weights change which rollouts move the policy most, not which groups carry signal.

Conventions the paper leaves open [R]: K = max(1, round(ratio |B|)); training progress
rho_t = t / (T - 1) for step t of T (so the last step uses the highest window; T = 1 gives rho = 0);
an all-zero entropy batch gets w = 1 (the 0/0 limit that keeps both identities). Figures:
``rlvr-lab reproduce --only D``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from theory.checks import check_bool, check_choice, check_int, check_real

__all__ = ["PACINGS", "prompt_perplexity", "selection_size", "progress", "pace", "window_start",
           "schedule_window", "entropy_weights", "entropy_weight_jacobian", "effective_batch_factor",
           "weighted_advantages"]

#: Pacing names -> kernel codes. Linear is the paper's [V]; the other two are our forms [R].
PACINGS = {"linear": 0, "quadratic": 1, "exponential": 2}


# ----------------------------------------------------------------------------------------------
# Perplexity.
# ----------------------------------------------------------------------------------------------
def prompt_perplexity(token_logprobs) -> float:
    """Perplexity exp(-(1/T) sum_t log p_t) of one prompt from its T token log-probabilities.

    Domain: a non-empty 1-D sequence of finite log-probabilities <= 0. Result in [1, inf).
    Source: paper D (a) [V]. A model that puts probability 1/V on every token has perplexity V:

    >>> round(prompt_perplexity([math.log(1 / 7)] * 5), 12)
    7.0
    >>> round(prompt_perplexity([math.log(0.5), math.log(0.125)]), 12)  # geometric mean 1/4
    4.0
    """
    lp = np.asarray(token_logprobs, dtype=np.float64)
    if lp.ndim != 1 or lp.size == 0:
        raise ValueError(f"token_logprobs must be a non-empty 1-D sequence; got shape {lp.shape}")
    if not np.all(np.isfinite(lp)) or np.any(lp > 0.0):
        raise ValueError("token_logprobs must be finite log-probabilities <= 0")
    return float(np.exp(-lp.mean()))


# ----------------------------------------------------------------------------------------------
# The schedule window.
# ----------------------------------------------------------------------------------------------
def selection_size(n_candidates: int, ratio: float = 0.2) -> int:
    """K = max(1, round(ratio |B|)) prompts selected from |B| candidates [R rounding; ratio 0.2: V].

    >>> selection_size(80), selection_size(10, 0.25), selection_size(3, 0.1)
    (16, 2, 1)
    """
    n = check_int("n_candidates", n_candidates, low=1)
    ratio = check_real("ratio", ratio, low=0.0, high=1.0, open_low=True)
    return max(1, min(n, int(round(ratio * n))))


def progress(step: int, n_steps: int) -> float:
    """Training progress rho_t = t / (T - 1) in [0, 1] for step t = 0..T-1 (0 when T = 1) [R].

    >>> progress(0, 5), progress(4, 5)
    (0.0, 1.0)
    """
    n = check_int("n_steps", n_steps, low=1)
    t = check_int("step", step, low=0, high=n - 1)
    return _progress(t, n)


@njit(cache=True)
def _progress(t, n):
    return t / (n - 1.0) if n > 1 else 0.0


@njit(cache=True)
def _pace(code, rho, rate):
    """pace(rho) in [0, 1], increasing, pace(0) = 0 and pace(1) = 1."""
    if code == 0:
        return rho
    if code == 1:
        return rho * rho
    if rate <= 709.0:  # expm1(rate) is finite
        return math.expm1(rate * rho) / math.expm1(rate)
    # the same ratio as e^{a (rho - 1)} (1 - e^{-a rho}) / (1 - e^{-a}), finite for any rate
    return math.exp(rate * (rho - 1.0)) * math.expm1(-rate * rho) / math.expm1(-rate)


@njit(cache=True)
def _window_start(paced, n, k):
    """l = floor(paced (n - k)), clipped to [0, n - k] against round-off."""
    l = int(math.floor(paced * (n - k)))
    return min(max(l, 0), n - k)


def pace(rho, pacing: str = "linear", *, rate: float = 3.0) -> float:
    """Pacing function: linear rho [V]; quadratic rho^2 [R]; exponential (e^{a rho}-1)/(e^a-1) [R].

    Domain: rho in [0, 1]; ``rate`` a > 0 (exponential only). Every form maps 0 -> 0 and 1 -> 1 and
    is increasing, so the window always runs from the lowest to the highest perplexities.

    >>> pace(0.5), pace(0.5, "quadratic"), round(pace(0.5, "exponential", rate=3.0), 6)
    (0.5, 0.25, 0.182426)
    """
    rho = check_real("rho", rho, low=0.0, high=1.0)
    code = PACINGS[check_choice("pacing", pacing, PACINGS)]
    rate = check_real("rate", rate, low=0.0, open_low=True)
    return float(_pace(code, rho, rate))


def window_start(rho, n_candidates: int, k: int, pacing: str = "linear", *, rate: float = 3.0) -> int:
    """l(rho) = floor(pace(rho) (|B| - K)): first sorted position of the selected window [V, D.2(b)].

    Domain: rho in [0, 1], 1 <= K <= |B|. l(0) = 0 and l(1) = |B| - K; l is non-decreasing in rho.

    >>> [window_start(r, 10, 2) for r in (0.0, 0.3, 0.99, 1.0)]
    [0, 2, 7, 8]
    """
    n = check_int("n_candidates", n_candidates, low=1)
    k = check_int("k", k, low=1, high=n)
    return int(_window_start(pace(rho, pacing, rate=rate), n, k))


def schedule_window(perplexity, rho, *, ratio: float = 0.2, k: int | None = None,
                    pacing: str = "linear", rate: float = 3.0) -> np.ndarray:
    """Indices of the candidates the schedule selects at progress rho [V, D.2(b)].

    Candidates are sorted by ascending perplexity (stable: ties keep candidate order) into sigma;
    the window is I_rho = {sigma(j) : l(rho) <= j < l(rho) + K}, K from ``k`` or
    :func:`selection_size` (``ratio``). Returned in ascending-perplexity order.

    >>> schedule_window([5.0, 1.0, 9.0, 3.0, 7.0], 0.0, k=2).tolist()  # the two lowest
    [1, 3]
    >>> schedule_window([5.0, 1.0, 9.0, 3.0, 7.0], 1.0, k=2).tolist()  # the two highest
    [4, 2]
    """
    ppl = np.asarray(perplexity, dtype=np.float64)
    if ppl.ndim != 1 or ppl.size == 0 or not np.all(np.isfinite(ppl)):
        raise ValueError("perplexity must be a non-empty 1-D array of finite values")
    n = ppl.size
    k = selection_size(n, ratio) if k is None else check_int("k", k, low=1, high=n)
    l = window_start(rho, n, k, pacing, rate=rate)
    return np.argsort(ppl, kind="stable")[l:l + k]


# ----------------------------------------------------------------------------------------------
# Relative-entropy weights.
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _entropy_weights(h, lengths, token_weighted, out):
    """w_i = h_i / Hbar (Hbar simple or token-weighted); all-zero entropies give w = 1."""
    n = h.shape[0]
    num = 0.0
    den = 0.0
    for i in range(n):
        if token_weighted:
            num += lengths[i] * h[i]
            den += lengths[i]
        else:
            num += h[i]
            den += 1.0
    hbar = num / den
    for i in range(n):
        out[i] = h[i] / hbar if hbar > 0.0 else 1.0


def _check_entropies(mean_entropy, lengths, token_weighted):
    token_weighted = check_bool("token_weighted", token_weighted)
    h = np.asarray(mean_entropy, dtype=np.float64)
    if h.ndim != 1 or h.size == 0 or not np.all(np.isfinite(h)) or np.any(h < 0.0):
        raise ValueError("mean_entropy must be a non-empty 1-D array of finite values >= 0")
    if lengths is None:
        if token_weighted:
            raise ValueError("lengths are required for token_weighted=True")
        return np.ascontiguousarray(h), np.ones_like(h)
    ln = np.asarray(lengths, dtype=np.float64)
    if ln.shape != h.shape or not np.all(np.isfinite(ln)) or np.any(ln <= 0.0):
        raise ValueError(f"lengths must be {h.shape[0]} finite values > 0 (one per rollout)")
    return np.ascontiguousarray(h), np.ascontiguousarray(ln)


def entropy_weights(mean_entropy, lengths=None, *, token_weighted: bool = False) -> np.ndarray:
    """Relative-entropy rollout weights w_i = Hbar_i / Hbar over one mini-batch [V, D.2(c)].

    ``mean_entropy`` (B,): Hbar_i = (1/|o_i|) sum_t H_t, each >= 0. Simple mean
    Hbar = (1/B) sum_k Hbar_k gives mean(w) = 1; the token-weighted
    Hbar = sum_k |o_k| Hbar_k / sum_k |o_k| (needs ``lengths`` |o_i| > 0) gives
    sum_i w_i |o_i| = sum_i |o_i| [S; identity: R]. w_i > 1 iff Hbar_i > Hbar.

    >>> entropy_weights([0.5, 1.0, 1.5]).tolist()
    [0.5, 1.0, 1.5]
    >>> w = entropy_weights([0.5, 1.0], [30, 10], token_weighted=True)
    >>> w.round(6).tolist(), float(w @ [30, 10])  # Hbar = (15 + 10) / 40
    ([0.8, 1.6], 40.0)
    """
    h, ln = _check_entropies(mean_entropy, lengths, token_weighted)
    out = np.empty_like(h)
    _entropy_weights(h, ln, bool(token_weighted), out)
    return out


def entropy_weight_jacobian(mean_entropy, lengths=None, *, token_weighted: bool = False) -> np.ndarray:
    """Sensitivities J[i, j] = dw_i / dHbar_j of :func:`entropy_weights` [S, D.2(c); derivation R].

    With lambda_j = |o_j| / sum_k |o_k| (1/B for the simple mean):
    J[i, j] = delta_ij / Hbar - Hbar_i lambda_j / Hbar^2. So J[i, i] = (1 - w_i lambda_i) / Hbar:
    a rollout's own weight barely reacts to its own entropy when lambda_i is small, and
    J[i, j] < 0 for i != j: a rollout's weight falls when others' entropies rise. Rows satisfy
    sum_i J[i, j] lambda_i = 0 (the identity's derivative). Domain: Hbar > 0.

    >>> entropy_weight_jacobian([1.0, 1.0]).tolist()  # Hbar = 1, lambda = 1/2
    [[0.5, -0.5], [-0.5, 0.5]]
    """
    h, ln = _check_entropies(mean_entropy, lengths, token_weighted)
    lam = ln / ln.sum() if token_weighted else np.full(h.size, 1.0 / h.size)
    hbar = float(lam @ h)
    if hbar <= 0.0:
        raise ValueError("mean_entropy must not be all zero (the weights are not differentiable there)")
    # J(h) = J(h 2^-e) 2^-e: computed at h scaled by a power of two (exact) so that hbar^2 neither
    # overflows nor underflows; the same bits as the formula at h where that does not happen
    e = math.frexp(hbar)[1]
    hs, hbs = np.ldexp(h, -e), math.ldexp(hbar, -e)
    return np.ldexp(np.eye(h.size) / hbs - np.outer(hs, lam) / hbs**2, -e)


def effective_batch_factor(weights, lengths) -> float:
    """sum_i w_i |o_i| / sum_i |o_i|: 1 exactly for token-weighted weights [S: Fig. 20 reports
    1.04 early to 0.98 late, which is the simple-mean weights' factor].

    >>> effective_batch_factor([0.5, 1.5], [10, 30])
    1.25
    """
    w = np.asarray(weights, dtype=np.float64)
    ln = np.asarray(lengths, dtype=np.float64)
    if w.ndim != 1 or w.shape != ln.shape or w.size == 0:
        raise ValueError("weights and lengths must be 1-D arrays of the same non-zero length")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(ln))) or np.any(ln <= 0.0):
        raise ValueError("weights must be finite and lengths finite and > 0")
    return float(w @ ln / ln.sum())


def weighted_advantages(advantages, weights) -> np.ndarray:
    """A'_i = w_i A_i: per-rollout weights applied to ANY registry estimator's advantages [V, D.2(d)].

    ``advantages`` from :func:`theory.estimators.advantages` (any shape), ``weights`` of the same
    shape (finite, >= 0). The estimator itself is untouched, so every estimator composes.

    >>> from theory.estimators import advantages
    >>> a = advantages("rloo", [[1.0, 0.0, 0.0, 1.0]])
    >>> weighted_advantages(a, [[1.5, 0.5, 1.0, 1.0]]).round(6).tolist()
    [[1.0, -0.333333, -0.666667, 0.666667]]
    """
    a = np.asarray(advantages, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if a.shape != w.shape:
        raise ValueError(f"weights must have the advantages' shape {a.shape}; got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0):
        raise ValueError("weights must be finite and >= 0")
    return a * w
