"""NumPy reference of the paper-D simulator and a minimum-work floor (the bench baselines).

``runs_numpy`` is the same model as :func:`simulate.curriculum.sweep`, written with NumPy array
operations per run: the counter RNG on uint64 arrays (``uniform_np``), a stable argsort for the
orders, the registry's :func:`theory.estimators.estimate` for advantages and keep-masks, the theory
layer's :func:`~theory.curriculum.entropy_weights`, and the transfer as a (K, N) kernel matrix. It
agrees with the Numba kernel to round-off (tests/test_curriculum_simulate.py checks it).

``_min_work`` does only what any implementation of the model must do: draw the same random
numbers, evaluate the K x N transfer kernel once per step, and pass over the pool once per step.
The bench reports the Numba kernel against both in the same process.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulate.curriculum import SCHEMES, Model, _sigmoid, make_pool, sweep
from simulate.rng import exp, normal, uniform, uniform_np
from simulate.schedule import claim, workers
from theory.bench import BenchCase, with_threads
from theory.curriculum import entropy_weights, pace, progress, selection_size, window_start
from theory.estimators import ESTIMATORS, estimate

__all__ = ["runs_numpy", "bench_cases"]


def _normal_np(seed, stream, counter):
    u1 = uniform_np(seed, stream, 2 * counter)
    u2 = uniform_np(seed, stream, 2 * counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def runs_numpy(seed: int, scheme: str, weighted: bool, model: Model = Model(), *, n_pool: int = 1000,
               n_candidates: int = 80, ratio: float = 0.2, group_size: int = 8, n_steps: int = 150,
               estimator: str = "grpo", max_refill: int = 16, pacing: str = "linear", rate: float = 3.0,
               **options) -> dict:
    """One run, vectorised with NumPy: {"acc": (T+1,), "zero", "entropy", "rollouts": (T,)}."""
    SCHEMES[scheme]  # noqa: B018  (KeyError on a bad name; the public sweep validates properly)
    m, g = model, group_size
    k = selection_size(n_candidates, ratio)
    refill = max_refill if ESTIMATORS[estimator].filters_groups else 0
    pool = make_pool(seed, n_pool, m)
    d, ppl = pool["d"], pool["ppl"]
    theta = m.theta0 - m.beta * d
    h = pool["h0"].copy()
    h_init = h.copy()
    gate_a = m.gate if m.entropy_gate else 0.0
    kappa = m.easy_decay if m.easy_entropy_decay else 0.0
    acc, zero, ent, rolls = [_sig(theta).mean()], [], [], []
    slots = np.arange(k + refill)
    for t in range(n_steps):
        perm = np.arange(n_pool)
        u = uniform_np(seed, 2 + 3 * t, np.arange(n_candidates))
        for i in range(n_candidates):  # the swap chain is sequential by nature
            jj = i + int(u[i] * (n_pool - i))
            perm[i], perm[jj] = perm[jj], perm[i]
        cand = perm[:n_candidates]
        asc = cand[np.argsort(ppl[cand], kind="stable")]
        if scheme == "random":
            order = cand
        elif scheme == "low-ppl":
            order = asc
        elif scheme == "high-ppl":
            order = asc[::-1]
        else:
            l = window_start(pace(progress(t, n_steps), pacing, rate=rate), n_candidates, k)
            order = np.concatenate([asc[l:], asc[:l][::-1]])
        # draw every slot the step may use, then cut where K groups are kept
        n_slots = min(k + refill, n_candidates)
        js = order[:n_slots]
        cnt = slots[:n_slots, None] * g + np.arange(g)[None, :]  # (slots, G)
        r = (uniform_np(seed, 3 + 3 * t, cnt) < _sig(theta[js])[:, None]).astype(np.float64)
        hh = h[js][:, None] * np.exp(m.h_noise * _normal_np(seed, 4 + 3 * t, cnt) - 0.5 * m.h_noise**2)
        keep = estimate(estimator, r, **options).keep
        kept_at = np.cumsum(keep)
        drawn = int(np.searchsorted(kept_at, k) + 1) if kept_at[-1] >= k else n_slots
        r, hh, js, keep = r[:drawn], hh[:drawn], js[:drawn], keep[:drawn]
        same = np.all(r == r[:, :1], axis=1) & (g > 1)
        zero.append(same.mean())
        ent.append(hh.mean())
        rolls.append(drawn * g)
        r, hh, js = r[keep], hh[keep], js[keep]
        if js.size == 0:
            acc.append(_sig(theta).mean())
            continue
        w = entropy_weights(hh.ravel()).reshape(hh.shape) if weighted else np.ones_like(hh)
        p = _sig(theta[js])[:, None]
        x = w * estimate(estimator, r, **options).advantages * (r - p)  # (kept, G)
        num = (np.abs(x) * (h[js][:, None] / hh)).sum(axis=1)
        den = np.abs(x).sum(axis=1)
        gate = (h[js] / h_init[js]) ** gate_a if gate_a != 0.0 else np.ones(js.size)
        upd = m.lr * gate * x.sum(axis=1) / g
        conf = np.where(m.confident_sharpening & (den > 0), num / np.where(den > 0, den, 1.0), 1.0)
        if m.transfer:
            tr = m.transfer_strength * np.exp(-(d[js][:, None] - d[None, :]) ** 2 / (2 * m.transfer_width**2))
        else:
            tr = np.zeros((js.size, n_pool))
        tr[np.arange(js.size), js] = 1.0
        contrib = upd[:, None] * tr  # (kept, N)
        theta = theta + contrib.sum(axis=0)
        h = h * np.exp(-m.decay * np.exp(-kappa * d) * (np.maximum(contrib, 0.0) * conf[:, None]).sum(axis=0))
        acc.append(_sig(theta).mean())
    return {"acc": np.array(acc), "zero": np.array(zero), "entropy": np.array(ent), "rollouts": np.array(rolls)}


@njit(cache=True, parallel=True)
def _min_work(n_workers, seeds, n_pool, n_cand, k, g, n_steps, out):
    """The floor: the run's random draws, a K x N kernel evaluation accumulated into a pool array
    and one pool pass (a sigmoid each, summed in order) per step, in the kernel's layout (threads
    claim runs) and with its exp (simulate.rng.exp, vectorised)."""
    R = seeds.shape[0]
    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        d = np.empty(n_pool)
        buf = np.empty(n_pool)
        r = claim(counter)
        while r < R:
            seed = seeds[r]
            for j in range(n_pool):
                d[j] = normal(seed, 0, j) + normal(seed, 1, j)
            acc = 0.0
            for t in range(n_steps):
                for i in range(n_cand):
                    acc += uniform(seed, 2 + 3 * t, i)
                for i in range(k * g):
                    acc += uniform(seed, 3 + 3 * t, i) + normal(seed, 4 + 3 * t, i)
                for q in range(n_pool):
                    buf[q] = 0.0
                for a in range(k):
                    da = d[a]
                    for q in range(n_pool):
                        buf[q] += exp(-(da - d[q]) * (da - d[q]))
                for q in range(n_pool):
                    buf[q] = _sigmoid(buf[q])
                for q in range(n_pool):
                    acc += buf[q]
            out[r] = acc
            r = claim(counter)


def bench_cases(quick: bool) -> list[BenchCase]:
    """The schedule with entropy weights: Numba sweep (all threads and one) vs the NumPy reference
    and the minimum-work floor."""
    n_runs, n_steps = (4, 40) if quick else (16, 150)
    kw = dict(n_pool=1000, n_candidates=80, group_size=8, n_steps=n_steps)
    seeds = list(range(n_runs))
    out = np.empty(n_runs)
    k = selection_size(80)

    def numba_run():
        sweep(seeds, ["schedule"] * n_runs, [True] * n_runs, [Model()] * n_runs, **kw)

    def numpy_run():
        for s in seeds:
            runs_numpy(s, "schedule", True, Model(), **kw)

    def floor_run():
        _min_work(workers(n_runs), np.array(seeds, dtype=np.int64), 1000, 80, k, 8, n_steps, out)

    return [BenchCase(name="curriculum.sweep", unit="rollouts", work=float(n_runs * n_steps * k * 8),
                      candidates={"numba sweep": numba_run, "numba sweep, 1 thread": lambda: with_threads(1, numba_run),
                                  "numpy": numpy_run, "minimum work (draws + transfer exps)": floor_run},
                      reference="numpy", kernel="numba sweep", limit="minimum work (draws + transfer exps)",
                      serial="numba sweep, 1 thread", setup=numba_run,
                      note=f"{n_runs} runs x {n_steps} steps, pool 1000, |B|=80, K={k}, G=8, schedule + "
                           f"entropy weights; the floor draws the same numbers and evaluates the K x N transfer",
                      targets={"numba sweep": ">= 5x numpy, >= 50% of minimum work"})]
