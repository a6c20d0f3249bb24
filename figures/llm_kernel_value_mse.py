"""Paper C on a real model: value MSE of GRPO-LOO, the global mean and KAE on a training run's rollouts.

Reads ``results/llm/kernel_*.json`` (``rlvr-lab llm kernel``, written by the kernel measurement
of the real-model backend): a short training run under paper C's reuse schedule (each minibatch
reused J consecutive steps), the rewards of every step, and at a few checkpoint steps each batch
prompt's "true" value V~ from K extra rollouts of the policy that sampled that step. The file's
``summary`` holds, per unit (checkpoint step, prompt), the squared error e = mean_g (V^_g - V~)^2
of each baseline on the trainer's own G rollouts: ``grpo_loo`` (leave-one-out mean, the registry's
rloo), ``global_mean`` (REINFORCE++'s batch mean) and ``kae(h=..)`` (the registry's kae, history
replayed from the logged rewards), with ``primary`` the first bandwidth's key. V~'s own noise adds
the same V(1-V)/K to every method, so paired differences are unbiased.

Units of all result files are pooled. Until a file is committed the claim is inconclusive and the
figure says so.

Command sized for about 8-10 minutes on 2 idle CPU cores (SmolLM2-135M, float32; estimated from the
committed training runs, about 14 s per step of 4 x 4 rollouts at H = 32, and the sampler's
throughput in results/llm/xi_arithmetic_1digit.json): 9 steps of 8 prompts x 4 rollouts, J = 3,
true values by 32 rollouts at the last step of each block, 24 units::

    rlvr-lab llm kernel --model smollm2-135m --task arithmetic --task-opt digits=1 --prompts 8 \\
        --group 4 --horizon 32 --pool 32 --steps 9 --reuse 3 --checkpoints 3,6,9 --truth-group 32 \\
        --bandwidths 0.5,1.0 --lr 1e-5 --seed 0 --batch-size 128 --run-dir runs/kernel_smollm2 \\
        --out results/llm/kernel_smollm2.json

(``--resume`` after an interruption; half the time: ``--prompts 4 --steps 6 --checkpoints 3,6``.)

Run with ``rlvr-lab reproduce --only llm_kernel``.
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout
from figures.llm_inputs import placeholder, provenance
from theory.claims import INCONCLUSIVE, Claim, Verdict, judge
from theory.stats import mean_ci, mean_se

PATTERN = "kernel_*.json"
LOO, GLOBAL = "grpo_loo", "global_mean"

CLAIMS = (
    Claim("C.llm-value-mse",
          "On a real model's training rollouts (reuse schedule, G = 4), KAE's value estimate has the lowest "
          "MSE against the prompt's true value: below the GRPO leave-one-out mean and the global batch mean.",
          "V", "per-prompt squared error: KAE(primary h) < GRPO-LOO (and < global mean)",
          "Primary metric: d = e(KAE at the run's primary bandwidth, the first of --bandwidths, default h = 0.5) "
          "- e(GRPO-LOO) per unit (checkpoint step, batch prompt), e = mean over the G trainer rollouts of "
          "(V^ - V~)^2 with V~ the mean of K extra rollouts of the same policy; units of all result files "
          "pooled; Student-t 95% interval of mean d over units. Supported iff the upper end < 0; not supported "
          "iff the lower end > 0; otherwise inconclusive (also with < 2 units or no result file). Secondary, "
          "reported not judged: KAE - global mean, the second bandwidth, noise-corrected MSEs."),
)


def compute(ctx, cfg) -> dict:
    runs = [r for r in ctx.input_glob(PATTERN) if r.get("kind") == "kernel" and "summary" in r]
    out = []
    for r in runs:
        s = r["summary"]
        out.append({"provenance": provenance(r), "primary": s["primary"], "methods": s["methods"],
                    "sq_err": s["sq_err"], "mse": s["mse"], "mse_corrected": s["mse_corrected"],
                    "units": s["units"], "reward_by_step": r.get("reward_by_step", []),
                    "config": {k: (r.get("config") or {}).get(k) for k in
                               ("steps", "reuse", "checkpoints", "truth_group", "bandwidths", "kernel", "lr")}})
    return {"runs": out}


def _pooled(runs, key_of) -> np.ndarray:
    return np.concatenate([np.asarray(r["sq_err"][key_of(r)], dtype=float) for r in runs]) if runs else np.zeros(0)


def evaluate(data) -> list:
    runs = data["runs"]
    if not runs:
        return [Verdict(CLAIMS[0], INCONCLUSIVE, {}, note=f"inconclusive: no result file results/llm/{PATTERN} "
                        "(run `rlvr-lab llm kernel`, see the module docstring)")]
    kae = _pooled(runs, lambda r: r["primary"])
    loo, glob = _pooled(runs, lambda r: LOO), _pooled(runs, lambda r: GLOBAL)
    measured = {"mse_kae_primary": float(kae.mean()), "mse_grpo_loo": float(loo.mean()),
                "mse_global_mean": float(glob.mean()), "primary": sorted({r["primary"] for r in runs})}
    sizes = {"units": int(kae.size), "files": len(runs)}
    if kae.size < 2:
        return [Verdict(CLAIMS[0], INCONCLUSIVE, measured, {}, sizes, note="fewer than 2 units")]
    d, lo, hi = mean_ci(kae - loo)
    dg, glo, ghi = mean_ci(kae - glob)
    measured |= {"d_kae_minus_loo": d, "d_kae_minus_global": dg}
    unc = {"d_kae_minus_loo_ci95": [lo, hi], "d_kae_minus_global_ci95": [glo, ghi]}
    note = "demonstration scale: one short run on CPU" if len(runs) == 1 else ""
    if lo == hi == 0.0:
        note = "KAE and GRPO-LOO gave identical errors (no history inside the kernel window?)"
    return [Verdict(CLAIMS[0], judge(supported=hi < 0, not_supported=lo > 0), measured, unc, sizes, note=note)]


def draw(data, axes):
    ax, bx = axes
    runs = data["runs"]
    if not runs:
        placeholder(axes, "C on a real model: value MSE", f"inconclusive: no result file results/llm/{PATTERN}\n"
                    "(run `rlvr-lab llm kernel`, see figures/llm_kernel_value_mse.py)")
        return
    methods = [m for m in runs[0]["methods"] if all(m in r["sq_err"] for r in runs)]
    means, ses = zip(*(mean_se(_pooled(runs, lambda r, m=m: m)) for m in methods))
    colors = ["C0" if m == LOO else "C1" if m == GLOBAL else "C2" for m in methods]
    ax.bar(range(len(methods)), means, yerr=ses, color=colors, capsize=4)
    ax.set_xticks(range(len(methods)), methods, rotation=20)
    ax.set(ylabel="value MSE vs V~ (mean over units, +- se)", title="value MSE on the trainer's rollouts")
    kae, loo = _pooled(runs, lambda r: r["primary"]), _pooled(runs, lambda r: LOO)
    bx.scatter(loo, kae, s=18)
    top = max(float(np.max(loo, initial=0)), float(np.max(kae, initial=0)), 1e-3)
    bx.plot([0, top], [0, top], "k--", lw=0.8)
    bx.set(xlabel="GRPO-LOO squared error", ylabel=f"KAE ({runs[0]['primary']}) squared error",
           title="per (step, prompt) unit; below the diagonal: KAE better")


FIGURE = Figure(name="llm_kernel_value_mse", title="Paper C on a real model: value MSE of KAE vs GRPO-LOO",
                claims=CLAIMS, compute=compute, evaluate=evaluate, draw=draw, layout=Layout(1, 2, (11, 4.2)),
                inputs=(PATTERN,),
                description="SmolLM2-135M short training run with reuse schedule: value MSE of GRPO-LOO, "
                            "global mean and KAE against many-rollout true values.")
