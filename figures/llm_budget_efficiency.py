"""Paper A on SmolLM2-135M-Instruct: learning efficiency against the measured xi0, beside the simulator.

Short GRPO runs on 1-digit sums (the task where the base model has intermediate success: q(48) ~ 0.35,
censored E[T] ~ 105 tokens in ``results/llm/xi_arithmetic_1digit.json``) at three training horizons
H in {16, 32, 64}, i.e. xi0 = H / E[T] ~ 0.15, 0.30, 0.61 (deficient to the lower edge of balanced),
from the same start, each at three seeds. Reads ``results/llm/v2/train_arith1_grpo_h<H>_s<seed>.json``:

    rlvr-lab llm train --model smollm2-135m --dtype float32 --task arithmetic --task-opt digits=1 \
        --estimator grpo --steps 5 --prompts 8 --group 8 --pool 24 --horizon <H> --lr 1e-5 --seed <s> \
        --eval-prompts 40 --eval-group 8 --eval-horizon 48 --batch-size 64 --out-dir <run dir> \
        --result results/llm/v2/train_arith1_grpo_h<H>_s<s>.json

(exact commands in each file). Efficiency is measured as in ``simulate.budget_sweep`` (H sweep at a
fixed base policy): held-out accuracy gain at a FIXED evaluation horizon per iteration, on 40
held-out prompts x 8 rollouts at H_eval = 48, evaluated before step 1 and after step 5. Within a
seed every run evaluates the same prompts with the same sampling uniforms (common random numbers),
so run-vs-run differences are paired per prompt [R]; seeds differ in training pool, held-out
prompts and sampling. The simulator's prediction is recomputed here at the measured xi0 with
``simulate.budget_sweep.efficiency_sweep`` (K = 1, the fitted K_hat of the xi run is 1.00; G, steps
and xi_eval matched to the runs; its other settings as in ``budget_efficiency``) and compared in
shape only: a 135M transformer and the logistic-hazard toy have incomparable learning rates.

Power calculation (written before the v2 runs, from the v1 pilot of one seed, 5 steps x 16
rollouts, 16 held-out prompts x 4 rollouts, now in ``results/llm/train_arith1_grpo_h*.json``): the
pilot's D = eff(64) - eff(16) = -0.028 per step with a per-prompt sd of 0.068, so an interval of
half-width |D| needs n >= (1.96 * 0.068 / 0.028)^2 ~ 23 paired prompt units, and 80% power at
alpha = 0.05 needs n >= (1.96 + 0.84)^2 * 0.068^2 / 0.028^2 ~ 46. The v2 design has 3 seeds x 40
prompts = 120 units of 8 rollouts each (8 rather than 4 rollouts also shrinks the per-prompt sd),
and 64 rather than 16 training rollouts per step. Per-prompt units do not carry the run-to-run
(training) variance between seeds, so the verdict also requires every seed to agree in sign.

Design (fixed before the v2 runs; nothing was changed after seeing them): 5 steps x 8 prompts x 8
rollouts per run, pool 24, lr 1e-5, float32, seeds 1-3; the same runs at H = 32 are paper B's grpo
arm (``llm_weighting_rho``). Sized to the 2-core CPU budget (about 8 minutes per run).

Run with ``rlvr-lab reproduce --only llm_budget_efficiency``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.llm_inputs import placeholder, provenance
from simulate.budget_sweep import efficiency_sweep
from theory.claims import INCONCLUSIVE, Claim, Verdict, judge

XI_FILE, RUNS = "xi_arithmetic_1digit.json", "v2/train_arith1_grpo_h*_s*.json"
MIN_SEEDS = 3  # declared: the verdict needs at least this many seeds with both end horizons


@dataclass(frozen=True)
class Config:
    sim_seeds: int = 8  # seeds of the simulator curve drawn beside the measurement


SAME_START = ("model", "task", "task_options", "seed", "pool", "lr", "eval_prompts", "eval_group", "eval_horizon",
              "prompts", "group", "steps", "dtype")

CLAIMS = (
    Claim("A.llm-xi-efficiency",
          "On a real model in the deficient-to-balanced range of the initial relative budget xi0 = H / E[T], "
          "RL learning efficiency per iteration rises with xi0, as paper A's simulator predicts for this range.",
          "V", "efficiency per iteration at the largest xi0 exceeds that at the smallest (simulator: about 2x "
          "from xi0 = 0.15 to 0.61)",
          "primary metric: D = eff(H_max) - eff(H_min), eff(H) = (held-out accuracy after the last step - at "
          "step 0) / steps, accuracy = mean reward of a held-out prompt's rollouts at the fixed evaluation "
          "horizon; units = (seed, held-out prompt) pairs, paired within a seed (same prompts, same sampling "
          "uniforms; the shared step-0 accuracy cancels), pooled over seeds; 95% interval D +- 1.96 se over "
          "the units. Supported if the interval's lower end > 0 and every seed's own D_s > 0; not supported if "
          "its upper end < 0 and every D_s < 0; else inconclusive (also with fewer than 3 seeds that have both "
          "end horizons from a shared start). Secondary: eff per H, per training token, slope of the training "
          "reward, the simulator's curve"),
)


def _rewards(run, which):
    ev = sorted(run["eval"], key=lambda e: e["step"])
    return np.asarray(ev[0 if which == "start" else -1]["rewards"], dtype=float)  # (N, G)


def _run_entry(r, mean_t) -> dict:
    steps = int(r["steps_done"])
    a0, a1 = _rewards(r, "start").mean(1), _rewards(r, "end").mean(1)  # (N,) per held-out prompt
    e = (a1 - a0) / steps  # (N,)
    rew = np.asarray(r["reward_by_step"], dtype=float)
    c = r["config"]
    return {"H": int(c["horizon"]), "seed": int(c["seed"]), "xi0": c["horizon"] / mean_t, "steps": steps,
            "eff_per_prompt": e, "eff": float(e.mean()), "acc_start": float(a0.mean()), "acc_end": float(a1.mean()),
            "train_tokens": int(sum(x["tokens"] for x in r["log"])), "reward_by_step": rew,
            "reward_slope": float(np.polyfit(np.arange(1, rew.size + 1), rew, 1)[0]) if rew.size > 1 else None,
            "command": r["command"], "wall_seconds": r["wall_seconds"], "rows_per_step": c["prompts"] * c["group"]}


def _shares_start(runs) -> bool:
    """One seed's runs: same start settings (all but the horizon) and identical step-0 evaluations."""
    cfgs = [r["config"] for r in runs]
    same = all(c.get(k) == cfgs[0].get(k) for c in cfgs for k in SAME_START)
    return same and all(np.array_equal(_rewards(r, "start"), _rewards(runs[0], "start")) for r in runs)


