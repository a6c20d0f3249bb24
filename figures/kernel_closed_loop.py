"""Paper C, Figures 4 and S.1 in simulation: closed-loop training; claims C.single-stream and
C.schedule-ablation.

The endogenous drift of simulate.kernel: per-prompt softmax bandits (K = 32 responses, 8 correct,
initial success sigmoid(N(-0.5, 1.5^2))) trained by the policy gradient with A = Z - V_hat of the
driving baseline, step size 5 [R] (chosen so that the oracle-baseline driver reaches ~0.9 mean
success within the fast run; the same for every driver). P = 128 prompts, batches of B = 16.
Runs (common random numbers: the same seeds for every driver):
- G = 1: KAE (triangular, h = 0.2) with the schedule J = 10; REINFORCE with the global-mean
  baseline redrawn every step (J = 1); "REINFORCE + schedule" (global mean, J = 10);
- G = 4: KAE with J = 10; GRPO (leave-one-out mean, J = 1); "GRPO + schedule" (J = 10).
Accuracy = mean success probability over all P prompts (exact), before each step's update.
Departure: a per-prompt bandit shares no parameters across prompts, so the interference through
which an LLM's accuracy can decline is absent here; a decline can come only from the estimator.
Run: ``rlvr-lab reproduce --only kernel_closed_loop``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, config_dict
from figures.kernel_common import PRIMARY, run_units
from theory.claims import Claim, Verdict, judge
from theory.stats import bootstrap_ci


@dataclass(frozen=True)
class Config:
    n_prompts: int = 128
    batch_size: int = 16
    n_steps: int = 300
    n_runs: int = 8
    step_size: float = 5.0
    tail: float = 0.1
    decline_tol: float = 0.01  # declared: a decline is a drop of more than 1 accuracy point


FAST = Config()
FULL = Config(n_steps=600, n_runs=24)

RUNS = {  # name -> (G, driver, J)
    "KAE G=1": (1, PRIMARY, 10), "REINFORCE": (1, "global", 1), "REINFORCE + schedule": (1, "global", 10),
    "KAE G=4": (4, PRIMARY, 10), "GRPO": (4, "grpo", 1), "GRPO + schedule": (4, "grpo", 10),
}

CLAIMS = (
    Claim("C.single-stream",
          "With a single rollout per prompt (G = 1), KAE's accuracy keeps improving where REINFORCE with a "
          "global-mean baseline peaks and declines (Figure 4).",
          "V", "final acc KAE > REINFORCE; REINFORCE declines after its peak; KAE does not",
          "PRIMARY: final accuracy (mean over the last 10% of steps) KAE(G=1, J=10) minus REINFORCE (global "
          "mean, J=1), and each curve's decline = max over steps of the run-mean curve minus its final "
          "value; 95% bootstrap intervals over runs. Supported if the difference interval > 0, REINFORCE's "
          "decline interval > 0.01 and KAE's decline interval < 0.01; not supported if the difference "
          "interval < 0, REINFORCE's decline interval < 0.01, or KAE's decline interval > 0.01; "
          "inconclusive otherwise."),
    Claim("C.schedule-ablation",
          "'REINFORCE + schedule' and 'GRPO + schedule' without the kernel do not reproduce KAE's gain "
          "(Figure S.1).",
          "V", "final acc KAE(J=10) > REINFORCE + schedule (G=1) and > GRPO + schedule (G=4)",
          "PRIMARY: final accuracy (mean over the last 10% of steps) differences KAE(G=1, J=10) - "
          "REINFORCE + schedule and KAE(G=4, J=10) - GRPO + schedule, 95% bootstrap intervals over runs. "
          "Supported if both intervals lie above 0; not supported if either lies below 0; inconclusive "
          "otherwise. The first step after which KAE stays above GRPO + schedule is reported."),
)


def specs(cfg: Config) -> dict:
    base = (("oracle", "triangular", 0.2), ("grpo", "triangular", 0.2), ("global", "triangular", 0.2),
            ("kae", "triangular", 0.2))
    return {name: dict(drift="policy", driver=drv, n_prompts=cfg.n_prompts, batch_size=cfg.batch_size,
                       group_size=g, n_steps=cfg.n_steps, reuse=j, n_runs=cfg.n_runs, step_size=cfg.step_size,
                       baselines=base, ends=(cfg.n_steps,), length=cfg.n_steps)
            for name, (g, drv, j) in RUNS.items()}


def compute(ctx, cfg) -> dict:
    units = run_units(ctx, specs(cfg))
    return {"config": config_dict(cfg), "accuracy": {k: u["accuracy"] for k, u in units.items()}}


def _final(acc, tail):
    acc = np.asarray(acc, dtype=np.float64)
    return acc[:, -max(1, int(round(tail * acc.shape[1]))):].mean(axis=1)


def _decline(acc, tail, seed):
    acc = np.asarray(acc, dtype=np.float64)
    k = max(1, int(round(tail * acc.shape[1])))

    def stat(a):
        m = a.mean(axis=0)
        return m.max() - m[-k:].mean()
    return float(stat(acc)), bootstrap_ci(acc, stat, seed=seed)


def _diff(a, b, tail, seed):
    d = _final(a, tail) - _final(b, tail)
    return float(d.mean()), bootstrap_ci(d, seed=seed)


def evaluate(data) -> list:
    cfg, acc = data["config"], data["accuracy"]
    tail, tol = cfg["tail"], cfg["decline_tol"]
    m1, u1 = {}, {}
    d, ci = _diff(acc["KAE G=1"], acc["REINFORCE"], tail, 1)
    m1["final_acc_kae_minus_reinforce"], u1["final_acc_kae_minus_reinforce"] = d, list(ci)
    dk, ck = _decline(acc["KAE G=1"], tail, 2)
    dr, cr = _decline(acc["REINFORCE"], tail, 3)
    m1.update({"decline_kae": dk, "decline_reinforce": dr})
    u1.update({"decline_kae": list(ck), "decline_reinforce": list(cr)})
    for name in ("KAE G=1", "REINFORCE", "REINFORCE + schedule"):
        m1[f"final_acc[{name}]"] = float(_final(acc[name], tail).mean())
    v1 = judge(supported=ci[0] > 0 and cr[0] > tol and ck[1] < tol,
               not_supported=ci[1] < 0 or cr[1] < tol or ck[0] > tol)
    m2, u2 = {}, {}
    cis = []
    for kae, base, seed in (("KAE G=1", "REINFORCE + schedule", 4), ("KAE G=4", "GRPO + schedule", 5)):
        d, c = _diff(acc[kae], acc[base], tail, seed)
        m2[f"final_acc {kae} - {base}"], u2[f"final_acc {kae} - {base}"] = d, list(c)
        cis.append(c)
    for name in ("KAE G=4", "GRPO", "GRPO + schedule"):
        m2[f"final_acc[{name}]"] = float(_final(acc[name], tail).mean())
    gap = np.asarray(acc["KAE G=4"]).mean(axis=0) - np.asarray(acc["GRPO + schedule"]).mean(axis=0)
    below = np.nonzero(gap <= 0)[0]
    m2["first_step_from_which_kae_stays_above_grpo_schedule"] = int(below[-1] + 2) if below.size else 1
    v2 = judge(supported=all(c[0] > 0 for c in cis), not_supported=any(c[1] < 0 for c in cis))
    n = {"runs": cfg["n_runs"], "steps": cfg["n_steps"], "prompts": cfg["n_prompts"]}
    return [Verdict(CLAIMS[0], v1, m1, u1, n), Verdict(CLAIMS[1], v2, m2, u2, n)]


def draw(data, axes):
    acc = data["accuracy"]
    style = {"KAE": ("tab:green", "-"), "REINFORCE": ("tab:red", "-"), "REINFORCE + schedule": ("tab:red", "--"),
             "GRPO": ("tab:blue", "-"), "GRPO + schedule": ("tab:blue", "--")}
    for ax, names, title in ((axes[0], ("KAE G=1", "REINFORCE", "REINFORCE + schedule"), "single stream, G = 1"),
                             (axes[1], ("KAE G=4", "GRPO", "GRPO + schedule"), "schedule ablation, G = 4")):
        for name in names:
            a = np.asarray(acc[name], dtype=np.float64)
            m = a.mean(axis=0)
            se = a.std(axis=0, ddof=1) / np.sqrt(a.shape[0]) if a.shape[0] > 1 else np.zeros_like(m)
            color, ls = style[name.split(" G=")[0]]
            x = np.arange(1, m.size + 1)
            ax.plot(x, m, color=color, ls=ls, label=name)
            ax.fill_between(x, m - 2 * se, m + 2 * se, color=color, alpha=0.15, lw=0)
        ax.set(xlabel="step", ylabel="mean success probability over prompts", title=title)
        ax.legend(fontsize=7)


FIGURE = Figure(name="kernel_closed_loop", title="Paper C: closed-loop training with KAE, REINFORCE and GRPO",
                claims=CLAIMS, config=FAST, full=FULL, layout=Layout(1, 2, (11, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="Single-stream (G = 1) and schedule ablation on the endogenous bandit.")
