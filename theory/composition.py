"""Compositional learnability under RLVR: the S-step / K-task model and the task-advantage ratio.

Reproduces the model of paper E (Barzilai, Wolf & Basri 2026, arXiv 2602.07992, "When is
compositional reasoning learnable from verifiable rewards?"). The paper's exact construction is not
available; this module builds the model the notes describe and states every choice.

The model [V for the structure, R for the concrete form]
    A chain of thought is a composition of S steps. At step s (0-based here) the policy picks one
    task a_s in {0..K-1} from a fixed library; **task 0 is the correct task at every step** [R,
    a labelling convention]. Step embeddings are orthonormal, so the logit of task j at step s is a
    private coordinate theta[s, j] and the policy is a product of S independent softmaxes
    pi[s] = softmax(theta[s]) (the paper's content-independence lemma) [V]. A verifier reads the
    whole chain and returns V in {0, 1}; the reward is R = V.

Verifiers (all written as a finite automaton over the chosen tasks, so the step marginals of any S
are exact by a forward-backward pass in O(S M K), M = number of automaton states) [R]:
    * ``and_verifier``: V = 1 iff every checked step chose task 0 (no structural advantage: the
      reward is exponentially rare from a weak base model).
    * ``mod_verifier``: task j adds offset d_j (default d_j = j) modulo m, V = 1 iff the sum is 0
      mod m. Wrong steps can cancel. With S = 2, K = m = 3 this is the notes' reconstruction of
      the Section 6.2 example with its p0 = 1/3 threshold [R].
    * ``spot_verifier``: partial structure. The verifier spot-checks ``checks`` distinct positions
      drawn uniformly at random (think of checking digits of a sum, paper E's Figure 1) and
      accepts iff all of them are correct, so P(V = 1 | c correct steps) = C(c, k) / C(S, k).
      k = 1 gives a uniformly positive advantage (every correct step raises success by 1/S);
      k = S is the AND verifier.

Task-advantage ratio [V as a description, R for the exact formula; paper E Sec. 5]::

    q+[s, j] = P(V = 1 | a_s = j),   q-[s, j] = P(V = 1 | a_s != j),   r[s, j] = q+ / q-.

Conventions [R]: r = 1 when q+ = q- (also 0/0: the step cannot change the outcome), r = inf when
q- = 0 < q+ (AND: only the correct task can ever succeed); for pi[s, j] = 1 the conditioning event
a_s != j is empty and q- is the unweighted mean of q+ over the other tasks (the limit along a
uniform perturbation). q+ - q- is formed as sum_{k != j} pi_k (q+_j - q+_k) / sum_{k != j} pi_k,
so a step that cannot affect the verifier gives r = 1 exactly.

Run: ``rlvr-lab reproduce --only composition`` (figures/composition_*.py).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from theory.checks import (as_finite_array, check_choice, check_int, check_int_sequence, check_probabilities,
                           check_probability)
from theory.composition_closed import and_marginals, mod3_symmetric, mod_marginals

__all__ = ["Verifier", "and_verifier", "mod_verifier", "spot_verifier", "chain_value",
           "check_policy", "check_verifier", "step_marginals", "step_marginals_enum", "task_advantage_ratio",
           "ratio_from_marginals", "and_marginals", "mod_marginals", "mod3_symmetric",
           "symmetric_base", "MAX_ENUM_CHAINS"]

MAX_ENUM_CHAINS = 2 ** 20


@dataclass(frozen=True, eq=False)
class Verifier:
    """An outcome verifier over chains of S task choices among K tasks.

    ``trans`` (K, M) int64: automaton state after applying task j in state x; ``accept`` (M,)
    float64: P(V = 1 | final state); ``init``: start state. ``kind`` and ``params`` identify the
    direct definition used by :func:`chain_value` (the enumeration oracle never reads the automaton).
    """

    kind: str
    S: int
    K: int
    params: tuple
    trans: np.ndarray
    accept: np.ndarray
    init: int = 0

    @property
    def deterministic(self) -> bool:
        return bool(np.all((self.accept == 0.0) | (self.accept == 1.0)))


def _count_automaton(S: int, K: int, accept_of_count) -> tuple[np.ndarray, np.ndarray]:
    trans = np.empty((K, S + 1), dtype=np.int64)
    for x in range(S + 1):
        trans[0, x] = min(x + 1, S)
        trans[1:, x] = x
    return trans, np.array([accept_of_count(c) for c in range(S + 1)], dtype=np.float64)


def and_verifier(S: int, K: int = 2, steps=None) -> Verifier:
    """V = 1 iff every step in ``steps`` (default: all) chose task 0; other steps are ignored.

    >>> v = and_verifier(3, 2)
    >>> chain_value(v, (0, 0, 0)), chain_value(v, (0, 1, 0))
    (1.0, 0.0)
    """
    S = check_int("S", S, low=1)
    K = check_int("K", K, low=2)
    steps = (tuple(range(S)) if steps is None
             else tuple(sorted(set(check_int_sequence("steps", steps, low=0, high=S - 1)))))
    # the automaton must know which step it reads (only ``steps`` are checked), so the state is
    # x = 2 t + ok: t = steps read so far, ok = no checked step has been wrong yet.
    M = 2 * (S + 1)
    trans = np.empty((K, M), dtype=np.int64)
    for t in range(S + 1):
        for ok in (0, 1):
            x = 2 * t + ok
            nt = min(t + 1, S)
            for j in range(K):
                still_ok = ok and (j == 0 or t not in steps)
                trans[j, x] = 2 * nt + int(still_ok)
    accept = np.array([float(x % 2 == 1) for x in range(M)])
    return Verifier("and", S, K, (steps,), trans, accept, init=1)


def mod_verifier(S: int, K: int = 3, modulus: int = 3, offsets=None) -> Verifier:
    """V = 1 iff sum_s d_{a_s} = 0 (mod m); default offsets d_j = j mod m (task 0 is the identity).

    >>> v = mod_verifier(2)
    >>> chain_value(v, (0, 0)), chain_value(v, (1, 2)), chain_value(v, (1, 1))
    (1.0, 1.0, 0.0)
    """
    S = check_int("S", S, low=1)
    K = check_int("K", K, low=2)
    m = check_int("modulus", modulus, low=2)
    d = tuple(x % m for x in (range(K) if offsets is None else check_int_sequence("offsets", offsets)))
    if len(d) != K:
        raise ValueError(f"offsets must have length K = {K}; got {len(d)}")
    trans = np.array([[(x + d[j]) % m for x in range(m)] for j in range(K)], dtype=np.int64)
    accept = np.zeros(m)
    accept[0] = 1.0
    return Verifier("mod", S, K, (m, d), trans, accept, init=0)


def spot_verifier(S: int, K: int = 2, checks: int = 1) -> Verifier:
    """Spot-check k = ``checks`` random distinct positions: P(V = 1 | c correct) = C(c, k) / C(S, k).

    >>> v = spot_verifier(4, 2, checks=1)
    >>> chain_value(v, (0, 0, 1, 1))
    0.5
    """
    S = check_int("S", S, low=1)
    K = check_int("K", K, low=2)
    k = check_int("checks", checks, low=1, high=S)
    trans, accept = _count_automaton(S, K, lambda c: math.comb(c, k) / math.comb(S, k))
    return Verifier("spot", S, K, (k,), trans, accept, init=0)


def check_verifier(verifier, name: str = "verifier") -> Verifier:
    """Return ``verifier`` if it is a :class:`Verifier` (built by and_/mod_/spot_verifier)."""
    if not isinstance(verifier, Verifier):
        raise ValueError(f"{name} must be a theory.composition.Verifier (and_verifier, mod_verifier or "
                         f"spot_verifier); got {type(verifier).__name__} {verifier!r}")
    return verifier


def chain_value(verifier: Verifier, chain) -> float:
    """P(V = 1 | chain), straight from each verifier's definition (no automaton)."""
    check_verifier(verifier)
    try:
        a = tuple(int(x) for x in chain)
    except (TypeError, ValueError):
        raise ValueError(f"chain must hold S = {verifier.S} tasks in [0, {verifier.K - 1}]; got {chain!r}") from None
    if len(a) != verifier.S or any(x < 0 or x >= verifier.K for x in a):
        raise ValueError(f"chain must hold S = {verifier.S} tasks in [0, {verifier.K - 1}]; got {chain!r}")
    if verifier.kind == "and":
        return float(all(a[t] == 0 for t in verifier.params[0]))
    if verifier.kind == "mod":
        m, d = verifier.params
        return float(sum(d[x] for x in a) % m == 0)
    k = verifier.params[0]
    return math.comb(sum(x == 0 for x in a), k) / math.comb(verifier.S, k)


