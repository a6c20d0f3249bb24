"""Paper B, effective weights w(rho) of every registry estimator (the foundation's pipeline figure).

Reproduces the effective-weight plot the notes infer for paper B (B.5): w(rho) = omega(rho) rho (1 - rho),
the weight a prompt's update puts on (grad_1 - grad_0), for the symmetric methods (reinforce,
dr_grpo, rloo, grpo, dapo) and the asymmetric ones (linear_r, sqrt_r, uniform_r, plateau_r).

Two measurements, both from theory/estimators.py:
- the population curve ``effective_weight(name, rho)`` (G -> inf, eps -> 0);
- the finite-group weight read off the registry's actual advantages on binary groups of size G:
  for rho_hat = k/G the update is sum_i A_i grad log pi_i = G (a grad_1 + b grad_0) with
  a = rho_hat A_+ and b = (1 - rho_hat) A_- (A_+ / A_- the advantage of a correct / wrong response).
  In the interior we write it as w_hat (grad_1 - grad_0) + m (rho_hat grad_1 + (1 - rho_hat) grad_0)
  (the second term is the mean score, zero in expectation): w_hat = a (1 - rho_hat) - b rho_hat,
  which is rho_hat A_+ for every centred estimator. At the ends only one score is present and the
  update is a pure push: w_hat(0) = -b (push-down of wrong responses), w_hat(1) = a.
  reinforce is uncentred: its w_hat is rho_hat (1 - rho_hat) inside, 0 at rho_hat = 0, but 1 at
  rho_hat = 1 (an all-pass group pushes every sampled response up); its weight vanishes at both ends
  only in expectation, which the population curve shows and the verdict's note reports.
kae is stateful (its baseline depends on the reward history) and is not drawn.

Run: ``rlvr-lab reproduce --only weighting_effective_weights``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict
from theory.estimators import ESTIMATORS, FamilyView, advantages, effective_weight

SYMMETRIC = FamilyView("raw", "centred", "std")  # live registry families (theory.estimators)
ASYMMETRIC = FamilyView("weight")


@dataclass(frozen=True)
class Config:
    group_size: int = 16  # paper B's M = 16 [V]
    grid: int = 201


SYMMETRIC_VANISH = Claim(
    id="B.symmetric-vanish",
    statement="The symmetric methods (REINFORCE, Dr.GRPO, RLOO, GRPO, DAPO) put zero effective weight "
              "on prompts with success rate 0 or 1.",
    provenance="V",
    predicted="w(0) = w(1) = 0 for reinforce, dr_grpo, rloo, grpo, dapo",
    measurement="population w(rho) at rho in {0, 1} from effective_weight for all five, and the finite-group "
                "weight w_hat read off the registry's advantages of all-fail and all-pass binary groups "
                "(G = 16) for the centred four; supported iff every value is exactly 0",
)
ASYMMETRIC_NONZERO = Claim(
    id="B.asymmetric-nonzero",
    statement="The asymmetric weightings (Linear-R, Sqrt-R, Uniform-R, Plateau-R) keep a non-zero "
              "effective weight at zero empirical success: an all-fail group gives every response a "
              "negative advantage of about -1.",
    provenance="V",
    predicted="w(0) > 0 and A_i = -w(0) = -1 for an all-fail group",
    measurement="population w(0) from effective_weight and the registry's advantages of an all-fail binary "
                "group (G = 16); supported iff w(0) > 0 and every advantage is < 0 for all four methods",
)


def _finite_weight(name: str, g: int) -> np.ndarray:
    """w_hat(k/G), k = 0..G, from the registry's advantages of binary groups (see module docstring)."""
    k = np.arange(g + 1)
    groups = (np.arange(g)[None, :] < k[:, None]).astype(float)  # (G+1, G): row k has k ones
    adv = advantages(name, groups)  # (G+1, G)
    rho = k / g
    a = rho * np.where(k > 0, adv[:, 0], 0.0)  # rho_hat A_+
    b = (1 - rho) * np.where(k < g, adv[:, -1], 0.0)  # (1 - rho_hat) A_-
    w = a * (1 - rho) - b * rho
    w[0], w[-1] = -b[0], a[-1]
    return w + 0.0  # + 0.0 turns -0.0 into 0.0


