"""Paper C, consistency: value MSE against the number of past observations N; claim C.consistency.

Corollary 1 [V]: with h = c N^(-1/(2p+1)), KAE's MSE falls like N^(-2p/(2p+1)) (-2/3 for a
Lipschitz drift) while GRPO's leave-one-out mean stays at V(1-V)/(G-1) at fixed G. Set-up [R]: a
fixed drift in rescaled time s = i/T is observed more densely as T grows (T = 50 ... 1600 fast,
... 6400 full); every prompt is in every batch (B = P = 100), G = 4, so N ~ G T at the end. The MSE
is measured over the last 10% of iterations (s in (0.9, 1]) with h = N^(-1/3), N = G T (c = 1: the
bias-variance balance of the triangular kernel for slopes V' ~ 1, theory.kernel). Primary drift:
the Lipschitz ramp (p = 1); the smooth logistic drift is reported with the same rule: the one-sided
kernels have order s = 1, so the predicted exponent stays -2/3 (theory.kernel.stone_exponent).
Run: ``rlvr-lab reproduce --only kernel_consistency``.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from figures.base import Figure, Layout, config_dict
from figures.kernel_common import BASELINE_COLORS, run_units
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict, judge_interval
from theory.kernel import optimal_bandwidth, stone_exponent
from theory.stats import fit_line


@dataclass(frozen=True)
class Config:
    horizons: tuple = (50, 100, 200, 400, 800, 1600)  # declared before the first run
    drifts: tuple = ("lipschitz", "logistic")
    n_prompts: int = 100
    group_size: int = 4
    n_runs: int = 4
    tail: float = 0.1
    tolerance: float = 0.1  # declared: KAE slope within -2/3 +- 0.1, GRPO slope within 0 +- 0.1


FAST = Config()
FULL = Config(horizons=(50, 100, 200, 400, 800, 1600, 3200, 6400), n_runs=8)

CLAIMS = (
    Claim("C.consistency",
          "At fixed G, GRPO's value MSE stays flat as observations accumulate, while KAE's falls with "
          "log-log slope about -2/3 for a Lipschitz drift with h proportional to N^(-1/3) (Corollary 1).",
          "V", "slope(KAE) = -2/3; slope(GRPO) = 0",
          "PRIMARY: OLS slope of log MSE against log N over the T grid (95% t-interval), Lipschitz drift, "
          "KAE triangular with h = N^(-1/3), N = G T, MSE over the last 10% of iterations averaged over "
          "prompts and runs. Supported if the KAE interval lies inside [-2/3 - 0.1, -2/3 + 0.1] and the "
          "GRPO interval inside [-0.1, 0.1]; not supported if either interval is disjoint from its range; "
          "inconclusive otherwise. The logistic drift and the exponential kernel are reported."),
)


def specs(cfg: Config) -> dict:
    out = {}
    for d in cfg.drifts:
        for t in cfg.horizons:
            n = cfg.group_size * t
            h = round(float(optimal_bandwidth(n, p=1.0)), 6)
            first = int(np.floor(t * (1 - cfg.tail))) + 1
            out[f"{d}|{t}"] = dict(
                drift=d, n_prompts=cfg.n_prompts, batch_size=cfg.n_prompts, group_size=cfg.group_size,
                n_steps=t, reuse=1, n_runs=cfg.n_runs, capacity=cfg.group_size * t,
                record=list(range(first, t + 1)), ends=(t,), length=t,
                baselines=(("oracle", "triangular", 0.2), ("grpo", "triangular", 0.2),
                           ("kae", "triangular", h), ("kae", "exponential", h)))
    return out


def compute(ctx, cfg) -> dict:
    return {"config": config_dict(cfg), "units": run_units(ctx, specs(cfg))}


def points(data, drift) -> dict:
    """log N and per-method mean MSE over the T grid: {"n": (T,), label-kind: (T,)}."""
    cfg = data["config"]
    n, out = [], {"grpo": [], "kae:tri": [], "kae:exp": []}
    for t in cfg["horizons"]:
        u = data["units"][f"{drift}|{t}"]
        x = np.asarray(u["all_value"], dtype=np.float64).mean(axis=0)  # (M,)
        n.append(float(np.mean(u["n_obs"])))
        for lab, m in zip(u["labels"], x):
            key = lab if lab in ("grpo",) else lab.rsplit(":", 1)[0]
            if key in out:
                out[key].append(float(m))
    return {"n": np.array(n), **{k: np.array(v) for k, v in out.items()}}


def evaluate(data) -> list:
    cfg = data["config"]
    target = stone_exponent(1.0)
    tol = cfg["tolerance"]
    measured, unc, judgements = {"predicted_slope": target}, {}, []
    for d in cfg["drifts"]:
        pts = points(data, d)
        for key in ("grpo", "kae:tri", "kae:exp"):
            f = fit_line(np.log(pts["n"]), np.log(pts[key]))
            measured[f"{d}:{key}:slope"] = f.slope
            unc[f"{d}:{key}:slope"] = [f.lo, f.hi]
            if d == cfg["drifts"][0] and key == "grpo":
                judgements.append(judge_interval(f.lo, f.hi, -tol, tol))
            if d == cfg["drifts"][0] and key == "kae:tri":
                judgements.append(judge_interval(f.lo, f.hi, target - tol, target + tol))
        measured[f"{d}:kae_tri_over_grpo_at_largest_N"] = float(pts["kae:tri"][-1] / pts["grpo"][-1])
    verdict = (NOT_SUPPORTED if NOT_SUPPORTED in judgements
               else SUPPORTED if all(j == SUPPORTED for j in judgements) else INCONCLUSIVE)
    return [Verdict(CLAIMS[0], verdict, measured, unc,
                    {"horizons": cfg["horizons"], "runs": cfg["n_runs"], "prompts": cfg["n_prompts"]},
                    f"judged on the {cfg['drifts'][0]} drift")]


def draw(data, axes):
    cfg = data["config"]
    axes = np.atleast_2d(axes)
    for ax, d in zip(axes[0], cfg["drifts"]):
        pts = points(data, d)
        for key, color in (("grpo", BASELINE_COLORS["grpo"]), ("kae:tri", "tab:green"), ("kae:exp", "tab:purple")):
            f = fit_line(np.log(pts["n"]), np.log(pts[key]))
            ax.loglog(pts["n"], pts[key], "o", color=color, ms=4)
            ax.loglog(pts["n"], np.exp(f.intercept + f.slope * np.log(pts["n"])), color=color,
                      label=f"{key}: slope {f.slope:.2f} [{f.lo:.2f}, {f.hi:.2f}]")
        ref = pts["kae:tri"][0] * (pts["n"] / pts["n"][0]) ** stone_exponent(1.0)
        ax.loglog(pts["n"], ref, "k:", lw=1, label="slope -2/3")
        ax.set(xlabel="past observations N of the prompt", ylabel="value MSE (last 10% of steps)",
               title=f"{d} drift, G = {cfg['group_size']}, h = N^(-1/3)")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.legend(fontsize=7)


FIGURE = Figure(name="kernel_consistency", title="Paper C: KAE is consistent, GRPO is not",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (11, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="MSE against past observations N, log-log, with fitted slopes.")
