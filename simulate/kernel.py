"""Paper C: value and gradient estimation on drifting prompts, and closed-loop training (Numba).

Reproduces the paper's Table 1/2 measurements and Figures 3, 4, S.1 in a simulator [R] (notes
C.5-C.6). P prompts; at iteration i = 1..T a minibatch of B prompts (drawn without replacement,
i.i.d. across blocks) is reused for J consecutive iterations (the paper's schedule; J = 1 is an
i.i.d. redraw every iteration); each prompt of the batch gets G rollouts. Every baseline is computed
on the IDENTICAL rollouts:

- ``oracle``: the true value V_i(x);
- ``grpo``: the leave-one-out group mean (the registry's ``rloo`` kernel, V_hat = Z - A; G = 1 gives
  the singleton convention's baseline 0);
- ``global``: REINFORCE++'s global batch mean of all B G rewards;
- ``kae``: the registry's ``theory.kernel.kae_row`` on the prompt's history, for any grid of kernels
  and bandwidths.

Drifts of V_i(x) [R] (s = i / horizon, prompt parameters a ~ N(-0.5, 1.5^2), b ~ U(0, 4),
w ~ U(0.25, 1.25), one draw per run):
- ``logistic`` (smooth, exogenous): V = sigmoid(a + b s);
- ``lipschitz`` (Lipschitz, kinked, exogenous): V = v0 + (v1 - v0) min(s / w, 1), v0 = sigmoid(a),
  v1 = sigmoid(a + b): a linear ramp then flat;
- ``policy`` (endogenous): a per-prompt softmax bandit over K responses (the first ``n_correct``
  correct; initial success sigmoid(a), simulate.weighting.initial_logits), trained by the policy
  gradient z += eta (1/G) sum_g A_g (e_{y_g} - pi) with A = Z - V_hat of the ``driver`` baseline:
  the estimator changes the drift it estimates.
For the exogenous drifts the policy spreads V evenly over the correct responses and 1 - V over the
wrong ones. Default K = 32 responses, 8 correct [R]: many responses of small probability, as an
LLM's, so the scores e_y - pi of distinct responses are nearly orthogonal with ||e_y - pi||^2 ~ 1.
(With K = 2 the score is a function of Z alone, (Z - V)(-1, 1); the variance-optimal constant
baseline is then 1 - V, not V, and a global mean can beat the oracle in gradient MSE. The gradient
figure shows K = 2 as well.)

Metrics at the recorded iterations, averaged over the batch: value MSE (V_hat_g - V)^2 over the
B G traces; gradient MSE ||g_hat - grad V||^2 against the EXACT gradient grad_z V = pi * (c - V)
(the bandit's score function is exact), with g_hat = (1/G) sum_g (Z_g - V_hat_g)(e_{y_g} - pi);
``grad_dev`` ||g_hat - g_oracle||^2 against the oracle-baseline estimate on the same rollouts;
closed-loop accuracy = mean over all P prompts of V (before the iteration's update).

State and cost: each prompt's history is kept in place in a chronological buffer of 2 capacity
entries (the last ``capacity`` are visible, as theory.kernel.KernelHistory's ring buffer); the
triangular kernel starts at the first entry inside its window (binary search), so an iteration costs
O(B x window), never the whole history. Randomness: uniform(seed, (run T + i - 1)(P + 1) + slot, k),
slot p for prompt p's rollouts, slot P for the minibatch draw (simulate.rng), so one seed gives the
same numbers on any number of threads; the parallel loop runs over runs (one region per call).
Figures: ``rlvr-lab reproduce --only C``.

Speed (``rlvr-lab bench``, case kernel.value_mse, 1 thread, ns per trace). The measurement, not the
model, sets the cost: with the oracle baseline alone the sweep takes 58.5-60.6, with oracle, grpo
and global 77-83, with the bench's five 113-116, against 13.4-13.6 for the model's minimum work
(draws, sigmoid, inverse CDF). Measured and not kept: the gradient errors of all baselines as
vector lanes (eight baselines per vector, each sum over k in order: the same bits), 114-115 ->
112-116, no gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from simulate.kernel_drift import DRIFTS, _value, _values_grid, exogenous_policy, prompt_parameters, true_value
from simulate.rng import stream_key, uniform_at
from simulate.schedule import claim, workers
from simulate.weighting import _categorical, _cdf, _rho, _softmax, initial_logits
from theory.checks import check_choice, check_int, check_int_sequence, check_real
from theory.estimators import RLOO, advantage_row, resolve
from theory.kernel import KERNELS, TRIANGULAR, kae_row

__all__ = ["DRIFTS", "Method", "methods", "prompt_parameters", "true_value", "KernelRun", "simulate"]

ORACLE, LOO, GLOBAL, KAE = range(4)
KINDS = {"oracle": ORACLE, "grpo": LOO, "global": GLOBAL, "kae": KAE}


@dataclass(frozen=True)
class Method:
    """One baseline: ``kind`` in {oracle, grpo, global, kae}; kernel options for kae."""

    kind: str
    kernel: str = "triangular"
    bandwidth: float = 0.2
    decay: float = 0.5

    @property
    def label(self) -> str:
        if self.kind != "kae":
            return self.kind
        return f"kae:{self.kernel[:3]}:{self.bandwidth:g}"


def methods(bandwidths=(0.2,), kernels=("triangular",), decay: float = 0.5) -> tuple:
    """oracle, grpo, global and kae for every (kernel, bandwidth) pair, in that order."""
    out = [Method("oracle"), Method("grpo"), Method("global")]
    for k in kernels:
        check_choice("kernel", k, KERNELS)
        for h in bandwidths:
            out.append(Method("kae", k, check_real("bandwidth", h, low=0.0, open_low=True), decay))
    return tuple(out)


@njit(cache=True, inline="always")
def draw_batch(seed, run, i, n_steps, bsz, perm):
    """Step i's minibatch (drawn at the first step of a reuse block): a partial Fisher-Yates shuffle
    of ``perm`` in place, its first ``bsz`` entries; one stream key per (run, step) after the
    prompts' keys (the kernel and the benchmark's bare-work floor draw the same batches)."""
    n_p = perm.shape[0]
    key = stream_key(seed, (run * n_steps + i - 1) * (n_p + 1) + n_p)
    for j in range(bsz):
        q = j + int(uniform_at(key, j) * (n_p - j))
        t = perm[j]
        perm[j] = perm[q]
        perm[q] = t


@njit(cache=True)
def _window_start(step, it, start, n, bw):
    """First index in [start, n) whose triangular weight is non-zero ((step - I) / (step h) < 1)."""
    scale = step * bw
    lo, hi = start, n
    while lo < hi:
        mid = (lo + hi) // 2
        if (step - it[mid]) / scale >= 1.0:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _baseline(kind, kcode, bw, decay, r, step, it, zz, start, n, gm, v, rloo_params, out, tmp):
    """V_hat_g of one group for one method into ``out`` (G,)."""
    g = r.shape[0]
    if kind == ORACLE or kind == GLOBAL:
        for k in range(g):
            out[k] = v if kind == ORACLE else gm
        return
    if kind == LOO:
        advantage_row(RLOO, r, rloo_params, tmp)
    else:
        s0 = _window_start(step, it, start, n, bw) if kcode == TRIANGULAR else start
        kae_row(r, step, it[s0:n], zz[s0:n], n - s0, bw, kcode, decay, tmp)
    for k in range(g):
        out[k] = r[k] - tmp[k]


@njit(cache=True, inline="always")
def _grad(adv, ys, pi, out):
    """g_hat = (1/G) sum_g adv_g (e_{y_g} - pi) into ``out`` (K,). Inlined: called 6 times per batch
    prompt and iteration, a call with its ~30 exploded array words cost ~10% of the bench sweep
    (1 thread, interleaved A/B, median of 3 rounds: 145 -> 129 ns per trace; cold compile 14.7 -> 15.3 s).
    Inlining :func:`_baseline` as well gained no more and cost 5 s of cold compile."""
    g = adv.shape[0]
    tot = 0.0
    for k in range(out.shape[0]):
        out[k] = 0.0
    for j in range(g):
        out[ys[j]] += adv[j]
        tot += adv[j]
    for k in range(out.shape[0]):
        out[k] = (out[k] - pi[k] * tot) / g


@njit(cache=True)
def _workspace(n_p, k_resp, bsz, g, capacity):
    """One worker's scratch for :func:`_run` (reused by every run it claims; _run resets what it reads)."""
    return (np.empty((n_p, k_resp)), np.empty(n_p, dtype=np.int64), np.empty(bsz, dtype=np.int64),
            np.empty((n_p, 2 * capacity)), np.empty((n_p, 2 * capacity)), np.empty(n_p, dtype=np.int64),
            np.empty(n_p, dtype=np.int64), np.empty((bsz, g), dtype=np.int64), np.empty((bsz, g)), np.empty(bsz),
            np.empty((bsz, k_resp)), np.empty(g), np.empty(g), np.empty(g), np.empty(k_resp), np.empty(k_resp),
            np.empty(k_resp), np.empty(k_resp), np.empty(k_resp), np.empty(n_p))


