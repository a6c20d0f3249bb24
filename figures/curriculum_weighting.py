"""Paper D: do the relative-entropy weights lower the zero-advantage ratio of the schedule?

Reproduces paper D's Fig. F5 (PREPO vs "w/o relative entropy": final zero-advantage ratio .68 vs
.81) in the stylized simulator: the schedule with and without the weights (and random with and
without, reported), same seeds, one parallel sweep.

How the weights can act here: they multiply the registry's advantages (theory.curriculum), so a
zero advantage stays zero; they change which rollouts drive the update, and, through the model's
"confident rollouts sharpen more" mechanism (simulate.curriculum), how fast entropy falls, which
through the exploration gate changes learning. The weights' own scale (mean 1) leaves the expected
step unchanged. Run: ``rlvr-lab reproduce --only curriculum_weighting``.
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.curriculum_common import FAST, FULL, LATE, late_mean, paired_ci, sim_kwargs, sweep_unit
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict

MARGIN = 0.005  # a reduction smaller than half a percentage point counts as none (declared)

CLAIMS = (
    Claim("D.entropy-weighting",
          "Adding the relative-entropy rollout weights to the perplexity schedule lowers the late "
          "zero-advantage ratio (paper Fig. F5: .68 with vs .81 without).",
          "S", "late zero-advantage(schedule + weights) < late zero-advantage(schedule)",
          "Primary metric: paired difference over seeds of the late (last 20 % of steps) zero-advantage "
          "fraction, schedule + weights minus schedule, 95 % t-interval. Supported iff the interval lies "
          "below 0; not supported iff its lower end > -0.005 (no reduction of even half a percentage "
          "point is compatible with the data); otherwise inconclusive. Random +- weights reported."),
)

ARMS = [("schedule", False), ("schedule", True), ("random", False), ("random", True)]


def compute(ctx, cfg) -> dict:
    seeds = ctx.seeds("curriculum_weighting", cfg.n_seeds)
    runs = ctx.unit("runs", Unit(sweep_unit, seeds=seeds, arms=[list(a) for a in ARMS], model={}, sim=sim_kwargs(cfg)))
    late = {arm: {"zero": late_mean(r["zero"]), "entropy": late_mean(r["entropy"]),
                  "final_acc": np.asarray(r["acc"])[:, -1]} for arm, r in runs.items()}
    curves = {arm: {"zero": np.mean(r["zero"], axis=0), "entropy": np.mean(r["entropy"], axis=0)}
              for arm, r in runs.items()}
    return {"config": cfg.__dict__, "late": late, "curves": curves}


def judge(m: float, lo: float, hi: float) -> str:
    return SUPPORTED if hi < 0 else NOT_SUPPORTED if lo > -MARGIN else INCONCLUSIVE


def evaluate(data) -> list:
    late = data["late"]
    measured, unc = {}, {}
    for scheme in ("schedule", "random"):
        for metric in ("zero", "entropy", "final_acc"):
            m, lo, hi = paired_ci(late[f"{scheme}|1"][metric], late[f"{scheme}|0"][metric])
            key = f"{scheme}: weighted - unweighted {metric}"
            measured[key], unc[key] = m, [lo, hi]
    measured["late_zero[schedule]"] = float(np.mean(late["schedule|0"]["zero"]))
    measured["late_zero[schedule + weights]"] = float(np.mean(late["schedule|1"]["zero"]))
    m, lo, hi = paired_ci(late["schedule|1"]["zero"], late["schedule|0"]["zero"])
    return [Verdict(CLAIMS[0], judge(m, lo, hi), measured, unc, {"seeds": len(late["schedule|0"]["zero"])})]


def draw(data, axes):
    styles = {"schedule|0": ("tab:green", "-", "schedule"), "schedule|1": ("tab:green", "--", "schedule + weights"),
              "random|0": ("tab:gray", "-", "random"), "random|1": ("tab:gray", "--", "random + weights")}
    for ax, metric, label in ((axes[0], "zero", "zero-advantage fraction"), (axes[1], "entropy", "mean rollout entropy")):
        for arm, (c, ls, name) in styles.items():
            y = np.asarray(data["curves"][arm][metric])
            ax.plot(np.arange(y.size), y, color=c, ls=ls, lw=1.3, label=name)
        n = len(data["curves"]["random|0"]["zero"])
        ax.axvspan(n * (1 - LATE), n, color="k", alpha=0.05)
        ax.set(xlabel="step", ylabel=label)
    axes[0].legend(fontsize=8)
    axes[0].figure.suptitle(f"Relative-entropy weights, {data['config']['n_seeds']} seeds (seed means; shaded: 'late')",
                 fontsize=9)


FIGURE = Figure(name="curriculum_weighting", title="Paper D: relative-entropy weights and the zero-advantage ratio",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (11, 4)), compute=compute, evaluate=evaluate, draw=draw,
                description="Schedule and random, each with and without the relative-entropy weights.")
