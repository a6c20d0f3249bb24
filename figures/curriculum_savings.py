"""Paper D: accuracy against cumulative rollouts, the rollout-savings factor and its sensitivity.

Reproduces paper D's efficiency claim (Table 2, Fig. F6: similar accuracy with 1.6-3x fewer
rollouts than random selection at the same 20 % ratio) in the stylized simulator. Arms per row:
random, random + entropy weights, the schedule alone and PREPO (schedule + weights); the two
middle arms are the ablations reviewers found missing from the paper's main table.

Savings factor [R definition, after notes D.5.5]: target = random's final pool accuracy (mean over
seeds); F = rollouts random needs to reach it / rollouts PREPO needs (seed-mean curves, linear
interpolation; 0 if PREPO never reaches it within the same horizon), 95 % paired percentile
bootstrap over seeds. Sensitivity table: the same factor with each modelling assumption of
simulate.curriculum switched off in turn, with perplexity equal to difficulty (sigma = 0), and
with DAPO dynamic sampling (dapo estimator, refills counted). Only the calibrated row is judged.
Every row keeps the calibrated learning rate; where that leaves random selection with almost no
accuracy gain over the horizon (transfer off: learning reaches only the few selected prompts) the
factor is flagged as not meaningful rather than re-calibrated.
Run: ``rlvr-lab reproduce --only curriculum_savings``.
"""

from __future__ import annotations

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.curriculum_common import FAST, FULL, savings_ci, sim_kwargs, sweep_unit
from simulate.curriculum import SWITCHES
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict, judge_interval

THRESHOLD = 1.2  # "clearly fewer": at least 20 % fewer rollouts (declared before the runs)
PAPER_RANGE = (1.6, 3.0)
MIN_GAIN = 0.01  # a row whose random arm gains less accuracy than this has no learning to save on

CLAIMS = (
    Claim("D.rollout-savings",
          "PREPO (perplexity schedule + relative-entropy weights) reaches random selection's final "
          "accuracy with clearly fewer rollouts at the same selection ratio (paper: 1.6-3x fewer).",
          "V", "savings factor F = R_random / R_PREPO in [1.6, 3]",
          "Primary metric: F at random's final seed-mean pool accuracy, calibrated model, 95 % paired "
          "bootstrap over seeds. Supported iff the interval's lower end >= 1.2; not supported iff its "
          "upper end < 1.2; otherwise inconclusive. Reported, not judged: whether the interval lies in "
          "the paper's 1.6-3, the schedule alone, random + weights, final-accuracy difference, and the "
          "sensitivity table (each assumption switched off)."),
)

ARMS = [("random", False), ("random", True), ("schedule", False), ("schedule", True)]
ROWS = {"calibrated (all mechanisms on)": {}} | {f"{s} off": {s: False} for s in SWITCHES} | {
    "perplexity = difficulty (sigma 0)": {"ppl_noise": 0.0}}
DAPO_ROW = "dapo dynamic sampling"
LABELS = ("prepo", "schedule", "random+w")  # the arms compared with random, in display order


def _ordered(table):
    """Rows in declaration order (stored JSON sorts keys)."""
    return [(n, table[n]) for n in (*ROWS, DAPO_ROW) if n in table]


def compute(ctx, cfg) -> dict:
    seeds = ctx.seeds("curriculum_savings", cfg.n_seeds)
    sim = sim_kwargs(cfg)
    arms = [list(a) for a in ARMS]
    done = ctx.units({"rows": Unit(sweep_unit, seeds=seeds, arms=arms, model={}, sim=sim, variants=ROWS),
                      "dapo": Unit(sweep_unit, seeds=seeds, arms=arms, model={}, sim={**sim, "estimator": "dapo"})})
    rows = {**done["rows"], DAPO_ROW: done["dapo"]}
    n_boot = 2000 if ctx.full else 1000
    table = {}
    for name, runs in rows.items():
        base = runs["random|0"]
        table[name] = {label: savings_ci(base["acc"], base["cum_rollouts"], runs[arm]["acc"],
                                         runs[arm]["cum_rollouts"], n_boot=n_boot,
                                         seed=ctx.seed_for("boot", name, label))
                       for label, arm in (("prepo", "schedule|1"), ("schedule", "schedule|0"),
                                          ("random+w", "random|1"))}
    main = rows["calibrated (all mechanisms on)"]
    curves = {arm: {"acc": np.mean(main[arm]["acc"], axis=0), "roll": np.mean(main[arm]["cum_rollouts"], axis=0)}
              for arm in main}
    return {"config": cfg.__dict__, "table": table, "curves": curves}


