"""Paper E: no structural advantage — the AND verifier from a weak base model is exponentially slow.

AND verifier (all S steps must be correct), K = 4 tasks, uniform base model p0 = 1/4
(theory/composition.py). The expected update of the correct logit at step s is
c pi(1 - pi) prod_{t != s} p_t, exponentially small in S [R, notes E.6.5]; sampled runs see no
signal at all until a group contains a success (probability about G p0^S per iteration). We
measure iterations until P(correct chain) >= 1 - eps against S on a log axis, exact expected
dynamics and sampled runs (median over seeds). Settings in figures/composition_common.py.

Claim E.no-advantage-hard [S] (one secondary source: "exponential complexity").
Run: ``rlvr-lab reproduce --only composition_and_hard``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.composition_common import EPS, ESTIMATOR, G, LR
from simulate.composition import expected_runs, sampled_runs
from theory.claims import Claim, Verdict, judge
from theory.composition import and_verifier, symmetric_base
from theory.stats import fit_line

CLAIM = Claim(
    id="E.no-advantage-hard",
    statement="Without a structural advantage (AND verifier, weak base model) the iterations RLVR "
              "needs grow exponentially in the number of steps S.",
    provenance="S",
    predicted="log T linear in S with positive rate b (about log(1/p0) = log 4 for large S)",
    measurement="PRIMARY: OLS of log(median sampled iterations) on S, 95% t-interval of the rate b. "
                "Supported iff b_lo > 0 and the exponential model fits log T better than the power "
                "law (residual sum of squares of log T on S below that on log S); not supported iff "
                "b_hi <= 0; inconclusive otherwise. Reported: exact-dynamics rate, growth factor e^b.",
)
K, P0 = 4, 0.25


def _rss(x, y):
    f = fit_line(x, y)
    return float(np.sum((y - f.intercept - f.slope * x) ** 2))


@dataclass(frozen=True)
class Config:
    S_sampled_max: int = 6  # S = 1 .. S_sampled_max for the sampled runs
    S_exact_max: int = 8  # S = 1 .. S_exact_max for the exact dynamics
    n_seeds: int = 24


FULL = Config(S_sampled_max=7, S_exact_max=9, n_seeds=96)


def _cap(S: int) -> int:
    return int(40 * 4.0 ** S) + 500  # iterations cap


def and_exact(S) -> dict:
    """Iterations of the exact expected dynamics to P(correct chain) >= 1 - eps (a unit of work)."""
    n_iter = _cap(S)
    res = expected_runs(symmetric_base(P0, S, K), and_verifier(S, K), estimator=ESTIMATOR, G=G,
                        lr=LR, n_iter=n_iter, eps=EPS, log_every=n_iter, stop_on_hit=True)
    return {"hit": int(res.hit[0])}


def and_sampled(S, seeds) -> dict:
    """Iterations of sampled runs (one per seed; -1: censored at the cap) (a unit of work)."""
    n_iter = _cap(S)
    res = sampled_runs(symmetric_base(P0, S, K), and_verifier(S, K), np.array(seeds), estimator=ESTIMATOR,
                       G=G, lr=LR, n_iter=n_iter, eps=EPS, log_every=n_iter, stop_on_hit=True)
    return {"hit": res.hit, "cap": n_iter}


def compute(ctx, cfg: Config) -> dict:
    S_samp = list(range(1, cfg.S_sampled_max + 1))
    S_exact = list(range(1, cfg.S_exact_max + 1))
    exact = ctx.units({f"exact/S={S}": Unit(and_exact, S=S) for S in S_exact})
    sampled = ctx.units({f"sampled/S={S}": Unit(and_sampled, S=S, seeds=ctx.seeds(("and", S), cfg.n_seeds))
                         for S in S_samp})
    return {"S_sampled": S_samp, "S_exact": S_exact, "exact": [exact[f"exact/S={S}"]["hit"] for S in S_exact],
            "sampled": [sampled[f"sampled/S={S}"]["hit"] for S in S_samp],
            "caps": [sampled[f"sampled/S={S}"]["cap"] for S in S_samp]}


def _median(h):
    h = np.asarray(h, dtype=float)
    h[h < 0] = np.inf  # censored at the cap
    return np.median(h, axis=-1)


def evaluate(data) -> list:
    S = np.asarray(data["S_sampled"], dtype=float)
    med = _median(data["sampled"])
    ok = np.isfinite(med)
    fit = fit_line(S[ok], np.log(med[ok]))
    rss_exp, rss_pow = _rss(S[ok], np.log(med[ok])), _rss(np.log(S[ok]), np.log(med[ok]))
    Se = np.asarray(data["S_exact"], dtype=float)
    ex = np.asarray(data["exact"], dtype=float)
    oke = ex > 0
    fit_ex = fit_line(Se[oke], np.log(ex[oke]))
    verdict = judge(supported=fit.lo > 0 and rss_exp < rss_pow, not_supported=fit.hi <= 0)
    return [Verdict(
        CLAIM, verdict,
        measured={"rate_b_sampled": fit.slope, "growth_factor_sampled": float(np.exp(fit.slope)),
                  "rate_b_exact": fit_ex.slope, "log(1/p0)": float(np.log(1 / P0)),
                  "rss_exponential": rss_exp, "rss_power_law": rss_pow,
                  "median_iterations": dict(zip(map(str, data["S_sampled"]), med.tolist())),
                  "exact_iterations": dict(zip(map(str, data["S_exact"]), ex.tolist()))},
        uncertainty={"rate_b_sampled_ci95_t": [fit.lo, fit.hi], "rate_b_exact_ci95_t": [fit_ex.lo, fit_ex.hi]},
        sample_size={"S_values_used": int(ok.sum()), "seeds_per_S": int(np.asarray(data["sampled"]).shape[1]),
                     "censored_runs": int(np.sum(np.asarray(data["sampled"]) < 0))},
        note=f"AND verifier, K={K}, p0={P0}, {ESTIMATOR} G={G} lr={LR} eps={EPS}; run cap 40*4^S+500")]


def draw(data, ax):
    S = np.asarray(data["S_sampled"])
    hits = np.asarray(data["sampled"], dtype=float)
    med = _median(hits)
    q = np.array([np.quantile(np.where(h < 0, np.inf, h), [0.25, 0.75]) for h in hits])
    ax.errorbar(S, med, yerr=[med - q[:, 0], np.where(np.isfinite(q[:, 1]), q[:, 1] - med, 0)],
                fmt="o-", label="sampled: median (IQR)")
    ax.plot(data["S_exact"], data["exact"], "s--", label="exact expected dynamics")
    Se = np.asarray(data["S_exact"], dtype=float)
    ax.plot(Se, data["exact"][0] * (1 / P0) ** (Se - 1), ":", color="grey", label="growth (1/p0)^S")
    ax.set_yscale("log")
    ax.set_xlabel("number of steps S")
    ax.set_ylabel(f"iterations to P(correct chain) >= {1 - EPS:g}")
    ax.legend(fontsize=7)
    ax.set_title(f"AND verifier, weak base model p0 = {P0}")


FIGURE = Figure(name="composition_and_hard", title="AND verifier: exponential iterations in S",
                claims=(CLAIM,), config=Config(), full=FULL, layout=Layout(1, 1, (5.5, 4), tight=False),
                compute=compute, evaluate=evaluate, draw=draw, description=__doc__)
