"""Paper B: finite-group prompt-weighting dynamics of softmax policies (Numba, parallel over prompts).

Reproduces the "suggested minimal simulator" of the paper-B notes (B.3, B.6). Each prompt p has a
softmax policy pi_p = softmax(z_p) over K responses, of which the first ``n_correct`` are correct
(reward 1) and the rest wrong (reward 0); rho_p = sum of pi over the correct ones. Every step, for
every prompt: sample G responses, compute advantages with the registry kernel
(``theory.estimators.advantage_row``/``keep_row``, never re-implemented), update z_p.

Modelling choices the notes leave open (all [R]):
- Initial logits: rho0 split equally over the correct responses and 1 - rho0 over the wrong ones.
- Updates. ``"kl"`` (default, the theory's KL-proximal step pi' ~ pi exp(eta A_hat)) with the
  importance-weighted, unbiased advantage estimate A_hat(y) = sum_i A_i 1{y_i = y} / (G pi(y)):
  z_y += eta sum_i A_i 1{y_i = y} / (G pi(y)); to first order it moves the log-odds by
  eta (1/G) sum_i A_i (r_i - rho) / (rho (1 - rho)), whose G -> inf limit is eta omega(rho), the
  paper's log-odds recursion (theory.weighting_finite). ``"pg"`` is the plain softmax policy
  gradient z += eta (1/G) sum_i A_i (e_{y_i} - pi); its population drift is
  eta omega rho^2 (1-rho)^2 (1/n_correct + 1/n_wrong), not the paper's ODE.
- Step size: eta = step * scale, with ``scale`` normally theory.weighting.budget_scale (equal
  budget over a reference interval); the advantages are the registry's at finite G (rloo's G/(G-1),
  grpo's Bessel factor and eps included).
- DAPO's dynamic sampling: a dropped (all-equal) group is redrawn for the same prompt up to
  ``max_refill`` times, every draw's G responses counted; no update if none is kept. The per-prompt
  redraw is the full-batch analogue of refilling a batch from other prompts. Other estimators never
  redraw. kae (stateful) is not simulated here.
- Clocks: regular time = steps (times ``step``); responses = all draws, refills included.
- Randomness: response i of draw a at step t of prompt p is the inverse-CDF categorical draw of
  ``uniform(seed, ((p * n_steps + t) * (max_refill + 1) + a), i)`` (simulate.rng): results do
  not depend on the thread count, and tests/test_weighting_sim.py replays them in plain Python.
Figures: ``rlvr-lab reproduce --only weighting``.

Speed (``rlvr-lab bench``, case weighting.dynamics). Measured and not kept, so they are not tried
again blind (1 thread, interleaved A/B against the kept form): two prompts stepped together in one
loop body, each step a shared inlined function (11.1-11.7 vs 11.0-11.2 ns per response: no gain;
a step is too long for the processor to overlap two); ``error_model="numpy"`` on :func:`_prompt`
(11.6 -> 11.9-12.0, slower); the success count taken in the draw loop (no change); then, on the
9.5 ns kernel: the G draws of a step as one vector block first (simulate.rng.uniforms_into, as
paper E draws: 9.49-9.54 -> 9.47-9.58, no change); the KL step's divisions in a loop of their own
before the scatter (9.35-9.55 -> 9.53-9.69); outputs laid out (P, T) so that a prompt's stores are
contiguous (about 2%, less than the transpose back to (T, P) would cost); the KL step's scatter-add
as one vector of K sums (an intrinsic like simulate.lanes.onehot_scores, adding 0.0 for the other
responses: the same bits): 9.45-9.57 -> 9.66-9.83, slower.
Where the time goes (1 thread, bench case; doubling one part at a time): the draws and inverse-CDF
counts about 2 ns per response, the estimator about 1-1.5 ns (grpo: two ordered sums of G, a sqrt,
G divisions per group), softmax, CDF and rho after a moving step about 2 ns, of which the K exps
are about 1.4 ns (libm calls; they count in the minimum work); the rest is the update and the
per-step bookkeeping. Most of it is short ordered sums, which cannot be reordered without changing
the numbers. Vectorising across prompts (one lane per prompt, every sum still in order) would keep
the bits, but it would make the floor's draws faster by as much as the kernel's, so it need not
raise the floor share; not tried.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from simulate.lanes import count_le, sizes, static_shape
from simulate.rng import LANES, stream_key, uniform_at
from simulate.schedule import claim, workers
from theory.bench import BenchCase
from theory.checks import as_finite_array, check_choice, check_int, check_probabilities, check_real
from theory.estimators import ESTIMATORS, advantage_row, keep_row, resolve

__all__ = ["UPDATES", "WeightingRun", "initial_logits", "initial_success", "simulate", "hitting_time",
           "bench_cases"]

UPDATES = {"kl": 0, "pg": 1}
STARTS = ("from_scratch", "post_sft")


@njit(cache=True, inline="always")
def _softmax(z, pi, K):
    """pi = softmax(z) over the first K entries. K is explicit in these helpers so that a caller
    that knows it at compile time (simulate.lanes.static_shape) gets fixed trip counts."""
    m = z[0]  # z.max() for finite logits, as a loop (z.max() needs Numba's runtime, _prompt has none)
    for k in range(1, K):
        m = max(m, z[k])
    tot = 0.0
    for k in range(K):
        pi[k] = np.exp(z[k] - m)
        tot += pi[k]
    for k in range(K):
        pi[k] /= tot


@njit(cache=True, inline="always")
def _rho(pi, correct, K):
    s = 0.0
    for k in range(K):
        s += pi[k] * correct[k]
    return s


@njit(cache=True, inline="always")
def _cdf(pi, cum, K):
    """cum[k] = pi[0] + ... + pi[k] over the k < K with pi[k] > 0, summed in index order; returns
    the last k with pi[k] > 0 (0 if none)."""
    c = 0.0
    last = 0
    for k in range(K):
        if pi[k] > 0.0:
            last = k
            c += pi[k]
        cum[k] = c
    return last


@njit(cache=True, inline="always")
def _categorical(cum, last, u, K):
    """Inverse-CDF draw: the smallest k with pi[k] > 0 and cum[k] > u, or ``last`` when round-off
    leaves u above every partial sum. Branch-free: cum is non-decreasing and its first entry above
    u (> 0) belongs to a k with pi[k] > 0, so that k is the count of entries <= u, counted LANES
    at a time by one vector compare (simulate.lanes.count_le; K = 8: 12.3 -> 11.6 ns per response
    in the bench case, 1 thread, interleaved A/B), the remainder one by one."""
    blocks = K - K % LANES
    j = 0
    for b in range(0, blocks, LANES):
        j += count_le(cum, b, u)
    for k in range(blocks, K):
        j += 1 if cum[k] <= u else 0
    return min(j, last)


@njit(cache=True)
def _scratch(k_resp, g):
    """One worker's scratch for :func:`_prompt`: pi, cum, grad (K,), ys (G,), r, adv (G,). The
    responses ys are unsigned, so indexing with them needs no negative-index wraparound per access
    (12.6-14.0 -> 12.3-13.5 ns per response, 1 thread, interleaved A/B). grad is zero between
    updates: an update adds into it and zeroes it as it applies it."""
    return np.empty(k_resp), np.empty(k_resp), np.zeros(k_resp), np.empty(g, np.uint64), np.empty(g), np.empty(g)


# _nrt=False: allocates nothing (the caller owns the scratch), so it is compiled without reference
# counting (see simulate.budget_kernel._run)
@njit(cache=True, _nrt=False)
def _prompt(p, code, params, z, correct, shape, g, eta, update, n_steps, max_refill, seed,
            rho_out, succ_out, resp_out, signal_out, pi, cum, grad, ys, r, adv):
    """Run one prompt's n_steps updates in place (z: (K,) logits, correct: (K,) 0/1; the rest is
    :func:`_scratch`). ``shape``: the :func:`simulate.lanes.sizes` marker of (K,), so that every
    loop over the responses has a compile-time trip count (bench case, K = 8, 1 thread: 11.3 ->
    9.5 ns per response, interleaved A/B; G as a constant as well gained nothing more)."""
    k_resp, = static_shape(shape)
    _softmax(z, pi, k_resp)
    last = _cdf(pi, cum, k_resp)
    rho = _rho(pi, correct, k_resp)  # recomputed only when pi moves
    rho_out[0, p] = rho
    for t in range(n_steps):
        used = 0
        kept = False
        for a in range(max_refill + 1):
            key = stream_key(seed, (p * n_steps + t) * (max_refill + 1) + a)
            for i in range(g):
                ys[i] = _categorical(cum, last, uniform_at(key, i), k_resp)
            for i in range(g):
                r[i] = correct[ys[i]]
            used += g
            if keep_row(code, r):
                kept = True
                break
        resp_out[t, p] = used
        nsucc = 0
        for i in range(g):
            nsucc += int(r[i])
        succ_out[t, p] = nsucc if kept else -1
        moved = False
        if kept:
            advantage_row(code, r, params, adv)
            for i in range(g):
                if adv[i] != 0.0:
                    moved = True
            if moved:
                if update == 0:  # KL-proximal with importance-weighted advantages
                    for i in range(g):
                        grad[ys[i]] += adv[i] / (g * pi[ys[i]])
                    # one pass over k instead of two over the draws (11.6 -> 11.0 ns per response, 1 thread,
                    # interleaved A/B); an undrawn k adds eta * 0.0, which leaves z[k] as it was (a -0.0
                    # becomes +0.0: the same softmax)
                    for k in range(k_resp):
                        z[k] += eta * grad[k]
                        grad[k] = 0.0
                else:  # plain policy gradient on the logits
                    total = 0.0
                    for i in range(g):
                        grad[ys[i]] += adv[i]
                        total += adv[i]
                    for k in range(k_resp):
                        z[k] += eta * (grad[k] - total * pi[k]) / g
                        grad[k] = 0.0
                _softmax(z, pi, k_resp)
                last = _cdf(pi, cum, k_resp)
                rho = _rho(pi, correct, k_resp)
        signal_out[t, p] = moved
        rho_out[t + 1, p] = rho


def _dynamics(n_workers, code, params, logits, correct, g, eta, update, n_steps, max_refill, seed, *outs):
    """The kernel of :func:`simulate` (and of the bench): P prompts' logits (P, K), their outputs
    ``outs`` = rho, successes, responses, signal. The sizes marker of K is derived here, from the
    logits it must match (:func:`_prompt` reads K entries of every row unchecked)."""
    _dynamics_kernel(n_workers, code, params, logits, correct, sizes(logits.shape[1]), g, eta, update, n_steps,
                     max_refill, seed, *outs)


@njit(cache=True, parallel=True)
def _dynamics_kernel(n_workers, code, params, logits, correct, shape, g, eta, update, n_steps, max_refill, seed,
                     rho_out, succ_out, resp_out, signal_out):
    """Prompts are independent: threads claim them one at a time (simulate.schedule). ``shape``:
    ``simulate.lanes.sizes(K)`` (:func:`_prompt`)."""
    P = logits.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        z = np.empty(logits.shape[1])
        pi, cum, grad, ys, r, adv = _scratch(logits.shape[1], g)
        p = claim(counter)
        while p < P:
            z[:] = logits[p]
            _prompt(p, code, params, z, correct[p], shape, g, eta, update, n_steps, max_refill,
                    seed, rho_out, succ_out, resp_out, signal_out, pi, cum, grad, ys, r, adv)
            p = claim(counter)


@dataclass(frozen=True)
class WeightingRun:
    """Per-step arrays of one simulation (P prompts, T steps).

    rho (T+1, P) success probabilities; successes (T, P) successes in the group used (-1: none
    kept); responses (T, P) responses drawn (refills included); signal (T, P) whether the update
    moved the policy (some advantage non-zero).
    """

    rho: np.ndarray
    successes: np.ndarray
    responses: np.ndarray
    signal: np.ndarray
    step: float

    @property
    def mean_accuracy(self) -> np.ndarray:
        """(T+1,) mean over prompts of rho."""
        return self.rho.mean(axis=1)

    @property
    def zero_signal_fraction(self) -> np.ndarray:
        """(T,) fraction of prompts whose update did not move the policy."""
        return 1.0 - self.signal.mean(axis=1)

    @property
    def responses_per_prompt(self) -> np.ndarray:
        """(T+1,) cumulative responses per prompt, starting at 0."""
        return np.concatenate([[0.0], np.cumsum(self.responses.mean(axis=1))])


def initial_success(kind: str, n: int, seed: int) -> np.ndarray:
    """Initial success probabilities of ``n`` prompts [R].

    ``"from_scratch"``: Beta(0.5, 20) floored at 1e-3 (median ~0.011, mean ~0.025; at G = 16 most
    groups are all-fail). ``"post_sft"``: Beta(8, 12) (mean 0.4, sd ~0.11, the notes' MATH start
    0.38), clipped to [1e-3, 0.999]. Drawn with numpy's default_rng(seed).
    """
    check_choice("kind", kind, STARTS)
    n = check_int("n", n, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    x = rng.beta(0.5, 20.0, n) if kind == "from_scratch" else rng.beta(8.0, 12.0, n)
    return np.clip(x, 1e-3, 0.999)


def initial_logits(rho0, n_responses: int = 8, n_correct: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Logits (P, K) giving success probability rho0 (P,) and the 0/1 correctness mask (P, K) [R]."""
    rho0 = np.atleast_1d(check_probabilities("rho0", rho0, open_low=True, open_high=True))
    k = check_int("n_responses", n_responses, low=2)
    m = check_int("n_correct", n_correct, low=1, high=k - 1)
    logits = np.empty((rho0.size, k))
    logits[:, :m] = np.log(rho0 / m)[:, None]
    logits[:, m:] = np.log1p(-rho0 / 1.0)[:, None] - np.log(k - m)
    correct = np.zeros((rho0.size, k))
    correct[:, :m] = 1.0
    return logits, correct