def judge(lo: float, hi: float) -> str:
    """The declared rule on the factor's interval."""
    return SUPPORTED if lo >= THRESHOLD else NOT_SUPPORTED if hi < THRESHOLD else INCONCLUSIVE


def evaluate(data) -> list:
    table = data["table"]
    main = table["calibrated (all mechanisms on)"]["prepo"]
    lo, hi = main["ci"]
    measured = {"factor": main["factor"], "target_accuracy": main["target"],
                "rollouts_random": main["rollouts_base"], "rollouts_prepo": main["rollouts_new"],
                "final_accuracy_prepo_minus_random": main["final_diff"],
                "within_paper_range_1.6_3": judge_interval(lo, hi, *PAPER_RANGE)}
    unc = {"factor": [lo, hi], "final_accuracy_prepo_minus_random": main["final_diff_ci"]}
    for name, row in table.items():
        for label, r in row.items():
            measured[f"{name}: {label}"] = r["factor"]
            unc[f"{name}: {label}"] = r["ci"]
    holds = [n for n, row in table.items() if row["prepo"]["ci"][0] >= THRESHOLD]
    fails = [n for n, row in table.items() if row["prepo"]["ci"][1] < THRESHOLD]
    idle = [n for n, row in table.items() if row["prepo"]["base_gain"] < MIN_GAIN]
    note = (f"PREPO factor {main['factor']:.2f} [{lo:.2f}, {hi:.2f}] vs paper 1.6-3x. Rows where the interval "
            f"clears {THRESHOLD}: {holds or 'none'}; rows where it lies below {THRESHOLD}: {fails or 'none'}"
            + (f"; rows where random gains < {MIN_GAIN} accuracy over the horizon (nothing to save on, the "
               f"factor is not meaningful): {idle}" if idle else "") + ". Sensitivity table, factor vs random "
            "[95 % CI] for PREPO / schedule alone / random + weights: " + "; ".join(
                f"{n}: " + " / ".join(f"{row[k]['factor']:.2f} [{row[k]['ci'][0]:.2f}, {row[k]['ci'][1]:.2f}]" for k in LABELS)
                for n, row in _ordered(table)) + ".")
    return [Verdict(CLAIMS[0], judge(lo, hi), measured, unc,
                    {"seeds": data["config"]["n_seeds"], "steps": data["config"]["n_steps"]}, note)]


def draw(data, axes):
    ax, bx = axes
    labels = {"random|0": "random", "random|1": "random + weights", "schedule|0": "schedule",
              "schedule|1": "PREPO (schedule + weights)"}
    for arm, c in data["curves"].items():
        ax.plot(np.asarray(c["roll"]) / 1e3, c["acc"], label=labels[arm], lw=1.4)
    target = data["table"]["calibrated (all mechanisms on)"]["prepo"]["target"]
    ax.axhline(target, color="k", ls=":", lw=1, label="random's final accuracy")
    ax.set(xlabel="cumulative rollouts (thousands)", ylabel="pool accuracy (seed mean)",
           title="calibrated model")
    ax.legend(fontsize=8)
    names = [n for n, _ in _ordered(data["table"])]
    y = np.arange(len(names))[::-1]
    for off, (label, color) in zip((0.2, 0.0, -0.2), (("prepo", "tab:green"), ("schedule", "tab:olive"),
                                                       ("random+w", "tab:gray"))):
        f = np.array([data["table"][n][label]["factor"] for n in names])
        ci = np.array([data["table"][n][label]["ci"] for n in names])
        bx.errorbar(f, y + off, xerr=[f - ci[:, 0], ci[:, 1] - f], fmt="o", ms=4, color=color, capsize=2,
                    label=label)
    for n, yy in zip(names, y):
        if data["table"][n]["prepo"]["base_gain"] < MIN_GAIN:
            bx.text(1.25, yy, f"random gains < {MIN_GAIN}: factor not meaningful", fontsize=7, va="center")
    bx.axvspan(*PAPER_RANGE, color="tab:green", alpha=0.08, label="paper 1.6-3x")
    bx.axvline(1.0, color="k", lw=0.8)
    bx.axvline(THRESHOLD, color="k", lw=0.8, ls="--")
    bx.set_yticks(y, names, fontsize=8)
    bx.set(xlabel="rollout-savings factor vs random (95 % bootstrap)", title="sensitivity: one assumption off per row")
    bx.legend(fontsize=7, loc="lower right")


FIGURE = Figure(name="curriculum_savings", title="Paper D: rollout savings of PREPO and their sensitivity",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (14, 5)), compute=compute, evaluate=evaluate, draw=draw,
                description="Accuracy vs cumulative rollouts; savings factor with interval; sensitivity table.")
