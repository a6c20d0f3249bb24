"""Paper C simulator: the drifting values V_i(x) of the exogenous drifts and the per-run prompt
parameters (the model of :mod:`simulate.kernel`, which re-exports these names; see its docstring for
the drifts' definitions [R])."""

from __future__ import annotations

import numpy as np
from numba import njit

from theory.checks import check_choice, check_int

__all__ = ["DRIFTS", "prompt_parameters", "true_value", "exogenous_policy"]

DRIFTS = {"logistic": 0, "lipschitz": 1, "policy": 2}


def prompt_parameters(n_runs: int, n_prompts: int, seed: int) -> dict:
    """Per-run prompt parameters a (offset), b (rate), w (ramp end), each (R, P) [R]."""
    rng = np.random.default_rng([check_int("seed", seed, low=0), 0xC])
    shape = (n_runs, n_prompts)
    return {"a": rng.normal(-0.5, 1.5, shape), "b": rng.uniform(0.0, 4.0, shape),
            "w": rng.uniform(0.25, 1.25, shape)}


@njit(cache=True)
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x)) if x >= 0 else np.exp(x) / (1.0 + np.exp(x))


@njit(cache=True)
def _value(drift, a, b, w, s):
    if drift == 0:
        return _sigmoid(a + b * s)
    v0 = _sigmoid(a)
    return v0 + (_sigmoid(a + b) - v0) * min(s / w, 1.0)


def true_value(drift: str, a, b, w, s) -> np.ndarray:
    """V at rescaled time s for the exogenous drifts (arrays broadcast)."""
    code = DRIFTS[check_choice("drift", drift, ("logistic", "lipschitz"))]
    a, b, w, s = (np.ascontiguousarray(x, dtype=np.float64)
                  for x in np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (a, b, w, s))))
    out = np.empty(a.shape)
    _values_many(code, a.ravel(), b.ravel(), w.ravel(), s.ravel(), out.reshape(-1))
    return out


@njit(cache=True)
def _values_many(code, a, b, w, s, out):
    for i in range(a.shape[0]):
        out[i] = _value(code, a[i], b[i], w[i], s[i])


@njit(cache=True)
def _values_grid(code, a, b, w, s, out):
    """out[r, j, p] = V of run r's prompt p at rescaled time s[j] (a, b, w (R, P)): true_value on
    the (run, time, prompt) grid without broadcast copies (the same numbers)."""
    for r in range(a.shape[0]):
        for j in range(s.shape[0]):
            for p in range(a.shape[1]):
                out[r, j, p] = _value(code, a[r, p], b[r, p], w[r, p], s[j])


@njit(cache=True, inline="always")
def exogenous_policy(v, correct, n_corr, out):
    """The exogenous drifts' policy over K responses into ``out`` (K,): success probability ``v``
    spread evenly over the ``n_corr`` correct ones (``correct`` (K,) 0/1), 1 - v over the others."""
    k_resp = out.shape[0]
    for k in range(k_resp):
        out[k] = v / n_corr if correct[k] > 0.0 else (1.0 - v) / (k_resp - n_corr)
