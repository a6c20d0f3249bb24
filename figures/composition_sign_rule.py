"""Paper E: training trajectories just below and above p0 = 1/3, with the correct task's ratio.

Mod-3 example, S = 2, K = 3 (theory/composition.py), p0 in {0.30, 0.37}: the exact expected
dynamics and a few sampled runs (settings in figures/composition_common.py). Along every logged
point of every trajectory we check the sign rule: for each step s and task j, the sign of the
expected update E[Delta theta[s, j]] equals the sign of r[s, j] - 1.

Independence of the check [R]: E[Delta theta] is computed by brute force (every group of G = 3
rollouts enumerated, advantages from the registry's ``estimate``, the softmax score taken
directly; theory.composition_dynamics.expected_update_bruteforce) and r by enumerating all chains,
so neither side uses the factorised formula E[Delta theta] = c(P, G) pi (q+ - P) that makes the
rule a one-line identity. Checked for every non-stateful registry estimator.

Claim E.sign-rule [R] (derived in the notes, E.3). Run: ``rlvr-lab reproduce --only composition_sign_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout, Unit
from figures.composition_common import EPS, ESTIMATOR, G, LR
from simulate.composition import expected_runs, run_metrics, sampled_runs
from theory.claims import Claim, Verdict, judge
from theory.composition import mod_verifier, ratio_from_marginals, step_marginals_enum, symmetric_base
from theory.composition_dynamics import expected_update_bruteforce
from theory.estimators import ESTIMATORS

CLAIM = Claim(
    id="E.sign-rule",
    statement="The expected RLVR update of task j's logit at step s has the sign of "
              "r[s, j] - 1, the task-advantage ratio minus one.",
    provenance="R",
    predicted="sign(E[Delta theta[s, j]]) = sign(r[s, j] - 1) at every (s, j) and every logged point",
    measurement="PRIMARY: number of resolved entries (|r - 1| > 1e-9 and |E[Delta theta]| > 1e-13) "
                "whose signs differ, over all logged points of all trajectories and all non-stateful "
                "registry estimators (brute-force expectation, G_check = 3). Supported iff 0 "
                "mismatches and >= 90% of entries resolved; any mismatch: not supported.",
)
P0S = (0.30, 0.37)
G_CHECK = 3
R_TOL, U_TOL = 1e-9, 1e-13


@dataclass(frozen=True)
class Config:
    n_iter: int = 3000
    n_sampled: int = 2  # sampled runs per p0
    n_check: int = 12  # logged points checked per trajectory


FULL = Config(n_iter=6000, n_sampled=4, n_check=30)


def sign_trajectories(p0, seeds, n_iter, n_check, estimators) -> dict:
    """Exact and sampled trajectories from p0 with the sign-rule counts along each (a unit of work)."""
    v = mod_verifier(2)
    kw = dict(estimator=ESTIMATOR, G=G, lr=LR, n_iter=n_iter, eps=EPS, log_every=n_iter // 60)
    ex = expected_runs(symmetric_base(p0, 2), v, **kw)
    sa = sampled_runs(symmetric_base(p0, 2), v, np.array(seeds), **kw)
    trajs = []
    for kind, res in (("exact", ex), ("sampled", sa)):
        m = run_metrics(res)
        for r in range(res.theta.shape[0]):
            # sign-rule check on n_check evenly spaced logged points
            pick = np.unique(np.linspace(0, res.log_iters.size - 1, n_check).astype(int))
            counts = {"agree": 0, "mismatch": 0, "unresolved": 0}
            for li in pick:
                th = res.theta_log[r, li]
                pi = np.exp(th - th.max(axis=1, keepdims=True))
                pi /= pi.sum(axis=1, keepdims=True)
                q, _ = step_marginals_enum(pi, v)
                rr = ratio_from_marginals(pi, q)["ratio"]
                for est in estimators:
                    u = expected_update_bruteforce(pi, v, est, G=G_CHECK)
                    ok = (np.abs(rr - 1) > R_TOL) & (np.abs(u) > U_TOL)
                    same = np.sign(u) == np.sign(rr - 1)
                    counts["agree"] += int((ok & same).sum())
                    counts["mismatch"] += int((ok & ~same).sum())
                    counts["unresolved"] += int((~ok).sum())
            trajs.append({"kind": kind, "iters": res.log_iters, "chain": m["chain"][r],
                          "success": m["success"][r], "ratio": m["ratio"][r, :, 0],
                          "counts": counts, "checked_points": int(pick.size)})
    return {"p0": p0, "trajs": trajs}


def compute(ctx, cfg: Config) -> dict:
    estimators = [n for n, e in ESTIMATORS.items() if not e.stateful]
    runs = ctx.units({f"p0={p0}": Unit(sign_trajectories, p0=p0, seeds=ctx.seeds(("sign", ip), cfg.n_sampled),
                                       n_iter=cfg.n_iter, n_check=cfg.n_check, estimators=estimators)
                      for ip, p0 in enumerate(P0S)})
    return {"p0": list(P0S), "n_iter": cfg.n_iter, "estimators": estimators,
            "traj": [runs[f"p0={p0}"] for p0 in P0S]}


def evaluate(data) -> list:
    tot = {"agree": 0, "mismatch": 0, "unresolved": 0}
    points = 0
    for block in data["traj"]:
        for t in block["trajs"]:
            points += t["checked_points"]
            for k in tot:
                tot[k] += t["counts"][k]
    n = sum(tot.values())
    resolved = (tot["agree"] + tot["mismatch"]) / n
    verdict = judge(supported=tot["mismatch"] == 0 and resolved >= 0.9, not_supported=tot["mismatch"] > 0)
    return [Verdict(CLAIM, verdict, measured={**tot, "resolved_fraction": resolved},
                    uncertainty={"r_tolerance": R_TOL, "update_tolerance": U_TOL},
                    sample_size={"entries": n, "logged_points": points,
                                 "estimators": len(data["estimators"]), "G_check": G_CHECK},
                    note="estimators: " + ", ".join(data["estimators"]))]


def draw(data, axes):
    colors = {P0S[0]: "tab:red", P0S[1]: "tab:blue"}
    for block in data["traj"]:
        c = colors.get(block["p0"], "k")
        for t in block["trajs"]:
            st, lw = ("-", 2.0) if t["kind"] == "exact" else (":", 1.0)
            lab = f"p0={block['p0']} {t['kind']}"
            it = np.asarray(t["iters"])
            axes[0].plot(it, t["chain"], st, color=c, lw=lw, label=lab)
            r = np.minimum(np.asarray(t["ratio"], dtype=float), 1e3)
            axes[1].plot(it, r, st, color=c, lw=lw, label=lab)
    axes[0].set_ylabel("P(correct chain)")
    axes[1].set_ylabel("ratio r[s=0, correct] (capped at 1e3)")
    axes[1].axhline(1.0, color="grey", lw=0.8)
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("iteration")
    handles, labels = axes[0].get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    axes[0].legend(uniq.values(), uniq.keys(), fontsize=7)
    axes[0].figure.suptitle("mod-3, S=2: trajectories around p0 = 1/3 and the correct task's ratio")


FIGURE = Figure(name="composition_sign_rule", title="Sign rule along training (mod-3, S = 2)",
                claims=(CLAIM,), config=Config(), full=FULL, layout=Layout(1, 2, (10, 4), tight=False),
                compute=compute, evaluate=evaluate, draw=draw, description=__doc__)
