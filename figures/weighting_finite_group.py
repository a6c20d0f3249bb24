"""Paper B, beyond the paper: where a finite group size G breaks the population-limit theory.

Paper B's theory takes G -> inf (B.3). Here the time to raise rho from 0.05 to 0.9 is simulated
(simulate.weighting_targets, KL-proximal update, equal budget [R]) for G = 2 ... 256 and compared
with (i) the population recursion at the same step (theory.weighting.recursion_time; G -> inf) and
(ii) the finite-G mean-drift recursion (theory.weighting_finite.finite_group_time), which keeps
the quantisation of rho_hat to k/G: an all-fail group carries only w(0) rho, and a group with one
success only w(1/G), so the 1/rho-like weights of Linear-R/Sqrt-R/Uniform-R are capped near
rho ~ 1/G, and GRPO's 1/sqrt(rho) near sqrt(G). RLOO's finite-G drift is exactly its population one.

Choices [R]: the step per update does not grow with G (equal budget per update), so responses
scale like G x T_reg; step = population T_reg / 100 (fast) or / 300 (full); at most 6x that many steps,
prompts that miss the target are counted and reported.
Run: ``rlvr-lab reproduce --only weighting_finite_group``.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from figures.base import Figure, Layout, Unit
from simulate.weighting_targets import time_to_target_runs
from theory.claims import Claim, Verdict, judge_interval
from theory.stats import finite_mean_se
from theory.weighting import recursion_time
from theory.weighting_finite import finite_group_time


@dataclass(frozen=True)
class Config:
    methods: tuple = ("rloo", "grpo", "linear_r", "sqrt_r", "uniform_r")
    group_sizes: tuple = (2, 4, 8, 16, 32, 64, 128, 256)
    rho0: float = 0.05
    rho1: float = 0.9
    n_prompts: int = 32
    steps_to_target: int = 100
    max_factor: float = 6.0
    tolerance: float = 0.03  # |T_sim(G_max) / T_population - 1| allowed (declared)


FAST = Config()
FULL = Config(group_sizes=(2, 4, 8, 16, 32, 64, 128, 256, 1024), n_prompts=128, steps_to_target=300)

CLAIMS = (
    Claim("B.finite-group-limit",
          "The population-limit theory is the G -> inf limit of the finite-group dynamics: the "
          "simulated regular time to target approaches the population recursion as G grows, within "
          "3% at the largest G for every weighting, while at small G it is slower.",
          "R", "T_sim(G) / T_pop -> 1 as G grows; |T_sim(G_max)/T_pop - 1| <= 0.03",
          "rho0=0.05 -> 0.9, KL-proximal, P=32 prompts per point (fast), mean +- 2 SE; the verdict "
          "judges the worst weighting's interval at G_max against +-3%; the ratio at G=2 and the "
          "finite-G mean-drift prediction are reported."),
)


def finite_group_point(method, group_size, rho0, rho1, n_prompts, steps_to_target, max_factor, seed) -> dict:
    """Simulated regular time to target at one G, with the population and mean-drift predictions
    at the same step (a unit of work)."""
    runs = time_to_target_runs(method, rho0, rho1, group_size=group_size, n_prompts=n_prompts,
                               steps_to_target=steps_to_target, max_factor=max_factor, seed=seed)
    x, resp = runs["regular"], runs["responses"]
    ok = np.isfinite(x)
    pop = recursion_time(method, rho0, rho1, runs["step"])
    mean_drift = finite_group_time(method, rho0, rho1, group_size, runs["step"])
    return {**finite_mean_se(x), "responses": float(resp[ok].mean()) if ok.any() else None,
            "population": pop[0], "mean_drift": mean_drift[0], "mean_drift_responses": mean_drift[1]}


def compute(ctx, cfg: Config) -> dict:
    points = ctx.units({f"{m}|{g}": Unit(finite_group_point, method=m, group_size=g, rho0=cfg.rho0, rho1=cfg.rho1,
                                         n_prompts=cfg.n_prompts, steps_to_target=cfg.steps_to_target,
                                         max_factor=cfg.max_factor, seed=ctx.seed_for("finite_group", g))
                        for m in cfg.methods for g in cfg.group_sizes})
    return {"config": cfg.__dict__, "points": points}


def evaluate(data) -> list:
    cfg, pts = data["config"], data["points"]
    gmax = max(cfg["group_sizes"])
    measured, unc, lows, highs, notes = {}, {}, [], [], []
    for m in cfg["methods"]:
        p = pts[f"{m}|{gmax}"]
        if p["mean"] is None or p["missed"]:
            notes.append(f"{m} missed the target on {p['missed']} prompts at G={gmax}")
            lows.append(-np.inf)
            highs.append(np.inf)
            continue
        lo = (p["mean"] - 2 * p["se"]) / p["population"] - 1
        hi = (p["mean"] + 2 * p["se"]) / p["population"] - 1
        measured[f"{m}:rel_gap@G={gmax}"] = p["mean"] / p["population"] - 1
        unc[f"{m}:rel_gap@G={gmax}"] = [lo, hi]
        lows.append(lo)
        highs.append(hi)
        small = pts[f"{m}|{min(cfg['group_sizes'])}"]
        measured[f"{m}:ratio@G={min(cfg['group_sizes'])}"] = (small["mean"] / small["population"]
                                                             if small["mean"] is not None else None)
        measured[f"{m}:missed@G={min(cfg['group_sizes'])}"] = small["missed"]
        devs = [abs(pts[f"{m}|{g}"]["mean"] / pts[f"{m}|{g}"]["mean_drift"] - 1)
                for g in cfg["group_sizes"] if pts[f"{m}|{g}"]["mean"] is not None]
        measured[f"{m}:max_rel_dev_from_mean_drift"] = max(devs) if devs else None
    # the worst weighting decides: the union of the intervals must lie within the tolerance
    verdict = judge_interval(min(lows), max(highs), -cfg["tolerance"], cfg["tolerance"])
    return [Verdict(CLAIMS[0], verdict, measured, unc,
                    {"prompts_per_point": cfg["n_prompts"], "group_sizes": cfg["group_sizes"]},
                    "; ".join(notes))]


def draw(data, axes):
    cfg, pts = data["config"], data["points"]
    colors = dict(zip(cfg["methods"], plt.cm.tab10.colors))
    gs = np.array(cfg["group_sizes"])
    for m in cfg["methods"]:
        p = [pts[f"{m}|{g}"] for g in gs]
        ratio = np.array([np.nan if q["mean"] is None else q["mean"] / q["population"] for q in p])
        err = np.array([np.nan if q["se"] is None else 2 * q["se"] / q["population"] for q in p])
        axes[0].errorbar(gs, ratio, yerr=err, fmt="o", ms=3.5, color=colors[m], capsize=2, label=m)
        axes[0].plot(gs, [q["mean_drift"] / q["population"] for q in p], color=colors[m], lw=1)
        axes[1].plot(gs, [np.nan if q["responses"] is None else q["responses"] for q in p], "o-",
                     color=colors[m], ms=3.5, label=m)
    axes[0].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[0].set(xscale="log", yscale="log", xlabel="group size G",
                ylabel="T_reg(G) / population theory",
                title=f"regular time {cfg['rho0']} -> {cfg['rho1']}: simulation (points), mean-drift (lines)")
    axes[1].set(xscale="log", yscale="log", xlabel="group size G", ylabel="responses per prompt to target",
                title="realised clock: responses consumed")
    axes[0].legend(fontsize=7)


FIGURE = Figure(name="weighting_finite_group", title="Paper B (beyond): time to target against the group size G",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (11, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="Finite-G simulation vs population theory and the finite-G mean-drift recursion.")
