"""Paper A on SmolLM2-135M-Instruct: learning efficiency against the measured xi0, beside the simulator.

Short GRPO runs on 1-digit sums (the task where the base model has intermediate success: q(48) ~ 0.35,
censored E[T] ~ 105 tokens in ``results/llm/xi_arithmetic_1digit.json``) at three training horizons
H in {16, 32, 64}, i.e. xi0 = H / E[T] ~ 0.15, 0.30, 0.61 (deficient to the lower edge of balanced),
from the same start and seed. Reads ``results/llm/train_arith1_grpo_h<H>.json``, written by

    rlvr-lab llm train --model smollm2-135m --task arithmetic --task-opt digits=1 --steps 5 --prompts 4 \\
        --group 4 --pool 16 --lr 1e-5 --seed 0 --eval-prompts 16 --eval-group 4 --eval-horizon 48 \\
        --estimator grpo --horizon <H> --out-dir <run dir> --result results/llm/train_arith1_grpo_h<H>.json

(exact commands in each file). Efficiency is measured as in ``simulate.budget_sweep`` (H sweep at a
fixed base policy): accuracy gain at a FIXED evaluation horizon per iteration, here on 16 held-out
prompts x 4 rollouts at H_eval = 48, evaluated before step 1 and after step 5. All evaluations use
the same prompts and the same sampling uniforms (common random numbers), so run-vs-run differences
are paired per prompt [R]. The simulator's prediction is recomputed here at the measured xi0 with
``simulate.budget_sweep.efficiency_sweep`` (K = 1, the fitted K_hat of the xi run is 1.00; G, steps
and xi_eval matched to the runs; its other settings as in ``budget_efficiency``) and compared in
shape only: a 135M transformer and the logistic-hazard toy have incomparable learning rates.

Design (fixed before the runs; nothing was changed after seeing them): 5 steps x 4 prompts x 4
rollouts per run (80 training rollouts per run), lr 1e-5, seed 0; sized to the 2-core CPU budget
(about 30 minutes for all real-model runs of this figure and of ``llm_weighting_rho``) from one
1-step timing run (grpo, H = 64, 4 prompts x 8 rollouts, no evaluation: 58 s per step; not kept,
its reward was not used). The seven runs took 891 s of wall time in all (99-174 s each).

Run with ``rlvr-lab reproduce --only llm_budget_efficiency``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.llm_inputs import placeholder, provenance
from simulate.budget_sweep import efficiency_sweep
from theory.claims import INCONCLUSIVE, Claim, Verdict, judge

XI_FILE, RUNS = "xi_arithmetic_1digit.json", "train_arith1_grpo_h*.json"


@dataclass(frozen=True)
class Config:
    sim_seeds: int = 8  # seeds of the simulator curve drawn beside the measurement
SAME_START = ("model", "task", "task_options", "seed", "pool", "lr", "eval_prompts", "eval_group", "eval_horizon")

CLAIMS = (
    Claim("A.llm-xi-efficiency",
          "On a real model in the deficient-to-balanced range of the initial relative budget xi0 = H / E[T], "
          "RL learning efficiency per iteration rises with xi0, as paper A's simulator predicts for this range.",
          "V", "efficiency per iteration at the largest xi0 exceeds that at the smallest (simulator: about 2x "
          "from xi0 = 0.15 to 0.61)",
          "primary metric: D = eff(H_max) - eff(H_min), eff(H) = (held-out accuracy after the last step - at "
          "step 0) / steps, accuracy = mean reward of the held-out rollouts at the fixed evaluation horizon; "
          "95% interval D +- 1.96 se, se from the per-prompt paired differences over the held-out prompts "
          "(same prompts, same sampling uniforms; the shared step-0 accuracy cancels); supported if the "
          "interval's lower end > 0, not supported if its upper end < 0, else inconclusive. Secondary: eff "
          "per H with paired se, per training token, slope of the training reward, the simulator's curve"),
)


def _rewards(run, which):
    ev = sorted(run["eval"], key=lambda e: e["step"])
    return np.asarray(ev[0 if which == "start" else -1]["rewards"], dtype=float)  # (N, G)


def compute(ctx, cfg: Config) -> dict:
    xi = ctx.input(XI_FILE)
    runs = sorted((r for r in ctx.input_glob(RUNS) if r.get("eval")), key=lambda r: r["config"]["horizon"])
    if xi is None or len(runs) < 2:
        return {"missing": True, "files": [XI_FILE, RUNS]}
    mean_t = float(xi["summary"]["pooled_mean_t"])
    cfgs = [r["config"] for r in runs]
    same = all(all(c[k] == cfgs[0][k] for k in SAME_START) for c in cfgs)
    starts = [_rewards(r, "start") for r in runs]
    same_start = same and all(np.array_equal(s, starts[0]) for s in starts)
    per = []
    for r in runs:
        steps = int(r["steps_done"])
        a0, a1 = _rewards(r, "start").mean(1), _rewards(r, "end").mean(1)  # (N,) per held-out prompt
        e = (a1 - a0) / steps  # (N,)
        rew = np.asarray(r["reward_by_step"], dtype=float)
        per.append({"H": int(r["config"]["horizon"]), "xi0": r["config"]["horizon"] / mean_t, "steps": steps,
                    "eff_per_prompt": e, "eff": float(e.mean()), "eff_se": float(e.std(ddof=1) / np.sqrt(e.size)),
                    "acc_start": float(a0.mean()), "acc_end": float(a1.mean()),
                    "train_tokens": int(sum(x["tokens"] for x in r["log"])), "reward_by_step": rew,
                    "reward_slope": float(np.polyfit(np.arange(1, rew.size + 1), rew, 1)[0]) if rew.size > 1 else None,
                    "command": r["command"], "wall_seconds": r["wall_seconds"],
                    "rows_per_step": cfgs[0]["prompts"] * cfgs[0]["group"]})
    xs = np.array([p["xi0"] for p in per])
    c0 = cfgs[0]
    sim = ctx.unit("simulator", Unit(efficiency_sweep, xi_grid=xs, seeds=ctx.seeds("sim", cfg.sim_seeds, below=2**62),
                                     G=c0["group"], n_iter=per[0]["steps"], xi_eval=c0["eval_horizon"] / mean_t,
                                     mean_T_base=mean_t))
    sim_eff = np.asarray(sim["per_iteration"], dtype=float)
    return {"missing": False, "mean_t": mean_t, "xi_provenance": provenance(xi), "runs": per,
            "same_start": bool(same_start), "eval_prompts": int(starts[0].shape[0]), "eval_group": int(starts[0].shape[1]),
            "eval_horizon": c0["eval_horizon"], "hardware": provenance(runs[0])["hardware"],
            "model_label": provenance(runs[0])["model_label"],
            "sim_xi0": sim["xi0"], "sim_eff": sim_eff.mean(0),
            "sim_eff_se": sim_eff.std(0, ddof=1) / np.sqrt(cfg.sim_seeds)}


def evaluate(data) -> list:
    c = CLAIMS[0]
    if data.get("missing"):
        return [Verdict(c, INCONCLUSIVE, {}, note=f"result files {data['files']} missing from results/llm "
                        "(run `rlvr-lab llm xi` and `rlvr-lab llm train --eval-prompts`, see module docstring)")]
    runs = data["runs"]
    lo_run, hi_run = runs[0], runs[-1]
    d_i = np.asarray(hi_run["eff_per_prompt"]) - np.asarray(lo_run["eff_per_prompt"])  # (N,) paired
    d, se = float(d_i.mean()), float(d_i.std(ddof=1) / np.sqrt(d_i.size))
    lo, hi = d - 1.96 * se, d + 1.96 * se
    v = judge(supported=lo > 0, not_supported=hi < 0)
    sim = np.asarray(data["sim_eff"])
    measured = {"D": d, "xi0": {str(r["H"]): r["xi0"] for r in runs},
                "eff_per_iteration": {str(r["H"]): r["eff"] for r in runs},
                "eff_per_training_token": {str(r["H"]): r["eff"] * r["steps"] / max(r["train_tokens"], 1) for r in runs},
                "held_out_accuracy_start_end": {str(r["H"]): [r["acc_start"], r["acc_end"]] for r in runs},
                "train_reward_slope": {str(r["H"]): r["reward_slope"] for r in runs},
                "sim_eff_per_iteration": dict(zip((str(r["H"]) for r in runs), sim.tolist())),
                "sim_ratio_max_over_min": float(sim[-1] / sim[0]) if sim[0] > 0 else None}
    unc = {"D_ci95": [lo, hi], "eff_se": {str(r["H"]): r["eff_se"] for r in runs}}
    sizes = {"runs": len(runs), "steps_per_run": [r["steps"] for r in runs],
             "training_rollouts_per_step": lo_run["rows_per_step"], "held_out_prompts": data["eval_prompts"],
             "held_out_rollouts_per_prompt": data["eval_group"], "eval_horizon": data["eval_horizon"]}
    note = (f"H = {lo_run['H']} vs {hi_run['H']} (xi0 {lo_run['xi0']:.2f} vs {hi_run['xi0']:.2f}, E[T] = "
            f"{data['mean_t']:.1f} tokens); one seed, {lo_run['steps']} steps of lr 1e-5 per run: demonstration "
            "scale, the interval says what it can resolve")
    if v == INCONCLUSIVE and d != 0:
        note += (f"; the point estimate of D is {'below' if d < 0 else 'above'} 0, i.e. "
                 f"{'against' if d < 0 else 'in'} the simulator's direction, but the interval contains 0")
    if not data["same_start"]:
        v, note = INCONCLUSIVE, note + "; the runs do not share start, held-out prompts and seeds, so D is not paired"
    return [Verdict(c, v, measured, unc, sizes, note=note)]


def draw(data, axes):
    if data.get("missing"):
        return placeholder(axes, "llm_budget_efficiency", "result files missing: run `rlvr-lab llm train --eval-prompts` "
                           "(see module docstring)")
    runs = data["runs"]
    ax = axes[0]
    xs = [r["xi0"] for r in runs]
    ax.errorbar(xs, [r["eff"] for r in runs], yerr=[1.96 * r["eff_se"] for r in runs], fmt="o-", color="C0",
                capsize=3, label=f"{data.get('model_label', 'model')}, measured (95% paired interval)")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xscale="log", xlabel="xi0 = H / E[T] (log scale)", ylabel="held-out accuracy gain per step",
           title="efficiency vs xi0")
    tw = ax.twinx()
    tw.errorbar(data["sim_xi0"], data["sim_eff"], yerr=1.96 * np.asarray(data["sim_eff_se"]), fmt="s--", color="C1",
                capsize=3, label="simulator (right axis)")
    tw.set_ylabel("simulator: accuracy gain per iteration", color="C1")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = tw.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ax = axes[1]
    for k, r in enumerate(runs):
        ax.plot([0, r["steps"]], [r["acc_start"], r["acc_end"]], "o-", color=f"C{k}", label=f"H = {r['H']}")
    ax.set(xlabel="training step", ylabel=f"held-out accuracy at H = {data['eval_horizon']}",
           title=f"{data['eval_prompts']} held-out prompts x {data['eval_group']} rollouts")
    ax.legend(fontsize=8)
    ax = axes[2]
    for k, r in enumerate(runs):
        ax.plot(np.arange(1, len(r["reward_by_step"]) + 1), r["reward_by_step"], "o-", color=f"C{k}",
                label=f"H = {r['H']} ({r['rows_per_step']} rollouts/step)")
    ax.set(xlabel="training step", ylabel="mean training reward 1{T <= H}", title="training reward")
    ax.legend(fontsize=8)
    axes[0].figure.suptitle(f"{data.get('model_label', 'model')}, 1-digit sums, grpo, one seed ({data['hardware']})", fontsize=9)


FIGURE = Figure(name="llm_budget_efficiency", title="Paper A on a real model: learning efficiency vs measured xi0",
                claims=CLAIMS, config=Config(), inputs=(XI_FILE, RUNS), layout=Layout(1, 3, (15, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct, 1-digit sums: held-out gain per step at H = 16, 32, 64 beside the simulator.")
