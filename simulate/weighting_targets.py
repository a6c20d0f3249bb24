"""Paper B: time to target measured on simulated prompts, in the theory's clocks and in responses.

Runs :func:`simulate.weighting.simulate` from one initial success probability and reads off, per
prompt, the first time rho reaches ``rho1``:

- regular time: step x (hitting index, interpolated), the simulator's update clock;
- effective time: step x sum_{t < hit} 1/rho_t, the reconstructed 1/rho clock of theory.weighting
  [R] evaluated on the simulated path (the same left Riemann sum as theory.weighting.recursion_time);
- responses: responses drawn until the hit (G per update, plus dapo's refills), the realised clock.

The step size is eta = step x budget_scale(name, rho0, rho1) (equal budget [R]); ``step`` is the
population ODE time divided by ``steps_to_target``, so every weighting needs about the same number
of updates and the discretisation error is similar across weightings.
Figures: ``rlvr-lab reproduce --only weighting_time_to_target`` and ``weighting_finite_group``.
"""

from __future__ import annotations

import numpy as np

from simulate.weighting import hitting_time, simulate
from theory.checks import as_finite_array, check_int, check_real
from theory.weighting import budget_scale, time_to_target

__all__ = ["effective_time", "responses_to_target", "time_to_target_runs"]


def effective_time(path, target: float, step: float) -> np.ndarray:
    """step x (sum_{t < i-1} 1/rho_t + frac / rho_{i-1}) per column of ``path`` (T+1, P) [R clock].

    ``i`` is the first index with rho_i >= target and ``frac`` the interpolated fraction of the last
    step; NaN where the target is never reached, 0 where it is reached at once.
    """
    x = as_finite_array("path", path, ndims=(2,), nonempty=True)  # (T+1, P)
    step = check_real("step", step, low=0.0, open_low=True)
    h = hitting_time(x, target)  # (P,)
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(1.0 / x, axis=0)])  # (T+2, P)
    out = np.full(x.shape[1], np.nan)
    for j, hj in enumerate(h):
        if np.isfinite(hj):
            i = int(np.ceil(hj))
            if i == 0:
                out[j] = 0.0
            else:
                frac = hj - (i - 1)
                out[j] = step * (csum[i - 1, j] + frac / x[i - 1, j])
    return out


def responses_to_target(rho, responses, target: float) -> np.ndarray:
    """Responses drawn per prompt until rho first reaches ``target`` (interpolated in the last step)."""
    rho = as_finite_array("rho", rho, ndims=(2,), nonempty=True)  # (T+1, P)
    responses = as_finite_array("responses", responses, low=0)
    if responses.shape != (rho.shape[0] - 1, rho.shape[1]):
        raise ValueError(f"responses must be shaped (T, P) = {(rho.shape[0] - 1, rho.shape[1])} for rho shaped "
                         f"(T+1, P); got shape {responses.shape}")
    h = hitting_time(rho, target)  # (P,)
    cum = np.concatenate([np.zeros((1, responses.shape[1])), np.cumsum(responses, axis=0)])  # (T+1, P)
    out = np.full(h.shape, np.nan)
    for j, hj in enumerate(h):
        if np.isfinite(hj):
            i = int(np.floor(hj))
            nxt = cum[min(i + 1, cum.shape[0] - 1), j]
            out[j] = cum[i, j] + (hj - i) * (nxt - cum[i, j])
    return out


def time_to_target_runs(name: str, rho0: float, rho1: float, *, group_size: int, n_prompts: int,
                        steps_to_target: int, max_factor: float = 3.0, seed: int, update: str = "kl",
                        max_refill: int = 10, **options) -> dict:
    """Per-prompt regular time, effective time and responses from rho0 to rho1 (NaN: not reached).

    Returns dict(regular (P,), effective (P,), responses (P,), step, scale, n_steps).
    """
    steps_to_target = check_int("steps_to_target", steps_to_target, low=1)
    max_factor = check_real("max_factor", max_factor, low=1.0)
    step = time_to_target(name, rho0, rho1, **options) / steps_to_target
    scale = budget_scale(name, rho0, rho1, **options)
    n_steps = int(np.ceil(max_factor * steps_to_target))
    run = simulate(name, np.full(check_int("n_prompts", n_prompts, low=1), rho0), group_size=group_size,
                   n_steps=n_steps, step=step, scale=scale, update=update, max_refill=max_refill,
                   seed=seed, **options)
    return {"regular": hitting_time(run.rho, rho1) * step, "effective": effective_time(run.rho, rho1, step),
            "responses": responses_to_target(run.rho, run.responses, rho1), "step": step, "scale": scale,
            "n_steps": n_steps}
