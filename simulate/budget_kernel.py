"""Paper A simulator, the Numba kernels behind :mod:`simulate.budget` (the public API lives there).

One run is serial: iterations in order, prompts in order, rollouts in order. A sweep runs its
independent runs in ONE parallel region (``prange`` over runs, :func:`_sweep_kernel`), which is what
every figure calls; a single large run may instead split each iteration's prompts over threads
(:func:`_prompts_parallel_kernel`, one parallel region per iteration). Both produce the numbers of
the serial run bit for bit: every draw is a pure function of (seed, prompt, iteration, rollout,
stage) (simulate.rng) and every sum runs in prompt order.

The group step, inlined at the Numba IR level with the registry's estimator, so no array crosses a
call inside the hot loop (:func:`_group` for one prompt; :func:`_run` takes the same steps for a
block of BLOCK = 8 prompts, each step for every prompt of the block before the next step):

1. p = sigmoid(theta - d_x), lp = log1p(-p), key = stream_key(seed, (x << 32) + it).
2. Draws first (:func:`_draw`): stage k of rollout i is Geometric(p) on {1, 2, ...} by inversion,
   T_stage = floor(ln(u) / lp) + 1 with u = uniform_at(key, i K + k) and ``ln`` simulate.rng's
   portable log. All G K stage times are drawn in blocks of LANES = 8 with a fixed trip count, a loop
   the compiler turns into 8-wide vector code (draw, log, divide, floor; the loop shape of
   simulate.rng.uniforms_into); the last block's extra lanes are drawn and ignored.
3. Branch-free bookkeeping (:func:`_tally`, selects): T = sum of the K stage times, n = min(T, H),
   solved = T <= H, stages within H s = #{k: T_1 + ... + T_k <= H} (a stage past H counts nothing,
   so no stage needs an early stop), r = solved * reward(T), score = s - n p, the sums and the
   rewards' min and max (a group is mixed iff they differ) in the same pass. The graded reward's
   division exists only in the graded copy: ``graded`` is a literal at the hot call site.
4. THE registry estimator on the group's rewards (:func:`_update`; ``inline="always"`` in
   theory.advantage_kernels) and the gradient contribution sum_i A_i score_i.

Why blocks. Each group's steps 1, 3 and 4 are short dependency chains (libm's exp and log1p; ordered
sums; the estimator's mean, variance, square root and division), and one group at a time left the
processor waiting on them. In a block the groups are independent, so their chains overlap, and each
sum still runs in prompt order (same bits). K = 1, 1 thread, interleaved A/B against the one-group
form: 10.6-10.9 -> 8.4-8.8 ns per rollout in the quiet rounds; the floor's blocked form is faster
too (below), and it is the one the benchmark times.

The log. Until this version step 2 called libm's ``log``: scalar calls, 4.05 ns each against 1.05 ns
for the vectorised ``ln`` (development machine, a long loop). The uniforms are unchanged, and ``ln``
differs from glibc's ``log`` by one ulp on about 7% of them, so a stage time changes only where
that ulp moves log(u) / lp across an integer (odds of order T 2^-52 per draw). With the vectorised
log, drawing every stage of every rollout (K > 1) is cheaper than the early stop it replaced
(which skipped a stage's log once a rollout passed H): at K = 4, 2 threads, 3.05e7 -> 6.7e7
rollouts/s (``rlvr-lab bench``, this change as a whole).

Measured and rejected: skipping the first stage's log for draws that certainly overshoot H
(u < (1 - p)^H, with a guard) changes no number, but the branch is unpredictable and made the K = 1
kernel ~20% slower at xi = 0.3, 1.5 and 4 on the development machine (a log costs less than a
mispredicted branch there). Splitting the bookkeeping into a vectorisable per-rollout pass and an
ordered sums pass changed nothing measurable (K = 1: 13.6 vs 14.2 ns per rollout, 1 thread), nor
did a select in place of grpo's early return for constant groups (10.7 vs 10.9, and again with
blocks; it made weighting's dynamics 13 -> 20 ns per response), nor a group size known at compile
time (10.5 vs 10.8; interleaved A/B runs, 1 thread). With blocks: a separate pass for the gradient
products after the block's estimators (8.6 -> 9.2, worse), or each group's products one group
behind its estimator (8.0-8.5 vs 7.8-9.0, no change); a prompt per vector lane (stage times
drawn lane-wise, bookkeeping and products vertical, the estimator per prompt on transposed rows)
made the floor faster (3.9 ns) but the kernel slower (12.4 ns): with a constant lane count LLVM
unrolls the lane loops and does not vectorise them (their loads and stores may alias); with a
run-time count it vectorises behind alias checks, but every small loop then round-trips its lane
state through memory, and the mismatched store and load widths stall store forwarding (profile).

Arithmetic follows IEEE 754 (``error_model="numpy"``, as in any ``prange`` body): at p = 0
(theta - d_x below about -745) lp = -0.0 and T = inf, a rollout that never succeeds.

The oracle of tests/test_budget_simulate.py replays steps 1-3 and matches every output exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulate.rng import LANES, ln, padded, stream_key, uniform_at
from simulate.schedule import claim
from theory.estimators import advantage_row, keep_row

STREAM_SHIFT = 32
BLOCK = 8  # prompts per block of _run
N_SUMS = 8  # per group: gradient contribution, tokens, successes, sum r, sum r^2, mixed, any, kept


@njit(cache=True, inline="always")
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
def _stage_times(key, lp, n, tb):
    """tb[c] = floor(ln(u_c) / lp) + 1 for the counters c < padded(n): the Geometric stage times by
    inversion, LANES at a time (the loop shape of simulate.rng.uniforms_into, vectorised)."""
    for b in range(padded(n) // LANES):
        for j in range(LANES):
            c = b * LANES + j
            tb[c] = np.floor(ln(uniform_at(key, c)) / lp) + 1.0


@njit(cache=True, inline="always")
def _draw(seed, it, x, lp, n, tb):
    """Prompt x's n = G K stage times at iteration ``it`` (log1p(-p) = lp) into tb."""
    _stage_times(stream_key(seed, (np.int64(x) << STREAM_SHIFT) + it), lp, n, tb)


