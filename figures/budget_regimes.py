"""Paper A, the two ends of the relative budget; claims A.deficient-rare-signal and A.ample-diminishing.

Reproduces the abstract's regime statements [V]: in the deficient regime (xi -> 0) informative
trajectories are rare (and learning stalls); in the ample regime (xi -> infinity) learning stays
stable but the gain per iteration diminishes. Simulated with simulate.budget_sweep's H sweep at a
fixed base policy (K = 1, 64 prompts, G = 8, grpo, binary reward: the paper's GRPO/pass@1 setting
[S]; rloo with the graded reward as secondary), over xi0 from 0.02 to 12, measuring the fraction of
informative groups (mixed outcomes for the binary reward, >= 1 success for the graded one) and the
per-iteration accuracy gain at a fixed evaluation horizon (xi_eval = 1.75).

Run: ``rlvr-lab reproduce --only budget_regimes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from simulate.budget_sweep import efficiency_sweep
from theory.claims import Claim, Verdict, judge
from theory.stats import bootstrap_ci, fit_line

RARE = Claim(
    id="A.deficient-rare-signal",
    statement="In the deficient regime (xi -> 0) informative trajectories are rare and learning stalls.",
    provenance="V",
    predicted=("informative-group fraction -> 0 at rate f(xi) = xi^K (log-log slope about K = 1 for "
               "xi <= 0.1); per-iteration gain at xi0 = 0.02 far below the peak"),
    measurement=("grpo, binary, H sweep: OLS log-log slope of the informative-group fraction on "
                 "xi0 <= 0.1 (95% t-interval over seed x grid points) and the ratio gain(xi0 = 0.02) / "
                 "max gain with a bootstrap interval over seeds. Supported if the slope interval lies in "
                 "[0.5, 1.5] and the ratio's upper bound < 0.25; not supported if the slope interval "
                 "is <= 0 or the ratio's lower bound > 0.25."),
)
AMPLE = Claim(
    id="A.ample-diminishing",
    statement="In the ample regime (xi -> infinity) learning remains stable but gains per iteration diminish.",
    provenance="V",
    predicted="per-iteration gain at the largest xi0 well below the peak; no run at xi0 >= 5 loses accuracy",
    measurement=("grpo, binary, H sweep: ratio gain(xi0 = 12) / max gain with a bootstrap interval over "
                 "seeds; stability = every seed's run at xi0 >= 5 ends with accuracy >= its start. "
                 "Supported if the ratio's upper bound < 0.5 and all runs are stable; not supported if "
                 "the ratio's lower bound > 0.5 or any run loses accuracy."),
)

GRID = (0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0)


@dataclass(frozen=True)
class Config:
    n_seeds: int = 8


FULL = Config(n_seeds=32)


def compute(ctx, cfg: Config) -> dict:
    seeds = ctx.seeds("regimes", cfg.n_seeds, below=2**62)
    runs = ctx.units({f"{est}/{reward}": Unit(efficiency_sweep, xi_grid=np.array(GRID), seeds=seeds,
                                               mode="horizon", estimator=est, reward=reward)
                      for est, reward in (("grpo", "binary"), ("rloo", "graded"))})
    return {"runs": runs, "seeds": len(seeds)}


def _ratio(gain, j):
    g = np.asarray(gain, dtype=float)  # (S, X)
    stat = lambda s: s[:, j].mean() / s.mean(axis=0).max()
    lo, hi = bootstrap_ci(g, stat, n_boot=1000, seed=2)
    return float(stat(g)), lo, hi


def _rare(r):
    xi = np.asarray(r["xi0"])
    inf = np.asarray(r["informative"], dtype=float)
    m = xi <= 0.1 + 1e-9
    ok = inf[:, m] > 0
    fit = fit_line(np.tile(np.log(xi[m]), inf.shape[0])[ok.ravel()], np.log(inf[:, m][ok]))
    return fit, _ratio(r["per_iteration"], 0)


def evaluate(data) -> list:
    r = data["runs"]["grpo/binary"]
    fit, (ratio, lo, hi) = _rare(r)
    measured = {"informative_slope": round(fit.slope, 3), "gain_ratio_xi0.02": round(ratio, 4),
                "informative_fraction_xi0.02": round(float(np.mean(r["informative"], axis=0)[0]), 4),
                "informative_fraction_xi1.5": round(float(np.mean(r["informative"], axis=0)[GRID.index(1.5)]), 4)}
    unc = {"informative_slope_ci95": [round(fit.lo, 3), round(fit.hi, 3)], "gain_ratio_ci95": [round(lo, 4), round(hi, 4)]}
    g2 = data["runs"]["rloo/graded"]
    f2, (r2, _, _) = _rare(g2)
    measured.update({"rloo_graded_informative_slope": round(f2.slope, 3), "rloo_graded_gain_ratio_xi0.02": round(r2, 4)})
    v = judge(supported=0.5 <= fit.lo and fit.hi <= 1.5 and hi < 0.25, not_supported=fit.hi <= 0 or lo > 0.25)
    size = {"seeds": data["seeds"], "grid_points": len(GRID)}
    out = [Verdict(RARE, v, measured, unc, size, "informative-group fraction and gain at the deficient end.")]

    j = len(GRID) - 1
    ratio, lo, hi = _ratio(r["per_iteration"], j)
    big = np.asarray(r["xi0"]) >= 5.0 - 1e-9
    delta = (np.asarray(r["acc_end"]) - np.asarray(r["acc0"]))[:, big]
    stable = bool(np.all(delta >= 0))
    r2, lo2, hi2 = _ratio(g2["per_iteration"], j)
    measured = {"gain_ratio_xi12": round(ratio, 4), "runs_losing_accuracy": int(np.sum(delta < 0)),
                "min_accuracy_change_xi>=5": float(delta.min()), "rloo_graded_gain_ratio_xi12": round(r2, 4)}
    unc = {"gain_ratio_ci95": [round(lo, 4), round(hi, 4)], "rloo_graded_gain_ratio_ci95": [round(lo2, 4), round(hi2, 4)]}
    v = judge(supported=hi < 0.5 and stable, not_supported=lo > 0.5 or not stable)
    out.append(Verdict(AMPLE, v, measured, unc, {**size, "runs_at_xi>=5": int(delta.size)},
                       "per-iteration gain at xi0 = 12 relative to the peak; stability over runs at xi0 >= 5."))
    return out


def draw(data, axes):
    for key, r in data["runs"].items():
        xi = r["xi0"]
        axes[0].plot(xi, np.mean(r["informative"], axis=0), marker="o", ms=3, label=key)
        g = np.mean(r["per_iteration"], axis=0)
        axes[1].plot(xi, g / np.max(g), marker="o", ms=3, label=key)
    for ax in axes:
        ax.set_xscale("log")
        ax.axvspan(min(GRID), 0.5, color="tab:red", alpha=0.08)
        ax.axvspan(5.0, max(GRID), color="tab:blue", alpha=0.08)
        ax.set_xlabel(r"initial relative budget $\xi_0$")
        ax.legend(fontsize=7)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("fraction of informative groups")
    axes[1].set_ylabel("per-iteration gain / peak")


FIGURE = Figure(name="budget_regimes", title="Paper A: the deficient and ample ends",
                claims=(RARE, AMPLE), config=Config(), full=FULL, layout=Layout(1, 2, (11, 4)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="Informative-group fraction and per-iteration gain at both ends of xi.")