# _nrt=False: _run allocates nothing (its worker owns the scratch), so it is compiled without
# reference counting (see simulate.budget_kernel._run)
@njit(cache=True, _nrt=False)
def _run(run, drift, a, b, w, logits0, correct, bsz, g, n_steps, horizon, reuse, m_kind, m_kernel, m_bw,
         m_decay, driver, eta, capacity, seed, rloo_params, rec, vmse, gmse, gdev, acc, nobs, work):
    n_p, k_resp = logits0.shape
    n_m = m_kind.shape[0]
    n_corr = 0
    for k in range(k_resp):
        n_corr += int(correct[0, k])
    # h_it, h_z: each prompt's chronological history, 2 capacity entries (only [max(0, n - capacity), n)
    # is ever read); cum: partial sums of pib[j] for the inverse-CDF draws
    z, perm, batch, h_it, h_z, h_n, h_tot, ys, zr, vb, pib, vhat, tmp, adv, gstar, g_orc, g_m, pi, cum, rho = work
    cap2 = 2 * capacity
    for p in range(n_p):
        for k in range(k_resp):
            z[p, k] = logits0[p, k]
        perm[p] = p
        h_n[p] = 0
        h_tot[p] = 0
    if drift == 2:
        for p in range(n_p):
            _softmax(z[p], pi, k_resp)
            rho[p] = _rho(pi, correct[p], k_resp)
    for i in range(1, n_steps + 1):
        s = rec[i - 1]
        sc = i / horizon
        if (i - 1) % reuse == 0:
            draw_batch(seed, run, i, n_steps, bsz, perm)
            for j in range(bsz):
                batch[j] = perm[j]
        if s >= 0 and drift == 2:  # exogenous drifts: simulate() fills it from true_value
            tot = 0.0
            for p in range(n_p):
                tot += rho[p]
            acc[run, s] = tot / n_p
        gm = 0.0
        for j in range(bsz):
            p = batch[j]
            if drift == 2:
                _softmax(z[p], pib[j], k_resp)
            else:
                exogenous_policy(_value(drift, a[p], b[p], w[p], sc), correct[p], n_corr, pib[j])
            vb[j] = _rho(pib[j], correct[p], k_resp)
            key = stream_key(seed, (run * n_steps + i - 1) * (n_p + 1) + p)
            last = _cdf(pib[j], cum, k_resp)
            for k in range(g):
                ys[j, k] = _categorical(cum, last, uniform_at(key, k), k_resp)
                zr[j, k] = correct[p, ys[j, k]]
                gm += zr[j, k]
        gm /= bsz * g
        if s >= 0:
            for m in range(n_m):
                vmse[run, s, m] = 0.0
                gmse[run, s, m] = 0.0
                gdev[run, s, m] = 0.0
            nobs[run, s] = 0.0
        for j in range(bsz):
            p = batch[j]
            r = zr[j]
            start = max(0, h_n[p] - capacity)
            if s >= 0:
                nobs[run, s] += h_tot[p] / bsz
                for k in range(k_resp):
                    gstar[k] = pib[j, k] * (correct[p, k] - vb[j])
                for k in range(g):
                    adv[k] = r[k] - vb[j]
                _grad(adv, ys[j], pib[j], g_orc)
                for m in range(n_m):
                    _baseline(m_kind[m], m_kernel[m], m_bw[m], m_decay[m], r, i, h_it[p], h_z[p], start,
                              h_n[p], gm, vb[j], rloo_params, vhat, tmp)
                    e = 0.0
                    for k in range(g):
                        e += (vhat[k] - vb[j]) ** 2
                        adv[k] = r[k] - vhat[k]
                    vmse[run, s, m] += e / (bsz * g)
                    _grad(adv, ys[j], pib[j], g_m)
                    e1 = 0.0
                    e2 = 0.0
                    for k in range(k_resp):
                        e1 += (g_m[k] - gstar[k]) ** 2
                        e2 += (g_m[k] - g_orc[k]) ** 2
                    gmse[run, s, m] += e1 / bsz
                    gdev[run, s, m] += e2 / bsz
            if drift == 2 and driver >= 0:
                _baseline(m_kind[driver], m_kernel[driver], m_bw[driver], m_decay[driver], r, i, h_it[p],
                          h_z[p], start, h_n[p], gm, vb[j], rloo_params, vhat, tmp)
                for k in range(g):
                    adv[k] = r[k] - vhat[k]
                _grad(adv, ys[j], pib[j], g_m)
                for k in range(k_resp):
                    z[p, k] += eta * g_m[k]
                _softmax(z[p], pi, k_resp)
                rho[p] = _rho(pi, correct[p], k_resp)
            # push this group's rewards (after every estimate of the iteration used the history)
            if h_n[p] + g > cap2:
                off = h_n[p] - capacity
                for q in range(capacity):
                    h_it[p, q] = h_it[p, off + q]
                    h_z[p, q] = h_z[p, off + q]
                h_n[p] = capacity
            for k in range(g):
                h_it[p, h_n[p]] = i
                h_z[p, h_n[p]] = r[k]
                h_n[p] += 1
            h_tot[p] += g


