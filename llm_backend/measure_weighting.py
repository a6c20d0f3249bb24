"""Paper B on a real model: the distribution of rho_hat at the start of training and the time to
target each weighting predicts from it.

rho_hat per prompt is the fraction of its G rollouts (horizon H) with a correct answer. The
prediction uses paper B's population dynamics [V: dρ/dt = η w(ρ), w the effective weight]:
the time for prompt x to go from rho_0 to a target rho_1 is

    tau_x = ∫_{rho_0}^{rho_1} dρ / w(ρ)          (η = 1: the registry's own advantage scale),

with w from ``theory.estimators.effective_weight`` (never re-implemented here). rho_0 is the
posterior mean (d + 1/2) / (G + 1) under a Jeffreys prior, not rho_hat itself: at rho_hat = 0 the
symmetric weights have w = 0, a fixed point, and the true rho of a prompt with no success in G
tries is small but not zero [modelling choice, R]. The data set's prediction is the median of
tau_x over prompts and the time until half the prompts reach the target. The fraction of all-fail
groups (rho_hat = 0: zero update for grpo/rloo/dapo/dr_grpo in the sample, not for linear_r/sqrt_r)
is reported beside it.

Example::

    >>> import numpy as np
    >>> tt = time_to_target("linear_r", np.array([0.1]), 0.5)  # ∫ dρ/(1-ρ) = log(0.9/0.5)
    >>> round(float(tt[0]), 3)
    0.588
"""

from __future__ import annotations

import numpy as np

from theory.checks import check_probability
from theory.estimators import effective_weight

__all__ = ["time_to_target", "rho_summary"]


def time_to_target(name: str, rho0, rho1: float, *, points: int = 4001, **options) -> np.ndarray:
    """tau = ∫_{rho0}^{rho1} dρ / w(ρ) per entry of ``rho0`` (0 where rho0 >= rho1; inf if w hits 0)."""
    rho1 = check_probability("rho1", rho1, open_low=True, open_high=True)
    rho0 = np.asarray(rho0, dtype=np.float64)
    out = np.zeros(rho0.shape)
    for i, r0 in np.ndenumerate(rho0):
        if r0 >= rho1:
            continue
        # substitute ρ = r0 + (rho1 - r0) s^2 to tame 1/sqrt endpoint behaviour; trapezoid in s
        s = np.linspace(0.0, 1.0, points)
        rho = r0 + (rho1 - r0) * s ** 2
        w = effective_weight(name, rho, **options)
        if np.any(w <= 0):
            out[i] = np.inf
            continue
        f = 2.0 * (rho1 - r0) * s / w
        out[i] = float(np.sum((f[1:] + f[:-1]) * np.diff(s)) / 2.0)
    return out


def rho_summary(rewards, *, estimators=("grpo", "rloo", "dapo", "linear_r", "sqrt_r"),
                target: float = 0.5) -> dict:
    """Start distribution of rho_hat from binary rewards (N, G) and each weighting's prediction."""
    r = np.asarray(rewards, dtype=np.float64)  # (N, G)
    n, g = r.shape
    rho_hat = r.mean(axis=1)
    rho0 = (r.sum(axis=1) + 0.5) / (g + 1.0)
    counts = [int(np.sum(np.isclose(rho_hat, k / g))) for k in range(g + 1)]
    pred = {}
    for name in estimators:
        tau = time_to_target(name, rho0, target)
        half = float(np.median(tau))
        pred[name] = {"median_time_to_target": half, "mean_time_to_target": float(np.mean(tau)),
                      "time_to_target": tau}
    return {"num_prompts": n, "group": g, "rho_hat": rho_hat, "rho0_jeffreys": rho0,
            "rho_hat_counts": counts, "rho_hat_values": [k / g for k in range(g + 1)],
            "all_fail_fraction": float(np.mean(rho_hat == 0.0)), "mean_rho_hat": float(rho_hat.mean()),
            "target": target, "predicted": pred}
