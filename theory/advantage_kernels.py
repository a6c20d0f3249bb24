"""The Numba side of the estimator registry: one dispatch, ``advantage_row(code, r, params, out)``.

The registry (:mod:`theory.estimators`) resolves a name and its options into a kernel handle
``code`` and a parameter vector ``params`` (float64, :data:`N_PARAMS`); every simulator passes
both, unchanged, down to :func:`advantage_row` / :func:`keep_row` inside its own ``prange`` loops.

Two kinds of handle, chosen by Numba at compile time from the TYPE of ``code`` (an ``@overload``):

* an ``int``: a built-in kernel code (REINFORCE .. PLATEAU_R below). The dispatch is organised by
  family (raw, centred, std-normalised, weight); an int that is not a built-in code RAISES
  ``ValueError`` (no silent fall-through to another estimator's formula). This path is the same
  static source for every registry, so its machine code, and every ``cache=True`` kernel that
  inlines it, is the same whatever gets registered at run time.
* a Numba first-class function ``w(rho, params) -> float`` (a ``cfunc`` of signature
  :data:`WEIGHT_SIGNATURE`): the weight w(rho) of a weight-family entry that has no built-in code,
  e.g. one registered at run time. Every kernel gets ONE extra specialisation for this type, which
  calls ``w`` through a function pointer passed at run time: the machine code does not depend on
  which w, so Numba's on-disk cache can never serve a kernel compiled for another registry.

Family rules, written once here and attached to the family, not to a list of names:

* raw (reinforce): A_i = r_i.
* centred (dr_grpo, rloo): A_i = c (r_i - rho_hat), c = 1 or G/(G-1); constant groups give 0.
* std (grpo, dapo): A_i = (r_i - rho_hat) / (max(s, std_floor) + eps); constant groups give 0.
* centred and std share the singleton rule (G = 1): ``params[P_SINGLETON_ZERO]`` selects TRL's 0,
  else verl's mean 0 / std 1 (r / (1 + eps) for std, r for centred).
* weight: A_i = (r_i / rho_hat - (1 - r_i) / (1 - rho_hat)) w(rho_hat), finite at rho_hat in {0, 1}
  and at G = 1 (no singleton rule: the formula is defined there).

Parameter vector: ``P_DDOF, P_EPS, P_STD_FLOOR, P_SINGLETON_ZERO`` for the centred/std families;
slots ``P_W0 .. N_PARAMS - 1`` hold a weight entry's numeric options in declared order
(plateau_r's rho_star is ``P_W0`` = :data:`P_RHO_STAR`).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["REINFORCE", "DR_GRPO", "RLOO", "GRPO", "DAPO", "LINEAR_R", "SQRT_R", "UNIFORM_R",
           "PLATEAU_R", "KAE", "KERNEL_FAMILY", "P_DDOF", "P_EPS", "P_STD_FLOOR", "P_SINGLETON_ZERO",
           "P_W0", "P_RHO_STAR", "N_PARAMS", "WEIGHT_SIGNATURE", "advantage_row", "keep_row",
           "weights_many", "advantages_batch", "GRPO_CONVENTIONS", "kernel_params"]

# Built-in kernel codes (stable: tests and benchmarks name them).
REINFORCE, DR_GRPO, RLOO, GRPO, DAPO, LINEAR_R, SQRT_R, UNIFORM_R, PLATEAU_R, KAE = range(10)
#: What the static dispatch implements for each built-in code; register() checks entries against it.
KERNEL_FAMILY = {REINFORCE: "raw", DR_GRPO: "centred", RLOO: "centred", GRPO: "std", DAPO: "std",
                 LINEAR_R: "weight", SQRT_R: "weight", UNIFORM_R: "weight", PLATEAU_R: "weight",
                 KAE: "stateful"}
P_DDOF, P_EPS, P_STD_FLOOR, P_SINGLETON_ZERO, P_W0 = range(5)
P_RHO_STAR = P_W0
N_PARAMS = 8
#: Numba signature of a weight entry's compiled w(rho, params).
WEIGHT_SIGNATURE = types.float64(types.float64, types.float64[::1])


# ----------------------------------------------------------------------------------------------
# Built-in weights w(rho, params): THE definitions (the population weight and the kernel use them).
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def w_linear(rho, params):
    """w(rho) = 1 - rho (Linear-R)."""
    return 1.0 - rho


@njit(cache=True)
def w_sqrt(rho, params):
    """w(rho) = sqrt(1 - rho) (Sqrt-R)."""
    return np.sqrt(max(1.0 - rho, 0.0))


@njit(cache=True)
def w_uniform(rho, params):
    """w(rho) = 1 (Uniform-R)."""
    return 1.0


@njit(cache=True)
def w_plateau(rho, params):
    """w(rho) = min(1, (1 - rho) / (1 - rho_star)) (Plateau-R), rho_star = params[P_RHO_STAR]."""
    return min(1.0, (1.0 - rho) / (1.0 - params[P_RHO_STAR]))


@njit(cache=True)
def _unknown_code():
    """Raise for an int code that is no built-in kernel. A function of its own, never inlined: the
    dispatch below is inlined into the simulators' ``prange`` bodies, and a ``raise`` statement in
    such a body makes Numba run the whole region serially (tests/test_parallel_regions.py)."""
    raise ValueError("advantage_row: unknown estimator code (not a built-in kernel; use theory.estimators.resolve)")


@njit(cache=True, inline="always")
def _builtin_weight(code, rho, params):
    if code == LINEAR_R:
        return w_linear(rho, params)
    if code == SQRT_R:
        return w_sqrt(rho, params)
    if code == UNIFORM_R:
        return w_uniform(rho, params)
    if code == PLATEAU_R:
        return w_plateau(rho, params)
    _unknown_code()
    return 0.0  # not reached


# ----------------------------------------------------------------------------------------------
# Family kernels.
# ----------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _mean_constant(r):
    g = r.shape[0]
    mean = 0.0
    for i in range(g):
        mean += r[i]
    mean /= g
    constant = True
    for i in range(1, g):  # no early exit: a branch-free (vectorisable) pass
        constant &= r[i] == r[0]
    return mean, constant


@njit(cache=True, inline="always")
def _weight_family(w, r, mean, out):
    """A_i = r_i w/rho - (1 - r_i) w/(1 - rho). The ratios r_i / rho_hat <= G and
    (1 - r_i) / (1 - rho_hat) <= G come first, so A stays finite even for a subnormal rho_hat."""
    for i in range(r.shape[0]):
        plus = r[i] / mean if mean > 0.0 else 0.0
        minus = (1.0 - r[i]) / (1.0 - mean) if mean < 1.0 else 0.0
        out[i] = (plus - minus) * w


@njit(cache=True, inline="always")
def _builtin_row(code, r, params, out):
    g = r.shape[0]
    if code == REINFORCE:  # raw family
        for i in range(g):
            out[i] = r[i]
        return
    mean, constant = _mean_constant(r)
    centred = code == DR_GRPO or code == RLOO
    std = code == GRPO or code == DAPO
    if centred or std:
        if g == 1:  # the singleton rule of the centred and std families
            if params[P_SINGLETON_ZERO] != 0.0:
                out[0] = 0.0
            elif std:  # verl: mean 0, std 1
                out[0] = r[0] / (1.0 + params[P_EPS])
            else:
                out[0] = r[0]
            return
        if centred:
            scale = 1.0 if code == DR_GRPO else g / (g - 1.0)
            for i in range(g):
                out[i] = 0.0 if constant else scale * (r[i] - mean)
            return
        if constant:
            for i in range(g):
                out[i] = 0.0
            return
        ss = 0.0
        for i in range(g):
            ss += (r[i] - mean) * (r[i] - mean)
        sd = np.sqrt(ss / (g - params[P_DDOF]))
        denom = max(sd, params[P_STD_FLOOR]) + params[P_EPS]
        for i in range(g):
            out[i] = (r[i] - mean) / denom
        return
    _weight_family(_builtin_weight(code, mean, params), r, mean, out)  # raises for unknown codes


def _is_int(code):
    return isinstance(code, (int, np.integer))


def _row(code, r, params, out):
    """Pure-Python twin of the overload below: ``advantage_row.py_func`` runs the kernel interpreted
    (theory.bench's reference), calling the Python bodies of the family kernels."""
    if _is_int(code):
        return _builtin_row.py_func(code, r, params, out)
    mean, _ = _mean_constant.py_func(r)
    _weight_family.py_func(code(mean, params), r, mean, out)


def _keep(code, r):
    if _is_int(code) and code == DAPO:
        return _any_differs.py_func(r)
    return True


@overload(_row, jit_options={"cache": True}, inline="always")
def _row_typed(code, r, params, out):
    if isinstance(code, types.Integer):
        return lambda code, r, params, out: _builtin_row(code, r, params, out)
    if isinstance(code, types.FunctionType):
        def impl(code, r, params, out):
            mean, constant = _mean_constant(r)
            _weight_family(code(mean, params), r, mean, out)
        return impl
    return None


@njit(cache=True, inline="always")
def _any_differs(r):
    for i in range(1, r.shape[0]):
        if r[i] != r[0]:
            return True
    return r.shape[0] == 1


@overload(_keep, jit_options={"cache": True}, inline="always")
def _keep_typed(code, r):
    if isinstance(code, types.Integer):
        def impl(code, r):
            if code == DAPO:  # the std family's filtering member (dynamic sampling)
                return _any_differs(r)
            return True
        return impl
    if isinstance(code, types.FunctionType):
        return lambda code, r: True  # weight entries never filter groups
    return None


@njit(cache=True, inline="always")
def advantage_row(code, r, params, out):
    """Advantages of one prompt group: ``r`` (G,) float64 -> ``out`` (G,) float64.

    ``code`` and ``params`` come from :func:`theory.estimators.resolve` (a built-in int code or a
    weight entry's compiled w). Not for ``kae`` (stateful: theory.kernel). Unknown int codes raise.
    """
    _row(code, r, params, out)


@njit(cache=True, inline="always")
def keep_row(code, r):
    """Whether a group takes part in the update (False only for dapo's all-equal groups, G >= 2)."""
    return _keep(code, r)


@njit(cache=True)
def advantages_batch(code, rewards, params, out, keep):
    """:func:`advantage_row` and :func:`keep_row` over the rows of ``rewards`` (P, G)."""
    for p in range(rewards.shape[0]):
        advantage_row(code, rewards[p], params, out[p])
        keep[p] = keep_row(code, rewards[p])


def _w(code, rho, params):
    if _is_int(code):
        return _builtin_weight(code, rho, params)
    return code(rho, params)


@overload(_w, jit_options={"cache": True})
def _w_typed(code, rho, params):
    if isinstance(code, types.Integer):
        return lambda code, rho, params: _builtin_weight(code, rho, params)
    if isinstance(code, types.FunctionType):
        return lambda code, rho, params: code(rho, params)
    return None


@njit(cache=True)
def weights_many(code, rho, params, out):
    """out[i] = w(rho[i]) of a weight-family handle (the kernel's own w, over a flat array)."""
    for i in range(rho.shape[0]):
        out[i] = _w(code, rho[i], params)


# ----------------------------------------------------------------------------------------------
# Options -> parameter vector, one rule per family (options arrive validated, in declared order).
# ----------------------------------------------------------------------------------------------
#: Each framework's group-std convention (reference/rlvr_frameworks.md, 3.5 and the edge cases).
GRPO_CONVENTIONS: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "verl": MappingProxyType({"ddof": 1, "eps": 1e-6, "std_floor": 0.0, "singleton": "raw"}),
        "trl": MappingProxyType({"ddof": 1, "eps": 1e-4, "std_floor": 0.0, "singleton": "zero"}),
        "openrlhf": MappingProxyType({"ddof": 1, "eps": 1e-9, "std_floor": 0.0, "singleton": "zero"}),
    }
)