def simulate(name: str, rho0, *, group_size: int, n_steps: int, step: float, scale: float = 1.0,
             update: str = "kl", n_responses: int = 8, n_correct: int = 2, max_refill: int = 10,
             seed: int = 0, **options) -> WeightingRun:
    """Simulate P prompts with initial success ``rho0`` (P,) under estimator ``name``.

    eta = step * scale; ``max_refill`` applies to filtering estimators (dapo) only.

    >>> run = simulate("linear_r", [0.05, 0.4], group_size=8, n_steps=20, step=0.05, seed=1)
    >>> run.rho.shape, bool(run.mean_accuracy[-1] > run.mean_accuracy[0])
    ((21, 2), True)
    """
    entry = ESTIMATORS.get(check_choice("name", name, [n for n, e in ESTIMATORS.items() if not e.stateful]))
    spec = resolve(name, **options)
    logits, correct = initial_logits(rho0, n_responses, n_correct)
    g = check_int("group_size", group_size, low=1)
    t = check_int("n_steps", n_steps, low=1)
    eta = check_real("step", step, low=0.0, open_low=True) * check_real("scale", scale, low=0.0, open_low=True)
    upd = UPDATES[check_choice("update", update, UPDATES)]
    refill = check_int("max_refill", max_refill, low=0) if entry.filters_groups else 0
    seed = check_int("seed", seed, low=0, high=2**63 - 1)
    p = logits.shape[0]
    rho = np.empty((t + 1, p))
    succ = np.empty((t, p), dtype=np.int32)
    resp = np.empty((t, p), dtype=np.int32)
    signal = np.empty((t, p), dtype=np.bool_)
    _dynamics(workers(logits.shape[0]), spec.code, spec.params, logits, correct, g, eta, upd, t, refill, seed,
              rho, succ, resp, signal)
    return WeightingRun(rho, succ, resp, signal, float(step))