def symmetric_base(p0: float, S: int, K: int = 3) -> np.ndarray:
    """Base model with P(correct) = p0 and the rest split evenly over the K - 1 wrong tasks, (S, K).

    >>> symmetric_base(0.4, 2).tolist()
    [[0.4, 0.3, 0.3], [0.4, 0.3, 0.3]]
    """
    p0 = check_probability("p0", p0, open_low=True, open_high=True)
    S = check_int("S", S, low=1)
    K = check_int("K", K, low=2)
    row = np.full(K, (1.0 - p0) / (K - 1))
    row[0] = p0
    return np.tile(row, (S, 1))


def check_policy(pi, S: int, K: int, name: str = "pi") -> np.ndarray:
    """Return ``pi`` as a C-contiguous (S, K) float64 array of per-step distributions."""
    arr = check_probabilities(name, pi)
    if arr.shape != (S, K):
        raise ValueError(f"{name} must have shape (S, K) = ({S}, {K}); got {arr.shape}")
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-9):
        raise ValueError(f"{name} rows must sum to 1 (each is a step's task distribution)")
    return np.ascontiguousarray(arr)


# ----------------------------------------------------------------------------------------------
# Step marginals q+[s, j] = P(V = 1 | a_s = j): forward-backward (any S) and enumeration (oracle).
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _forward_backward(pi, trans, accept, init, qplus):
    """q+ (S, K) of a product policy ``pi`` (S, K) under an automaton verifier; returns P(V = 1).

    alpha_s(x) = P(state before step s = x); beta_s(y) = P(V = 1 | state after step s = y);
    q+[s, j] = sum_x alpha_s(x) beta_s(trans[j, x]).
    """
    S, K = pi.shape
    M = accept.shape[0]
    alpha = np.zeros((S, M))  # (S, M)
    alpha[0, init] = 1.0
    for s in range(S - 1):
        for x in range(M):
            if alpha[s, x] != 0.0:
                for j in range(K):
                    alpha[s + 1, trans[j, x]] += alpha[s, x] * pi[s, j]
    beta = accept.copy()  # (M,) beta_{S-1}
    nxt = np.empty(M)
    for s in range(S - 1, -1, -1):
        for j in range(K):
            acc = 0.0
            for x in range(M):
                acc += alpha[s, x] * beta[trans[j, x]]
            qplus[s, j] = acc
        if s > 0:
            for x in range(M):
                acc = 0.0
                for j in range(K):
                    acc += pi[s, j] * beta[trans[j, x]]
                nxt[x] = acc
            beta[:] = nxt
    total = 0.0
    for j in range(K):
        total += pi[0, j] * qplus[0, j]
    return total


