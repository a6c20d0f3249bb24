"""Paper E, Theorem 5.4 [S numbering]: uniform positive task advantage -> learnable in O(S^2).

Verifier with partial structure (theory/composition.py ``spot_verifier``, one check): the
verifier checks one uniformly random position, so P(V = 1) = (number of correct steps)/S and the
correct task's ratio is r[s, 0] = 1 + 1 / sum_{t != s} pi[t, 0] > 1 at every step, all along
training (we verify this on the logged trajectories). K = 3 tasks, uniform base model (p0 = 1/3).
We measure the iterations until P(correct chain) >= 1 - eps against S on log-log axes, for the
exact expected dynamics and for sampled runs (median over seeds). Settings in
figures/composition_common.py.

Claim E.positive-learnable [V]: polynomial growth with exponent at most 2. The theorem is an upper
bound; a smaller exponent supports it. Run: ``rlvr-lab reproduce --only composition_positive``.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from figures.base import Figure, Layout, Unit
from figures.composition_common import EPS, ESTIMATOR, G, LR
from simulate.composition import expected_runs, run_metrics, sampled_runs
from theory.claims import Claim, Verdict, judge_interval
from theory.composition import spot_verifier, symmetric_base
from theory.stats import bootstrap_ci, fit_line

CLAIM = Claim(
    id="E.positive-learnable",
    statement="When the correct task keeps a task-advantage ratio above 1 at every step along "
              "training, RLVR reaches the correct chain in O(S^2) iterations.",
    provenance="V",
    predicted="log-log slope of iterations-to-(1 - eps) against S at most 2",
    measurement="PRIMARY: OLS slope of log(median sampled iterations) on log S with its 95% "
                "t-interval (theory.stats.fit_line); supported iff the interval lies in (-inf, 2], "
                "not supported iff it lies above 2. Reported: exact-dynamics slope, a seed-bootstrap "
                "interval of the sampled slope, min ratio of the correct task along all runs.",
)
K = 3


@dataclass(frozen=True)
class Config:
    S: tuple = (2, 4, 8, 16, 32)
    n_seeds: int = 24


FULL = Config(S=(2, 4, 8, 16, 32, 64), n_seeds=64)


def positive_runs(S, seeds) -> dict:
    """Exact and sampled iterations to the correct chain at S steps, min ratio (a unit of work)."""
    v = spot_verifier(S, K, checks=1)
    n_iter = 40 * S * S + 500  # cap; the gradient flow needs about 20 S^2 here
    kw = dict(estimator=ESTIMATOR, G=G, lr=LR, n_iter=n_iter, eps=EPS,
              log_every=max(1, n_iter // 40), stop_on_hit=True)
    pi0 = symmetric_base(1.0 / K, S, K)
    ex = expected_runs(pi0, v, **kw)
    sa = sampled_runs(pi0, v, np.array(seeds), **kw)
    r = run_metrics(sa)["ratio"]
    return {"exact": int(ex.hit[0]), "sampled": sa.hit, "min_ratio": float(r.min()), "n_iter": n_iter}


def compute(ctx, cfg: Config) -> dict:
    S_list = list(cfg.S)
    out = {"S": S_list, "exact": [], "sampled": [], "min_ratio": [], "censored": []}
    runs = ctx.units({f"S={S}": Unit(positive_runs, S=S, seeds=ctx.seeds(("positive", S), cfg.n_seeds))
                      for S in S_list})
    for S in S_list:
        res = runs[f"S={S}"]
        out["exact"].append(res["exact"])
        out["sampled"].append(res["sampled"])
        out["min_ratio"].append(res["min_ratio"])
        out["censored"].append(int(np.sum(np.asarray(res["sampled"]) < 0)))
    return out


def _median_hits(hits):
    """Median iterations per S; censored runs (-1) count as +inf (the median stays valid while
    fewer than half are censored)."""
    h = np.asarray(hits, dtype=float)
    h[h < 0] = np.inf
    return np.median(h, axis=-1)


def evaluate(data) -> list:
    S = np.asarray(data["S"], dtype=float)
    hits = np.asarray(data["sampled"], dtype=float)  # (nS, seeds)
    med = _median_hits(hits)
    fit = fit_line(np.log(S), np.log(med))
    ex = np.asarray(data["exact"], dtype=float)
    fit_ex = fit_line(np.log(S), np.log(ex))
    blo, bhi = bootstrap_ci(hits.T, lambda x: fit_line(np.log(S), np.log(_median_hits(x.T))).slope
                            if np.all(np.isfinite(_median_hits(x.T))) else np.inf, seed=0)
    verdict = judge_interval(fit.lo, fit.hi, -np.inf, 2.0)
    return [Verdict(
        CLAIM, verdict,
        measured={"slope_sampled": fit.slope, "slope_exact": fit_ex.slope,
                  "median_iterations": dict(zip(map(str, data["S"]), med.tolist())),
                  "local_slopes": (np.diff(np.log(med)) / np.diff(np.log(S))).tolist(),
                  "min_ratio_correct_task": float(np.min(data["min_ratio"]))},
        uncertainty={"slope_sampled_ci95_t": [fit.lo, fit.hi], "slope_sampled_ci95_bootstrap": [blo, bhi],
                     "slope_exact_ci95_t": [fit_ex.lo, fit_ex.hi]},
        sample_size={"S_values": len(S), "seeds_per_S": int(hits.shape[1]),
                     "censored_runs": int(np.sum(data["censored"]))},
        note="the gradient flow gives T ~ S^2 / eps asymptotically (softmax gradient p(1 - p) vanishes "
             "as each step must reach 1 - eps/S), so the local slope approaches 2 from below; "
             f"spot-check verifier, K={K}, uniform base model, {ESTIMATOR} G={G} lr={LR} eps={EPS}")]


def draw(data, ax):
    S = np.asarray(data["S"], dtype=float)
    hits = np.asarray(data["sampled"], dtype=float)
    med = _median_hits(hits)
    q = np.array([np.quantile(np.where(h < 0, np.inf, h), [0.25, 0.75]) for h in hits])
    ax.errorbar(S, med, yerr=[med - q[:, 0], q[:, 1] - med], fmt="o-", label="sampled: median (IQR)")
    ax.plot(S, data["exact"], "s--", label="exact expected dynamics")
    ref = med[0] * (S / S[0]) ** 2
    ax.plot(S, ref, ":", color="grey", label="slope 2 (O(S^2) bound)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(S, [str(int(x)) for x in S])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("number of steps S")
    ax.set_ylabel(f"iterations to P(correct chain) >= {1 - EPS:g}")
    ax.legend(fontsize=7)
    ax.set_title("uniform positive advantage (spot-check verifier)")


FIGURE = Figure(name="composition_positive", title="Positive task advantage: iterations against S",
                claims=(CLAIM,), config=Config(), full=FULL, layout=Layout(1, 1, (5.5, 4), tight=False),
                compute=compute, evaluate=evaluate, draw=draw, description=__doc__)
