"""Paper E on SmolLM2-135M-Instruct: the task-advantage ratio of an intermediate step, measured from
real rollouts, and the sign rule under a few steps of outcome-reward training.

Task: ``multistep`` with two chained additions of 1-digit numbers ("Start with 6. Add 2, then add
4. What is the final result?"), so step 1 (6 + 2 = 8) is the one intermediate result and step 2 is
the answer. A rollout's step check says whether the intermediate value appears completed in its
response (``Multistep.step_checks``); its reward is 1{final answer correct within H}. From the
held-out evaluations a training run records (``rlvr-lab llm train --task multistep --eval-prompts``:
every held-out rollout's reward and step checks, step 0 and the last step, same prompts and same
sampling uniforms, i.e. common random numbers), per intermediate step s:

    q+_s = P(final correct | step s correct),  q-_s = P(final correct | step s not correct),
    r_s = q+_s / q-_s,  and the sign rule (paper E, E.3): E[d theta_s] has the sign of r_s - 1, so
    under outcome-reward training P(step s correct) rises where r_s > 1 and falls where r_s < 1.

Reads ``results/llm/v2/train_multistep2add_*.json``, written by

    rlvr-lab llm train --model smollm2-135m --dtype float32 --task multistep --task-opt steps=2 \\
        --task-opt ops=+ --temperature 0.6 --estimator grpo --steps 8 --prompts 8 --group 8 --pool 64 \\
        --horizon 64 --lr 1e-5 --seed 1 --eval-prompts 64 --eval-group 8 --eval-horizon 64 \\
        --out-dir <run dir> --result results/llm/v2/train_multistep2add_grpo_s1.json

Design and modelling choices, fixed before the run [R]:
- Two additions of 1-digit numbers and temperature 0.6: probes of the untrained model on 16 other
  prompts x 8 rollouts (seed 100, not used here) solved 1.6% of 3-step mixed problems and 0.8% of
  2-step mixed problems at temperature 1, 1.6% of 2-step additions at temperature 1 and 4.7% at
  0.6; below a few percent neither q+ nor q- is measurable at this sample size, so the easiest
  variant was chosen. The probes looked only at final success, not at any ratio's side of 1.
- lr 1e-5 and 8 prompts x 8 rollouts per step as in the paper-A/B runs; 8 steps (sized to the
  2-core CPU budget); grpo, the paper's GRPO-type normalisation (the sign rule is the same).
- Intervals: rollouts of one prompt are correlated, so r's 95% interval is a prompt-cluster
  bootstrap (2,000 resamples of held-out prompts, fixed generator seed 0, percentile interval from
  inverted-CDF quantiles, so an infinite r (q- = 0) stays infinite);
  resamples where r is undefined (no rollout in one condition, or q+ = q- = 0) are counted and
  more than 5% of them makes the interval undecided. The change of step accuracy is paired per
  held-out prompt (same prompt, same uniforms) with a normal 95% interval over prompts.
- The last step's value is the answer (its q+ is 1 by construction): only intermediate steps count.

Run with ``rlvr-lab reproduce --only llm_composition``.
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout
from figures.llm_inputs import placeholder, provenance
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict
from theory.stats import conditional_ratio

PATTERN = "v2/train_multistep*.json"
BOOT, BOOT_SEED, MAX_UNDEFINED = 2000, 0, 0.05

CLAIMS = (
    Claim("E.llm-ratio",
          "On a real model, the task-advantage ratio r = q+/q- of an intermediate step is measurable from "
          "rollouts, and r > 1: a correct intermediate result makes the correct final answer more likely.",
          "V", "r_s > 1 for the intermediate steps of a compositional task (paper E, E.3)",
          "primary metric: r_s = q+_s / q-_s for every intermediate step s, from the held-out rollouts of the "
          "untrained model (step-0 evaluation of every result file, pooled); 95% interval by a prompt-cluster "
          "bootstrap (2,000 resamples, seed 0). Supported if every intermediate step's interval lies above 1; "
          "not supported if any step's interval lies below 1; else inconclusive (also when more than 5% of the "
          "resamples leave r undefined)"),
    Claim("E.llm-sign-rule",
          "On a real model under outcome-reward training, intermediate steps with r > 1 become more often "
          "correct and steps with r < 1 less often (paper E's sign rule).",
          "R", "sign of the change of P(step s correct) = sign(r_s - 1)",
          "primary metric: for every intermediate step s whose step-0 ratio interval excludes 1, delta_s = "
          "(step accuracy at the last evaluation) - (at step 0), paired per held-out prompt (same prompts and "
          "sampling uniforms), pooled over result files, normal 95% interval over prompts. Supported if every "
          "such step's interval lies on the side sign(r_s - 1) predicts; not supported if any lies on the "
          "opposite side; else inconclusive (also when no step's ratio interval excludes 1)"),
)


def _ratio(checks, final) -> float:
    """r = q+/q- over pooled rollouts (theory.stats.conditional_ratio): nan when undefined."""
    r = conditional_ratio(checks, final)[2]
    return np.nan if r is None else r


def ratio_bootstrap(checks, final, *, n_boot: int = BOOT, seed: int = BOOT_SEED) -> dict:
    """r for one step from checks and final (N, G) booleans, with its prompt-cluster bootstrap."""
    checks, final = np.asarray(checks, dtype=bool), np.asarray(final, dtype=bool)
    n = checks.shape[0]
    rng = np.random.default_rng(seed)
    boot = np.array([_ratio(checks[idx], final[idx]) for idx in rng.integers(0, n, size=(n_boot, n))])
    undefined = float(np.isnan(boot).mean())
    lo, hi = (np.quantile(boot[~np.isnan(boot)], [0.025, 0.975], method="inverted_cdf").tolist() if undefined <= MAX_UNDEFINED
              else (None, None))
    q_plus, q_minus, r = conditional_ratio(checks, final)
    return {"r": np.nan if r is None else r, "ci95": [lo, hi], "undefined_fraction": undefined,
            "q_plus": q_plus, "q_minus": q_minus, "step_correct": int(checks.sum()), "rollouts": int(checks.size)}


def _paired(before, after) -> dict:
    d = np.asarray(after, dtype=float).mean(1) - np.asarray(before, dtype=float).mean(1)  # (N,) per prompt
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("inf")
    m = float(d.mean())
    return {"delta": m, "ci95": [m - 1.96 * se, m + 1.96 * se], "prompts": int(d.size),
            "before": float(np.mean(before)), "after": float(np.mean(after))}


def compute(ctx, cfg) -> dict:
    runs = [r for r in ctx.input_glob(PATTERN) if r.get("eval") and "checks" in r["eval"][0]]
    if not runs:
        return {"missing": True}
    first, last, reward_by_step, steps_done = [], [], [], []
    for r in runs:
        ev = sorted(r["eval"], key=lambda e: e["step"])
        first.append(ev[0])
        last.append(ev[-1])
        reward_by_step.append(r["reward_by_step"])
        steps_done.append(int(r["steps_done"]))
    checks0 = np.concatenate([np.asarray(e["checks"], dtype=bool) for e in first])  # (N, G, S)
    final0 = np.concatenate([np.asarray(e["rewards"], dtype=float) > 0 for e in first])  # (N, G)
    checks1 = np.concatenate([np.asarray(e["checks"], dtype=bool) for e in last])
    final1 = np.concatenate([np.asarray(e["rewards"], dtype=float) > 0 for e in last])
    n_inter = checks0.shape[2] - 1
    steps = []
    for s in range(n_inter):
        steps.append({"step": s + 1, "ratio": ratio_bootstrap(checks0[..., s], final0),
                      "ratio_after": ratio_bootstrap(checks1[..., s], final1),
                      "accuracy_change": _paired(checks0[..., s], checks1[..., s])})
    c0 = runs[0]["config"]
    return {"missing": False, "steps": steps, "final_change": _paired(final0, final1),
            "reward_by_step": reward_by_step, "steps_done": steps_done, "files": len(runs),
            "held_out": {"prompts": int(checks0.shape[0]), "group": int(checks0.shape[1])},
            "settings": {k: c0.get(k) for k in ("task", "task_options", "estimator", "horizon", "temperature", "lr",
                                                   "prompts", "group", "eval_horizon", "dtype")},
            "provenance": provenance(runs[0])}


def _num(x) -> float:
    """A number from the figure's JSON data (+-inf are stored as strings, nan as null)."""
    return float("nan") if x is None else float(x)


