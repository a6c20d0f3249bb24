"""Paper B closed forms: antiderivatives of each weight shape, for the registry's entries.

For a prompt weight omega = w / (rho (1 - rho)) a *shape* is the triple (f, R, E) with

    f' = omega (surrogate objective),  R' = 1 / w (regular time),  E' = 1 / (rho w) (effective time),

each up to an additive constant, on rho in (0, 1). A registry entry declares its shape through
``Estimator.shapes(params)``; an entry without one (a weighting added at run time, say) gets the
quadrature fallback of :mod:`theory.weighting`. Derivations: shared/papers/B_asymmetric_weighting.md,
B.3 [R]; each is checked against quadrature in tests/test_weighting_theory.py.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit, xlogy

__all__ = ["F", "SHAPES", "plateau_shapes"]


def F(rho):
    """F(rho) = log[(1 - sqrt(1-rho)) / (1 + sqrt(1-rho))] = log rho - 2 log(1 + sqrt(1-rho))."""
    return np.log(rho) - 2.0 * np.log1p(np.sqrt(1.0 - rho))


def plateau_shapes(rs):
    """Antiderivatives for w = min(1, (1-rho)/(1-rs)); constants chosen so rs -> 0 stays finite."""
    q = 1.0 - rs
    c_f = -xlogy(rs, rs) / q - np.log1p(-rs)  # logit(rs) - log(rs)/q
    c_e = xlogy(rs, rs) + xlogy(q, q)

    def f(r):
        return np.where(r <= rs, logit(r), np.log(r) / q + c_f)

    def reg(r):
        return np.where(r <= rs, r, rs - q * (np.log1p(-r) - np.log1p(-rs)))

    def eff(r):
        return np.where(r <= rs, np.log(r), q * logit(r) + c_e)
    return f, reg, eff


#: shape name -> (f, R, E) for the parameter-free shapes.
SHAPES = {
    "parabola": (lambda r: r, logit, lambda r: logit(r) - 1.0 / r),  # w = rho (1 - rho)
    "semicircle": (lambda r: 2.0 * np.arcsin(np.sqrt(r)), lambda r: 2.0 * np.arcsin(np.sqrt(r)),
                   lambda r: -2.0 * np.sqrt((1.0 - r) / r)),  # w = sqrt(rho (1 - rho))
    "linear": (np.log, lambda r: -np.log1p(-r), logit),  # w = 1 - rho
    "sqrt": (F, lambda r: -2.0 * np.sqrt(1.0 - r), F),  # w = sqrt(1 - rho)
    "uniform": (logit, lambda r: r, np.log),  # w = 1
}
