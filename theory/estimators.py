"""THE estimator registry: every advantage estimator and prompt weighting, defined once.

Each estimator is a Numba kernel over one prompt group (``advantage_row``); the NumPy-facing API
(:func:`advantages`, :func:`estimate`) runs the very same kernel over the rows of a
``(num_prompts, group_size)`` reward array, the simulators call ``advantage_row`` inside their own
parallel loops, and ``llm_backend`` calls :func:`advantages` on the rewards of real rollouts.

Notation: a group holds rewards r_1..r_G of one prompt; rho_hat = mean_i r_i; s = group std with
``ddof``. The registered estimators:

=========  =======================================================  ============================
name       advantage A_i                                            source
=========  =======================================================  ============================
reinforce  r_i (no baseline)                                        Williams 1992
dr_grpo    r_i - rho_hat                                            Dr.GRPO; verl/OpenRLHF
rloo       r_i - mean_{j != i} r_j = G/(G-1) (r_i - rho_hat)        verl/TRL/OpenRLHF rloo
grpo       (r_i - rho_hat) / (max(s, std_floor) + eps)              verl/TRL/OpenRLHF, 3 presets
dapo       grpo advantages + keep-mask dropping all-equal groups    DAPO (verl-recipe)
linear_r   omega(rho_hat)(r_i - rho_hat), w(rho) = 1 - rho          paper B [V]
sqrt_r     ... w(rho) = sqrt(1 - rho)                               paper B [R]
uniform_r  ... w(rho) = 1                                           paper B [R]
plateau_r  ... w(rho) = min(1, (1 - rho)/(1 - rho_star))            paper B [R], see below
kae        r_i - V_hat_i, kernel-smoothed leave-one-out baseline    paper C [V]; see theory.kae
=========  =======================================================  ============================

The paper-B weightings are written through their effective weight w = omega rho (1 - rho): for
rewards in [0, 1], r_i - rho = r_i (1 - rho) - (1 - r_i) rho, hence

    A_i = r_i w(rho_hat)/rho_hat - (1 - r_i) w(rho_hat)/(1 - rho_hat),

which equals omega(rho_hat)(r_i - rho_hat) wherever omega is finite and gives the finite limits at
rho_hat in {0, 1} (an all-fail group gets A_i = -w(0); an all-pass group A_i = w(1)).

Modelling choices the papers leave open (documented here, tested in tests/test_estimators_*):
- Constant groups (G >= 2, all rewards equal) get an exact zero advantage for every centred
  estimator; the frameworks return round-off (about 1e-11) for non-dyadic rewards.
- Singleton groups follow the selected convention: ``singleton="raw"`` is verl's mean 0, std 1
  (so grpo gives r / (1 + eps) and rloo/dr_grpo give r); ``"zero"`` is TRL's (r - r) = 0.
  OpenRLHF refuses G = 1; its preset defines it as zero.
- plateau_r is not defined in any source we have [R]: we take a flat effective weight up to
  rho_star (default 0.5), then linear decay to 0 at rho = 1.
- sqrt_r and uniform_r are reconstructions [R] from the optimal-weight statement and the name.
- dapo keeps singleton groups (verl-recipe keeps a uid with one sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
from numba import njit

from theory.checks import check_choice, check_int, check_probabilities, check_real, check_rewards
from theory import kae as _kae

__all__ = [
    "Estimator",
    "ESTIMATORS",
    "GRPO_CONVENTIONS",
    "Spec",
    "Estimate",
    "register",
    "resolve",
    "advantages",
    "estimate",
    "keep_mask",
    "prompt_weight",
    "effective_weight",
    "advantage_row",
    "keep_row",
]

# ----------------------------------------------------------------------------------------------
# Kernel codes and the parameter vector every kernel receives.
# ----------------------------------------------------------------------------------------------
REINFORCE, DR_GRPO, RLOO, GRPO, DAPO, LINEAR_R, SQRT_R, UNIFORM_R, PLATEAU_R, KAE = range(10)
P_DDOF, P_EPS, P_STD_FLOOR, P_SINGLETON_ZERO, P_RHO_STAR, N_PARAMS = range(6)

# Each framework's group-std convention (reference/rlvr_frameworks.md, 3.5 and the edge cases).
GRPO_CONVENTIONS: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "verl": MappingProxyType({"ddof": 1, "eps": 1e-6, "std_floor": 0.0, "singleton": "raw"}),
        "trl": MappingProxyType({"ddof": 1, "eps": 1e-4, "std_floor": 0.0, "singleton": "zero"}),
        "openrlhf": MappingProxyType({"ddof": 1, "eps": 1e-9, "std_floor": 0.0, "singleton": "zero"}),
    }
)


@njit(cache=True)
def _w_asym(code, rho, rho_star):
    """Population effective weight w(rho) of the paper-B asymmetric weightings."""
    if code == LINEAR_R:
        return 1.0 - rho
    if code == SQRT_R:
        return np.sqrt(max(1.0 - rho, 0.0))
    if code == UNIFORM_R:
        return 1.0
    # PLATEAU_R
    return min(1.0, (1.0 - rho) / (1.0 - rho_star))


@njit(cache=True)
def advantage_row(code, r, params, out):
    """Advantages of one prompt group: ``r`` (G,) float64 -> ``out`` (G,) float64.

    ``code`` and ``params`` come from :func:`resolve`. Not for ``kae`` (stateful: theory.kae).
    """
    g = r.shape[0]
    if code == REINFORCE:
        for i in range(g):
            out[i] = r[i]
        return
    mean = 0.0
    for i in range(g):
        mean += r[i]
    mean /= g
    constant = True
    for i in range(1, g):
        if r[i] != r[0]:
            constant = False
            break
    if g == 1 and code != LINEAR_R and code != SQRT_R and code != UNIFORM_R and code != PLATEAU_R:
        if params[P_SINGLETON_ZERO] != 0.0:
            out[0] = 0.0
        elif code == GRPO or code == DAPO:  # verl: mean 0, std 1
            out[0] = r[0] / (1.0 + params[P_EPS])
        else:
            out[0] = r[0]
        return
    if code == DR_GRPO or code == RLOO:
        scale = 1.0 if code == DR_GRPO else g / (g - 1.0)
        for i in range(g):
            out[i] = 0.0 if constant else scale * (r[i] - mean)
        return
    if code == GRPO or code == DAPO:
        if constant:
            for i in range(g):
                out[i] = 0.0
            return
        ss = 0.0
        for i in range(g):
            ss += (r[i] - mean) * (r[i] - mean)
        std = np.sqrt(ss / (g - params[P_DDOF]))
        denom = max(std, params[P_STD_FLOOR]) + params[P_EPS]
        for i in range(g):
            out[i] = (r[i] - mean) / denom
        return
    # paper-B weight family: A_i = r_i w/rho - (1 - r_i) w/(1 - rho), finite at rho in {0, 1}
    # r_i / rho_hat <= G and (1 - r_i) / (1 - rho_hat) <= G: the ratios first keep A finite
    # even for a subnormal rho_hat.
    w = _w_asym(code, mean, params[P_RHO_STAR])
    for i in range(g):
        plus = r[i] / mean if mean > 0.0 else 0.0
        minus = (1.0 - r[i]) / (1.0 - mean) if mean < 1.0 else 0.0
        out[i] = (plus - minus) * w


@njit(cache=True)
def keep_row(code, r):
    """Whether a group takes part in the update (False only for dapo's all-equal groups, G >= 2)."""
    if code != DAPO:
        return True
    for i in range(1, r.shape[0]):
        if r[i] != r[0]:
            return True
    return r.shape[0] == 1


@njit(cache=True)
def _advantages_batch(code, rewards, params, out, keep):
    for p in range(rewards.shape[0]):
        advantage_row(code, rewards[p], params, out[p])
        keep[p] = keep_row(code, rewards[p])


# ----------------------------------------------------------------------------------------------
# The registry.
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimator:
    """A registered estimator and the properties the contract suite checks."""

    name: str
    code: int
    formula: str
    source: str  # paper key or framework, with provenance tag where it is a paper's claim
    options: Mapping[str, object]  # accepted keyword options and their defaults
    omega: Callable | None  # prompt weight omega(rho_hat, group_size, params); None if not a weighting
    w_population: Callable  # effective weight w(rho, params) in the population limit (G -> inf)
    centered: bool = True  # a constant group gets a zero advantage
    shift_invariant: bool = True  # A(r + c) = A(r)
    scale_invariant: bool = False  # A(c r) = A(r), c > 0
    homogeneous: bool = True  # A(c r) = c A(r), c > 0
    symmetric_weight: bool = False  # w(rho) = w(1 - rho)
    unit_interval: bool = False  # rewards must lie in [0, 1]
    filters_groups: bool = False
    stateful: bool = False


_REGISTRY: dict[str, Estimator] = {}
ESTIMATORS: Mapping[str, Estimator] = MappingProxyType(_REGISTRY)


def register(entry: Estimator) -> Estimator:
    """Add an estimator; a second entry under an existing name or code raises ``ValueError``."""
    if entry.name in _REGISTRY:
        raise ValueError(f"estimator name {entry.name!r} is already registered")
    if any(e.code == entry.code for e in _REGISTRY.values()):
        raise ValueError(f"estimator code {entry.code} is already registered")
    _REGISTRY[entry.name] = entry
    return entry


def _omega_one(rho, g, params):
    return np.ones_like(rho)


def _omega_rloo(rho, g, params):
    if g < 2:
        raise ValueError("group_size must be >= 2 for rloo's prompt weight G/(G-1)")
    return np.full_like(rho, g / (g - 1.0))


def _omega_grpo(rho, g, params):
    if g - params[P_DDOF] <= 0:
        raise ValueError(f"group_size must be > ddof = {params[P_DDOF]:g} for grpo's prompt weight")
    std = np.sqrt(rho * (1.0 - rho) * g / (g - params[P_DDOF]))  # std of a binary group
    return 1.0 / (np.maximum(std, params[P_STD_FLOOR]) + params[P_EPS])


def _omega_from_w(rho, g, params, w_population):
    """omega = w / (rho (1 - rho)): finite inside (0, 1), inf at the ends where w(0) or w(1) > 0."""
    w = w_population(rho, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rho * (1.0 - rho) > 0, w / (rho * (1.0 - rho)), np.inf)


@njit(cache=True)
def _w_asym_many(code, rho, rho_star, out):
    for i in range(rho.shape[0]):
        out[i] = _w_asym(code, rho[i], rho_star)


def _w_asym_population(code):
    """w(rho, params) over arrays, from the very kernel ``advantage_row`` uses (one definition)."""
    def w(rho, params):
        flat = np.ascontiguousarray(rho, dtype=np.float64).ravel()
        out = np.empty_like(flat)
        _w_asym_many(code, flat, params[P_RHO_STAR], out)
        return out.reshape(np.shape(rho)) if np.ndim(rho) else float(out[0])
    return w


_w_linear, _w_sqrt, _w_uniform, _w_plateau = (_w_asym_population(c) for c in (LINEAR_R, SQRT_R, UNIFORM_R,
                                                                               PLATEAU_R))


def _w_parabola(rho, params):
    return rho * (1.0 - rho)


def _w_semicircle(rho, params):
    return np.sqrt(rho * (1.0 - rho))


_GRPO_OPTIONS = {"convention": "verl", "ddof": None, "eps": None, "std_floor": None, "singleton": None}
_CENTRED_OPTIONS = {"singleton": "raw"}
_B = "paper B (asymmetric prompt weighting)"
for _entry in (
    Estimator("reinforce", REINFORCE, "A_i = r_i", "Williams 1992", {}, _omega_one, _w_parabola,
              centered=False, shift_invariant=False),
    Estimator("dr_grpo", DR_GRPO, "A_i = r_i - mean(r)", "Dr.GRPO (Liu et al. 2025)",
              _CENTRED_OPTIONS, _omega_one, _w_parabola, symmetric_weight=True),
    Estimator("rloo", RLOO, "A_i = r_i - mean_{j!=i} r_j", "Kool et al. 2019; Ahmadian et al. 2024",
              _CENTRED_OPTIONS, _omega_rloo, _w_parabola, symmetric_weight=True),
    Estimator("grpo", GRPO, "A_i = (r_i - mean(r)) / (max(std(r), floor) + eps)",
              "DeepSeekMath (Shao et al. 2024); verl/TRL/OpenRLHF presets", _GRPO_OPTIONS,
              _omega_grpo, _w_semicircle, scale_invariant=True, homogeneous=False, symmetric_weight=True),
    Estimator("dapo", DAPO, "grpo advantages; keep = not all rewards equal",
              "DAPO (Yu et al. 2025), verl-recipe dynamic sampling", _GRPO_OPTIONS, _omega_grpo,
              _w_semicircle, scale_invariant=True, homogeneous=False, symmetric_weight=True,
              filters_groups=True),
    Estimator("linear_r", LINEAR_R, "w(rho) = 1 - rho; omega = 1/rho", f"{_B} [V]", {},
              partial(_omega_from_w, w_population=_w_linear), _w_linear, centered=False, shift_invariant=False,
              homogeneous=False, unit_interval=True),
    Estimator("sqrt_r", SQRT_R, "w(rho) = sqrt(1 - rho); omega = 1/(rho sqrt(1 - rho))", f"{_B} [R]",
              {}, partial(_omega_from_w, w_population=_w_sqrt), _w_sqrt, centered=False,
              shift_invariant=False, homogeneous=False, unit_interval=True),
    Estimator("uniform_r", UNIFORM_R, "w(rho) = 1; omega = 1/(rho (1 - rho))", f"{_B} [R]", {},
              partial(_omega_from_w, w_population=_w_uniform), _w_uniform, centered=False,
              shift_invariant=False, homogeneous=False, unit_interval=True),
    Estimator("plateau_r", PLATEAU_R, "w(rho) = min(1, (1 - rho)/(1 - rho_star))", f"{_B} [R]",
              {"rho_star": 0.5}, partial(_omega_from_w, w_population=_w_plateau), _w_plateau,
              centered=False, shift_invariant=False, homogeneous=False, unit_interval=True),
    Estimator("kae", KAE, "A_i = r_i - V_hat_i (kernel-smoothed leave-one-out baseline)",
              "paper C (kernelized advantage estimation) [V]", _kae.OPTIONS, None, _w_parabola,
              centered=False, filters_groups=False, stateful=True),
):
    register(_entry)


# ----------------------------------------------------------------------------------------------
# Public API.
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """A resolved estimator: what the Numba kernels take (``advantage_row(code, r, params, out)``)."""

    name: str
    code: int
    params: np.ndarray


@dataclass(frozen=True)
class Estimate:
    """Advantages (num_prompts, group_size) and the keep-mask (num_prompts,) of one batch."""

    advantages: np.ndarray
    keep: np.ndarray


def _entry(name) -> Estimator:
    if name not in _REGISTRY:
        raise ValueError(f"estimator name must be one of {sorted(_REGISTRY)}; got {name!r}")
    return _REGISTRY[name]


def resolve(name: str, **options) -> Spec:
    """Validate ``options`` for estimator ``name`` and return its kernel code and parameter vector.

    grpo/dapo: ``convention`` in {"verl", "trl", "openrlhf"} sets ddof, eps and the singleton rule;
    ``ddof`` (0 or 1), ``eps`` (>= 0), ``std_floor`` (>= 0) and ``singleton`` ("raw" | "zero")
    override single knobs. dr_grpo/rloo: ``singleton``. plateau_r: ``rho_star`` in [0, 1).
    """
    entry = _entry(name)
    unknown = set(options) - set(entry.options)
    if unknown:
        accepted = sorted(entry.options) or "none"
        raise ValueError(f"unknown option(s) {sorted(unknown)} for estimator {name!r}; accepted: {accepted}")
    params = np.zeros(N_PARAMS)
    params[P_DDOF] = 1.0
    params[P_RHO_STAR] = 0.5
    if entry.code in (GRPO, DAPO):
        conv = check_choice("convention", options.get("convention") or "verl", GRPO_CONVENTIONS)
        merged = {**GRPO_CONVENTIONS[conv], **{k: v for k, v in options.items() if v is not None and k != "convention"}}
        params[P_DDOF] = check_int("ddof", merged["ddof"], low=0, high=1)
        params[P_EPS] = check_real("eps", merged["eps"], low=0.0)
        params[P_STD_FLOOR] = check_real("std_floor", merged["std_floor"], low=0.0)
        params[P_SINGLETON_ZERO] = check_choice("singleton", merged["singleton"], ("raw", "zero")) == "zero"
        if params[P_EPS] == 0.0 and params[P_STD_FLOOR] == 0.0:
            raise ValueError("eps and std_floor must not both be 0 (a near-constant group would divide by ~0)")
    elif entry.code in (DR_GRPO, RLOO):
        params[P_SINGLETON_ZERO] = check_choice("singleton", options.get("singleton", "raw"), ("raw", "zero")) == "zero"
    elif entry.code == PLATEAU_R:
        params[P_RHO_STAR] = check_real("rho_star", options.get("rho_star", 0.5), low=0.0, high=1.0, open_high=True)
    return Spec(name, entry.code, params)


def estimate(name: str, rewards, **options) -> Estimate:
    """Advantages and keep-mask for ``rewards`` shaped (num_prompts, group_size).

    >>> estimate("dapo", [[1, 0, 0, 0], [1, 1, 1, 1]]).keep.tolist()
    [True, False]
    """
    entry = _entry(name)
    if entry.stateful:
        r = check_rewards(rewards, unit_interval=entry.unit_interval)
        return Estimate(_kae.advantages(r, **options), np.ones(r.shape[0], dtype=np.bool_))
    spec = resolve(name, **options)
    r = check_rewards(rewards, unit_interval=entry.unit_interval)
    out = np.empty_like(r)
    keep = np.empty(r.shape[0], dtype=np.bool_)
    _advantages_batch(spec.code, r, spec.params, out, keep)
    return Estimate(out, keep)


def advantages(name: str, rewards, **options) -> np.ndarray:
    """Advantages (same shape as ``rewards``) of estimator ``name``; see :func:`resolve` for options.

    >>> advantages("grpo", [[1, 0, 0, 0]], convention="openrlhf").round(6).tolist()
    [[1.5, -0.5, -0.5, -0.5]]
    >>> advantages("linear_r", [[0, 0, 0, 0]]).tolist()  # an all-fail group still moves
    [[-1.0, -1.0, -1.0, -1.0]]
    """
    return estimate(name, rewards, **options).advantages


def keep_mask(name: str, rewards, **options) -> np.ndarray:
    """Which groups take part in the update: (num_prompts,) bool (all True unless the method filters)."""
    return estimate(name, rewards, **options).keep


def prompt_weight(name: str, rho_hat, group_size: int, **options) -> np.ndarray:
    """Prompt weight omega(rho_hat) so that A_i = omega (r_i - rho_hat) for binary rewards [paper B].

    ``group_size`` enters through rloo's G/(G-1) and grpo's Bessel factor. The asymmetric weights
    diverge at rho_hat in {0, 1} (returned as inf) while their advantages stay finite.
    """
    entry = _entry(name)
    if entry.omega is None:
        raise ValueError(f"estimator {name!r} has no prompt weight omega(rho_hat): its baseline is stateful")
    g = check_int("group_size", group_size, low=1)
    rho = check_probabilities("rho_hat", rho_hat)
    return entry.omega(rho, g, resolve(name, **options).params)


def effective_weight(name: str, rho, **options) -> np.ndarray:
    """Population effective weight w(rho) = omega(rho) rho (1 - rho) (G -> inf, eps -> 0) [paper B].

    >>> effective_weight("grpo", [0.0, 0.5, 1.0]).tolist()
    [0.0, 0.5, 0.0]
    """
    entry = _entry(name)
    rho = check_probabilities("rho", rho)
    return np.asarray(entry.w_population(rho, resolve(name, **options).params), dtype=np.float64)