def _ratio_side(rs) -> int:
    """+1 if r's interval lies above 1, -1 if below, 0 if it contains 1 or is undecided."""
    lo, hi = (_num(x) for x in rs["ci95"])
    return 1 if lo > 1 else -1 if hi < 1 else 0


def evaluate(data) -> list:
    c_ratio, c_sign = CLAIMS
    if data.get("missing"):
        note = ("result files v2/train_multistep*.json missing from results/llm (run `rlvr-lab llm train "
                "--task multistep --eval-prompts ...`, see module docstring)")
        return [Verdict(c_ratio, INCONCLUSIVE, {}, note=note), Verdict(c_sign, INCONCLUSIVE, {}, note=note)]
    steps = data["steps"]
    sides = [_ratio_side(s["ratio"]) for s in steps]
    v_ratio = NOT_SUPPORTED if any(x < 0 for x in sides) else SUPPORTED if all(x > 0 for x in sides) else INCONCLUSIVE
    sizes = {"result_files": data["files"], "held_out_prompts": data["held_out"]["prompts"],
             "rollouts_per_prompt": data["held_out"]["group"], "training_steps": data["steps_done"],
             "bootstrap_resamples": BOOT}
    m_ratio = {f"step{s['step']}": {k: s["ratio"][k] for k in ("r", "q_plus", "q_minus", "step_correct", "rollouts")}
               for s in steps}
    m_ratio["final_success_step0"] = data["final_change"]["before"]
    u_ratio = {f"step{s['step']}": {"r_ci95": s["ratio"]["ci95"], "undefined_fraction": s["ratio"]["undefined_fraction"]}
               for s in steps}
    note = (f"{data['settings']['task_options']}, temperature {data['settings']['temperature']}, "
            f"H = {data['settings']['eval_horizon']}; pooled rollouts are correlated within a prompt, hence the "
            "prompt-cluster bootstrap")
    out = [Verdict(c_ratio, v_ratio, m_ratio, u_ratio, sizes, note=note)]
    judged = [(s, side) for s, side in zip(steps, sides) if side != 0]
    agree = [(side > 0 and s["accuracy_change"]["ci95"][0] > 0) or (side < 0 and s["accuracy_change"]["ci95"][1] < 0)
             for s, side in judged]
    against = [(side > 0 and s["accuracy_change"]["ci95"][1] < 0) or (side < 0 and s["accuracy_change"]["ci95"][0] > 0)
               for s, side in judged]
    v_sign = INCONCLUSIVE if not judged else NOT_SUPPORTED if any(against) else SUPPORTED if all(agree) else INCONCLUSIVE
    m_sign = {f"step{s['step']}": {"predicted_sign": side, "accuracy_before": s["accuracy_change"]["before"],
                                   "accuracy_after": s["accuracy_change"]["after"],
                                   "delta": s["accuracy_change"]["delta"], "r_after": s["ratio_after"]["r"]}
              for s, side in zip(steps, sides)}
    m_sign["final_success_before_after"] = [data["final_change"]["before"], data["final_change"]["after"]]
    u_sign = {f"step{s['step']}": {"delta_ci95": s["accuracy_change"]["ci95"]} for s in steps}
    u_sign["final_delta_ci95"] = data["final_change"]["ci95"]
    sign_note = note if judged else note + "; no intermediate step's ratio interval excludes 1, so no sign is predicted"
    out.append(Verdict(c_sign, v_sign, m_sign, u_sign, sizes, note=sign_note))
    return out


