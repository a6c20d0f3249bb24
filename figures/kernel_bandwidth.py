"""Paper C, Figure 3 in simulation: value MSE against the bandwidth h per kernel; claim C.bandwidth.

Uses the logistic-drift sweeps of kernel_value_mse (shared units): KAE with the triangular and the
exponential kernel (decay 0.5 [R]) over h in {0.01, ..., 4} on the same rollouts as GRPO and the
global mean. Theory (Theorem 1): bias grows like h + 1/(i h), variance like 1/(N h), so MSE(h) is
U-shaped; the paper reports the two kernels close and KAE below GRPO over a broad range of h.
Run: ``rlvr-lab reproduce --only kernel_bandwidth``.
"""

from __future__ import annotations

import numpy as np

import figures.kernel_value_mse as value_fig
from figures.base import Figure, Layout, config_dict
from figures.kernel_common import BASELINE_COLORS, H_GRID, run_units
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict, judge_interval
from theory.stats import bootstrap_ci

KERNELS = ("tri", "exp")
CLOSE = (0.8, 1.25)  # declared: minima within 25% of each other

CLAIMS = (
    Claim("C.bandwidth",
          "Value MSE is U-shaped in the bandwidth h, and the triangular and exponential kernels give "
          "close MSE (Figure 3).",
          "V", "argmin of MSE(h) interior for both kernels; min_exp / min_tri in [0.8, 1.25]",
          "PRIMARY: value MSE averaged over all T steps, logistic drift, G = 4, h grid 0.01..4 (10 points), "
          "per-run means. U-shaped: the argmin of the run-mean curve is not an end of the grid and both "
          "end values exceed the minimum (95% bootstrap intervals over runs of the differences > 0). "
          "Close: the bootstrap interval of min_exp / min_tri lies inside [0.8, 1.25]. Supported if both "
          "kernels are U-shaped and close; not supported if an argmin is at a grid end, an end difference "
          "interval lies below 0, or the ratio interval is disjoint from [0.8, 1.25]; inconclusive "
          "otherwise. G = 8 and the fraction of h where KAE beats GRPO are reported."),
)


def compute(ctx, cfg) -> dict:
    shared = value_fig.specs(cfg)
    return {"config": config_dict(cfg), "grid": list(H_GRID),
            "units": run_units(ctx, {f"logistic|{g}": shared[f"logistic|{g}"] for g in cfg.judged})}


def curves(unit, grid) -> dict:
    """Per-run MSE (R, len(grid)) per kernel, and GRPO / global (R,)."""
    labels = unit["labels"]
    x = np.asarray(unit["all_value"], dtype=np.float64)  # (R, M)
    out = {k: x[:, [labels.index(f"kae:{k}:{h:g}") for h in grid]] for k in KERNELS}
    out["grpo"] = x[:, labels.index("grpo")]
    out["global"] = x[:, labels.index("global")]
    return out


def _u_shape(c, seed):
    """(argmin, interior, (lo, hi) of left-end minus min, (lo, hi) of right-end minus min)."""
    k = int(np.argmin(c.mean(axis=0)))
    left = bootstrap_ci(c[:, 0] - c[:, k], seed=seed)
    right = bootstrap_ci(c[:, -1] - c[:, k], seed=seed + 1)
    return k, 0 < k < c.shape[1] - 1, left, right


def evaluate(data) -> list:
    cfg, grid = data["config"], data["grid"]
    measured, unc, bad, unsure = {}, {}, False, False
    g0 = cfg["judged"][0]
    for g in cfg["judged"]:
        c = curves(data["units"][f"logistic|{g}"], grid)
        mins = {}
        for kern in KERNELS:
            k, interior, left, right = _u_shape(c[kern], seed=g)
            mins[kern] = c[kern][:, k]
            measured[f"{kern}:argmin_h@G={g}"] = grid[k]
            measured[f"{kern}:min_mse_x1e3@G={g}"] = float(c[kern][:, k].mean() * 1e3)
            unc[f"{kern}:left_end_minus_min@G={g}"] = list(left)
            unc[f"{kern}:right_end_minus_min@G={g}"] = list(right)
            measured[f"{kern}:fraction_of_h_below_grpo@G={g}"] = float(np.mean(c[kern].mean(axis=0) < c["grpo"].mean()))
            if g == g0:
                bad |= (not interior) or left[1] < 0 or right[1] < 0
                unsure |= left[0] <= 0 or right[0] <= 0
        pair = np.stack([mins["exp"], mins["tri"]], axis=1)
        ratio = float(pair[:, 0].mean() / pair[:, 1].mean())
        ci = bootstrap_ci(pair, lambda y: y[:, 0].mean() / y[:, 1].mean(), seed=g)
        measured[f"min_exp_over_min_tri@G={g}"] = ratio
        unc[f"min_exp_over_min_tri@G={g}"] = list(ci)
        if g == g0:
            j = judge_interval(*ci, *CLOSE)
            bad |= j == NOT_SUPPORTED
            unsure |= j == INCONCLUSIVE
    verdict = NOT_SUPPORTED if bad else INCONCLUSIVE if unsure else SUPPORTED
    return [Verdict(CLAIMS[0], verdict, measured, unc, {"runs": cfg["n_runs"], "grid_points": len(grid)},
                    f"judged at G = {g0}; other G reported")]


def draw(data, axes):
    cfg, grid = data["config"], data["grid"]
    axes = np.atleast_2d(axes)
    for ax, g in zip(axes[0], cfg["judged"]):
        c = curves(data["units"][f"logistic|{g}"], grid)
        for kern, color in zip(KERNELS, ("tab:green", "tab:purple")):
            m = c[kern].mean(axis=0)
            se = c[kern].std(axis=0, ddof=1) / np.sqrt(c[kern].shape[0])
            ax.errorbar(grid, m * 1e3, yerr=2 * se * 1e3, fmt="o-", ms=3, capsize=2, color=color,
                        label={"tri": "KAE triangular", "exp": "KAE exponential (0.5^u)"}[kern])
        for lab in ("grpo", "global"):
            ax.axhline(c[lab].mean() * 1e3, color=BASELINE_COLORS[lab], ls="--", lw=1, label=lab)
        ax.set(xscale="log", yscale="log", xlabel="relative bandwidth h", ylabel="value MSE x 1e-3",
               title=f"logistic drift, G = {g}")
    axes[0, 0].legend(fontsize=7)


FIGURE = Figure(name="kernel_bandwidth", title="Paper C: value MSE against the bandwidth, two kernels",
                claims=CLAIMS, config=value_fig.FAST, full=value_fig.FULL, layout=Layout(1, 2, (11, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="Figure 3 in simulation on the shared logistic sweeps.")