def compute(ctx, cfg: Config) -> dict:
    xi = ctx.input(XI_FILE)
    runs = [r for r in ctx.input_glob(RUNS) if r.get("eval")]
    if xi is None or not runs:
        return {"missing": True, "files": [XI_FILE, RUNS]}
    mean_t = float(xi["summary"]["pooled_mean_t"])
    by_seed = {}
    for r in sorted(runs, key=lambda r: (r["config"]["seed"], r["config"]["horizon"])):
        by_seed.setdefault(int(r["config"]["seed"]), []).append(r)
    seeds = {str(s): {"same_start": _shares_start(rs), "runs": [_run_entry(r, mean_t) for r in rs]}
             for s, rs in by_seed.items()}
    horizons = sorted({e["H"] for v in seeds.values() for e in v["runs"]})
    xs = np.array([h / mean_t for h in horizons])
    c0 = runs[0]["config"]
    sim = ctx.unit("simulator", Unit(efficiency_sweep, xi_grid=xs, seeds=ctx.seeds("sim", cfg.sim_seeds, below=2**62),
                                     G=c0["group"], n_iter=int(runs[0]["steps_done"]),
                                     xi_eval=c0["eval_horizon"] / mean_t, mean_T_base=mean_t))
    sim_eff = np.asarray(sim["per_iteration"], dtype=float)
    first = _rewards(runs[0], "start")
    return {"missing": False, "mean_t": mean_t, "xi_provenance": provenance(xi), "seeds": seeds, "horizons": horizons,
            "eval_prompts": int(first.shape[0]), "eval_group": int(first.shape[1]), "eval_horizon": c0["eval_horizon"],
            "hardware": provenance(runs[0])["hardware"], "model_label": provenance(runs[0])["model_label"],
            "sim_xi0": sim["xi0"], "sim_eff": sim_eff.mean(0),
            "sim_eff_se": sim_eff.std(0, ddof=1) / np.sqrt(cfg.sim_seeds)}


