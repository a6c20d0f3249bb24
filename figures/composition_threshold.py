"""Paper E, Figure 4 analogue: the mod-3 phase diagram — final success against the base model p0.

Model (theory/composition.py): S steps, K = 3 tasks with offsets 0 (correct), +1, +2 mod 3; the
verifier accepts iff the offsets cancel mod 3; symmetric base model P(c) = p0, P(w1) = P(w2) =
(1 - p0)/2 at every step [R, the notes' reconstruction of Sec. 6.2; the paper's own construction is
not available]. Exact expected-gradient dynamics on a p0 grid for S = 2, 3, 4, and sampled dynamics
(many seeds) for S = 2. Settings in figures/composition_common.py.

Observed behaviour worth knowing: below 1/3 the symmetric wrong mixture (P(w1) = P(w2)) is a
saddle of the dynamics, not an attractor. Sampled runs leave it at once towards a cancelling wrong
pair (reward 1, wrong steps); the exact dynamics stay on it for S = 2 over the run length, but for
S = 4 floating-point round-off alone breaks the symmetry (final P(V) -> 1 at small p0 in panel 2).

Claim E.base-model-threshold [V]: for S = 2, the correct composition is reached for p0 > 1/3 and a
suboptimal one (P(correct chain) -> 0, P(V) -> 1/2) below. Departure: the paper's Figure 4 axes
are unknown; we plot final P(correct chain) and P(V) against p0.
Run: ``rlvr-lab reproduce --only composition_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.composition_common import EPS, ESTIMATOR, G, LR
from simulate.composition import OUTCOMES, classify, expected_runs, run_metrics, sampled_runs
from theory.claims import Claim, Verdict, judge
from theory.composition import mod_verifier, symmetric_base
from theory.stats import bootstrap_ci, wilson_ci as wilson

CLAIM = Claim(
    id="E.base-model-threshold",
    statement="In the mod-3 example RLVR reaches the correct composition iff the base model's "
              "probability p0 of the correct task exceeds 1/3; below it converges to a suboptimal one.",
    provenance="V",
    predicted="threshold p0* = 1/3 (S = 2): final P(correct chain) >= 1 - eps above, -> 0 below",
    measurement="PRIMARY: exact expected dynamics (S = 2) on a p0 grid; the threshold bracket "
                "[largest p0 not reaching the correct chain, smallest p0 reaching it] must contain "
                "1/3, with every grid point below ending at P(correct chain) < 0.01 and every point "
                "above reaching it. SECONDARY: sampled runs, p0 where the fraction of runs "
                "reaching the correct chain crosses 1/2 (linear interpolation; 95% bootstrap CI over "
                "seeds) must contain 1/3, else inconclusive.",
)


@dataclass(frozen=True)
class Config:
    exact_points: int = 31  # p0 grid on [0.2, 0.5] for the exact dynamics (1/3 is never a grid point)
    sampled_points: int = 13  # p0 grid for the sampled runs (S = 2)
    n_seeds: int = 100
    n_iter: int = 3000


FULL = Config(exact_points=61, sampled_points=25, n_seeds=400, n_iter=6000)


def _grid(points: int) -> np.ndarray:
    return np.round(np.linspace(0.2, 0.5, points), 6)


def threshold_exact(S, grid, n_iter) -> dict:
    """Final P(correct chain), P(V) and end state of the exact dynamics per p0 (a unit of work)."""
    pi0 = np.stack([symmetric_base(p, S) for p in grid])
    res = expected_runs(pi0, mod_verifier(S), estimator=ESTIMATOR, G=G, lr=LR, n_iter=n_iter, eps=EPS,
                        log_every=n_iter)
    m = run_metrics(res)
    return {"chain": m["chain"][:, -1], "success": m["success"][:, -1], "outcome": classify(res)}


def threshold_sampled(p0, seeds, n_iter) -> list:
    """End state of sampled runs (S = 2) from p0, one per seed (a unit of work)."""
    res = sampled_runs(symmetric_base(p0, 2), mod_verifier(2), np.array(seeds), estimator=ESTIMATOR, G=G, lr=LR,
                       n_iter=n_iter, eps=EPS, log_every=n_iter)
    return classify(res)


def compute(ctx, cfg: Config) -> dict:
    exact_grid, samp_grid = _grid(cfg.exact_points), _grid(cfg.sampled_points)
    exact = ctx.units({f"exact/S={S}": Unit(threshold_exact, S=S, grid=exact_grid, n_iter=cfg.n_iter)
                       for S in (2, 3, 4)})
    sampled = ctx.units({f"sampled/p0={p}": Unit(threshold_sampled, p0=p, n_iter=cfg.n_iter,
                                                 seeds=ctx.seeds(("threshold", i), cfg.n_seeds))
                         for i, p in enumerate(samp_grid)})
    outcome = np.array([sampled[f"sampled/p0={p}"] for p in samp_grid], dtype=np.int64).T  # (seeds, p0)
    return {"exact_grid": exact_grid, "sampled_grid": samp_grid, "n_iter": cfg.n_iter,
            "exact": {str(S): exact[f"exact/S={S}"] for S in (2, 3, 4)}, "sampled": {"outcome": outcome}}


def _crossing(frac, grid):
    """First p0 where the fraction reaching the correct chain rises through 1/2 (nan: never)."""
    frac = np.asarray(frac)
    for i in range(1, frac.size):
        if frac[i - 1] < 0.5 <= frac[i]:
            return grid[i - 1] + (0.5 - frac[i - 1]) * (grid[i] - grid[i - 1]) / (frac[i] - frac[i - 1])
    return np.nan


def evaluate(data) -> list:
    grid = np.asarray(data["exact_grid"])
    ex = data["exact"]["2"]
    chain, outcome = np.asarray(ex["chain"]), np.asarray(ex["outcome"])
    reached = outcome == 0
    lo = float(grid[~reached].max()) if np.any(~reached) else float("nan")
    hi = float(grid[reached].min()) if np.any(reached) else float("nan")
    monotone = bool(np.all(reached == (grid > hi - 1e-12))) if np.isfinite(hi) else False
    below_ok = bool(np.all(chain[grid < 1 / 3] < 0.01))
    exact_ok = monotone and below_ok and lo < 1 / 3 < hi

    sgrid = np.asarray(data["sampled_grid"])
    correct = (np.asarray(data["sampled"]["outcome"]) == 0).astype(float)  # (seeds, p0)
    stat = lambda x: _crossing(x.mean(axis=0), sgrid)  # noqa: E731
    cross = float(stat(correct))
    clo, chi = bootstrap_ci(correct, lambda x: np.nan_to_num(stat(x), nan=-1.0), seed=0)
    samp_ok = clo <= 1 / 3 <= chi
    verdict = judge(supported=exact_ok and samp_ok, not_supported=not exact_ok)
    i_lo, i_hi = int(np.argmin(np.abs(sgrid - 0.25))), int(np.argmin(np.abs(sgrid - 0.45)))
    fr = correct.mean(axis=0)
    return [Verdict(
        CLAIM, verdict,
        measured={"exact_threshold_bracket": [lo, hi], "exact_monotone": monotone,
                  "exact_max_chain_below": float(chain[grid < 1 / 3].max()),
                  "exact_final_success_below": float(np.asarray(ex["success"])[grid < 1 / 3].mean()),
                  "sampled_crossing": cross,
                  f"sampled_frac_correct_p0={sgrid[i_lo]:g}": float(fr[i_lo]),
                  f"sampled_frac_correct_p0={sgrid[i_hi]:g}": float(fr[i_hi])},
        uncertainty={"exact_grid_step": float(grid[1] - grid[0]),
                     "sampled_crossing_ci95": [clo, chi]},
        sample_size={"exact_grid_points": int(grid.size), "sampled_seeds_per_p0": int(correct.shape[0]),
                     "sampled_grid_points": int(sgrid.size), "iterations": int(data["n_iter"])},
        note=("sampled crossing CI excludes 1/3: finite-G / finite-lr noise shifts the boundary"
              if exact_ok and not samp_ok else "")
              + f" (sampled runs that do not reach the correct chain end as: "
                f"{_breakdown(np.asarray(data['sampled']['outcome']))})")]


def _breakdown(outcome) -> str:
    wrong = outcome[outcome != 0]
    return ", ".join(f"{OUTCOMES[k]} {int((wrong == k).sum())}" for k in (1, 2, 3))


def draw(data, axes):
    grid = np.asarray(data["exact_grid"])
    for S, st in (("2", "-"), ("3", ":"), ("4", "--")):
        axes[0].plot(grid, data["exact"][S]["chain"], st, label=f"exact, S={S}")
        axes[1].plot(grid, data["exact"][S]["success"], st, label=f"exact, S={S}")
    sgrid = np.asarray(data["sampled_grid"])
    oc = np.asarray(data["sampled"]["outcome"])
    k = (oc == 0).sum(axis=0)
    ci = np.array([wilson(x, oc.shape[0]) for x in k])
    fr = k / oc.shape[0]
    axes[0].errorbar(sgrid, fr, yerr=[fr - ci[:, 0], ci[:, 1] - fr], fmt="o", ms=3,
                     label=f"sampled S=2: fraction correct (n={oc.shape[0]})")
    for ax, lab in zip(axes, ("final P(correct chain)", "final P(V = 1)")):
        ax.axvline(1 / 3, color="grey", lw=0.8)
        ax.set_xlabel("base model p0 = P(correct task)")
        ax.set_ylabel(lab)
        ax.legend(fontsize=7)
    axes[0].figure.suptitle(f"mod-3 example: threshold p0 = 1/3 ({data['n_iter']} iterations, {ESTIMATOR}, G={G})")


FIGURE = Figure(name="composition_threshold", title="Mod-3 example: base-model threshold p0 = 1/3",
                claims=(CLAIM,), config=Config(), full=FULL, layout=Layout(1, 2, (10, 4), tight=False),
                compute=compute, evaluate=evaluate, draw=draw, description=__doc__)