def compute(ctx, config: Config) -> dict:
    rho = np.linspace(0.0, 1.0, config.grid)
    names = [n for n in ESTIMATORS if not ESTIMATORS[n].stateful]
    all_fail = np.zeros((1, config.group_size))
    all_pass = np.ones((1, config.group_size))
    return {
        "config": {"group_size": config.group_size, "grid": config.grid},
        "rho": rho,
        "population": {n: effective_weight(n, rho) for n in names},
        "finite": {n: _finite_weight(n, config.group_size) for n in names},
        "all_fail_adv": {n: advantages(n, all_fail)[0] for n in names},
        "all_pass_adv": {n: advantages(n, all_pass)[0] for n in names},
    }


def evaluate(data: dict) -> list[Verdict]:
    g = data["config"]["group_size"]
    ends = {n: [data["population"][n][0], data["population"][n][-1]] for n in SYMMETRIC}
    centred = [n for n in SYMMETRIC if n != "reinforce"]
    finite_ends = {n: [data["finite"][n][0], data["finite"][n][-1]] for n in SYMMETRIC}
    ok_sym = all(v == 0.0 for n in SYMMETRIC for v in ends[n]) and all(
        v == 0.0 for n in centred for v in finite_ends[n])
    w0 = {n: data["population"][n][0] for n in ASYMMETRIC}
    fail = {n: max(data["all_fail_adv"][n]) for n in ASYMMETRIC}
    ok_asym = all(w0[n] > 0 and fail[n] < 0 for n in ASYMMETRIC)
    return [
        Verdict(SYMMETRIC_VANISH, SUPPORTED if ok_sym else NOT_SUPPORTED,
                measured={"population_w_at_0_and_1": ends, "finite_w_at_0_and_1": finite_ends},
                uncertainty={"kind": "exact (closed form and deterministic estimator output)"},
                sample_size={"group_size": g},
                note="reinforce is uncentred: its weight vanishes at both ends in expectation (population "
                     f"curve), but at finite G an all-pass group still pushes every response up "
                     f"(w_hat(1) = {finite_ends['reinforce'][1]:g}); the finite check covers the centred methods."),
        Verdict(ASYMMETRIC_NONZERO, SUPPORTED if ok_asym else (INCONCLUSIVE if any(w0.values()) else NOT_SUPPORTED),
                measured={"population_w0": w0, "max_all_fail_advantage": fail},
                uncertainty={"kind": "exact (closed form and deterministic estimator output)"},
                sample_size={"group_size": g}),
    ]


def draw(data: dict, axes):
    rho = np.asarray(data["rho"])
    g = data["config"]["group_size"]
    k = np.arange(g + 1) / g
    for ax, names, title in ((axes[0], SYMMETRIC, "symmetric"), (axes[1], ASYMMETRIC, "asymmetric")):
        for i, n in enumerate(names):
            color = f"C{i}"
            ax.plot(rho, data["population"][n], color=color, label=n, lw=2.6 - 0.4 * i,
                    ls=("-", "--", ":", "-.", (0, (1, 3)))[i])  # distinct styles: several curves coincide
            ax.plot(k, data["finite"][n], "o", color=color, ms=3.5, alpha=0.8)
        ax.set_title(f"{title} weightings (lines: G -> inf; dots: registry advantages, G = {g})", fontsize=9)
        ax.set_xlabel(r"success rate $\rho$")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel(r"effective weight $w(\rho) = \omega(\rho)\,\rho(1-\rho)$")
    axes[0].figure.suptitle("Paper B: effective prompt weights of every registry estimator", fontsize=11)


FIGURE = Figure(
    name="weighting_effective_weights",
    title="Effective weights w(rho) of every registry estimator",
    claims=(SYMMETRIC_VANISH, ASYMMETRIC_NONZERO),
    config=Config(),
    layout=Layout(1, 2, (11, 4.2), sharey=True),
    compute=compute,
    evaluate=evaluate,
    draw=draw,
    description="Population effective weight and the finite-group weight read off the registry's advantages.",
)
