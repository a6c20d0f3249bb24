"""Paper E: without the structural advantage RLVR converges to a suboptimal composition.

Mod-3 example (S = 2, K = 3, theory/composition.py) from the symmetric base model p0 = 0.25 < 1/3,
where the correct task's ratio r[s, 0] < 1 (checked at the base model): sampled RLVR runs with
several registry estimators, classified at the end (simulate/composition.py ``classify``):
correct / wrong-rewarded (a cancelling wrong pair, full reward on this verifier, wrong intermediate
steps) / wrong-failing / unconverged. A **suboptimal composition** is a converged wrong chain
(wrong-rewarded or wrong-failing) [R, our definition; the notes leave it open]. For contrast:
p0 = 0.45 > 1/3, and S = 4 at p0 = 0.25. Settings in figures/composition_common.py.

Claim E.suboptimal-convergence [V]. Run: ``rlvr-lab reproduce --only composition_suboptimal``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.composition_common import EPS, ESTIMATOR, G, LR
from simulate.composition import OUTCOMES, classify, sampled_runs
from theory.claims import Claim, Verdict, judge
from theory.stats import wilson_ci as wilson
from theory.composition import mod_verifier, symmetric_base, task_advantage_ratio

CLAIM = Claim(
    id="E.suboptimal-convergence",
    statement="Without the structural advantage (mod-3 example, base model p0 < 1/3, correct "
              "task's ratio < 1) RLVR converges to a suboptimal composition in a measurable "
              "fraction of runs.",
    provenance="V",
    predicted="a fraction of runs clearly above zero ends on a converged wrong chain",
    measurement="PRIMARY: fraction of sampled runs (mod-3, S = 2, p0 = 0.25, dr_grpo, G = 8) whose "
                "modal chain has probability >= 1 - eps and is not the correct chain, with its 95% "
                "Wilson interval; supported iff the lower end > 0.05, not supported iff the upper end "
                "< 0.05, else inconclusive. Reported: the same for grpo, rloo, reinforce, p0 = 0.45 "
                "and S = 4, with the breakdown by outcome.",
)
SETTINGS = (  # (label, S, p0, estimator); the first one is the primary setting
    ("S=2 p0=0.25 dr_grpo", 2, 0.25, ESTIMATOR),
    ("S=2 p0=0.25 grpo", 2, 0.25, "grpo"),
    ("S=2 p0=0.25 rloo", 2, 0.25, "rloo"),
    ("S=2 p0=0.25 reinforce", 2, 0.25, "reinforce"),
    ("S=4 p0=0.25 dr_grpo", 4, 0.25, ESTIMATOR),
    ("S=2 p0=0.45 dr_grpo", 2, 0.45, ESTIMATOR),
)


@dataclass(frozen=True)
class Config:
    n_seeds: int = 200
    n_iter: int = 3000


FULL = Config(n_seeds=1000, n_iter=6000)


def outcome_counts(S, p0, estimator, seeds, n_iter) -> dict:
    """Counts of each end state (simulate.composition.OUTCOMES) over sampled runs (a unit of work)."""
    res = sampled_runs(symmetric_base(p0, S), mod_verifier(S), np.array(seeds), estimator=estimator, G=G, lr=LR,
                       n_iter=n_iter, eps=EPS, log_every=n_iter)
    return {"counts": np.bincount(classify(res), minlength=len(OUTCOMES))}


def compute(ctx, cfg: Config) -> dict:
    runs = ctx.units({label: Unit(outcome_counts, S=S, p0=p0, estimator=est, n_iter=cfg.n_iter,
                                  seeds=ctx.seeds(("suboptimal", i), cfg.n_seeds))
                      for i, (label, S, p0, est) in enumerate(SETTINGS)})
    return {"labels": [s[0] for s in SETTINGS], "counts": [runs[s[0]]["counts"] for s in SETTINGS],
            "ratio0": [float(task_advantage_ratio(symmetric_base(p0, S), mod_verifier(S))[0, 0])
                       for _, S, p0, _ in SETTINGS],
            "n_seeds": cfg.n_seeds, "n_iter": cfg.n_iter}


def evaluate(data) -> list:
    counts = np.asarray(data["counts"])  # (settings, outcomes)
    n = counts.sum(axis=1)
    sub = counts[:, 1] + counts[:, 2]
    lo, hi = wilson(sub[0], n[0])
    verdict = judge(supported=lo > 0.05, not_supported=hi < 0.05)
    measured = {"fraction_suboptimal": float(sub[0] / n[0]),
                "ratio_correct_task_at_base": data["ratio0"][0]}
    unc = {"fraction_suboptimal_wilson95": [lo, hi]}
    for lab, c, k, m in zip(data["labels"], counts, sub, n):
        measured[f"[{lab}] suboptimal"] = float(k / m)
        measured[f"[{lab}] breakdown"] = dict(zip(OUTCOMES, c.tolist()))
        unc[f"[{lab}] wilson95"] = list(wilson(k, m))
    return [Verdict(CLAIM, verdict, measured=measured, uncertainty=unc,
                    sample_size={"runs_per_setting": int(n[0]), "iterations": int(data["n_iter"])},
                    note="wrong-rewarded = a cancelling wrong pair (reward 1 on this verifier, wrong "
                         "intermediate steps); see simulate/composition.py for the definition")]


def draw(data, ax):
    counts = np.asarray(data["counts"], dtype=float)
    frac = counts / counts.sum(axis=1, keepdims=True)
    y = np.arange(len(data["labels"]))
    left = np.zeros(len(y))
    for k, name in enumerate(OUTCOMES):
        ax.barh(y, frac[:, k], left=left, label=name)
        left += frac[:, k]
    ax.set_yticks(y, data["labels"], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"fraction of runs ({int(counts[0].sum())} seeds, {data['n_iter']} iterations)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("mod-3: which composition RLVR converges to")


FIGURE = Figure(name="composition_suboptimal", title="Suboptimal compositions without the structural advantage",
                claims=(CLAIM,), config=Config(), full=FULL, layout=Layout(1, 1, (8, 4), tight=False),
                compute=compute, evaluate=evaluate, draw=draw, description=__doc__)
