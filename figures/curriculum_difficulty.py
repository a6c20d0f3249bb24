"""Paper D: pass rate by prompt-perplexity decile in the simulator's pool (Fig. F1 shape).

Reproduces the shape of paper D's Fig. F1 (passrate@16 falls with the PPL decile) on the pool of
simulate.curriculum at step 0: each prompt's passrate@16 is 16 Bernoulli draws of its initial
success probability (counter RNG, its own stream). The correlation is an INPUT of the simulator
(its noise level is calibrated in closed form so that Spearman(PPL, p) = -0.2, paper D [S]), so
this figure checks that the calibration delivers the paper's measured shape through the noisy
passrate@16, rather than testing the paper; the real-model test of the same statement is
D.ppl-passrate (figures/llm_curriculum_ppl.py). Run: ``rlvr-lab reproduce --only curriculum_difficulty``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from figures.base import Figure, Layout
from simulate.curriculum import make_pool
from simulate.rng import uniform_np
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict
from theory.stats import bootstrap_ci, fit_line

# paper D, Fig. F1, Qwen2.5-Math-7B, deciles 1..10 (notes D.4, read off the figure)
PAPER_F1 = [.465, .497, .418, .30, .258, .205, .187, .156, .148, .152]
PASS_STREAM = 2**40  # far from the simulator's streams (0, 1, 2 + 3t, ...)


@dataclass(frozen=True)
class Config:
    n_pool: int = 5000
    k: int = 16  # passrate@16


FAST = Config()
FULL = Config(n_pool=17000)  # DAPO-Math-17K's size

CLAIMS = (
    Claim("D.ppl-difficulty",
          "Pass rate falls with prompt perplexity: passrate@16 by PPL decile is decreasing and "
          "Spearman(PPL, passrate) < 0 (paper Fig. F1; Spearman -0.17 to -0.23).",
          "V", "Spearman(PPL, passrate@16) < 0; decile means decrease",
          "On the simulator's pool at step 0 (an input calibration check, see module docstring): "
          "Spearman with a 95 % bootstrap interval over prompts and the OLS slope of the decile means "
          "against decile index with its 95 % t-interval. Supported iff both intervals lie below 0; not "
          "supported iff either lies above 0; otherwise inconclusive."),
)


def compute(ctx, cfg) -> dict:
    seed = ctx.seed_for("curriculum_difficulty")
    pool = make_pool(seed, cfg.n_pool)
    j = np.arange(cfg.n_pool)[:, None]
    u = uniform_np(seed, PASS_STREAM, j * cfg.k + np.arange(cfg.k)[None, :])  # (N, k)
    passrate = (u < pool["p0"][:, None]).mean(axis=1)
    return {"config": cfg.__dict__, "ppl": pool["ppl"], "passrate": passrate, "p0": pool["p0"]}


def summary(ppl, passrate, seed: int = 0) -> dict:
    ppl, passrate = np.asarray(ppl, dtype=np.float64), np.asarray(passrate, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = float(stats.spearmanr(ppl, passrate).statistic)

        def stat(idx):
            i = idx.astype(int)
            r = stats.spearmanr(ppl[i], passrate[i]).statistic
            return r if np.isfinite(r) else 0.0
        lo, hi = bootstrap_ci(np.arange(ppl.size), stat, n_boot=400, seed=seed)
    groups = np.array_split(np.argsort(ppl, kind="stable"), 10)
    deciles = np.array([passrate[g].mean() for g in groups])
    fit = fit_line(np.arange(1, 11), deciles)
    return {"spearman": rho if np.isfinite(rho) else 0.0, "spearman_ci": [lo, hi], "deciles": deciles,
            "slope": fit.slope, "slope_ci": [fit.lo, fit.hi]}


def evaluate(data) -> list:
    s = summary(data["ppl"], data["passrate"])
    (slo, shi), (blo, bhi) = s["spearman_ci"], s["slope_ci"]
    if shi < 0 and bhi < 0:
        v = SUPPORTED
    elif slo > 0 or blo > 0:
        v = NOT_SUPPORTED
    else:
        v = INCONCLUSIVE
    return [Verdict(CLAIMS[0], v, {"spearman": s["spearman"], "decile_slope": s["slope"],
                                   "decile_means": [round(x, 4) for x in s["deciles"]]},
                    {"spearman": [slo, shi], "decile_slope": [blo, bhi]},
                    {"prompts": len(data["ppl"]), "rollouts_per_prompt": data["config"]["k"]},
                    note=f"simulator input calibrated to Spearman(PPL, p) = -0.2; realised through "
                         f"passrate@{data['config']['k']}: {s['spearman']:.3f} (paper: -0.17 to -0.23)")]


def draw(data, axes):
    s = summary(data["ppl"], data["passrate"])
    ax = axes[0]
    n = min(1500, len(data["ppl"]))
    ax.scatter(np.asarray(data["ppl"])[:n], np.asarray(data["passrate"])[:n], s=4, alpha=0.3)
    ax.set(xscale="log", xlabel="prompt perplexity (simulated)", ylabel="passrate@16",
           title=f"Spearman {s['spearman']:.3f} [{s['spearman_ci'][0]:.3f}, {s['spearman_ci'][1]:.3f}]")
    ax = axes[1]
    x = np.arange(1, 11)
    ax.plot(x, s["deciles"], "o-", label="simulator pool, step 0")
    ax.plot(x, PAPER_F1, "s--", color="tab:gray", label="paper F1, Qwen2.5-Math-7B (read off)")
    ax.set(xlabel="PPL decile (1 = lowest)", ylabel="mean passrate@16", title="pass rate by PPL decile")
    ax.legend(fontsize=8)


FIGURE = Figure(name="curriculum_difficulty", title="Paper D: pass rate by prompt-perplexity decile (simulator)",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (10, 4)), compute=compute, evaluate=evaluate, draw=draw,
                description="Step-0 pool: passrate@16 by PPL decile, Spearman with bootstrap interval.")
