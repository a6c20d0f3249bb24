"""Paper D on a real model: the perplexity schedule against random selection in short training runs.

Reads ``results/llm/train_curriculum_*.json``: training runs of the real-model trainer that record
``config["selection"]`` (``random`` | ``low-ppl`` | ``high-ppl`` | ``schedule``; candidates scored
by prompt perplexity under the current policy, one prompt-only forward pass each) and
``config["selection_ratio"]``, a per-step ``log`` with ``rho_hat`` (one entry per selected prompt:
its group's mean reward) and optionally ``rollouts`` (drawn that step), ``selection`` (with
``ppl_selected``: [min, max] perplexity of the selected prompts, and the schedule's ``window``) and
``weights`` (summary of the relative-entropy weights; all as written by llm_backend.curriculum_train),
and held-out ``eval`` entries ``{"step", "rewards": (N_eval, G)}`` on the same prompts
with the same sampling uniforms for every run (common random numbers, as in llm_budget_efficiency).

A schedule run is paired with the random run that shares its start (model, task, seed, pool, lr,
held-out set), its steps, prompts, group, estimator, selection ratio and rollout weights, so both
spend the same rollouts. Until such runs (``rlvr-lab llm train --selection ...``) are
committed, both claims are inconclusive and the figure says so.

Intended commands (2 CPU cores; one step of 4 prompts x 4 rollouts of SmolLM2-135M takes about
25-60 s on this machine, so 20 steps x 2 runs is about 20-40 minutes)::

    rlvr-lab llm train --model smollm2-135m --task arithmetic --task-opt digits=2 --steps 20 \\
        --prompts 4 --group 4 --pool 64 --lr 1e-5 --seed 0 --eval-prompts 32 --eval-group 4 \\
        --eval-horizon 48 --eval-every 5 --estimator grpo --horizon 48 --selection <random|schedule> \\
        --selection-ratio 0.2 --out-dir runs/curriculum_<selection> \\
        --result results/llm/train_curriculum_<selection>.json

(a pool of several digit counts, as the issue asks, needs a mixed-difficulty task option that the
task module does not have yet; 2-digit sums already spread the perplexity: D.ppl-passrate.)

Run with ``rlvr-lab reproduce --only llm_curriculum``.
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout
from theory.claims import INCONCLUSIVE, Claim, Verdict, judge
from theory.stats import wilson_ci

PATTERN = "train_curriculum_*.json"
PAIR_KEYS = ("model", "task", "task_options", "seed", "pool", "lr", "eval_prompts", "eval_group", "eval_horizon",
             "steps", "prompts", "group", "estimator", "selection_ratio", "rollout_weights", "horizon", "dtype")
LATE = 0.5  # the second half of the steps

CLAIMS = (
    Claim("D.llm-rollout-savings",
          "On a real model, the perplexity schedule gets further than random selection (same selection "
          "ratio) with the same number of rollouts, i.e. it needs fewer rollouts for random's accuracy.",
          "V", "held-out accuracy after equal rollouts: schedule > random",
          "Primary metric: D = held-out accuracy (fixed evaluation horizon) after the last step, schedule "
          "minus random, per held-out prompt (paired: same prompts and sampling uniforms), pooled over "
          "run pairs; 95 % interval D +- 1.96 se over prompts. Supported iff the lower end > 0; not "
          "supported iff the upper end < 0; otherwise inconclusive. Inconclusive without a valid pair "
          "(equal rollouts, same start). Secondary: accuracy against cumulative rollouts."),
    Claim("D.llm-zero-advantage",
          "On a real model, the perplexity schedule draws fewer zero-advantage groups (all rollouts "
          "correct or all wrong) than random selection late in training.",
          "V", "late zero-advantage fraction: schedule < random",
          "Primary metric: fraction of selected groups with rho_hat in {0, 1} over the second half of the "
          "steps, schedule minus random, pooled over run pairs; Newcombe 95 % interval (Wilson intervals of "
          "the two fractions; groups treated as independent). Supported iff the upper end < 0; not "
          "supported iff the lower end > 0; otherwise inconclusive."),
)


def _final_eval(run):
    ev = sorted(run.get("eval") or [], key=lambda e: e["step"])
    return np.asarray(ev[-1]["rewards"], dtype=float) if ev else None


def _curve(run):
    """(cumulative rollouts, held-out accuracy) at each evaluation."""
    per_step = [e.get("rollouts", len(e.get("rho_hat", [])) * run["config"]["group"]) for e in run["log"]]
    cum = np.concatenate([[0], np.cumsum(per_step)])
    pts = [(float(cum[min(e["step"], len(cum) - 1)]), float(np.mean(e["rewards"]))) for e in
           sorted(run.get("eval") or [], key=lambda e: e["step"])]
    return {"rollouts": [p[0] for p in pts], "accuracy": [p[1] for p in pts], "total_rollouts": float(cum[-1])}


def _zero_counts(run):
    log = run["log"]
    late = log[int(len(log) * (1 - LATE)):]
    rh = [x for e in late for x in e.get("rho_hat", [])]
    return sum(1 for x in rh if x in (0.0, 1.0)), len(rh)


def pairs(runs):
    """[(schedule run, random run)] sharing every field of PAIR_KEYS."""
    def key(r):
        return tuple(repr(r["config"].get(k)) for k in PAIR_KEYS)
    rand = {key(r): r for r in runs if r["config"].get("selection") == "random"}
    return [(r, rand[key(r)]) for r in runs if r["config"].get("selection") == "schedule" and key(r) in rand]


def compute(ctx, cfg) -> dict:
    runs = [r for r in ctx.input_glob(PATTERN) if r.get("kind") == "train" and "selection" in r.get("config", {})]
    found = pairs(runs)
    out = {"n_files": len(runs), "pairs": []}
    for s, r in found:
        fs, fr = _final_eval(s), _final_eval(r)
        zs, zr = _zero_counts(s), _zero_counts(r)
        cs, cr = _curve(s), _curve(r)
        out["pairs"].append({
            "seed": s["config"].get("seed"), "commands": [s.get("command"), r.get("command")],
            "hardware": (s.get("hardware") or {}).get("processor"),
            "diff_per_prompt": (fs.mean(1) - fr.mean(1)).tolist() if fs is not None and fr is not None
            and fs.shape == fr.shape else None,
            "equal_rollouts": cs["total_rollouts"] == cr["total_rollouts"],
            "zero": {"schedule": zs, "random": zr}, "curve": {"schedule": cs, "random": cr},
            "ppl_band": [(e.get("selection") or {}).get("ppl_selected") for e in s["log"]],
            "zero_by_step": {k: [np.mean([x in (0.0, 1.0) for x in e.get("rho_hat", [])] or [np.nan])
                                 for e in run["log"]] for k, run in (("schedule", s), ("random", r))}})
    return out


def _newcombe(k1, n1, k2, n2):
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_ci(k1, n1)
    l2, u2 = wilson_ci(k2, n2)
    d = p1 - p2
    return d, d - np.hypot(p1 - l1, u2 - p2), d + np.hypot(u1 - p1, p2 - l2)


def evaluate(data) -> list:
    valid = [p for p in data["pairs"] if p["diff_per_prompt"] is not None and p["equal_rollouts"]]
    if not valid:
        why = (f"no schedule/random pair of training runs in results/llm/{PATTERN} ({data['n_files']} curriculum "
               "file(s) found); the trainer's --selection option has to be run first (module docstring)"
               if not data["pairs"] else "no pair with equal rollouts and a shared held-out evaluation")
        return [Verdict(c, INCONCLUSIVE, {}, note=why) for c in CLAIMS]
    d_i = np.concatenate([p["diff_per_prompt"] for p in valid])
    d = float(d_i.mean())
    se = float(d_i.std(ddof=1) / np.sqrt(d_i.size)) if d_i.size > 1 else float("inf")
    lo, hi = d - 1.96 * se, d + 1.96 * se
    sizes = {"pairs": len(valid), "held_out_prompt_differences": int(d_i.size)}
    v1 = Verdict(CLAIMS[0], judge(supported=lo > 0, not_supported=hi < 0), {"D": d}, {"D_ci95": [lo, hi]}, sizes,
                 note="demonstration scale: a few short runs on 2 CPU cores")
    ks, ns = (sum(p["zero"]["schedule"][i] for p in valid) for i in (0, 1))
    kr, nr = (sum(p["zero"]["random"][i] for p in valid) for i in (0, 1))
    if ns == 0 or nr == 0:
        v2 = Verdict(CLAIMS[1], INCONCLUSIVE, {}, note="the runs log no rho_hat per selected prompt")
    else:
        dz, zlo, zhi = _newcombe(ks, ns, kr, nr)
        v2 = Verdict(CLAIMS[1], judge(supported=zhi < 0, not_supported=zlo > 0),
                     {"late_zero_schedule": ks / ns, "late_zero_random": kr / nr, "difference": dz},
                     {"difference_ci95": [zlo, zhi]}, {"late_groups_schedule": ns, "late_groups_random": nr})
    return [v1, v2]


def draw(data, axes):
    ax, bx, cx = axes
    if not data["pairs"]:
        for a in axes:
            a.axis("off")
        ax.text(0.0, 0.5, f"no schedule/random training pair in results/llm/{PATTERN}:\nrun the trainer with "
                "--selection (see the module docstring)", fontsize=9, va="center")
        return
    for k, p in enumerate(data["pairs"]):
        for arm, ls in (("schedule", "-"), ("random", "--")):
            c = p["curve"][arm]
            ax.plot(c["rollouts"], c["accuracy"], ls, marker="o", color=f"C{k}", label=f"{arm}, seed {p['seed']}")
            bx.plot(np.arange(1, len(p["zero_by_step"][arm]) + 1), p["zero_by_step"][arm], ls, color=f"C{k}",
                    label=f"{arm}, seed {p['seed']}")
        band = [b for b in p["ppl_band"] if b]
        if band:
            cx.fill_between(np.arange(1, len(band) + 1), [b[0] for b in band], [b[1] for b in band],
                            color=f"C{k}", alpha=0.3, label=f"seed {p['seed']}")
    ax.set(xlabel="cumulative training rollouts", ylabel="held-out accuracy", title="accuracy vs rollouts")
    bx.set(xlabel="step", ylabel="zero-advantage fraction of groups", title="zero-advantage groups")
    cx.set(xlabel="step", ylabel="perplexity of the selected prompts", title="schedule: selected PPL band")
    ax.legend(fontsize=7)


FIGURE = Figure(name="llm_curriculum_training", title="Paper D on a real model: schedule vs random selection",
                claims=CLAIMS, compute=compute, evaluate=evaluate, draw=draw, layout=Layout(1, 3, (15, 4.2)),
                inputs=(PATTERN,),
                description="SmolLM2-135M training with --selection schedule vs random: accuracy per rollout, zero-advantage groups.")