def _base_params() -> np.ndarray:
    params = np.zeros(N_PARAMS)
    params[P_DDOF] = 1.0
    params[P_RHO_STAR] = 0.5
    return params


def _std_params(opts):
    params = _base_params()
    merged = {**GRPO_CONVENTIONS[opts["convention"]],
              **{k: v for k, v in opts.items() if v is not None and k != "convention"}}
    params[P_DDOF] = merged["ddof"]
    params[P_EPS] = merged["eps"]
    params[P_STD_FLOOR] = merged["std_floor"]
    params[P_SINGLETON_ZERO] = merged["singleton"] == "zero"
    if params[P_EPS] == 0.0 and params[P_STD_FLOOR] == 0.0:
        raise ValueError("eps and std_floor must not both be 0 (a near-constant group would divide by ~0)")
    return params


def _centred_params(opts):
    params = _base_params()
    params[P_SINGLETON_ZERO] = opts.get("singleton", "raw") == "zero"
    return params


def _weight_params(opts):
    params = _base_params()
    for i, value in enumerate(opts.values()):  # declared order -> slots P_W0, P_W0 + 1, ...
        params[P_W0 + i] = value
    return params


_PARAMS = {"raw": lambda opts: _base_params(), "centred": _centred_params, "std": _std_params,
           "weight": _weight_params}


def kernel_params(family: str, opts: Mapping) -> np.ndarray:
    """The float64 (N_PARAMS,) vector the kernels read, from an entry's validated options.

    std: ``convention`` gives ddof/eps/std_floor/singleton, explicit options override them;
    centred: ``singleton``; weight: the numeric options in declared order from ``P_W0``.
    """
    return _PARAMS[family](opts)