def draw(data, axes):
    if data.get("missing"):
        return placeholder(axes, "llm_composition_ratio", "result files missing: run `rlvr-lab llm train --task "
                           "multistep --eval-prompts` (see module docstring)")
    steps = data["steps"]
    ax = axes[0]
    for k, s in enumerate(steps):
        for j, (key, label) in enumerate((("ratio", "step 0"), ("ratio_after", "after training"))):
            r, (lo, hi) = _num(s[key]["r"]), (_num(x) for x in s[key]["ci95"])
            x = k + 0.15 * (2 * j - 1)
            if np.isfinite(r) and r > 0 and np.isfinite(lo):  # r = 0 or inf has no place on a log axis
                hi = hi if np.isfinite(hi) else 10 * max(r, 1.0)
                ax.errorbar([x], [r], yerr=[[r - lo], [hi - r]], fmt="o", color=f"C{j}", capsize=3,
                            label=label if k == 0 else None)
            else:
                ax.annotate(f"r = {r:g}", (x, 1), fontsize=7, color=f"C{j}")
    ax.axhline(1, color="k", lw=0.6)
    ax.set(yscale="log", xticks=range(len(steps)), xticklabels=[f"step {s['step']}" for s in steps],
           ylabel="r = q+/q- (95% prompt bootstrap)", title="task-advantage ratio")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax = axes[1]
    for k, s in enumerate(steps):
        a = s["accuracy_change"]
        ax.plot([0, 1], [a["before"], a["after"]], "o-", color=f"C{k}", label=f"step {s['step']} correct")
    f = data["final_change"]
    ax.plot([0, 1], [f["before"], f["after"]], "s--", color="k", label="final answer correct")
    ax.set(xticks=[0, 1], xticklabels=["step 0", f"step {max(data['steps_done'])}"], ylabel="held-out fraction",
           title=f"{data['held_out']['prompts']} held-out prompts x {data['held_out']['group']} (paired)")
    ax.legend(fontsize=8)
    ax = axes[2]
    for k, rew in enumerate(data["reward_by_step"]):
        ax.plot(np.arange(1, len(rew) + 1), rew, "o-", label=f"run {k + 1}")
    ax.set(xlabel="training step", ylabel="mean training reward", title="training reward (grpo)")
    axes[0].figure.suptitle(f"{data['provenance']['model_label']}, 2-step additions ({data['provenance']['hardware']})",
                            fontsize=9)


FIGURE = Figure(name="llm_composition_ratio", title="Paper E on a real model: task-advantage ratio and sign rule",
                claims=CLAIMS, inputs=(PATTERN,), layout=Layout(1, 3, (15, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct, 2-step additions: r = q+/q- of the intermediate step before "
                            "training and the change of step accuracy after 8 grpo steps.")
