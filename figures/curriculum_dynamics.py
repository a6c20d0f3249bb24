"""Paper D: training dynamics per selection scheme (accuracy, zero-advantage, all-correct, entropy).

Reproduces paper D's Figs. F2-F4 (notes D.4) in the stylized simulator (simulate.curriculum):
random 20 %, low-perplexity only, high-perplexity only and the perplexity schedule, each without
the entropy weights (the weights' effect is figures/curriculum_weighting.py), 16 seeds (fast) or 64
(full), one parallel sweep. Claims D.zero-advantage and D.entropy compare the schedule with the
low- and high-perplexity schemes, as the paper's Figs. F3/F4 do (random is reported, not judged);
D.low-ppl-saturates compares low- with high-perplexity training as Fig. F2 does.

Departures: a stylized pool model, not an LLM (every mechanism documented and switchable in
simulate.curriculum); "entropy" is the mean rollout entropy of the step's drawn batch (the paper's
entropy loss); "accuracy" is the exact mean success probability over the whole pool (the
validation proxy). Run: ``rlvr-lab reproduce --only curriculum_dynamics``.
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.curriculum_common import FAST, FULL, LATE, late_mean, paired_ci, sim_kwargs, sweep_unit
from simulate.curriculum import SCHEMES
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict

EARLY = 0.25  # "early" = the first quarter of the steps

CLAIMS = (
    Claim("D.zero-advantage",
          "Late in training the perplexity schedule has the lowest zero-advantage ratio: below "
          "high-perplexity-only and low-perplexity-only training (paper Fig. F4: .43 vs .52 vs .66).",
          "V", "late zero-advantage ratio: schedule < high-ppl < low-ppl",
          "Primary metric: per-seed mean zero-advantage fraction of the drawn groups over the last 20 % "
          "of steps, unweighted schemes; paired differences schedule - low and schedule - high over seeds "
          "with 95 % t-intervals. Supported iff both intervals lie below 0; not supported iff either lies "
          "above 0; otherwise inconclusive. Random and high - low reported, not judged."),
    Claim("D.entropy",
          "Late in training the perplexity schedule keeps the highest rollout entropy: above "
          "high-perplexity-only and low-perplexity-only training (paper Fig. F3).",
          "V", "late entropy: schedule > high-ppl > low-ppl",
          "Primary metric: per-seed mean rollout entropy of the drawn batch over the last 20 % of steps; "
          "paired differences schedule - low and schedule - high with 95 % t-intervals. Supported iff both "
          "lie above 0; not supported iff either lies below 0; otherwise inconclusive."),
    Claim("D.low-ppl-saturates",
          "Low-perplexity-only training learns faster early but saturates: a higher all-correct ratio "
          "and lower entropy than high-perplexity-only training (paper Fig. F2).",
          "V", "low - high: early accuracy gain > 0, late all-correct > 0, late entropy < 0",
          "Three paired differences low - high over seeds with 95 % t-intervals: pool-accuracy gain over "
          "the first 25 % of steps (> 0), late all-correct fraction (> 0), late entropy (< 0). Supported "
          "iff all three intervals lie on the predicted side of 0; not supported iff any lies on the "
          "opposite side; otherwise inconclusive."),
)

ARMS = [(s, False) for s in SCHEMES]


def compute(ctx, cfg) -> dict:
    seeds = ctx.seeds("curriculum_dynamics", cfg.n_seeds)
    runs = ctx.unit("runs", Unit(sweep_unit, seeds=seeds, arms=[list(a) for a in ARMS], model={}, sim=sim_kwargs(cfg)))
    return {"config": cfg.__dict__, "runs": runs, "summary": summarize(runs)}


def summarize(runs) -> dict:
    """Per-seed summaries the verdicts use: {scheme: {metric: (S,) list}}."""
    out = {}
    for s in SCHEMES:
        r = runs[f"{s}|0"]
        acc = np.asarray(r["acc"])
        t_early = int(round(EARLY * (acc.shape[1] - 1)))
        out[s] = {"late_zero": late_mean(r["zero"]), "late_entropy": late_mean(r["entropy"]),
                  "late_all_correct": late_mean(r["all_correct"]), "early_gain": acc[:, t_early] - acc[:, 0],
                  "final_acc": acc[:, -1]}
    return out


def _sides(pairs, want):
    """pairs: {name: (m, lo, hi)}; want: {name: +1 (above 0) or -1 (below 0)} -> verdict."""
    ok = all((lo > 0) if want[n] > 0 else (hi < 0) for n, (m, lo, hi) in pairs.items())
    wrong = any((hi < 0) if want[n] > 0 else (lo > 0) for n, (m, lo, hi) in pairs.items())
    return NOT_SUPPORTED if wrong else SUPPORTED if ok else INCONCLUSIVE


def _pairs(summary, metric, comparisons):
    return {f"{a} - {b}": paired_ci(summary[a][metric], summary[b][metric]) for a, b in comparisons}


def evaluate(data) -> list:
    s = data["summary"]
    n = {"seeds": len(s["random"]["late_zero"])}
    out = []
    for claim, metric, sign in ((CLAIMS[0], "late_zero", -1), (CLAIMS[1], "late_entropy", +1)):
        primary = _pairs(s, metric, [("schedule", "low-ppl"), ("schedule", "high-ppl")])
        extra = _pairs(s, metric, [("schedule", "random"), ("high-ppl", "low-ppl")])
        v = _sides(primary, {k: sign for k in primary})
        measured = {f"{metric}[{k}]": float(np.mean(s[k][metric])) for k in SCHEMES}
        measured |= {k: p[0] for k, p in {**primary, **extra}.items()}
        unc = {k: [p[1], p[2]] for k, p in {**primary, **extra}.items()}
        out.append(Verdict(claim, v, measured, unc, n, note="judged: schedule - low-ppl and schedule - high-ppl; "
                           "reported only: schedule - random, high-ppl - low-ppl"))
    pairs = {"early_gain": paired_ci(s["low-ppl"]["early_gain"], s["high-ppl"]["early_gain"]),
             "late_all_correct": paired_ci(s["low-ppl"]["late_all_correct"], s["high-ppl"]["late_all_correct"]),
             "late_entropy": paired_ci(s["low-ppl"]["late_entropy"], s["high-ppl"]["late_entropy"])}
    v = _sides(pairs, {"early_gain": +1, "late_all_correct": +1, "late_entropy": -1})
    out.append(Verdict(CLAIMS[2], v, {f"low - high {k}": p[0] for k, p in pairs.items()},
                       {f"low - high {k}": [p[1], p[2]] for k, p in pairs.items()}, n))
    return out


def draw(data, axes):
    runs = data["runs"]
    panels = [("acc", "pool accuracy (mean p)"), ("zero", "zero-advantage fraction"),
              ("all_correct", "all-correct fraction"), ("entropy", "mean rollout entropy")]
    colors = {"random": "tab:gray", "low-ppl": "tab:blue", "high-ppl": "tab:orange", "schedule": "tab:green"}
    for ax, (metric, label) in zip(axes.ravel(), panels):
        for s in SCHEMES:
            y = np.asarray(runs[f"{s}|0"][metric])
            m = y.mean(axis=0)
            se = y.std(axis=0, ddof=1) / np.sqrt(y.shape[0])
            x = np.arange(m.size)
            ax.plot(x, m, color=colors[s], lw=1.4, label=s)
            ax.fill_between(x, m - 2 * se, m + 2 * se, color=colors[s], alpha=0.2, lw=0)
        n_steps = np.asarray(runs["random|0"]["zero"]).shape[1]
        ax.axvspan(n_steps * (1 - LATE), n_steps, color="k", alpha=0.05)
        ax.set(xlabel="step", ylabel=label)
    axes[0, 0].legend(fontsize=8)
    cfg = data["config"]
    axes[0, 0].figure.suptitle(f"Stylized simulator: N={cfg['n_pool']}, |B|={cfg['n_candidates']}, ratio {cfg['ratio']}, "
                 f"G={cfg['group_size']}, {cfg['n_seeds']} seeds (mean +- 2 SE; shaded: 'late')", fontsize=9)


FIGURE = Figure(name="curriculum_dynamics", title="Paper D: training dynamics per selection scheme",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(2, 2, (11, 7)), compute=compute, evaluate=evaluate, draw=draw,
                description="Random / low-ppl / high-ppl / schedule: accuracy, zero-advantage, all-correct, entropy.")