def hitting_time(path, target: float) -> np.ndarray:
    """First (linearly interpolated) index where each column of ``path`` (T+1, P) reaches ``target``.

    Returns (P,) floats; NaN where the column never reaches it. A 1-D path gives a 0-d array.

    >>> float(hitting_time(np.array([0.1, 0.3, 0.7]), 0.5))
    1.5
    """
    x = as_finite_array("path", path, ndims=(1, 2), nonempty=True)  # (T+1,) or (T+1, P)
    target = check_real("target", target)
    x2 = x[:, None] if x.ndim == 1 else x
    hit = x2 >= target  # (T+1, P)
    first = np.where(hit.any(axis=0), hit.argmax(axis=0), -1)
    out = np.full(x2.shape[1], np.nan)
    for j, i in enumerate(first):
        if i == 0:
            out[j] = 0.0
        elif i > 0:
            lo, hi = x2[i - 1, j], x2[i, j]
            out[j] = i - 1 + (target - lo) / (hi - lo)
    return out[0] if x.ndim == 1 else out


def _numpy_reference(code, params, logits, correct, g, eta, n_steps, seed):
    """Vectorised NumPy KL-proximal step over all prompts (the bench reference; no refill).

    Uses numpy's generator (not the counter RNG) and the registry's batch API, so it is a
    throughput reference for the same work, not a bit-exact twin.
    """
    from theory.advantage_kernels import advantages_batch
    rng = np.random.default_rng(seed)
    z = logits.copy()  # (P, K)
    p, k = z.shape
    adv = np.empty((p, g))
    keep = np.empty(p, dtype=np.bool_)
    rows = np.arange(p)[:, None]
    for _ in range(n_steps):
        pi = np.exp(z - z.max(axis=1, keepdims=True))
        pi /= pi.sum(axis=1, keepdims=True)  # (P, K)
        cdf = np.cumsum(pi, axis=1)
        u = rng.random((p, g)) * cdf[:, -1:]
        ys = np.minimum((cdf[:, None, :] <= u[:, :, None]).sum(axis=2), k - 1)  # (P, G)
        r = correct[rows, ys]  # (P, G)
        advantages_batch(code, r, params, adv, keep)
        w = adv * keep[:, None] / (g * pi[rows, ys])
        np.add.at(z, (np.repeat(np.arange(p), g), ys.ravel()), eta * w.ravel())
    return z


def bench_cases(quick: bool) -> list[BenchCase]:
    """The dynamics kernel against the NumPy reference and its minimum work (simulate.weighting_bench)."""
    from simulate.weighting_bench import make_bench_cases

    return make_bench_cases(quick)
