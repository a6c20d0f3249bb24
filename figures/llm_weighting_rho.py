"""Paper B on SmolLM2-135M-Instruct: the start distribution of rho_hat on countdown, the time to
target each weighting predicts from it, and short from-scratch training runs per weighting on two
tasks: countdown (low start success) and 1-digit sums (intermediate start success).

Reads ``results/llm/weights_countdown.json``, ``results/llm/train_countdown_<estimator>.json`` and
``results/llm/v2/train_arith1_<estimator>_h32_s<seed>.json``:

    rlvr-lab llm weights --model smollm2-135m --task countdown --prompts 12 --group 6 --horizon 48 \\
        --batch-size 72 --seed 0 --out results/llm/weights_countdown.json
    rlvr-lab llm train --model smollm2-135m --task countdown --estimator <name> --steps 3 --prompts 2 \\
        --group 4 --horizon 40 --lr 1e-5 --seed 0 --out-dir <run dir> \\
        --result results/llm/train_countdown_<name>.json
    rlvr-lab llm train --model smollm2-135m --dtype float32 --task arithmetic --task-opt digits=1 \\
        --estimator <grpo|linear_r> --steps 5 --prompts 8 --group 8 --pool 24 --horizon 32 --lr 1e-5 \\
        --seed <1|2|3> --eval-prompts 40 --eval-group 8 --eval-horizon 48 --batch-size 64 \\
        --out-dir <run dir> --result results/llm/v2/train_arith1_<name>_h32_s<seed>.json

(the exact commands are recorded in each file; the grpo runs are also the middle runs of
``llm_budget_efficiency``). What each data set can show: on countdown every rollout of every run
failed, so grpo/rloo/dapo made zero-gradient steps and only the asymmetric weightings moved the
policy (their runs coincide: both give A = -1 on an all-fail group); the comparison of rewards
there is empty. The 1-digit sums start at a mean success of about 0.35, where every weighting has
signal, so the arithmetic runs are the informative comparison.

Power calculation for the 1-digit sums (written before the v2 runs, from the v1 pilot: one seed,
5 steps x 16 rollouts per weighting, ``results/llm/train_arith1_<name>_h32.json``, which are kept
but no longer judged): the pilot's asymmetric - symmetric delta was -0.057 at a per-step success of
about 0.45. To decide "not supported" (upper end < 0) at that effect the 95% half-width must be
below 0.057, i.e. se < 0.029; with the binomial se of each arm's mean, sqrt(2 p (1 - p) / n), that
needs n >= 2 * 0.2475 / 0.029^2 ~ 590 rollouts per arm after step 1. The v2 design: linear_r
against grpo (paper B's main asymmetric weighting against the most used symmetric one), 3 seeds x 4 steps after the first x
64 rollouts = 768 per arm, same seed = same pool, held-out prompts and uniforms, and step 1 shared
(both start from the same model). The binomial se does not carry the run-to-run variance between
seeds, so the verdict also requires every seed's own delta to agree (declared with this design).

Run with ``rlvr-lab reproduce --only llm_weighting_rho``.

Departures from paper B: TinyZero's countdown is replaced by generated, always-solvable problems
(3 numbers <= 20); runs are a few steps of a 135M model on a CPU, i.e. demonstration-scale: the
verdict says so through its sample sizes. Prediction: population dynamics d rho/dt = w(rho) from
the Jeffreys-smoothed rho_hat of each prompt (``llm_backend.measure_weighting``).
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout
from figures.llm_inputs import placeholder, provenance
from theory.claims import INCONCLUSIVE, Claim, Verdict, combine, judge

ASYM, SYM = ("linear_r", "sqrt_r"), ("grpo", "rloo", "dapo")
MARGIN = 0.05  # declared: "at least as good" within 0.05 reward
DATASETS = (("countdown", "train_countdown_*.json"), ("1-digit sums", "v2/train_arith1_*_h32_s*.json"))

CLAIMS = (
    Claim("B.llm-weighting",
          "On a real model trained from scratch, asymmetric prompt weightings (Linear-R, Sqrt-R) raise the "
          "reward at least as fast as GRPO, RLOO and DAPO.",
          "V", "mean reward after the first step: asymmetric >= symmetric (paper B, from-scratch runs)",
          "primary metric, per data set (countdown, one seed; 1-digit sums at H = 32, seeds 1-3): delta = mean "
          "reward over steps 2..N of the linear_r/sqrt_r runs minus that of the grpo/rloo/dapo runs (same seed, "
          "same prompts, step 1 shared), pooled over the seeds' steps, 95% interval from binomial standard errors "
          "of the per-step rewards (Jeffreys-smoothed rate, so all-zero steps keep their uncertainty); supported "
          f"if the interval's lower end > -{MARGIN} (and its upper end >= 0) and every seed's own delta > "
          f"-{MARGIN}, not supported if its upper end < 0 and every seed's own delta < 0, else inconclusive. "
          "Combination rule (declared with the 1-digit runs, before they were made): not supported if any data "
          "set says so; supported if one does and none contradicts; else inconclusive; every data set's numbers "
          "are kept. Secondary (1-digit sums): held-out accuracy gain per run at H = 48 and its asymmetric-minus-"
          "symmetric difference, paired per (seed, held-out prompt)"),
)


def _run_entry(r) -> dict:
    cfg = r["config"]
    out = {"estimator": cfg["estimator"], "seed": int(cfg.get("seed", 0)), "reward": r["reward_by_step"], "rows_per_step": cfg["prompts"] * cfg["group"],
           "nonzero_adv": [x["nonzero_adv_fraction"] for x in r["log"]], "command": r["command"],
           "wall_seconds": r["wall_seconds"], "steps": r["steps_done"], "horizon": cfg.get("horizon")}
    if r.get("eval"):
        ev = sorted(r["eval"], key=lambda e: e["step"])
        out["eval_start"] = np.asarray(ev[0]["rewards"], dtype=float).mean(1)  # (N,) per held-out prompt
        out["eval_end"] = np.asarray(ev[-1]["rewards"], dtype=float).mean(1)
        out["eval_horizon"] = ev[-1]["horizon"]
    return out


WEIGHTS_FILE = "weights_countdown.json"


def compute(ctx, cfg) -> dict:
    w = ctx.input(WEIGHTS_FILE)
    data = {"missing_weights": w is None, "datasets": {}}
    if w is not None:
        s = w["summary"]
        data.update(provenance=provenance(w), rho_values=s["rho_hat_values"], rho_counts=s["rho_hat_counts"],
                    mean_rho_hat=s["mean_rho_hat"], all_fail=s["all_fail_fraction"], target=s["target"],
                    predicted={k: v["median_time_to_target"] for k, v in s["predicted"].items()},
                    n_prompts=s["num_prompts"], group=s["group"])
    for label, pattern in DATASETS:
        runs = {f"{e['estimator']}_s{e['seed']}": e for e in map(_run_entry, ctx.input_glob(pattern))}
        if runs:
            data["datasets"][label] = runs
    return data


def _pool(runs, names, seed=None):
    """Mean reward over steps 2..N of the runs of ``names`` (one seed or all), its binomial se, steps."""
    vals, var, n = [], 0.0, 0
    for r in runs.values():
        if r["estimator"] not in names or (seed is not None and r["seed"] != seed):
            continue
        rows = r["rows_per_step"]
        for x in r["reward"][1:]:
            vals.append(x)
            p = (x * rows + 0.5) / (rows + 1.0)  # Jeffreys-smoothed: an all-zero step is not certainty
            var += p * (1 - p) / rows
            n += 1
    if not vals:
        return None, None, 0
    return float(np.mean(vals)), float(np.sqrt(var) / n), n


def _held_out(runs) -> dict:
    """Secondary: held-out gain per run, and asym - sym end accuracy paired per (seed, held-out prompt)."""
    have = {k: r for k, r in runs.items() if "eval_end" in r}
    out = {"gain": {k: float(np.mean(np.asarray(r["eval_end"]) - np.asarray(r["eval_start"]))) for k, r in have.items()}}
    diffs = []
    for seed in sorted({r["seed"] for r in have.values()}):
        a = [r["eval_end"] for r in have.values() if r["seed"] == seed and r["estimator"] in ASYM]
        s = [r["eval_end"] for r in have.values() if r["seed"] == seed and r["estimator"] in SYM]
        if a and s:
            diffs.append(np.mean(a, axis=0) - np.mean(s, axis=0))  # (N,) this seed's prompts
    if diffs:
        d = np.concatenate(diffs)
        se = float(np.std(d, ddof=1) / np.sqrt(d.size))
        out.update(asym_minus_sym=float(d.mean()), ci95=[float(d.mean() - 1.96 * se), float(d.mean() + 1.96 * se)],
                   prompts=int(d.size))
    return out


def _judge(label, runs) -> Verdict:
    c = CLAIMS[0]
    a, se_a, na = _pool(runs, ASYM)
    s, se_s, ns = _pool(runs, SYM)
    seeds = sorted({r["seed"] for r in runs.values()})
    sizes = {"runs": sorted(runs), "seeds": seeds, "steps_used_asym": na, "steps_used_sym": ns,
             "rollouts_per_step": sorted({r["rows_per_step"] for r in runs.values()}),
             "horizon": sorted({r["horizon"] for r in runs.values() if r["horizon"] is not None})}
    if a is None or s is None:
        return Verdict(c, INCONCLUSIVE, {}, sample_size=sizes,
                       note=f"{label}: training results for both weighting families are missing")
    d = a - s
    se = float(np.hypot(se_a, se_s))
    lo, hi = d - 1.96 * se, d + 1.96 * se
    per_seed = {}
    for seed in seeds:
        a_s, s_s = _pool(runs, ASYM, seed)[0], _pool(runs, SYM, seed)[0]
        if a_s is not None and s_s is not None:
            per_seed[str(seed)] = a_s - s_s
    ds = np.array(list(per_seed.values()))
    v = judge(supported=lo > -MARGIN and hi >= 0 and bool((ds > -MARGIN).all()),  # inside (-MARGIN, 0): not supported
              not_supported=hi < 0 and bool((ds < 0).all()))
    measured = {"delta": d, "asym_mean_reward": a, "sym_mean_reward": s, "delta_per_seed": per_seed,
                "nonzero_advantage_fraction": {k: float(np.mean(r["nonzero_adv"])) for k, r in runs.items()}}
    note = f"{label}: {len(seeds)} seed(s), CPU runs of a few steps of a 135M model"
    if v == INCONCLUSIVE and (lo > -MARGIN and hi >= 0 or hi < 0):
        note += "; the pooled interval decides but the seeds' own deltas disagree, so the run-to-run variance decides"
    if sum(sum(r["reward"]) for r in runs.values()) == 0:
        note += ("; no rollout of any run succeeded, so grpo/rloo/dapo made zero-gradient steps (all groups "
                 "all-fail) while linear_r/sqrt_r pushed down failed responses (both give A = -1 on an "
                 "all-fail group, so their two runs coincide): the reward comparison is empty")
    if any("eval_end" in r for r in runs.values()):
        measured["held_out"] = _held_out(runs)
        sizes["held_out_prompts"] = measured["held_out"].get("prompts")
    return Verdict(c, v, measured, {"delta_ci95": [lo, hi]}, sizes, note=note)


def evaluate(data) -> list:
    c = CLAIMS[0]
    sets = data["datasets"]
    if not sets:
        return [Verdict(c, INCONCLUSIVE, {}, note="training results for both weighting families are missing "
                        "from results/llm")]
    per = [_judge(label, runs) for label, runs in sets.items()]
    verdict = combine(per, rule="any")
    measured = {label: {**v.measured, "verdict": v.verdict} for label, v in zip(sets, per)}
    if not data["missing_weights"]:
        measured["countdown_start"] = {"mean_rho_hat": data["mean_rho_hat"], "all_fail_fraction": data["all_fail"],
                                       "predicted_median_time_to_target": data["predicted"]}
    sizes = {label: v.sample_size for label, v in zip(sets, per)}
    if not data["missing_weights"]:
        sizes["countdown_start"] = {"prompts": data["n_prompts"], "rollouts_per_prompt": data["group"]}
    return [Verdict(c, verdict, measured, {label: v.uncertainty for label, v in zip(sets, per)}, sizes,
                    note=" | ".join(v.note for v in per))]


def draw(data, axes):
    if data["missing_weights"] and not data["datasets"]:
        return placeholder(axes, "llm_weighting_rho", "result files missing: run `rlvr-lab llm weights` / `llm train`")
    if not data["missing_weights"]:
        ax = axes[0]
        ax.bar(data["rho_values"], data["rho_counts"], width=0.8 / max(data["group"], 1))
        ax.set(xlabel="rho_hat at the start (countdown)", ylabel="prompts",
               title=f"start: mean rho_hat {data['mean_rho_hat']:.3f}, all-fail {data['all_fail']:.0%}")
        ax = axes[1]
        names = list(data["predicted"])
        vals = [data["predicted"][k] for k in names]
        finite = [v if v is not None and np.isfinite(v) else np.nan for v in vals]
        ax.bar(names, finite, color=["C1" if k in ASYM else "C0" for k in names])
        ax.set(ylabel=f"predicted median time to rho = {data['target']}", title="prediction (d rho/dt = w(rho))")
    for ax, label in zip(axes[2:], ("countdown", "1-digit sums")):
        runs = data["datasets"].get(label, {})
        colours = {e: f"C{k}" for k, e in enumerate(sorted({r["estimator"] for r in runs.values()}))}
        for name, r in sorted(runs.items()):
            asym = r["estimator"] in ASYM
            ax.plot(np.arange(1, len(r["reward"]) + 1), r["reward"], "o-" if asym else "s--",
                    color=colours[r["estimator"]], alpha=0.8, label=name)
        rows = ", ".join(str(n) for n in sorted({r["rows_per_step"] for r in runs.values()}))
        ax.set(xlabel="training step", ylabel="mean reward of the step's rollouts",
               title=f"{label}: from-scratch runs ({rows} rollouts/step)" if runs else f"{label}: no runs")
        if runs:
            ax.legend(fontsize=8)
    label = data["provenance"].get("model_label", "model") if not data["missing_weights"] else "model"
    axes[0].figure.suptitle(f"{label}: countdown one seed per weighting, 1-digit sums seeds 1-3" + (
        f" ({data['provenance']['hardware']})" if not data["missing_weights"] else ""), fontsize=9)


FIGURE = Figure(name="llm_weighting_rho", title="Paper B on a real model: start rho_hat, predicted and measured",
                claims=CLAIMS, inputs=(WEIGHTS_FILE,) + tuple(p for _, p in DATASETS), layout=Layout(1, 4, (18, 4)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct: countdown rho_hat at the start, time to target per weighting, short runs on countdown and 1-digit sums.")