def _per_horizon(data) -> dict:
    """eff per H pooled over the seeds' prompts: {H: (mean, se, units)}."""
    out = {}
    for h in data["horizons"]:
        e = np.concatenate([np.asarray(r["eff_per_prompt"]) for v in data["seeds"].values() for r in v["runs"]
                            if r["H"] == h])
        out[h] = (float(e.mean()), float(e.std(ddof=1) / np.sqrt(e.size)) if e.size > 1 else float("inf"), int(e.size))
    return out


def evaluate(data) -> list:
    c = CLAIMS[0]
    if data.get("missing"):
        return [Verdict(c, INCONCLUSIVE, {}, note=f"result files {data['files']} missing from results/llm "
                        "(run `rlvr-lab llm xi` and `rlvr-lab llm train --eval-prompts`, see module docstring)")]
    h_lo, h_hi = data["horizons"][0], data["horizons"][-1]
    units, per_seed, unpaired = [], {}, []
    for seed, v in data["seeds"].items():
        by_h = {r["H"]: r for r in v["runs"]}
        if h_lo not in by_h or h_hi not in by_h or h_lo == h_hi:
            continue
        if not v["same_start"]:
            unpaired.append(seed)
            continue
        d_i = np.asarray(by_h[h_hi]["eff_per_prompt"]) - np.asarray(by_h[h_lo]["eff_per_prompt"])  # (N,) paired
        units.append(d_i)
        per_seed[seed] = float(d_i.mean())
    eff = _per_horizon(data)
    xi0 = {str(h): h / data["mean_t"] for h in data["horizons"]}
    sim = np.asarray(data["sim_eff"])
    measured = {"xi0": xi0, "eff_per_iteration": {str(h): m for h, (m, _, _) in eff.items()},
                "sim_eff_per_iteration": dict(zip((str(h) for h in data["horizons"]), sim.tolist())),
                "sim_ratio_max_over_min": float(sim[-1] / sim[0]) if sim[0] > 0 else None,
                "D_per_seed": per_seed}
    runs = [r for v in data["seeds"].values() for r in v["runs"]]
    measured["held_out_accuracy_start_end"] = {f"H{r['H']}_s{r['seed']}": [r["acc_start"], r["acc_end"]] for r in runs}
    measured["train_reward_slope"] = {f"H{r['H']}_s{r['seed']}": r["reward_slope"] for r in runs}
    measured["eff_per_training_token"] = {
        str(h): float(np.mean([r["eff"] * r["steps"] / max(r["train_tokens"], 1) for r in runs if r["H"] == h]))
        for h in data["horizons"]}
    sizes = {"seeds_paired": len(per_seed), "runs": len(runs), "steps_per_run": sorted({r["steps"] for r in runs}),
             "training_rollouts_per_step": runs[0]["rows_per_step"], "held_out_prompts_per_seed": data["eval_prompts"],
             "held_out_rollouts_per_prompt": data["eval_group"], "eval_horizon": data["eval_horizon"],
             "units": int(sum(u.size for u in units))}
    unc = {"eff_se": {str(h): se for h, (_, se, _) in eff.items()}}
    note = f"H = {h_lo} vs {h_hi} (xi0 {xi0[str(h_lo)]:.2f} vs {xi0[str(h_hi)]:.2f}, E[T] = {data['mean_t']:.1f} tokens)"
    if unpaired:
        note += f"; seeds {unpaired} do not share start, held-out prompts and uniforms across H, so they are left out"
    if len(per_seed) < MIN_SEEDS:
        return [Verdict(c, INCONCLUSIVE, measured, unc, sizes,
                        note=note + f"; {len(per_seed)} paired seed(s), the design needs >= {MIN_SEEDS}")]
    d_all = np.concatenate(units)
    d, se = float(d_all.mean()), float(d_all.std(ddof=1) / np.sqrt(d_all.size))
    lo, hi = d - 1.96 * se, d + 1.96 * se
    ds = np.array(list(per_seed.values()))
    v = judge(supported=lo > 0 and bool((ds > 0).all()), not_supported=hi < 0 and bool((ds < 0).all()))
    measured["D"] = d
    unc["D_ci95"] = [lo, hi]
    if v == INCONCLUSIVE and (lo > 0 or hi < 0):
        note += "; the pooled interval excludes 0 but the seeds disagree in sign, so the run-to-run variance decides"
    elif v == INCONCLUSIVE and d != 0:
        note += (f"; the point estimate of D is {'below' if d < 0 else 'above'} 0, i.e. "
                 f"{'against' if d < 0 else 'in'} the simulator's direction, but the interval contains 0")
    return [Verdict(c, v, measured, unc, sizes, note=note)]


