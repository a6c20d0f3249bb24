"""Paper B on SmolLM2-135M-Instruct: the start distribution of rho_hat on countdown, the time to
target each weighting predicts from it, and short from-scratch training runs per weighting.

Reads ``results/llm/weights_countdown.json`` and ``results/llm/train_countdown_<estimator>.json``:

    rlvr-lab llm weights --model smollm2-135m --task countdown --prompts 12 --group 6 --horizon 48 \\
        --batch-size 72 --seed 0 --out results/llm/weights_countdown.json
    rlvr-lab llm train --model smollm2-135m --task countdown --estimator <name> --steps 3 --prompts 2 \\
        --group 4 --horizon 40 --lr 1e-5 --seed 0 --out-dir <run dir> \\
        --result results/llm/train_countdown_<name>.json

(the exact commands are recorded in each file). Run with ``rlvr-lab reproduce --only llm_weighting_rho``.

Departures from paper B: TinyZero's countdown is replaced by generated, always-solvable problems
(3 numbers <= 20); runs are a few steps of a 135M model on a CPU, i.e. demonstration-scale: the
verdict says so through its sample sizes. Prediction: population dynamics d rho/dt = w(rho) from
the Jeffreys-smoothed rho_hat of each prompt (``llm_backend.measure_weighting``).
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure
from figures.llm_inputs import load, load_glob, placeholder, provenance
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict

ASYM, SYM = ("linear_r", "sqrt_r"), ("grpo", "rloo", "dapo")
MARGIN = 0.05  # declared: "at least as good" within 0.05 reward

CLAIMS = (
    Claim("B.llm-weighting",
          "On a real model trained from scratch (countdown, low start success), asymmetric prompt weightings "
          "(Linear-R, Sqrt-R) raise the reward at least as fast as GRPO, RLOO and DAPO.",
          "V", "mean reward after the first step: asymmetric >= symmetric (paper B, from-scratch runs)",
          "primary metric: delta = mean reward over steps 2..N of the linear_r/sqrt_r runs minus that of the "
          "grpo/rloo/dapo runs (same seed, same prompts, step 1 shared), 95% interval from binomial standard "
          f"errors of the per-step rewards (Jeffreys-smoothed rate, so all-zero steps keep their uncertainty); supported if the interval's lower end > -{MARGIN}, not supported if "
          "its upper end < 0, else inconclusive"),
)


def compute(ctx) -> dict:
    w = load(ctx, "weights_countdown.json")
    runs = load_glob(ctx, "train_countdown_*.json")
    data = {"missing_weights": w is None, "runs": {}}
    if w is not None:
        s = w["summary"]
        data.update(provenance=provenance(w), rho_values=s["rho_hat_values"], rho_counts=s["rho_hat_counts"],
                    mean_rho_hat=s["mean_rho_hat"], all_fail=s["all_fail_fraction"], target=s["target"],
                    predicted={k: v["median_time_to_target"] for k, v in s["predicted"].items()},
                    n_prompts=s["num_prompts"], group=s["group"])
    for r in runs:
        cfg = r["config"]
        rows = cfg["prompts"] * cfg["group"]
        data["runs"][cfg["estimator"]] = {
            "reward": r["reward_by_step"], "rows_per_step": rows,
            "nonzero_adv": [x["nonzero_adv_fraction"] for x in r["log"]],
            "command": r["command"], "wall_seconds": r["wall_seconds"], "steps": r["steps_done"]}
    return data


def _pool(runs, names):
    vals, var, n = [], 0.0, 0
    for name in names:
        if name not in runs:
            continue
        rows = runs[name]["rows_per_step"]
        for r in runs[name]["reward"][1:]:
            vals.append(r)
            p = (r * rows + 0.5) / (rows + 1.0)  # Jeffreys-smoothed: an all-zero step is not certainty
            var += p * (1 - p) / rows
            n += 1
    if not vals:
        return None, None, 0
    return float(np.mean(vals)), float(np.sqrt(var) / n), n


def evaluate(data) -> list:
    c = CLAIMS[0]
    runs = data["runs"]
    a, se_a, na = _pool(runs, ASYM)
    s, se_s, ns = _pool(runs, SYM)
    sizes = {"runs": sorted(runs), "steps_used_asym": na, "steps_used_sym": ns,
             "rollouts_per_step": sorted({r["rows_per_step"] for r in runs.values()})}
    if not data["missing_weights"]:
        sizes["start_prompts"] = data["n_prompts"]
        sizes["start_rollouts_per_prompt"] = data["group"]
    if a is None or s is None:
        return [Verdict(c, INCONCLUSIVE, {}, sample_size=sizes,
                        note="training results for both weighting families are missing from results/llm")]
    d = a - s
    se = float(np.hypot(se_a, se_s))
    lo, hi = d - 1.96 * se, d + 1.96 * se
    v = NOT_SUPPORTED if hi < 0 else SUPPORTED if lo > -MARGIN else INCONCLUSIVE
    measured = {"delta": d, "asym_mean_reward": a, "sym_mean_reward": s}
    if not data["missing_weights"]:
        measured.update(start_mean_rho_hat=data["mean_rho_hat"], start_all_fail_fraction=data["all_fail"],
                        predicted_median_time_to_target=data["predicted"])
    total = sum(sum(r["reward"]) for r in runs.values())
    note = ("demonstration-scale CPU runs (a few steps of a 135M model); the interval says how little they "
            "can resolve")
    if total == 0:
        note += ("; no rollout of any run succeeded, so grpo/rloo/dapo made zero-gradient steps (all groups "
                 "all-fail) while linear_r/sqrt_r pushed down failed responses (both give A = -1 on an "
                 "all-fail group, so their two runs coincide)")
    measured["nonzero_advantage_fraction"] = {k: float(np.mean(r["nonzero_adv"])) for k, r in runs.items()}
    return [Verdict(c, v, measured, {"delta_ci95": [lo, hi]}, sizes, note=note)]


def draw(data):
    import matplotlib.pyplot as plt

    if data["missing_weights"] and not data["runs"]:
        return placeholder("llm_weighting_rho", "result files missing: run `rlvr-lab llm weights` / `llm train`")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    if not data["missing_weights"]:
        ax = axes[0]
        ax.bar(data["rho_values"], data["rho_counts"], width=0.8 / max(data["group"], 1))
        ax.set(xlabel="rho_hat at the start", ylabel="prompts",
               title=f"start: mean rho_hat {data['mean_rho_hat']:.3f}, all-fail {data['all_fail']:.0%}")
        ax = axes[1]
        names = list(data["predicted"])
        vals = [data["predicted"][k] for k in names]
        finite = [v if v is not None and np.isfinite(v) else np.nan for v in vals]
        ax.bar(names, finite, color=["C1" if k in ASYM else "C0" for k in names])
        ax.set(ylabel=f"predicted median time to rho = {data['target']}", title="prediction (d rho/dt = w(rho))")
    ax = axes[2]
    for name, r in sorted(data["runs"].items()):
        ax.plot(np.arange(1, len(r["reward"]) + 1), r["reward"], "o-" if name in ASYM else "s--", label=name)
    ax.set(xlabel="training step", ylabel="mean reward of the step's rollouts", title="from-scratch runs")
    if data["runs"]:
        ax.legend(fontsize=8)
    fig.suptitle("SmolLM2-135M-Instruct on countdown" + (
        f" ({data['provenance']['hardware']})" if not data["missing_weights"] else ""), fontsize=9)
    fig.tight_layout()
    return fig


FIGURE = Figure(name="llm_weighting_rho", title="Paper B on a real model: start rho_hat, predicted and measured",
                claims=CLAIMS, compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct on countdown: rho_hat at the start, time to target per weighting, short runs.")
