"""Paper B: prompt weights, surrogate objectives and the optimal weight for a cost a + b/rho.

Complements the lead's figure ``weighting_effective_weights`` (effective weights w) with the two
other views of the notes (B.2, B.3): the surrogate f with f' = omega that each weighting climbs
(theory.weighting.surrogate, [R]), normalised to f(0.01) = 0, f(0.9) = 1 (the equal budget), and
the optimal weight omega* ~ sqrt((a + b/rho) / (rho (1 - rho))) for a per-update cost a + b/rho
(theory.weighting.optimal_weight, [R] derivation of the paper's [V] statement), which moves from
GRPO's symmetric weight (b = 0) to Sqrt-R's asymmetric one (a = 0).
Run: ``rlvr-lab reproduce --only weighting_surrogates``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from figures.base import Figure, Layout
from theory.claims import NOT_SUPPORTED, SUPPORTED, Claim, Verdict
from theory.weighting import WEIGHTINGS, optimal_weight, population_omega, surrogate

RHO0, RHO1 = 0.01, 0.9
COSTS = ((1.0, 0.0), (1.0, 0.03), (1.0, 0.3), (0.0, 1.0))

CLAIMS = (
    Claim("B.optimal-interpolates",
          "With a per-update cost a + b/rho, the optimal prompt weight is GRPO's 1/sqrt(rho(1-rho)) "
          "when b = 0 (symmetric) and Sqrt-R's 1/(rho sqrt(1-rho)) when a = 0; it is asymmetric, "
          "upweighting low rho, exactly when b > 0.",
          "R", "omega*/omega_grpo constant for b=0; omega*/omega_sqrt_r constant for a=0; "
               "omega*(rho)/omega*(1-rho) > 1 for rho < 1/2 iff b > 0",
          "On 199 points of (0, 1): relative spread of the ratios (must be < 1e-9) and the asymmetry "
          "ratio at rho = 0.1 for each cost in {(1,0), (1,0.03), (1,0.3), (0,1)}."),
)


@dataclass(frozen=True)
class Config:
    points: int = 199  # rho grid on [0.005, 0.995]


def compute(ctx, cfg: Config) -> dict:
    rho = np.linspace(0.005, 0.995, cfg.points)
    f = {m: ((surrogate(m, rho) - surrogate(m, RHO0)) / (surrogate(m, RHO1) - surrogate(m, RHO0)))
         for m in WEIGHTINGS}
    omega = {m: population_omega(m, rho) for m in WEIGHTINGS}
    opt = {f"{a:g},{b:g}": optimal_weight(rho, (a, b), rho0=RHO0, rho1=RHO1) for a, b in COSTS}
    asym = {f"{a:g},{b:g}": float(optimal_weight(0.1, (a, b)) / optimal_weight(0.9, (a, b))) for a, b in COSTS}
    return {"rho": rho, "surrogate": f, "omega": omega, "optimal": opt, "asymmetry@0.1": asym}


def evaluate(data) -> list:
    omega = {k: np.array(v) for k, v in data["omega"].items()}
    opt = {k: np.array(v) for k, v in data["optimal"].items()}

    def spread(x):
        return float(np.ptp(x) / np.mean(x))

    measured = {"spread_vs_grpo@b=0": spread(opt["1,0"] / omega["grpo"]),
                "spread_vs_sqrt_r@a=0": spread(opt["0,1"] / omega["sqrt_r"])}
    measured.update({f"asymmetry@0.1[{k}]": v for k, v in data["asymmetry@0.1"].items()})
    ok = (measured["spread_vs_grpo@b=0"] < 1e-9 and measured["spread_vs_sqrt_r@a=0"] < 1e-9
          and abs(data["asymmetry@0.1"]["1,0"] - 1) < 1e-12
          and all(v > 1 for k, v in data["asymmetry@0.1"].items() if not k.endswith(",0")))
    return [Verdict(CLAIMS[0], SUPPORTED if ok else NOT_SUPPORTED, measured, {}, {"grid_points": len(data["rho"])})]


def draw(data, axes):
    rho = np.array(data["rho"])
    colors = dict(zip(WEIGHTINGS, itertools.cycle(plt.cm.tab10.colors)))  # any number of registry entries
    styles = dict(zip(WEIGHTINGS, itertools.chain(["-", "--", ":", "-", "--"], itertools.repeat("-"))))  # equal curves stay visible
    for m in WEIGHTINGS:
        axes[0].plot(rho, data["omega"][m], color=colors[m], ls=styles[m], label=m)
        axes[1].plot(rho, data["surrogate"][m], color=colors[m], ls=styles[m], label=m)
    axes[0].set(yscale="log", xlabel=r"$\rho$", ylabel=r"prompt weight $\omega(\rho)$ (population)",
                title=r"$\omega = w / (\rho(1-\rho))$")
    axes[1].set(ylim=(-0.6, 1.3), xlabel=r"$\rho$", ylabel="f, normalised f(0.01)=0, f(0.9)=1",
                title=r"surrogate $f$ with $f' = \omega$ (equal budget)")
    axes[1].legend(fontsize=7)
    for k, v in data["optimal"].items():
        axes[2].plot(rho, v, label=f"cost a,b = {k}")
    axes[2].set(yscale="log", xlabel=r"$\rho$", ylabel=r"$\omega^*(\rho)$ (budget 1 on [0.01, 0.9])",
                title=r"optimal weight for cost $a + b/\rho$")
    axes[2].legend(fontsize=7)


FIGURE = Figure(name="weighting_surrogates", title="Paper B: prompt weights, surrogates and optimal weights",
                claims=CLAIMS, config=Config(), layout=Layout(1, 3, (14, 4)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="omega, f with f' = omega, and omega* for cost a + b/rho.")
