"""Numba dynamics of the compositional model of paper E: exact expected-gradient and sampled RLVR.

Both dynamics start from a base model given by per-step task probabilities pi0 (S, K) (logits
theta0 = log pi0) and run many independent runs in parallel (threads claim runs, simulate.schedule;
every run writes its own outputs, no reduction crosses runs, so results do not depend on the thread
count).

* Expected dynamics: theta <- theta + lr c(P, G) pi (q+ - P), the exact expected update of
  :mod:`theory.composition_dynamics` (q+ by forward-backward, c from the registry kernels).
* Sampled dynamics: each iteration draws G chains from the product softmax policy, scores them with
  the verifier (a coin with P(V = 1 | final state) for the spot-check verifier), forms advantages
  with ANY non-stateful registry estimator (``advantage_row``/``keep_row`` from
  :mod:`theory.estimators`) and ascends theta += lr/G sum_i kappa A_i (e_{a_i,s} - pi_s).

Random numbers come from :mod:`simulate.rng`: the draw for step s of rollout i at iteration t of a
run with seed ``seed`` is ``uniform(seed, t, i * (S + 1) + s)`` and the verifier coin is counter
``i * (S + 1) + S``, so the plain-Python oracle in tests reproduces every run exactly.

Outputs per run: final logits, the first iteration at which the correct chain (task 0 at every
step) has probability >= 1 - eps (-1 if never), logged logits every ``log_every`` iterations (after
an early stop the remaining log entries repeat the final logits), and from those (``run_metrics``)
the probability of the correct chain, the success probability P(V = 1), the ratio r[s, 0] of the
correct task, and the composition the run converged to.

Which composition a run converged to [R, our definition; the notes leave it open]: a run has
converged to chain a* when its modal chain a* (argmax task per step) has probability >= 1 - eps.
It is "correct" if a* is the correct chain, "wrong-rewarded" if a* is wrong but V(a*) = 1 (under
mod-3: a cancelling wrong pair such as (+1, +2); it earns full reward on this verifier but its
intermediate steps are wrong, so any check of an intermediate result, or reuse of a step's output
downstream, would reject it), "wrong-failing" if V(a*) < 1, and "unconverged" otherwise (e.g. the
stall at the symmetric mixture of the expected dynamics). A **suboptimal composition** is a
converged wrong chain (wrong-rewarded or wrong-failing).

Not supported: the stateful ``kae`` estimator (needs a reward history; the model has one prompt).
Run: ``rlvr-lab reproduce --only composition``; ``rlvr-lab bench`` times the sampled kernel.

Speed (``rlvr-lab bench``, case composition.sampled_runs; 1 thread, interleaved A/B, ns per
rollout-step). The sampled kernel is compiled for its (S, K, G) (:func:`simulate.lanes.sizes`), so
every loop of an iteration has a fixed trip count: 10.1-10.2 -> 7.2-7.5 (K and G alone gave only
9.7). The S K score sums of the update then run in one vector (:func:`simulate.lanes.onehot_scores`,
the same operations lane by lane): 7.4-7.5 -> 6.4-6.5, about 58% of the bench's minimum work (the
scalar sums were a third of the kernel's instructions). What the specialisation costs and how it is
kept small:
- one compilation per distinct (S, K, G), about 1.2-1.6 s (cached on disk like every kernel); a cold
  ``reproduce`` (14 shapes) takes 10-17 s more (two back-to-back pairs: 95 -> 105 s, 106 -> 123 s),
  a warm one stays at 32-35 s;
- the registry's estimator is one separately compiled function (:func:`_estimate`), not inlined into
  every specialisation (3.4-3.5 s per shape inlined, for 1-2% of speed);
- the worker is one function, no inlined run function inside it (1.9-2.4 -> 1.2-1.6 s per shape:
  Numba copies a callee's IR for every inlining);
- no ``prange`` wrapper: a parallel region would be compiled again per shape (2.3 s each), so threads
  claim runs from a small reused thread pool (simulate.schedule.claim_on_threads).
Measured and not kept: four runs advanced together phase by phase (10.6 -> 11.7); two runs stepped
together in one loop body, each iteration a shared inlined function (10.2 -> 10.4-10.6); G a
compile-time constant through ``numba.literally`` (10.2 -> 22); unsigned indices (about 2%, inside the
noise); the helpers called, not inlined, with the sizes as arguments (LLVM did not inline them: 11 ns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from simulate.lanes import onehot_scores, sizes, static_shape
from simulate.rng import padded, stream_key, uniforms_into
from simulate.schedule import claim, claim_on_threads, workers
from theory.bench import BenchCase
from theory.checks import as_real_array, check_int, check_real
from theory.composition import Verifier, _forward_backward, _ratio_row, chain_value, check_policy, check_verifier
from theory.composition_dynamics import _gradient_factor, _spec
from theory.estimators import advantage_row, keep_row

__all__ = ["Runs", "expected_runs", "sampled_runs", "run_metrics", "classify", "OUTCOMES",
           "bench_cases"]

OUTCOMES = ("correct", "wrong-rewarded", "wrong-failing", "unconverged")


@njit(cache=True, inline="always")
def _softmax(theta, pi, S, K):
    for s in range(S):
        m = theta[s, 0]
        for j in range(1, K):
            m = max(m, theta[s, j])
        tot = 0.0
        for j in range(K):
            pi[s, j] = np.exp(theta[s, j] - m)
            tot += pi[s, j]
        for j in range(K):
            pi[s, j] /= tot


@njit(cache=True, inline="always")
def _correct_chain_prob(pi, S):
    p = 1.0
    for s in range(S):
        p *= pi[s, 0]
    return p


@njit(cache=True, inline="always")
def _cumsum_rows(pi, cum, S, K):
    for s in range(S):
        acc = 0.0
        for k in range(K):
            acc += pi[s, k]
            cum[s, k] = acc


@njit(cache=True, inline="always")
def _sample_group(cum, trans, accept, init, seed, it, S, K, G, acts, rew, u):
    """Draw G chains (acts (G, S)) and their verifier rewards (rew (G,)) at iteration ``it``;
    u: scratch for the iteration's padded(G (S + 1)) uniforms, drawn first (vectorised).

    Task of step s = first k with u < cum[s, k] (inverse CDF; K - 1 if round-off leaves u above
    the last partial sum), written branch-free as the number of partial sums <= u.
    """
    uniforms_into(stream_key(seed, it), G * (S + 1), u)  # u[c] == uniform(seed, it, c)
    for i in range(G):
        x = init
        for s in range(S):
            ui = u[i * (S + 1) + s]
            j = 0
            for k in range(K - 1):
                j += 1 if ui >= cum[s, k] else 0
            acts[i, s] = j
            x = trans[j, x]
        rew[i] = 1.0 if u[i * (S + 1) + S] < accept[x] else 0.0


@njit(cache=True, _nrt=False)
def _estimate(code, rew, params, adv):
    """The registry's advantages of one group into ``adv``; returns kappa (1.0 kept, 0.0 dropped).
    A function of its own, not inlined: inlining the registry's dispatch into every (S, K, G)
    specialisation of the worker made each cost 3.4-3.5 s of compilation instead of 1.2-1.6 s, for
    1-2% of speed (1 thread, bench case, interleaved A/B)."""
    advantage_row(code, rew, params, adv)
    return 1.0 if keep_row(code, rew) else 0.0


@njit(cache=True, inline="always")
def _sampled_step(theta, pi, acts, rew, adv, score, code, params, lr, shape):
    """theta += lr/G sum_i kappa A_i (1[a_is = j] - pi_sj); returns kappa. The S K score sums run
    over i in order, all at once in one vector (simulate.lanes.onehot_scores, into ``score``)."""
    S, K, G = static_shape(shape)
    kappa = _estimate(code, rew, params, adv)
    onehot_scores(shape, adv, acts, pi, score)
    for s in range(S):
        for j in range(K):
            theta[s, j] += lr * kappa * score[s, j] / G
    return kappa


@njit(cache=True, inline="always")
def _store(theta, dst, S, K):
    """dst[:] = theta, element by element (a slice assignment may allocate a copy: not in _nrt=False)."""
    for s in range(S):
        for j in range(K):
            dst[s, j] = theta[s, j]


@njit(cache=True, inline="always")
def _observe(theta, pi, t, hit, r, theta_log, li, eps, log_every, n_iter, stop_on_hit, S, K):
    """Shared by both dynamics: pi = softmax(theta), first hit of the correct chain, logging.
    Returns the next log slot and whether run ``r`` stops before its update at iteration ``t``."""
    _softmax(theta, pi, S, K)
    if hit[r] < 0 and _correct_chain_prob(pi, S) >= 1.0 - eps:
        hit[r] = t
    if li < theta_log.shape[1] and t == li * log_every:  # == (t % log_every == 0): li logs so far
        _store(theta, theta_log[r, li], S, K)
        li += 1
    return li, t == n_iter or (stop_on_hit and hit[r] >= 0)


@njit(cache=True, inline="always")
def _finish(theta, r, li, theta_log, theta_out, S, K):
    """Pad the log of a run that stopped early with its final logits; store them."""
    for l in range(li, theta_log.shape[1]):
        _store(theta, theta_log[r, l], S, K)
    _store(theta, theta_out[r], S, K)


# nogil: several threads run it at once (simulate.schedule.claim_on_threads); _nrt=False: it allocates
# nothing (the caller passes the scratch), so it is compiled without reference counting (see
# simulate.budget_kernel._run)
@njit(cache=True, nogil=True, _nrt=False)
def _sampled_worker(counter, theta0, seeds, trans, accept, init, code, params, shape, lr, n_iter, eps,
                    log_every, stop_on_hit, theta_out, hit, theta_log, theta, pi, cum, acts, rew, adv, u, score):
    """Claim runs and run each serially from its own copy of theta0[r]. ``shape``: the
    :func:`simulate.lanes.sizes` marker of (S, K, G), which every loop of an iteration sees as
    compile-time constants (module docstring, Speed); the rest after theta_log is scratch."""
    S, K, G = static_shape(shape)
    r = claim(counter)
    while r < theta0.shape[0]:
        _store(theta0[r], theta, S, K)
        hit[r] = -1
        li = 0
        for t in range(n_iter + 1):
            li, stop = _observe(theta, pi, t, hit, r, theta_log, li, eps, log_every, n_iter, stop_on_hit, S, K)
            if stop:
                break
            _cumsum_rows(pi, cum, S, K)
            _sample_group(cum, trans, accept, init, seeds[r], t, S, K, G, acts, rew, u)
            _sampled_step(theta, pi, acts, rew, adv, score, code, params, lr, shape)
        _finish(theta, r, li, theta_log, theta_out, S, K)
        r = claim(counter)


def _sampled_runs(n_workers, theta0, seeds, trans, accept, init, code, params, G, lr, n_iter, eps, log_every,
                  stop_on_hit, theta_out, hit, theta_log):
    """Independent runs, each serial; ``n_workers`` threads claim runs (simulate.schedule)."""
    S, K = theta0.shape[1:]

    def scratch():  # theta, pi, cum (S, K); acts (G, S); rew, adv (G,); u: an iteration's draws; score (S, K)
        return (np.empty((S, K)), np.empty((S, K)), np.empty((S, K)), np.empty((G, S), np.int64), np.empty(G),
                np.empty(G), np.empty(padded(G * (S + 1))), np.empty((S, K)))

    claim_on_threads(_sampled_worker, n_workers, (theta0, seeds, trans, accept, init, code, params, sizes(S, K, G),
                                                  lr, n_iter, eps, log_every, stop_on_hit, theta_out, hit, theta_log),
                     scratch)


@njit(parallel=True, cache=True)
def _expected_runs(n_workers, theta0, trans, accept, init, code, params, G, lr, n_iter, eps, log_every,
                   stop_on_hit, theta_out, hit, theta_log):
    """Independent runs, each serial; threads claim runs (simulate.schedule)."""
    R, S, K = theta0.shape
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        pi = np.empty((S, K))
        q = np.empty((S, K))
        r = claim(counter)
        while r < R:
            theta = theta0[r].copy()
            hit[r] = -1
            li = 0
            for t in range(n_iter + 1):
                li, stop = _observe(theta, pi, t, hit, r, theta_log, li, eps, log_every, n_iter, stop_on_hit, S, K)
                if stop:
                    break
                P = _forward_backward(pi, trans, accept, init, q)
                c = _gradient_factor(code, params, G, min(max(P, 0.0), 1.0))
                for s in range(S):
                    for j in range(K):
                        theta[s, j] += lr * c * pi[s, j] * (q[s, j] - P)
            _finish(theta, r, li, theta_log, theta_out, S, K)
            r = claim(counter)


@dataclass(frozen=True)
class Runs:
    """Results of R runs: ``theta`` (R, S, K) final logits, ``hit`` (R,) first iteration with
    P(correct chain) >= 1 - eps (-1: never), ``theta_log`` (R, L, S, K), ``log_iters`` (L,)."""

    theta: np.ndarray
    hit: np.ndarray
    theta_log: np.ndarray
    log_iters: np.ndarray
    verifier: Verifier
    eps: float


def _prepare(pi0, verifier, estimator, G, lr, n_iter, eps, log_every, options, runs):
    spec = _spec(estimator, options)
    G = check_int("G", G, low=1)
    lr = check_real("lr", lr, low=0.0, open_low=True)
    n_iter = check_int("n_iter", n_iter, low=0)
    eps = check_real("eps", eps, low=0.0, high=1.0, open_low=True, open_high=True)
    log_every = check_int("log_every", log_every, low=1)
    check_verifier(verifier)
    pi0 = as_real_array("pi0", pi0)
    if pi0.ndim == 2:
        pi0 = np.broadcast_to(pi0, (runs,) + pi0.shape)
    if pi0.ndim != 3 or pi0.shape[0] != runs:
        raise ValueError(f"pi0 must have shape (S, K) or (runs, S, K) with runs = {runs}; got {pi0.shape}")
    for p in pi0:
        check_policy(p, verifier.S, verifier.K, name="pi0")
    if np.any(pi0 <= 0.0):
        raise ValueError("pi0 must be > 0 everywhere (logits are log pi0)")
    theta0 = np.ascontiguousarray(np.log(pi0))
    L = n_iter // log_every + 1
    R, S, K = theta0.shape
    out = (np.empty((R, S, K)), np.empty(R, dtype=np.int64), np.empty((R, L, S, K)))
    return spec, G, lr, n_iter, eps, log_every, theta0, out, np.arange(L) * log_every


def sampled_runs(pi0, verifier: Verifier, seeds, *, estimator: str = "dr_grpo", G: int = 8,
                 lr: float = 0.5, n_iter: int = 1000, eps: float = 0.1, log_every: int = 10,
                 stop_on_hit: bool = False, **options) -> Runs:
    """Sampled RLVR runs, one per seed, from base model ``pi0`` ((S, K) or (runs, S, K)).

    >>> from theory.composition import mod_verifier
    >>> res = sampled_runs(np.full((2, 3), 1 / 3), mod_verifier(2), seeds=[1, 2], n_iter=5)
    >>> res.theta.shape, res.theta_log.shape
    ((2, 2, 3), (2, 1, 2, 3))
    """
    seeds = np.asarray(seeds)
    if seeds.ndim != 1 or seeds.size < 1 or not np.issubdtype(seeds.dtype, np.integer) or np.any(seeds < 0):
        raise ValueError("seeds must be a non-empty 1-D array of non-negative integers")
    spec, G, lr, n_iter, eps, log_every, theta0, out, iters = _prepare(
        pi0, verifier, estimator, G, lr, n_iter, eps, log_every, options, seeds.size)
    _sampled_runs(workers(seeds.size), theta0, seeds.astype(np.int64), verifier.trans, verifier.accept, verifier.init,
                  spec.code, spec.params, G, lr, n_iter, eps, log_every, bool(stop_on_hit), *out)
    return Runs(out[0], out[1], out[2], iters, verifier, eps)


def expected_runs(pi0, verifier: Verifier, *, estimator: str = "dr_grpo", G: int = 8, lr: float = 0.5,
                  n_iter: int = 1000, eps: float = 0.1, log_every: int = 10, stop_on_hit: bool = False,
                  **options) -> Runs:
    """Exact expected-gradient dynamics from each base model in ``pi0`` ((S, K) or (runs, S, K))."""
    pi0 = as_real_array("pi0", pi0)
    runs = pi0.shape[0] if pi0.ndim == 3 else 1
    spec, G, lr, n_iter, eps, log_every, theta0, out, iters = _prepare(
        pi0, verifier, estimator, G, lr, n_iter, eps, log_every, options, runs)
    _expected_runs(workers(runs), theta0, verifier.trans, verifier.accept, verifier.init, spec.code, spec.params,
                   G, lr, n_iter, eps, log_every, bool(stop_on_hit), *out)
    return Runs(out[0], out[1], out[2], iters, verifier, eps)


@njit(parallel=True, cache=True)
def _metrics(theta_log, trans, accept, init, chain, success, ratio):
    R, L, S, K = theta_log.shape
    for r in prange(R):
        pi = np.empty((S, K))
        q = np.empty((S, K))
        for l in range(L):
            _softmax(theta_log[r, l], pi, S, K)
            chain[r, l] = _correct_chain_prob(pi, S)
            success[r, l] = _forward_backward(pi, trans, accept, init, q)
            for s in range(S):
                ratio[r, l, s] = _ratio_row(pi[s], q[s], 0)[2]


def run_metrics(runs: Runs) -> dict:
    """Per run and log point: ``chain`` (R, L) P(correct chain), ``success`` (R, L) P(V = 1),
    ``ratio`` (R, L, S) the task-advantage ratio r[s, 0] of the correct task."""
    R, L, S, _ = runs.theta_log.shape
    chain, success, ratio = np.empty((R, L)), np.empty((R, L)), np.empty((R, L, S))
    v = runs.verifier
    _metrics(runs.theta_log, v.trans, v.accept, v.init, chain, success, ratio)
    return {"chain": chain, "success": success, "ratio": ratio, "iters": runs.log_iters}


def classify(runs: Runs) -> np.ndarray:
    """Outcome index into :data:`OUTCOMES` per run, from the final logits (module docstring)."""
    theta = runs.theta
    pi = np.exp(theta - theta.max(axis=2, keepdims=True))
    pi /= pi.sum(axis=2, keepdims=True)  # (R, S, K)
    modal = pi.argmax(axis=2)  # (R, S)
    modal_p = np.prod(pi.max(axis=2), axis=1)  # (R,)
    out = np.empty(theta.shape[0], dtype=np.int64)
    for r in range(theta.shape[0]):
        if modal_p[r] < 1.0 - runs.eps:
            out[r] = 3
        elif np.all(modal[r] == 0):
            out[r] = 0
        else:
            out[r] = 1 if chain_value(runs.verifier, modal[r]) == 1.0 else 2
    return out


def bench_cases(quick: bool) -> list[BenchCase]:
    """The sampled-runs kernel against the NumPy reference and its minimum work
    (simulate.composition_reference)."""
    from simulate.composition_reference import make_bench_cases

    return make_bench_cases(quick)
