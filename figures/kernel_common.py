"""Paper C figures: the declarative unit of work (one simulate.kernel sweep) and shared statistics.

A unit is the module-level :func:`sweep_unit` with keyword arguments (a kit-v2 ``Unit``); its seed
is derived from the kwargs, so figures that declare the same sweep (value, gradient, bandwidth)
simulate the very same rollouts. Intervals are percentile bootstraps over independent
runs (theory.stats.bootstrap_ci), the run being the unit of replication.
"""

from __future__ import annotations

import json

import numpy as np

from figures.base import Unit
from simulate.kernel import Method, simulate
from theory.records import to_jsonable
from theory.stats import bootstrap_ci

__all__ = ["sweep_unit", "baselines", "H_GRID", "PRIMARY", "PRIMARY_H", "run_units", "block_mask", "reduction_ci",
           "unit_key", "PAPER_STEPS", "BASELINE_COLORS"]

PAPER_STEPS = (10, 90, 170)  # Table 1's steps (notes C.5)
BASELINE_COLORS = {"oracle": "k", "grpo": "tab:blue", "global": "tab:red"}


H_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 4.0)  # bandwidths swept by the shared sweep
PRIMARY_H = 0.2  # the registry's default bandwidth (theory.kernel.OPTIONS), declared as the primary KAE
PRIMARY = f"kae:tri:{PRIMARY_H:g}"


def baselines(grid=H_GRID, kernels=("triangular", "exponential")) -> tuple:
    """(kind, kernel, bandwidth) triples: oracle, grpo, global, then kae over kernels x grid."""
    return (("oracle", "triangular", 0.2), ("grpo", "triangular", 0.2), ("global", "triangular", 0.2)) + tuple(
        ("kae", k, float(h)) for k in kernels for h in grid)


def sweep_unit(*, baselines, ends=PAPER_STEPS, length=10, **kw) -> dict:
    """One simulate.kernel.simulate call, summarised.

    ``baselines``: (kind, kernel, bandwidth) triples. Returns labels, steps; per-step means over
    runs ``curve_value``/``curve_grad`` (S, M); per-run means over the blocks (end - length, end]
    ``block_value``/``block_grad``/``block_dev`` (R, len(ends), M) and over all recorded steps
    ``all_value``/``all_grad``/``all_dev`` (R, M); ``accuracy`` (R, S); ``n_obs`` (R,) mean number
    of earlier rewards of the batch prompts over the recorded steps.
    """
    ms = tuple(Method(k, kern, float(h)) for k, kern, h in baselines)
    run = simulate(baselines=ms, **kw)
    out = {"labels": list(run.labels), "steps": run.steps, "accuracy": run.accuracy,
           "n_obs": run.n_obs.mean(axis=1), "curve_value": run.value_mse.mean(axis=0),
           "curve_grad": run.grad_mse.mean(axis=0)}
    for name, x in (("value", run.value_mse), ("grad", run.grad_mse), ("dev", run.grad_dev)):
        out[f"all_{name}"] = x.mean(axis=1)
        cols = []
        for e in ends:
            m = block_mask(run.steps, [e], length)
            cols.append(x[:, m].mean(axis=1) if m.any() else np.full(x[:, 0].shape, np.nan))
        out[f"block_{name}"] = np.stack(cols, axis=1)
    return out


def unit_key(kw: dict) -> str:
    """Canonical text of a sweep's kwargs: its seed is derived from it, so two figures declaring
    the same sweep simulate the same rollouts (common random numbers across figures)."""
    return json.dumps(to_jsonable(kw), sort_keys=True)


def run_units(ctx, specs: dict) -> dict:
    """``ctx.units`` over the declared sweeps ``label -> kwargs`` (kit v2: cached, resumable, any
    executor); each sweep's seed is ``ctx.seed_for("kernel-sweep", unit_key(kwargs))``."""
    return ctx.units({label: Unit(sweep_unit, seed=ctx.seed_for("kernel-sweep", unit_key(kw)) % 2**62, **kw)
                      for label, kw in specs.items()})


def block_mask(steps, ends, length: int) -> np.ndarray:
    """Recorded steps inside the blocks (end - length, end] for each end (the J-step blocks ending at
    the paper's steps)."""
    steps = np.asarray(steps)
    m = np.zeros(steps.shape, dtype=bool)
    for e in ends:
        m |= (steps > e - length) & (steps <= e)
    return m


def reduction_ci(num, den, seed: int = 0):
    """1 - mean(num)/mean(den) over runs (arrays (R,) of per-run averages) and its bootstrap interval."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    pair = np.stack([num, den], axis=1)  # (R, 2): resample runs, keeping each run's pair
    est = 1.0 - num.mean() / den.mean()
    lo, hi = bootstrap_ci(pair, lambda x: 1.0 - x[:, 0].mean() / x[:, 1].mean(), seed=seed)
    return float(est), (float(lo), float(hi))
