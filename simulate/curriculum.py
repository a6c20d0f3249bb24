"""Paper D (PREPO) in a stylized simulator: a prompt pool, perplexity selection, entropy weights.

A stylized but explicit model of RLVR on a pool of N prompts (paper D, notes D.2-D.5). Every
mechanism is a documented switch of :class:`Model`, so a figure can show which assumption a result
rests on. Every choice below is ours [R] unless tagged.

Prompt j has a latent difficulty d_j ~ N(0, 1) and state (theta_j, H_j):

- success probability p_j = sigmoid(theta_j), theta_j(0) = theta0 - beta d_j;
- prompt perplexity (static [R]; paper Fig. 8: the selected PPL range stays stable)
  log P_j = mu + s z_j, z_j = (d_j + sigma eps_j) / sqrt(1 + sigma^2), eps_j ~ N(0, 1). sigma is
  calibrated once, in closed form, so that the population Spearman correlation between perplexity
  and success probability is -0.2 (paper D [S]: -0.17 to -0.23): for a bivariate normal,
  Spearman = (6/pi) arcsin(r/2) with r = 1/sqrt(1 + sigma^2) (:func:`calibrated_ppl_noise`). The
  paper measures against the noisy passrate@16, which attenuates the correlation, so this reading
  is the weakest perplexity signal compatible with it. mu, s only set the PPL range (ranks matter);
  switch ``ppl_informative=False``: z_j = eps_j;
- policy entropy H_j(0) = H0 exp(gamma d_j) (harder prompts start more uncertain; paper F2 [S]:
  .48 vs .34 for the top and bottom PPL quintiles; switch ``initial_entropy_gradient``: gamma = 0).

Each step t (progress rho_t = t / (T - 1)) draws |B| candidates uniformly without replacement
(counter RNG), orders them by the scheme (random: draw order; low-ppl: ascending PPL; high-ppl:
descending; schedule: the window of theory.curriculum, then the rest above it, then below it
downwards) and rolls out the first K, G rollouts each: rewards r_i ~ Bernoulli(p_j), rollout
entropies h_i = H_j exp(sigma_h n_i - sigma_h^2 / 2), n_i ~ N(0, 1). With a filtering estimator
(dapo) an all-equal group is dropped and the next candidate in the order is drawn instead, up to
``max_refill`` extra groups (DAPO dynamic sampling); every drawn rollout is counted.

Update (synchronous, from the pre-step state): advantages A from the registry kernel
(``advantage_row``/``keep_row``, never re-implemented), optionally times the relative-entropy
weights w over the step's kept rollouts (theory.curriculum, simple mean); the success logit moves
by the score of the success event, u_j = lr g_j (1/G) sum_i w_i A_i (r_i - p_j), with the
exploration gate g_j = (H_j / H_j(0))^alpha (switch ``entropy_gate``: alpha = 0; a collapsed
policy stops discovering). Learning transfers: prompt k receives u_j T_jk with T_jj = 1 and
T_jk = c exp(-(d_j - d_k)^2 / (2 l^2)) (switch ``transfer``: T_jk = 0 for k != j). Entropy falls
with the learning a prompt receives, faster on easy prompts:
log H_k -= lambda0 exp(-kappa d_k) sum_j (u_j T_jk)^+ c_j (switch ``easy_entropy_decay``:
kappa = 0), where c_j is the update-weighted mean of H_j / h_i over prompt j's rollouts:
reinforcing a confident (low-entropy) rollout sharpens the policy more (after Cui et al. 2025's
covariance argument; switch ``confident_sharpening``: c_j = 1). This is the only route by which
the entropy weights change the dynamics beyond the advantages' scale.

Learning rate: calibrated once by bisection so that random selection raises the mean pool accuracy
from 0.38 to 0.65 over the default horizon (seeds 1000-1031, N = 1000, |B| = 80, K = 16, G = 8,
T = 150, grpo): lr = 0.0218, used as 0.022 [R]; a regime where neither stagnation nor saturation
dominates. The schedule played no part in it. tests/test_curriculum_simulate.py re-checks it (slow).

Measured per step: pool accuracy (mean p_j over all N prompts: the validation proxy), the drawn
groups' zero-advantage fraction (groups whose G rewards are all equal: exactly the groups with
zero advantages for the centred estimators, e.g. grpo; the asymmetric paper-B weightings still
move all-fail groups) and all-correct fraction, mean rollout entropy and reward, the rollouts
drawn, the selected prompts' mean difficulty. Random numbers: :mod:`simulate.rng`; the pool uses
streams 0 and 1 (counter j), step t streams 2 + 3t (candidates, counter = draw), 3 + 3t (rewards,
counter = slot G + i), 4 + 3t (entropy noise, normal counter = slot G + i), so every scheme of a
seed sees the same pool and candidate batches (common random numbers) and a run does not depend
on the thread count. ``rlvr-lab reproduce --only D``; ``rlvr-lab bench --only curriculum``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from simulate.curriculum_model import (M_BETA, M_CONFIDENT, M_DECAY, M_EASY, M_GATE, M_H0, M_H_NOISE, M_H_SLOPE,
                                       M_LOGPPL_MU, M_LOGPPL_S, M_LR, M_PPL_INFO, M_PPL_NOISE, M_T_STRENGTH,
                                       M_T_WIDTH, M_THETA0, M_TRANSFER, SWITCHES, Model, calibrated_ppl_noise)
from simulate.rng import exp, normal, stream_key, uniform_at
from simulate.schedule import claim, workers
from theory.checks import as_seed_array, check_bool, check_choice, check_int, check_real, check_sequence
from theory.curriculum import PACINGS, _entropy_weights, _pace, _progress, _window_start, selection_size
from theory.estimators import ESTIMATORS, advantage_row, keep_row, resolve

__all__ = ["SCHEMES", "SWITCHES", "Model", "Runs", "calibrated_ppl_noise", "make_pool", "run", "sweep"]

SCHEMES = {"random": 0, "low-ppl": 1, "high-ppl": 2, "schedule": 3}
@njit(cache=True, inline="always")
def _sigmoid(x):
    """1 / (1 + e^-x) with simulate.rng.exp (vectorises in a loop)."""
    return 1.0 / (1.0 + exp(-x))


@njit(cache=True)
def _pool(seed, m, d, ppl, theta, h):
    n = d.shape[0]
    r = 1.0 / math.sqrt(1.0 + m[M_PPL_NOISE] * m[M_PPL_NOISE])
    for j in range(n):
        d[j] = normal(seed, 0, j)
        e = normal(seed, 1, j)
        z = (d[j] + m[M_PPL_NOISE] * e) * r if m[M_PPL_INFO] != 0.0 else e
        ppl[j] = exp(m[M_LOGPPL_MU] + m[M_LOGPPL_S] * z)
        theta[j] = m[M_THETA0] - m[M_BETA] * d[j]
        h[j] = m[M_H0] * exp(m[M_H_SLOPE] * d[j])


@njit(cache=True)
def _order(scheme, cand, ppl, k, paced, order):
    """Priority order over the candidates (indices into the pool) for one step: random keeps the
    draw order; the others start from a stable insertion sort by ascending perplexity."""
    b = cand.shape[0]
    for i in range(b):
        order[i] = cand[i]
    if scheme == 0:
        return
    for i in range(1, b):
        x = order[i]
        j = i - 1
        while j >= 0 and ppl[order[j]] > ppl[x]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = x
    if scheme == 2:
        for i in range(b // 2):
            order[i], order[b - 1 - i] = order[b - 1 - i], order[i]
    elif scheme == 3:
        l = _window_start(paced, b, k)
        asc = order.copy()
        s = 0
        for i in range(l, b):  # the window, then above it
            order[s] = asc[i]
            s += 1
        for i in range(l - 1, -1, -1):  # then below it, downwards
            order[s] = asc[i]
            s += 1


# error_model="numpy": IEEE division (no zero check and raise), so the loops over the pool, with
# simulate.rng.exp inlined, vectorise; every divisor in the run is positive (counts >= 1, 1 + e^x, the
# entropies h > 0, which shrink by finite factors)
@njit(cache=True, error_model="numpy")
def _run(seed, scheme, weighted, m, code, eparams, n_pool, n_cand, k, g, n_steps, max_refill,
         pacing, rate, r_idx, acc, zero, allc, ent, rew, rolls, seld):
    d = np.empty(n_pool)
    ppl = np.empty(n_pool)
    theta = np.empty(n_pool)
    h = np.empty(n_pool)
    _pool(seed, m, d, ppl, theta, h)
    h_init = h.copy()
    perm = np.empty(n_pool, dtype=np.int64)
    cand = np.empty(n_cand, dtype=np.int64)
    order = np.empty(n_cand, dtype=np.int64)
    slots = k + max_refill
    src = np.empty(slots, dtype=np.int64)  # kept prompts of the step
    rr = np.empty((slots, g))
    hh = np.empty((slots, g))
    adv = np.empty((slots, g))
    ww = np.empty(slots * g)
    flat_h = np.empty(slots * g)
    ones = np.ones(slots * g)
    u = np.empty(slots)
    cconf = np.empty(slots)
    dtheta = np.empty(n_pool)
    dlogh = np.empty(n_pool)
    p_pool = np.empty(n_pool)  # sigmoid(theta) of the pool after the step
    tot = 0.0
    for j in range(n_pool):
        tot += _sigmoid(theta[j])
    acc[r_idx, 0] = tot / n_pool
    sig = m[M_H_NOISE]
    for t in range(n_steps):
        kc = stream_key(seed, 2 + 3 * t)
        kr = stream_key(seed, 3 + 3 * t)
        for j in range(n_pool):
            perm[j] = j
        for i in range(n_cand):  # partial Fisher-Yates: |B| distinct prompts
            jj = i + int(uniform_at(kc, i) * (n_pool - i))
            perm[i], perm[jj] = perm[jj], perm[i]
            cand[i] = perm[i]
        _order(scheme, cand, ppl, k, _pace(pacing, _progress(t, n_steps), rate), order)
        kept = 0
        drawn = 0
        n_zero = 0
        n_all = 0
        sum_h = 0.0
        sum_r = 0.0
        sum_d = 0.0
        for s in range(n_cand):
            if kept == k or drawn == slots:
                break
            j = order[s]
            p = _sigmoid(theta[j])
            for i in range(g):
                rr[kept, i] = 1.0 if uniform_at(kr, drawn * g + i) < p else 0.0
                hh[kept, i] = h[j] * exp(sig * normal(seed, 4 + 3 * t, drawn * g + i) - 0.5 * sig * sig)
                sum_h += hh[kept, i]
                sum_r += rr[kept, i]
            drawn += 1
            same = True
            for i in range(1, g):
                if rr[kept, i] != rr[kept, 0]:
                    same = False
            if same and g > 1:
                n_zero += 1
                if rr[kept, 0] == 1.0:
                    n_all += 1
            if drawn <= k:
                sum_d += d[j]
            if keep_row(code, rr[kept]):
                src[kept] = j
                kept += 1
        zero[r_idx, t] = n_zero / drawn
        allc[r_idx, t] = n_all / drawn
        ent[r_idx, t] = sum_h / (drawn * g)
        rew[r_idx, t] = sum_r / (drawn * g)
        rolls[r_idx, t] = drawn * g
        seld[r_idx, t] = sum_d / min(drawn, k)
        # weights over the kept rollouts of the step (simple mean: equal lengths)
        nk = kept * g
        for a in range(kept):
            for i in range(g):
                flat_h[a * g + i] = hh[a, i]
        if weighted and nk > 0:
            _entropy_weights(flat_h[:nk], ones[:nk], False, ww[:nk])
        else:
            for q in range(nk):
                ww[q] = 1.0
        for a in range(kept):
            j = src[a]
            p = _sigmoid(theta[j])
            advantage_row(code, rr[a], eparams, adv[a])
            gsum = 0.0
            num = 0.0
            den = 0.0
            for i in range(g):
                x = ww[a * g + i] * adv[a, i] * (rr[a, i] - p)
                gsum += x
                num += abs(x) * (h[j] / hh[a, i])
                den += abs(x)
            gate = (h[j] / h_init[j]) ** m[M_GATE] if m[M_GATE] != 0.0 else 1.0
            u[a] = m[M_LR] * gate * gsum / g
            cconf[a] = num / den if (m[M_CONFIDENT] != 0.0 and den > 0.0) else 1.0
        for q in range(n_pool):
            dtheta[q] = 0.0
            dlogh[q] = 0.0
        inv = 1.0 / (2.0 * m[M_T_WIDTH] * m[M_T_WIDTH])
        strength = m[M_T_STRENGTH] if m[M_TRANSFER] != 0.0 else 0.0
        for a in range(kept):
            j = src[a]
            if u[a] == 0.0:
                continue
            ua = u[a]
            ca = cconf[a]
            dj = d[j]
            for q in range(n_pool):  # branch-free (selects), so it vectorises
                tr = 1.0 if q == j else strength * exp(-(dj - d[q]) * (dj - d[q]) * inv)
                x = ua * tr
                dtheta[q] += x
                dlogh[q] += x * ca if x > 0.0 else 0.0
        for q in range(n_pool):  # vectorised; the accuracy sum follows in pool order
            theta[q] += dtheta[q]
            h[q] *= exp(-m[M_DECAY] * exp(-m[M_EASY] * d[q]) * dlogh[q])
            p_pool[q] = _sigmoid(theta[q])
        tot = 0.0
        for q in range(n_pool):
            tot += p_pool[q]
        acc[r_idx, t + 1] = tot / n_pool


@njit(cache=True, parallel=True)
def _sweep(n_workers, seeds, schemes, weighted, mvecs, code, eparams, n_pool, n_cand, k, g, n_steps, max_refill,
           pacing, rate, acc, zero, allc, ent, rew, rolls, seld):
    """Independent runs, each serial; threads claim runs (simulate.schedule)."""
    R = seeds.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        r = claim(counter)
        while r < R:
            _run(seeds[r], schemes[r], weighted[r], mvecs[r], code, eparams, n_pool, n_cand, k, g, n_steps,
                 max_refill, pacing, rate, r, acc, zero, allc, ent, rew, rolls, seld)
            r = claim(counter)


@dataclass(frozen=True)
class Runs:
    """Per-step outputs of R runs: acc (R, T+1) pool accuracy; zero, all_correct, entropy, reward,
    rollouts, selected_difficulty (R, T) for the drawn groups of each step."""

    acc: np.ndarray
    zero: np.ndarray
    all_correct: np.ndarray
    entropy: np.ndarray
    reward: np.ndarray
    rollouts: np.ndarray
    selected_difficulty: np.ndarray

    @property
    def cumulative_rollouts(self) -> np.ndarray:
        """(R, T+1) rollouts drawn before each accuracy entry (0 first)."""
        c = np.cumsum(self.rollouts, axis=1)
        return np.concatenate([np.zeros((c.shape[0], 1)), c], axis=1)


def _model_vector(name: str, model) -> np.ndarray:
    if not isinstance(model, Model):
        raise ValueError(f"{name} must be a simulate.curriculum.Model; got {type(model).__name__}")
    return model.vector()


def make_pool(seed: int, n_pool: int, model: Model = Model()) -> dict:
    """The pool of one seed: difficulty d, perplexity, initial success probability p0 and entropy H0.

    >>> pool = make_pool(0, 5)
    >>> sorted(pool), pool["d"].shape
    (['d', 'h0', 'p0', 'ppl'], (5,))
    """
    seed = check_int("seed", seed, low=0, high=2**63 - 1)
    n = check_int("n_pool", n_pool, low=1)
    d, ppl, theta, h = (np.empty(n) for _ in range(4))
    _pool(seed, _model_vector("model", model), d, ppl, theta, h)
    return {"d": d, "ppl": ppl, "p0": 1.0 / (1.0 + np.exp(-theta)), "h0": h}


def sweep(seeds, schemes, weighted, models, *, n_pool: int = 1000, n_candidates: int = 80,
          ratio: float = 0.2, group_size: int = 8, n_steps: int = 150, estimator: str = "grpo",
          max_refill: int = 16, pacing: str = "linear", rate: float = 3.0, **options) -> Runs:
    """R runs in one parallel region: run r uses seeds[r], schemes[r] (a :data:`SCHEMES` name),
    weighted[r] (relative-entropy weights on/off) and models[r] (:class:`Model`).

    ``estimator``: any non-stateful registry name (options passed on); ``max_refill`` extra groups
    per step apply to filtering estimators (dapo) only.

    >>> out = sweep([1, 1], ["random", "schedule"], [False, True], [Model()] * 2, n_pool=50,
    ...             n_candidates=10, n_steps=5)
    >>> out.acc.shape, out.rollouts[0].astype(int).tolist()
    ((2, 6), [16, 16, 16, 16, 16])
    """
    seeds = as_seed_array("seeds", seeds)
    schemes = check_sequence("schemes", schemes, of=f"scheme names {sorted(SCHEMES)}")
    weighted = tuple(check_bool("weighted[i]", w) for w in check_sequence("weighted", weighted, of="True/False"))
    models = check_sequence("models", models, of="Model")
    r = seeds.size
    if r == 0 or len(schemes) != r or len(weighted) != r or len(models) != r:
        raise ValueError(f"seeds, schemes, weighted and models must have the same length >= 1; got "
                         f"{r}, {len(schemes)}, {len(weighted)}, {len(models)}")
    sch = np.array([SCHEMES[check_choice("scheme", s, SCHEMES)] for s in schemes], dtype=np.int64)
    wt = np.array(weighted, dtype=np.bool_)
    mv = np.stack([_model_vector("models[i]", m) for m in models])
    entry = ESTIMATORS.get(check_choice("estimator", estimator, [n for n, e in ESTIMATORS.items() if not e.stateful]))
    spec = resolve(estimator, **options)
    n = check_int("n_pool", n_pool, low=2)
    b = check_int("n_candidates", n_candidates, low=1, high=n)
    k = selection_size(b, ratio)
    g = check_int("group_size", group_size, low=1)
    t = check_int("n_steps", n_steps, low=1)
    refill = check_int("max_refill", max_refill, low=0) if entry.filters_groups else 0
    pc = PACINGS[check_choice("pacing", pacing, PACINGS)]
    rate = check_real("rate", rate, low=0.0, open_low=True)
    acc = np.empty((r, t + 1))
    outs = [np.empty((r, t)) for _ in range(6)]
    _sweep(workers(seeds.shape[0]), seeds, sch, wt, mv, spec.code, spec.params, n, b, k, g, t, refill, pc, rate,
           acc, *outs)
    return Runs(acc, *outs)


def run(seed: int, scheme: str, *, weighted: bool = False, model: Model = Model(), **kw) -> Runs:
    """One run (a sweep of one); keyword arguments as :func:`sweep`."""
    _model_vector("model", model)
    seed = check_int("seed", seed, low=0, high=2**63 - 1)  # named as run's parameters, not sweep's lists
    return sweep([seed], [scheme], [check_bool("weighted", weighted)], [model], **kw)