@njit(cache=True)
def _ratio_row(pi_s, qplus_s, j):
    """(q+ - q-, q-, r) of task j at one step, with the conventions of the module docstring."""
    K = pi_s.shape[0]
    rest = 0.0
    for k in range(K):
        if k != j:
            rest += pi_s[k]
    diff = 0.0
    if rest > 0.0:
        for k in range(K):
            if k != j:
                diff += pi_s[k] * (qplus_s[j] - qplus_s[k])
        diff /= rest
    else:
        for k in range(K):
            if k != j:
                diff += qplus_s[j] - qplus_s[k]
        diff /= K - 1
    qminus = qplus_s[j] - diff
    if diff == 0.0:
        r = 1.0
    elif qminus <= 0.0:
        r = np.inf
    else:
        r = qplus_s[j] / qminus
    return diff, qminus, r


@njit(cache=True)
def _ratios(pi, qplus, diff, qminus, ratio):
    for s in range(pi.shape[0]):
        for j in range(pi.shape[1]):
            diff[s, j], qminus[s, j], ratio[s, j] = _ratio_row(pi[s], qplus[s], j)


def step_marginals(pi, verifier: Verifier) -> tuple[np.ndarray, float]:
    """(q+ (S, K), P(V = 1)) by forward-backward over the verifier's automaton (exact, any S).

    >>> q, P = step_marginals(np.full((2, 3), 1 / 3), mod_verifier(2))
    >>> round(P, 12), q.round(12).tolist()[0]
    (0.333333333333, [0.333333333333, 0.333333333333, 0.333333333333])
    """
    pi = check_policy(pi, check_verifier(verifier).S, verifier.K)
    q = np.empty_like(pi)
    P = _forward_backward(pi, verifier.trans, verifier.accept, verifier.init, q)
    return q, float(P)