@njit(cache=True, inline="always")
def _draw_block(seed, it, theta, d, x0, nb, n, ps, tb):
    """Prompts x0 .. x0 + nb - 1 of a block: hazards ps[j] = sigmoid(theta - d_x), then each one's
    n = G K stage times into tb[j] (the block's scalar libm calls back to back, then its vector
    draws). Shared by :func:`_run` and the benchmark's floor :func:`_minimum_work`."""
    for j in range(nb):
        ps[j] = _sigmoid(theta - d[x0 + j])
    for j in range(nb):
        _draw(seed, it, x0 + j, np.log1p(-ps[j]), n, tb[j])


@njit(cache=True, inline="always")
def _group(seed, it, x, p, H, K, G, reward_kind, code, params, r, a, sc, tb, sums):
    """One prompt's group at iteration ``it``: r, a, sc (G,) scratch, tb (>= padded(G K),) stage-time
    scratch; ADDS its 8 sums to sums[0:8] in a fixed order (callers give each group its own zeroed
    slot or sum groups in prompt order)."""
    _draw(seed, it, x, np.log1p(-p), G * K, tb)  # every stage time first (vectorised)
    _tally(p, H, K, G, reward_kind != 0, r, sc, tb, sums)
    _update(code, params, G, r, a, sc, sums)