def draw(data, axes):
    if data.get("missing"):
        return placeholder(axes, "llm_budget_efficiency", "result files missing: run `rlvr-lab llm train --eval-prompts` "
                           "(see module docstring)")
    eff = _per_horizon(data)
    ax = axes[0]
    xs = [h / data["mean_t"] for h in data["horizons"]]
    ax.errorbar(xs, [eff[h][0] for h in data["horizons"]], yerr=[1.96 * eff[h][1] for h in data["horizons"]],
                fmt="o-", color="C0", capsize=3, label=f"{data.get('model_label', 'model')}, measured (95%, prompts)")
    for k, (seed, v) in enumerate(data["seeds"].items()):
        ax.plot([r["xi0"] for r in v["runs"]], [r["eff"] for r in v["runs"]], ".:", color="C0", alpha=0.5,
                label="single seeds" if k == 0 else None)
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
    for k, h in enumerate(data["horizons"]):
        runs = [r for v in data["seeds"].values() for r in v["runs"] if r["H"] == h]
        for j, r in enumerate(runs):
            axes[1].plot([0, r["steps"]], [r["acc_start"], r["acc_end"]], "o-", color=f"C{k}", alpha=0.7,
                         label=f"H = {h}" if j == 0 else None)
            axes[2].plot(np.arange(1, len(r["reward_by_step"]) + 1), r["reward_by_step"], "o-", color=f"C{k}",
                         alpha=0.7, label=f"H = {h} ({r['rows_per_step']} rollouts/step)" if j == 0 else None)
    axes[1].set(xlabel="training step", ylabel=f"held-out accuracy at H = {data['eval_horizon']}",
                title=f"{data['eval_prompts']} held-out prompts x {data['eval_group']} rollouts per seed")
    axes[2].set(xlabel="training step", ylabel="mean training reward 1{T <= H}", title="training reward")
    for ax in axes[1:]:
        ax.legend(fontsize=8)
    axes[0].figure.suptitle(f"{data.get('model_label', 'model')}, 1-digit sums, grpo, {len(data['seeds'])} seed(s) "
                            f"({data['hardware']})", fontsize=9)


FIGURE = Figure(name="llm_budget_efficiency", title="Paper A on a real model: learning efficiency vs measured xi0",
                claims=CLAIMS, config=Config(), inputs=(XI_FILE, RUNS), layout=Layout(1, 3, (15, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct, 1-digit sums, 3 seeds: held-out gain per step at H = 16, 32, 64 beside "
                            "the simulator.")