def step_marginals_enum(pi, verifier: Verifier) -> tuple[np.ndarray, float]:
    """(q+, P) by enumerating all K^S chains with :func:`chain_value` (oracle; K^S <= 2^20)."""
    S, K = check_verifier(verifier).S, verifier.K
    pi = check_policy(pi, S, K)
    if K ** S > MAX_ENUM_CHAINS:
        raise ValueError(f"enumeration needs K^S <= {MAX_ENUM_CHAINS}; got K^S = {K ** S}")
    q = np.zeros((S, K))
    for s in range(S):
        others = [t for t in range(S) if t != s]
        for rest in itertools.product(range(K), repeat=S - 1):
            w = 1.0
            for t, a in zip(others, rest):
                w *= pi[t, a]
            for j in range(K):
                chain = list(rest)
                chain.insert(s, j)
                q[s, j] += w * chain_value(verifier, chain)
    return q, float(pi[0] @ q[0])


def ratio_from_marginals(pi, qplus) -> dict:
    """Task-advantage ratios from q+: dict with ``ratio``, ``qminus`` and ``diff`` = q+ - q-, each (S, K)."""
    pi, qplus = (np.ascontiguousarray(as_finite_array(n, x, ndims=(2,))) for n, x in (("pi", pi), ("qplus", qplus)))
    if pi.shape != qplus.shape:
        raise ValueError(f"pi and qplus must share one (S, K) shape; got {pi.shape} and {qplus.shape}")
    diff, qm, r = (np.empty_like(pi) for _ in range(3))
    _ratios(pi, qplus, diff, qm, r)
    return {"ratio": r, "qminus": qm, "diff": diff}


def task_advantage_ratio(pi, verifier: Verifier, method: str = "dp") -> np.ndarray:
    """r[s, j] = P(V = 1 | a_s = j) / P(V = 1 | a_s != j), shape (S, K) [paper E, V/R].

    ``method``: "dp" (forward-backward, any S), "enumerate" (all K^S chains, small S and K) or
    "closed" (closed forms: AND and mod verifiers only).

    >>> p = 0.25; pi = np.array([[p, (1 - p) / 2, (1 - p) / 2]] * 2)
    >>> r = task_advantage_ratio(pi, mod_verifier(2)); bool(r[0, 0] < 1)  # p0 < 1/3
    True
    """
    method = check_choice("method", method, ("dp", "enumerate", "closed"))
    pi = check_policy(pi, check_verifier(verifier).S, verifier.K)
    if method == "dp":
        q, _ = step_marginals(pi, verifier)
    elif method == "enumerate":
        q, _ = step_marginals_enum(pi, verifier)
    elif verifier.kind == "and":
        q, _ = and_marginals(pi, verifier.params[0])
    elif verifier.kind == "mod":
        q, _ = mod_marginals(pi, *verifier.params)
    else:
        raise ValueError(f"method='closed' exists for the and/mod verifiers; got kind {verifier.kind!r}")
    return ratio_from_marginals(pi, q)["ratio"]
