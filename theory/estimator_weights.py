"""Paper B's population view of every registry entry: prompt weight omega and effective weight w.

For binary rewards every stateless estimator is A_i = omega(rho_hat) (r_i - rho_hat) with an
effective weight w = omega rho (1 - rho) [paper B, B.1]. A weight-family entry's w is its kernel's
own compiled w (one definition); the other families' come from the family (G -> inf, eps -> 0):
rho (1 - rho) for raw and centred (and kae, whose baseline tends to rho), sqrt(rho (1 - rho)) for
std; rloo's omega carries G/(G-1), grpo's its Bessel factor, eps and std_floor. Re-exported by
:mod:`theory.estimators` (import from there).
"""

from __future__ import annotations

import numpy as np

from theory.advantage_kernels import P_DDOF, P_EPS, P_STD_FLOOR, weights_many
from theory.checks import check_int, check_probabilities
from theory.weighting_shapes import SHAPES

__all__ = ["prompt_weight", "effective_weight", "weight_shapes", "population_w"]


def _omega_one(rho, g, params):
    return np.ones_like(rho)


def _omega_rloo(rho, g, params):
    if g < 2:
        raise ValueError("group_size must be >= 2 for rloo's prompt weight G/(G-1)")
    return np.full_like(rho, g / (g - 1.0))


def _omega_std(rho, g, params):
    if g - params[P_DDOF] <= 0:
        raise ValueError(f"group_size must be > ddof = {params[P_DDOF]:g} for grpo's prompt weight")
    std = np.sqrt(rho * (1.0 - rho) * g / (g - params[P_DDOF]))  # std of a binary group
    return 1.0 / (np.maximum(std, params[P_STD_FLOOR]) + params[P_EPS])


def population_w(entry, handle, rho, params):
    """w(rho) in the population limit: the entry's own w, or its family's (module docstring)."""
    if entry.family == "weight":
        flat = np.ascontiguousarray(rho, dtype=np.float64).ravel()
        out = np.empty_like(flat)
        weights_many(handle, flat, params, out)
        return out.reshape(np.shape(rho))
    if entry.family == "std":
        return np.sqrt(rho * (1.0 - rho))
    return rho * (1.0 - rho)


def prompt_weight(name: str, rho_hat, group_size: int, **options) -> np.ndarray:
    """Prompt weight omega(rho_hat) so that A_i = omega (r_i - rho_hat) for binary rewards [paper B].

    ``group_size`` enters through rloo's G/(G-1) and grpo's Bessel factor. The weight entries'
    omega = w / (rho (1 - rho)) diverges at rho_hat in {0, 1} (returned as inf) where w > 0.
    """
    from theory.estimators import _entry, resolve  # the registry imports this module at its top
    entry = _entry(name)
    if entry.stateful:
        raise ValueError(f"estimator {name!r} has no prompt weight omega(rho_hat): its baseline is stateful")
    g = check_int("group_size", group_size, low=1)
    rho = check_probabilities("rho_hat", rho_hat)
    spec = resolve(name, **options)
    if entry.omega is not None:
        return entry.omega(rho, g, spec.params)
    if entry.family == "weight":
        w = population_w(entry, spec.code, rho, spec.params)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(rho * (1.0 - rho) > 0, w / (rho * (1.0 - rho)), np.inf)
    return _omega_std(rho, g, spec.params) if entry.family == "std" else _omega_one(rho, g, spec.params)


def effective_weight(name: str, rho, **options) -> np.ndarray:
    """Population effective weight w(rho) = omega(rho) rho (1 - rho) (G -> inf, eps -> 0) [paper B].

    >>> effective_weight("grpo", [0.0, 0.5, 1.0]).tolist()
    [0.0, 0.5, 0.0]
    """
    from theory.estimators import _entry, _validated, resolve
    entry = _entry(name)
    rho = check_probabilities("rho", rho)
    if entry.stateful:
        _validated(entry, options)
        return np.asarray(rho * (1.0 - rho), dtype=np.float64)
    spec = resolve(name, **options)
    return np.asarray(population_w(entry, spec.code, rho, spec.params), dtype=np.float64)


def weight_shapes(name: str, **options):
    """Paper B closed forms (f, R, E) of a stateless entry (see theory.weighting_shapes), or None."""
    from theory.estimators import _entry, resolve
    entry = _entry(name)
    spec = resolve(name, **options)
    if entry.family == "weight":
        return entry.shapes(spec.params) if entry.shapes is not None else None
    return SHAPES["semicircle"] if entry.family == "std" else SHAPES["parabola"]