@njit(cache=True, parallel=True)
def _sweep(n_workers, drift, a, b, w, logits0, correct, bsz, g, n_steps, horizon, reuse, m_kind, m_kernel, m_bw,
           m_decay, driver, eta, capacity, seed, rloo_params, rec, vmse, gmse, gdev, acc, nobs):
    """Independent runs, each serial; threads claim runs (simulate.schedule)."""
    R = a.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        work = _workspace(logits0.shape[1], logits0.shape[2], bsz, g, capacity)
        run = claim(counter)
        while run < R:
            _run(run, drift, a[run], b[run], w[run], logits0[run], correct, bsz, g, n_steps, horizon, reuse,
                 m_kind, m_kernel, m_bw, m_decay, driver, eta, capacity, seed, rloo_params, rec, vmse, gmse,
                 gdev, acc, nobs, work)
            run = claim(counter)


@dataclass(frozen=True)
class KernelRun:
    """Metrics of R runs at S recorded iterations for M baselines.

    value_mse, grad_mse, grad_dev (R, S, M); accuracy (R, S); n_obs (R, S): mean number of earlier
    rewards of the batch's prompts; steps (S,) the recorded iterations; labels (M,).
    """

    labels: tuple
    steps: np.ndarray
    value_mse: np.ndarray
    grad_mse: np.ndarray
    grad_dev: np.ndarray
    accuracy: np.ndarray
    n_obs: np.ndarray

    def index(self, label: str) -> int:
        return self.labels.index(label)