@njit(cache=True, inline="always")
def _tally(p, H, K, G, graded, r, sc, tb, sums):
    """The bookkeeping of one group whose stage times are in tb: rewards r and scores sc (G,); ADDS
    sums[1:7]. ``graded`` (reward_kind != 0) is a literal where it is called in a hot loop, so the
    compiler drops the graded reward's division from the binary copy."""
    tk = 0.0
    ns = 0
    s1 = 0.0
    s2 = 0.0
    rlo = np.inf
    rhi = -np.inf
    ku = np.uint64(K)  # unsigned indices: no negative-index wraparound per load
    for i in range(G):  # branch-free bookkeeping (selects)
        t = tb[np.uint64(i) * ku]
        s = 1.0 if t <= H else 0.0
        for k in range(1, K):  # stages past H count nothing, so no early stop is needed
            t += tb[np.uint64(i) * ku + np.uint64(k)]
            s += 1.0 if t <= H else 0.0
        solved = t <= H
        n = min(t, H)
        tk += n
        ns += solved
        rv = (((H - t + 1.0) / H) if graded else 1.0) if solved else 0.0  # selects, no branch
        r[i] = rv
        s1 += rv
        s2 += rv * rv
        rlo = min(rlo, rv)
        rhi = max(rhi, rv)
        sc[i] = s - n * p  # score of the truncated likelihood
    mixed = rlo != rhi  # some r_i differs from r_0 (every r_i is finite)
    sums[1] += tk
    sums[2] += ns
    sums[3] += s1
    sums[4] += s2
    sums[5] += 1.0 if mixed else 0.0
    sums[6] += 1.0 if ns > 0 else 0.0


@njit(cache=True, inline="always")
def _update(code, params, G, r, a, sc, sums):
    """THE registry estimator on the group's rewards r, and its gradient contribution sum_i a_i sc_i;
    ADDS sums[0] and sums[7] (kept)."""
    advantage_row(code, r, params, a)
    kp = keep_row(code, r)
    c = 0.0
    if kp:
        for i in range(G):
            c += a[i] * sc[i]
    sums[0] += c
    sums[7] += 1.0 if kp else 0.0


@njit(cache=True, inline="always")
def _record(it, P, G, theta, lr, sums, theta_out, grad_out, tokens_out, succ_out, rsum_out, rsq_out,
            mixed_out, anys_out, kept_out):
    """Write iteration ``it``'s totals; returns the next theta."""
    g = sums[0] / (P * G)
    grad_out[it] = g
    tokens_out[it] = sums[1]
    succ_out[it] = int(sums[2])
    rsum_out[it] = sums[3]
    rsq_out[it] = sums[4]
    mixed_out[it] = int(sums[5])
    anys_out[it] = int(sums[6])
    kept_out[it] = int(sums[7])
    theta = theta + lr * g
    theta_out[it + 1] = theta
    return theta


@njit(cache=True)
def scratch(G, K):
    """One run's scratch for :func:`_run`, a row per prompt of a block: r, a, sc (BLOCK, G), stage
    times tb (BLOCK, padded(G K)), hazards ps (BLOCK,), sums (8,)."""
    return (np.empty((BLOCK, G)), np.empty((BLOCK, G)), np.empty((BLOCK, G)),
            np.empty((BLOCK, padded(G * K))), np.empty(BLOCK), np.empty(N_SUMS))


