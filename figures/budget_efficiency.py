"""Paper A, learning efficiency against the initial relative budget xi0; claim A.peak-efficiency.

Reproduces the figure the abstract implies [V]: the efficiency of RL against xi0, which the paper
reports peaks at xi in [1.5, 2.0]. Simulated with simulate.budget (time-to-solution policy gradient,
geometric hazard K = 1, 64 prompts with log-odds spread 0.5, G = 8, lr = 0.01, 15 iterations:
short enough that xi stays near xi0) for two ways of setting xi0 (simulate.budget_sweep):
sweeping H at a fixed base policy (accuracy at a fixed evaluation horizon, xi_eval = 1.75) and
sweeping difficulty at a fixed H = 256. Efficiency per iteration, per rollout and per token, for
grpo and rloo with the binary reward (the paper's GRPO/pass@1 setting [S]) and the graded reward.

Primary metric (declared in the claim before any result was seen): per-iteration accuracy gain,
grpo, binary reward, H sweep. Its argmax over xi0 is located by a parabola through the three grid
points around the maximum of the seed-averaged curve (in log xi), with a percentile bootstrap
interval over seeds; every other (metric, estimator, reward, sweep) is reported as secondary.
Departures: a synthetic hazard model stands in for LLMs; per-rollout efficiency equals
per-iteration efficiency up to the constant P G (fixed batch), reported for completeness.

Run: ``rlvr-lab reproduce --only budget_efficiency`` (``--full``: 32 seeds, 25 grid points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from simulate.budget_sweep import efficiency_sweep
from theory.claims import Claim, Verdict, judge_interval, INCONCLUSIVE
from theory.stats import bootstrap_ci

CLAIM = Claim(
    id="A.peak-efficiency",
    statement="Learning efficiency is maximised at a relative budget xi in [1.5, 2.0].",
    provenance="V",
    predicted="argmax over xi0 of learning efficiency lies in [1.5, 2.0]",
    measurement=("PRIMARY: per-iteration accuracy gain, grpo, binary reward, H swept at a fixed base "
                 "policy (K = 1); argmax by parabolic interpolation in log xi of the seed-mean curve, "
                 "95% percentile bootstrap over seeds. Supported if the interval lies in [1.5, 2.0], "
                 "not supported if disjoint. Secondary: per rollout, per token; rloo; graded reward; "
                 "difficulty sweep."),
)

METRICS = ("per_iteration", "per_rollout", "per_token")
PRIMARY = ("horizon", "grpo", "binary", "per_iteration")


@dataclass(frozen=True)
class Config:
    n_seeds: int = 8
    n_grid: int = 17
    xi_min: float = 0.1
    xi_max: float = 10.0
    estimators: tuple = ("grpo", "rloo")
    rewards: tuple = ("binary", "graded")
    modes: tuple = ("horizon", "difficulty")


FULL = Config(n_seeds=32, n_grid=25)


def argmax_log(xi, curve) -> float:
    """Argmax of a curve on a log grid, refined by a parabola through the 3 points around the max."""
    xi, curve = np.asarray(xi, dtype=float), np.asarray(curve, dtype=float)
    j = int(np.argmax(curve))
    if j == 0 or j == xi.size - 1:
        return float(xi[j])
    x, y = np.log(xi[j - 1:j + 2]), curve[j - 1:j + 2]
    a, b, _ = np.polyfit(x, y, 2)
    return float(np.exp(np.clip(-b / (2 * a), x[0], x[-1]))) if a < 0 else float(xi[j])


def compute(ctx, cfg: Config) -> dict:
    xi = np.exp(np.linspace(np.log(cfg.xi_min), np.log(cfg.xi_max), cfg.n_grid))
    seeds = ctx.seeds("efficiency", cfg.n_seeds, below=2**62)
    runs = ctx.units({f"{mode}/{est}/{reward}": Unit(efficiency_sweep, xi_grid=xi, seeds=seeds, mode=mode,
                                                      estimator=est, reward=reward)
                      for mode in cfg.modes for est in cfg.estimators for reward in cfg.rewards})
    return {"xi_grid": xi, "seeds": len(seeds), "runs": runs}


def _argmaxes(data):
    out = {}
    for key, r in data["runs"].items():
        xi0 = np.asarray(r["xi0"])
        for metric in METRICS:
            y = np.asarray(r[metric])  # (S, X)
            point = argmax_log(xi0, y.mean(axis=0))
            lo, hi = bootstrap_ci(y, lambda s: argmax_log(xi0, s.mean(axis=0)), n_boot=1000, seed=1)
            out[f"{key}/{metric}"] = (point, lo, hi)
    return out


def evaluate(data) -> list:
    am = _argmaxes(data)
    key = "/".join(PRIMARY)
    point, lo, hi = am[key]
    verdict = judge_interval(lo, hi, 1.5, 2.0) if np.isfinite(lo) else INCONCLUSIVE
    measured = {"primary_argmax_xi": round(point, 3)}
    uncertainty = {"primary_ci95": [round(lo, 3), round(hi, 3)]}
    for k, (p, l, h) in am.items():
        if k != key:
            measured[f"argmax[{k}]"] = round(p, 3)
            uncertainty[f"ci95[{k}]"] = [round(l, 3), round(h, 3)]
    n_in = sum(1.5 <= p <= 2.0 for p, _, _ in am.values())
    note = (f"primary argmax {point:.2f} (95% CI {lo:.2f}-{hi:.2f}); {n_in} of {len(am)} "
            "(sweep, estimator, reward, metric) argmaxes fall in [1.5, 2.0]; per-token efficiency "
            "favours small xi in the H sweep because short horizons cost few tokens.")
    return [Verdict(CLAIM, verdict, measured, uncertainty,
                    {"seeds": data["seeds"], "grid_points": len(data["xi_grid"])}, note)]


def draw(data, axes):
    for row, mode in enumerate(("horizon", "difficulty")):
        for col, metric in enumerate(METRICS):
            ax = axes[row, col]
            for key, r in data["runs"].items():
                m, est, reward = key.split("/")
                if m != mode:
                    continue
                y = np.asarray(r[metric])
                mean = y.mean(axis=0)
                ax.plot(r["xi0"], mean / np.max(np.abs(mean)), ls="-" if reward == "binary" else "--",
                        label=f"{est}, {reward}")
            ax.axvspan(1.5, 2.0, color="gold", alpha=0.3)
            ax.set_xscale("log")
            ax.set_title(f"{mode} sweep: {metric.replace('_', ' ')}", fontsize=9)
            ax.set_ylabel("efficiency / max")
            if row == 1:
                ax.set_xlabel(r"initial relative budget $\xi_0$")
    axes[0, 0].legend(fontsize=7)


FIGURE = Figure(name="budget_efficiency", title="Paper A: learning efficiency against xi0",
                claims=(CLAIM,), config=Config(), full=FULL, compute=compute, evaluate=evaluate, draw=draw,
                layout=Layout(2, 3, (14, 7), sharex=True),
                description="Efficiency per iteration/rollout/token against xi0 (H and difficulty sweeps).")