def simulate(*, drift: str = "logistic", n_prompts: int = 400, batch_size: int = 32, group_size: int = 4,
             n_steps: int = 200, reuse: int = 10, baselines=None, driver: str | None = None,
             step_size: float = 1.0, n_responses: int = 32, n_correct: int = 8, capacity: int = 4096,
             n_runs: int = 4, seed: int = 0, record=None, horizon: float | None = None) -> KernelRun:
    """Run ``n_runs`` independent simulations (parallel over runs) and return their metrics.

    ``baselines``: a tuple of :class:`Method` (default ``methods()``); ``driver``: the label of the
    baseline whose advantages train the policy (``drift="policy"`` only; required there);
    ``record``: iterations (1-based) at which metrics are taken (default all); ``horizon``: the
    iteration at which rescaled time s = i / horizon reaches 1 (default ``n_steps``).

    >>> run = simulate(n_prompts=50, batch_size=10, group_size=4, n_steps=20, n_runs=2, seed=1)
    >>> run.value_mse.shape, run.labels[:3]
    ((2, 20, 4), ('oracle', 'grpo', 'global'))
    """
    code = DRIFTS[check_choice("drift", drift, DRIFTS)]
    n_p = check_int("n_prompts", n_prompts, low=2)
    bsz = check_int("batch_size", batch_size, low=1, high=n_p)
    g = check_int("group_size", group_size, low=1)
    t = check_int("n_steps", n_steps, low=1)
    j = check_int("reuse", reuse, low=1)
    r = check_int("n_runs", n_runs, low=1)
    cap = check_int("capacity", capacity, low=g)
    seed = check_int("seed", seed, low=0, high=2**62)
    hor = float(t) if horizon is None else check_real("horizon", horizon, low=0.0, open_low=True)
    ms = methods() if baselines is None else tuple(baselines) if isinstance(baselines, (tuple, list)) else None
    if not ms or not all(isinstance(m, Method) and m.kind in KINDS for m in ms):  # None: not a tuple or list
        raise ValueError("baselines must be a non-empty tuple of simulate.kernel.Method")
    labels = tuple(m.label for m in ms)
    if len(set(labels)) != len(labels):
        raise ValueError(f"baselines must have distinct labels; got {labels}")
    if code == 2:
        if driver not in labels:
            raise ValueError(f"driver must be one of the baseline labels {labels} for drift='policy'; got {driver!r}")
        d = labels.index(driver)
        eta = check_real("step_size", step_size, low=0.0, open_low=True)
    else:
        if driver is not None:
            raise ValueError("driver must be None for an exogenous drift (nothing is trained)")
        d, eta = -1, 0.0
    k = check_int("n_responses", n_responses, low=2)
    nc = check_int("n_correct", n_correct, low=1, high=k - 1)
    steps = (np.arange(1, t + 1) if record is None
             else np.unique(np.asarray(check_int_sequence("record", record, low=1, high=t), dtype=np.int64)))
    if steps.size == 0:
        raise ValueError(f"record must hold at least one iteration in [1, n_steps={t}]")
    rec = np.full(t, -1, dtype=np.int64)
    rec[steps - 1] = np.arange(steps.size)
    par = prompt_parameters(r, n_p, seed)
    if code == 2:
        rho0 = 1.0 / (1.0 + np.exp(-np.clip(par["a"], -9.0, 9.0)))
        logits0, corr = initial_logits(rho0.ravel(), k, nc)
        logits0 = np.ascontiguousarray(logits0.reshape(r, n_p, k))
        correct = np.ascontiguousarray(corr[:n_p])
    else:
        logits0 = np.zeros((r, n_p, k))
        correct = np.zeros((n_p, k))
        correct[:, :nc] = 1.0
    m_kind = np.array([KINDS[m.kind] for m in ms], dtype=np.int64)
    m_kernel = np.array([KERNELS[m.kernel] for m in ms], dtype=np.int64)
    m_bw = np.array([m.bandwidth for m in ms], dtype=np.float64)
    m_decay = np.array([check_real("decay", m.decay, low=0.0, high=1.0, open_low=True, open_high=True)
                        for m in ms], dtype=np.float64)
    out = [np.zeros((r, steps.size, len(ms))) for _ in range(3)]
    acc = np.zeros((r, steps.size))
    nobs = np.zeros((r, steps.size))
    _sweep(workers(par["a"].shape[0]), code, par["a"], par["b"], par["w"], logits0, correct, bsz, g, t, hor, j,
           m_kind, m_kernel, m_bw, m_decay, d, eta, cap, seed, resolve("rloo").params, rec, *out, acc, nobs)
    if code != 2:
        values = np.empty((r, steps.size, n_p))
        _values_grid(code, par["a"], par["b"], par["w"], steps / hor, values)
        acc = values.mean(axis=2)
    return KernelRun(labels, steps, out[0], out[1], out[2], acc, nobs)