# _nrt=False: compiled without Numba's reference counting. _run allocates nothing (its caller owns
# the scratch), so no count is needed, and without it the atomic increments and decrements around
# the inlined estimator and scratch arrays (13% of the K = 1 profile) are gone: 12.5 -> 11.0 ns per
# rollout at K = 1, 18.7 -> 17.2 at K = 4, same bits (1 thread, development machine).
@njit(cache=True, error_model="numpy", _nrt=False)
def _run(seed, theta0, d, H, K, G, n_iter, lr, reward_kind, code, params, theta_out, grad_out,
         tokens_out, succ_out, rsum_out, rsq_out, mixed_out, anys_out, kept_out, r, a, sc, tb, ps, sums):
    """One run, serial: iterations, prompts and rollouts in order (the reference summation order);
    r, a, sc, tb, ps, sums: :func:`scratch`. Prompts go in blocks of BLOCK: first every group's
    stage times, then every group's bookkeeping, in prompt order (same numbers as one group at a
    time; the blocks' independent groups give the processor work to overlap)."""
    P = d.shape[0]
    theta = theta0
    theta_out[0] = theta
    for it in range(n_iter):
        sums[:] = 0.0
        for xb in range((P + BLOCK - 1) // BLOCK):
            nb = min(BLOCK, P - xb * BLOCK)
            _draw_block(seed, it, theta, d, xb * BLOCK, nb, G * K, ps, tb)
            if reward_kind != 0:
                for j in range(nb):
                    _tally(ps[j], H, K, G, True, r[j], sc[j], tb[j], sums)
            else:
                for j in range(nb):
                    _tally(ps[j], H, K, G, False, r[j], sc[j], tb[j], sums)
            for j in range(nb):
                _update(code, params, G, r[j], a[j], sc[j], sums)
        theta = _record(it, P, G, theta, lr, sums, theta_out, grad_out, tokens_out, succ_out, rsum_out,
                        rsq_out, mixed_out, anys_out, kept_out)


@njit(cache=True, parallel=True, error_model="numpy")
def _sweep_kernel(n_workers, seeds, theta0s, d, Hs, K, G, n_iter, lrs, reward_kind, code, params, theta_out,
                  grad_out, tokens_out, succ_out, rsum_out, rsq_out, mixed_out, anys_out, kept_out):
    """Independent runs (R,) in one parallel region, each serial (:func:`_run`); threads claim
    runs one at a time (simulate.schedule), so a thread slowed by a shared core runs fewer."""
    R = seeds.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        r, a, sc, tb, ps, sums = scratch(G, K)  # the worker's, reused by each run it claims
        b = claim(counter)
        while b < R:
            _run(seeds[b], theta0s[b], d, Hs[b], K, G, n_iter, lrs[b], reward_kind, code, params,
                 theta_out[b], grad_out[b], tokens_out[b], succ_out[b], rsum_out[b], rsq_out[b],
                 mixed_out[b], anys_out[b], kept_out[b], r, a, sc, tb, ps, sums)
            b = claim(counter)


@njit(cache=True, parallel=True, error_model="numpy")
def _prompts_parallel_kernel(seed, theta0, d, H, K, G, n_iter, lr, reward_kind, code, params, theta_out,
                             grad_out, tokens_out, succ_out, rsum_out, rsq_out, mixed_out, anys_out,
                             kept_out, r_buf, a_buf, sc_buf, tb_buf, per_prompt):
    """One run, each iteration's prompts split over threads (one parallel region per iteration:
    worth it only when an iteration holds a lot of work); per_prompt (P, 8) is reduced in prompt
    order, so the numbers equal :func:`_run`'s."""
    P = d.shape[0]
    theta = theta0
    theta_out[0] = theta
    sums = np.empty(N_SUMS)
    for it in range(n_iter):
        for x in prange(P):
            row = per_prompt[x]
            row[:] = 0.0
            _group(seed, it, x, _sigmoid(theta - d[x]), H, K, G, reward_kind, code, params,
                   r_buf[x], a_buf[x], sc_buf[x], tb_buf[x], row)
        sums[:] = 0.0
        for x in range(P):
            for j in range(N_SUMS):
                sums[j] += per_prompt[x, j]
        theta = _record(it, P, G, theta, lr, sums, theta_out, grad_out, tokens_out, succ_out, rsum_out,
                        rsq_out, mixed_out, anys_out, kept_out)


# --- the minimum-work reference of the benchmark ---------------------------------------------
@njit(cache=True, parallel=True, error_model="numpy")
def _minimum_work(n_workers, seeds, theta0s, d, K, G, n_iter, tb_buf):
    """The work no exact simulator of this model can avoid, in the sweep's layout (threads claim
    runs, each serial) and the kernel's own block step :func:`_draw_block`: per group the stream
    key, the sigmoid and log1p of the hazard; per stage the counter draw and its inversion, into run
    b's scratch tb_buf[b] (R, BLOCK, >= padded(G K)). Hazards stay at theta0 (no learning); there is
    no bookkeeping, no estimator and no update. The blocked form (a block's libm calls back to back,
    then its vector draws) is the faster one: against hazards and draws alternating per prompt,
    1.11-1.17x at K = 1 and 1.02-1.06x at K = 4 (1 thread, both forms timed alternately in one
    process)."""
    R = seeds.shape[0]
    P = d.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        ps = np.empty(BLOCK)
        b = claim(counter)
        while b < R:
            for it in range(n_iter):
                for xb in range((P + BLOCK - 1) // BLOCK):
                    _draw_block(seeds[b], it, theta0s[b], d, xb * BLOCK, min(BLOCK, P - xb * BLOCK), G * K, ps,
                                tb_buf[b])
            b = claim(counter)
    return tb_buf
