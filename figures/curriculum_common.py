"""Shared settings, units of work and statistics of the paper-D figures (no FIGURE: the registry skips it).

Settings [R, our choices where paper D is silent; see simulate.curriculum for the model]: pool of
N = 1000 prompts, |B| = 80 candidates and K = 16 selected per step (ratio 20 % [V]), G = 8
rollouts [S], T = 150 steps, grpo advantages (DAPO's base estimator, no KL), linear pacing [V].
"Late" means the last 20 % of the steps; "PREPO" is the schedule with the relative-entropy weights.

Units of work (figure kit v2, figures.base): :func:`sweep_unit` is a module-level function of
plain keyword arguments, so ``ctx.units({label: Unit(sweep_unit, ...)})`` can hand it to any
executor; it returns JSON-able per-run arrays.

Statistics: per-seed summaries are paired across schemes (common random numbers: one pool and one
candidate stream per seed); a paired difference is judged by its mean with a 95 % t-interval over
seeds (:func:`paired_ci`); the rollout-savings factor by a percentile bootstrap over seeds
(:func:`savings_ci`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from simulate.curriculum import Model, sweep
from theory.stats import mean_ci

__all__ = ["SimConfig", "FAST", "FULL", "LATE", "sweep_unit", "late_mean", "paired_ci",
           "rollouts_to_reach", "savings_factor", "savings_ci", "sim_kwargs"]

LATE = 0.2  # the last 20 % of the steps


@dataclass(frozen=True)
class SimConfig:
    n_seeds: int = 16
    n_pool: int = 1000
    n_candidates: int = 80
    ratio: float = 0.2
    group_size: int = 8
    n_steps: int = 150
    estimator: str = "grpo"
    pacing: str = "linear"


FAST = SimConfig()
FULL = SimConfig(n_seeds=64)


def sim_kwargs(cfg: SimConfig) -> dict:
    kw = asdict(cfg)
    kw.pop("n_seeds")
    return kw


def sweep_unit(*, seeds, arms, model: dict, sim: dict, variants: dict | None = None) -> dict:
    """Run every (variant, arm, seed) in ONE parallel region; arms = [(scheme, weighted), ...].

    ``model`` holds :class:`Model` overrides shared by all runs; ``variants`` maps a row name to
    further overrides (a switch set to False, a changed parameter); ``sim`` holds the keyword
    arguments of :func:`simulate.curriculum.sweep`. Returns {"scheme|weighted": {metric: (S, T)}},
    or {variant: {...}} when ``variants`` is given.
    """
    rows = variants if variants is not None else {"": {}}
    runs = [(s, w, seed, Model(**{**model, **over})) for over in rows.values() for s, w in arms for seed in seeds]
    out = sweep([r[2] for r in runs], [r[0] for r in runs], [r[1] for r in runs], [r[3] for r in runs], **sim)
    n = len(seeds)
    res = {v: {} for v in rows}
    for a, (v, (s, w)) in enumerate((v, arm) for v in rows for arm in arms):
        sl = slice(a * n, (a + 1) * n)
        res[v][f"{s}|{int(w)}"] = {"acc": out.acc[sl], "zero": out.zero[sl], "all_correct": out.all_correct[sl],
                               "entropy": out.entropy[sl], "reward": out.reward[sl],
                               "cum_rollouts": out.cumulative_rollouts[sl],
                               "selected_difficulty": out.selected_difficulty[sl]}
    return res if variants is not None else res[""]


def late_mean(x, late: float = LATE) -> np.ndarray:
    """Per-seed mean over the last ``late`` fraction of the steps of x (S, T) -> (S,)."""
    x = np.asarray(x, dtype=np.float64)
    t0 = int(np.floor(x.shape[1] * (1.0 - late)))
    return x[:, t0:].mean(axis=1)


def paired_ci(a, b, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of the paired differences a - b over seeds and its t-interval: (mean, lo, hi).

    >>> m, lo, hi = paired_ci([1.0, 2.0, 3.0], [0.0, 1.0, 2.5])
    >>> round(m, 4), bool(lo < m < hi)
    (0.8333, True)
    """
    m, lo, hi = mean_ci(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), level=level)
    return float(m), float(lo), float(hi)


def rollouts_to_reach(acc, cum_rollouts, target: float) -> float:
    """First cumulative rollout count at which the curve acc (T+1,) reaches ``target``, linearly
    interpolated between steps; inf if it never does.

    >>> rollouts_to_reach([0.1, 0.3, 0.5], [0, 100, 200], 0.4)
    150.0
    """
    a = np.asarray(acc, dtype=np.float64)
    c = np.asarray(cum_rollouts, dtype=np.float64)
    hit = np.flatnonzero(a >= target)
    if hit.size == 0:
        return float("inf")
    i = int(hit[0])
    if i == 0:
        return float(c[0])
    return float(c[i - 1] + (target - a[i - 1]) / (a[i] - a[i - 1]) * (c[i] - c[i - 1]))


def savings_factor(base_acc, base_roll, new_acc, new_roll) -> dict:
    """Rollout-savings factor of ``new`` over ``base`` from per-seed curves (S, T+1) [R definition].

    target = base's final accuracy (mean over seeds); factor = R_base / R_new, with R the rollouts
    at which the seed-mean curve first reaches the target (paper D, D.5.5: "rollouts needed to reach
    the baseline's final validation score"). 0 when ``new`` never reaches it within its horizon.
    """
    ba, br = np.mean(base_acc, axis=0), np.mean(base_roll, axis=0)
    na, nr = np.mean(new_acc, axis=0), np.mean(new_roll, axis=0)
    target = float(ba[-1])
    r_base = rollouts_to_reach(ba, br, target)
    r_new = rollouts_to_reach(na, nr, target)
    factor = r_base / r_new if np.isfinite(r_new) and r_new > 0 else (0.0 if not np.isfinite(r_new) else float("inf"))
    return {"target": target, "base_gain": float(ba[-1] - ba[0]), "rollouts_base": r_base,
            "rollouts_new": r_new, "factor": float(factor), "final_diff": float(na[-1] - ba[-1])}


def savings_ci(base_acc, base_roll, new_acc, new_roll, *, n_boot: int = 1000, seed: int = 0,
               level: float = 0.95) -> dict:
    """:func:`savings_factor` with a paired percentile bootstrap over seeds (same resampled seeds
    for both arms, as the runs share their pool and candidates)."""
    ba, br, na, nr = (np.asarray(x, dtype=np.float64) for x in (base_acc, base_roll, new_acc, new_roll))
    s = ba.shape[0]
    point = savings_factor(ba, br, na, nr)
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        i = rng.integers(0, s, s)
        boots[b] = savings_factor(ba[i], br[i], na[i], nr[i])["factor"]
    a = (1.0 - level) / 2.0
    fd = paired_ci(na[:, -1], ba[:, -1])
    return {**point, "ci": [float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))],
            "final_diff_ci": [fd[1], fd[2]], "never_reached_fraction": float(np.mean(boots == 0.0))}
