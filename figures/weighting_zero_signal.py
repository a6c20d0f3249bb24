"""Paper B: the all-fail group. Asymmetric weightings move it, and the expected move raises rho.

Reproduces the zero-success-signal statement of paper B (B.2 [V]: "all four asymmetric
weightings keep a non-zero gradient when rho_hat = 0"; the expected direction is the notes' [R]
derivation -grad_0 = rho (grad_1 - grad_0)). One update of P = 4000 prompts at rho = 0.05 with
G = 16 (about 44 % of the groups fail entirely), every registry weighting, both updates of
simulate.weighting. Among the all-fail groups: the fraction whose update changed the policy, and
the mean change of rho with its standard error, beside the first-order prediction for the
KL-proximal update, Delta rho ~ eta w(0) rho (theory.weighting_finite).

Choices [R]: the step is 0.02 times the equal-budget scale over [0.05, 0.9]; dapo runs without
refill here (a dropped group is an all-fail group that takes no part in the update).
Run: ``rlvr-lab reproduce --only weighting_zero_signal``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from simulate.weighting import simulate
from theory.claims import NOT_SUPPORTED, SUPPORTED, Claim, Verdict
from theory.estimators import FamilyView, effective_weight
from theory.weighting import WEIGHTINGS, budget_scale


@dataclass(frozen=True)
class Config:
    rho: float = 0.05
    group_size: int = 16
    n_prompts: int = 4000
    step: float = 0.02
    rho1: float = 0.9


FAST = Config()
FULL = Config(n_prompts=40000)
ASYMMETRIC = FamilyView("weight")  # the paper-B family, live (theory.estimators)
SYMMETRIC = FamilyView("raw", "centred", "std")

CLAIMS = (
    Claim("B.zero-success-signal",
          "The asymmetric weightings (Linear-R, Sqrt-R, Uniform-R, Plateau-R) move the policy on an "
          "all-fail group (rho_hat = 0) and the expected move raises rho; the symmetric ones "
          "(REINFORCE, Dr.GRPO, RLOO, GRPO, DAPO) do not move it.",
          "V", "asymmetric: every all-fail group moves, E[Delta rho | all fail] > 0 (KL-proximal, first "
               "order: eta w(0) rho); symmetric: no all-fail group moves",
          "One update from rho=0.05, G=16, P=4000 prompts; KL-proximal and plain PG updates. Supported "
          "iff, for both updates, every asymmetric weighting moves all its all-fail groups with mean "
          "Delta rho - 3 SE > 0, and no symmetric weighting moves any all-fail group."),
)


def zero_signal_row(method, update, rho, group_size, n_prompts, step, rho1, seed) -> dict:
    """One update of n_prompts prompts at success rate rho: how the all-fail groups moved (a unit of work)."""
    scale = budget_scale(method, rho, rho1)
    run = simulate(method, np.full(n_prompts, rho), group_size=group_size, n_steps=1, step=step, scale=scale,
                   update=update, max_refill=0, seed=seed)
    fail = (run.successes[0] == 0) | (run.successes[0] == -1)  # -1: dapo dropped the group
    d = run.rho[1, fail] - run.rho[0, fail]
    return {"n_fail": int(fail.sum()), "moved": float((d != 0).mean()),
            "mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(d.size)),
            "predicted_kl": float(step * scale * effective_weight(method, 0.0) * rho),
            "advantage_all_fail": float(-effective_weight(method, 0.0) * scale)}


def compute(ctx, cfg: Config) -> dict:
    rows = ctx.units({f"{update}|{m}": Unit(zero_signal_row, method=m, update=update, rho=cfg.rho,
                                            group_size=cfg.group_size, n_prompts=cfg.n_prompts, step=cfg.step,
                                            rho1=cfg.rho1, seed=ctx.seed_for("zero", update))
                      for update in ("kl", "pg") for m in WEIGHTINGS})
    return {"config": cfg.__dict__, "rows": rows}


def evaluate(data) -> list:
    rows = data["rows"]
    measured, unc, problems = {}, {}, []
    for key, r in rows.items():
        update, m = key.split("|")
        measured[f"{key}:moved"] = r["moved"]
        measured[f"{key}:mean_delta_rho"] = r["mean"]
        unc[f"{key}:mean_delta_rho"] = [r["mean"] - 3 * r["se"], r["mean"] + 3 * r["se"]]
        if update == "kl":
            measured[f"{key}:predicted_delta_rho"] = r["predicted_kl"]
        if m in ASYMMETRIC and not (r["moved"] == 1.0 and r["mean"] - 3 * r["se"] > 0):
            problems.append(f"{key}: moved {r['moved']:.3f}, mean {r['mean']:.3g} +- {r['se']:.2g}")
        if m in SYMMETRIC and r["moved"] != 0.0:
            problems.append(f"{key}: symmetric weighting moved {r['moved']:.3f} of all-fail groups")
    n = {k: r["n_fail"] for k, r in rows.items()}
    return [Verdict(CLAIMS[0], NOT_SUPPORTED if problems else SUPPORTED, measured, unc,
                    {"all_fail_groups": n}, "; ".join(problems))]


def draw(data, axes):
    rows = data["rows"]
    x = np.arange(len(WEIGHTINGS))
    for ax, update in zip(axes, ("kl", "pg")):
        means = np.array([rows[f"{update}|{m}"]["mean"] for m in WEIGHTINGS])
        ses = np.array([rows[f"{update}|{m}"]["se"] for m in WEIGHTINGS])
        colors = ["tab:red" if m in ASYMMETRIC else "tab:blue" for m in WEIGHTINGS]
        ax.bar(x, means, yerr=3 * ses, color=colors, capsize=3)
        if update == "kl":
            ax.plot(x, [rows[f"kl|{m}"]["predicted_kl"] for m in WEIGHTINGS], "k_", ms=18,
                    label="first order: eta w(0) rho")
            ax.legend(fontsize=8)
        ax.set_xticks(x, WEIGHTINGS, rotation=40, ha="right")
        ax.set(ylabel=r"mean $\Delta\rho$ on all-fail groups ($\pm$3 SE)",
               title=f"{update} update, rho={data['config']['rho']}, G={data['config']['group_size']}")


FIGURE = Figure(name="weighting_zero_signal", title="Paper B: the all-fail group moves only under asymmetric weights",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (11, 4)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="One update from rho=0.05: change of rho on groups with no success.")
