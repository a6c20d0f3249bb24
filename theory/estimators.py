"""THE estimator registry: every advantage estimator and prompt weighting, defined once.

Each :class:`Estimator` entry is the single source for its method: its family, its options with
their domains (validated once, generically, for every entry), its kernel (a built-in code of
:mod:`theory.advantage_kernels`, or the weight w(rho) it compiles), its paper-B closed forms, and,
for a stateful entry, what it needs from the caller and how its state is created and serialised.
The simulators call ``advantage_row(code, r, params, out)`` inside their own parallel loops (code
and params from :func:`resolve`), the NumPy API (:func:`advantages`, :func:`estimate`) runs the same
kernel over the rows of a ``(num_prompts, group_size)`` reward array, and ``llm_backend`` calls
:func:`estimate` on the rewards of real rollouts. Everything else is DERIVED from the entries:
method lists (:func:`names`), the singleton rule, the contract suite, paper B's shape tables.

Notation: a group holds rewards r_1..r_G of one prompt; rho_hat = mean_i r_i; s = group std with
``ddof``. The registered estimators (family in brackets):

=========  ==========  =================================================  =========================
name       family      advantage A_i                                      source
=========  ==========  =================================================  =========================
reinforce  raw         r_i (no baseline)                                  Williams 1992
dr_grpo    centred     r_i - rho_hat                                      Dr.GRPO; verl/OpenRLHF
rloo       centred     r_i - mean_{j != i} r_j = G/(G-1) (r_i - rho_hat)  verl/TRL/OpenRLHF rloo
grpo       std         (r_i - rho_hat) / (max(s, std_floor) + eps)        verl/TRL/OpenRLHF presets
dapo       std         grpo advantages + keep-mask dropping equal groups  DAPO (verl-recipe)
linear_r   weight      w(rho) = 1 - rho                                   paper B [V]
sqrt_r     weight      w(rho) = sqrt(1 - rho)                             paper B [R]
uniform_r  weight      w(rho) = 1                                         paper B [R]
plateau_r  weight      w(rho) = min(1, (1 - rho)/(1 - rho_star))          paper B [R], see below
kae        stateful    r_i - V_hat_i, kernel-smoothed leave-one-out       paper C [V]; theory.kernel
=========  ==========  =================================================  =========================

A weight-family entry is written through its effective weight w = omega rho (1 - rho): for rewards
in [0, 1], A_i = r_i w(rho_hat)/rho_hat - (1 - r_i) w(rho_hat)/(1 - rho_hat), which equals
omega(rho_hat)(r_i - rho_hat) wherever omega is finite and stays finite at rho_hat in {0, 1}.

Adding an estimator
-------------------
A new weighting is ONE entry (plus its plain-Python oracle in tests/oracles.py)::

    @njit
    def w_square(rho, params):          # w(rho, params) -> float; options sit in params[P_W0 + i]
        return (1.0 - rho) ** 2

    register(Estimator("square_r", "weight", "w(rho) = (1 - rho)^2", "my note [R]", w=w_square))

Every layer picks it up: :func:`advantages`, the three simulators (they pass ``spec.code``, here
the compiled w, to ``advantage_row``), the trainer, paper B's theory (closed forms if the entry
gives ``shapes``, else quadrature) and the figures' method lists (``names(family="weight")``).
:func:`registered` adds entries for the duration of a ``with`` block (tests).

How the Numba dispatch stays registry-independent (and cache-safe): see
:mod:`theory.advantage_kernels`. In short, built-in entries carry an ``int`` code of a static
dispatch (unknown codes raise); any other weight entry's ``w`` is compiled to a ``cfunc`` and
passed as a first-class function, so every kernel has one extra specialisation whose machine code
calls w through a pointer. The same source therefore always gives the same machine code, and
Numba's on-disk cache never holds code that depends on what was registered at run time.
(Rejected alternative: regenerating the dispatch from the registry and recompiling. Numba binds a
callee when the caller compiles and its cache stamps only the caller's own file, so a cached
simulator would keep serving the dispatch of the registry it was compiled with.) A run-time w is
compiled with NumPy's error model (1/0 gives inf: a cfunc cannot raise) and checked finite and
>= 0 on a grid of rho at registration. Separately, :mod:`theory.numba_cache` stamps every cached
kernel of theory/ and simulate/ with the hash of both packages' sources, so an edit to the
kernels here recompiles the simulators that inline them.
Other families (raw, centred, std) take a new member only with a kernel branch (their formulas
are code, not data); a stateful entry supplies ``stateful_advantages`` and its state hooks.

Modelling choices the papers leave open (tested in tests/test_estimators_*):
- Constant groups (G >= 2, all rewards equal) get an exact zero advantage for every centred/std
  estimator; the frameworks return round-off (about 1e-11) for non-dyadic rewards.
- Singleton groups (centred and std families) follow ``singleton``: "raw" is verl's mean 0,
  std 1 (grpo gives r / (1 + eps), rloo/dr_grpo give r); "zero" is TRL's (r - r) = 0. OpenRLHF
  refuses G = 1; its preset defines it as zero. Weight entries need no rule (finite at G = 1).
- plateau_r is not defined in any source we have [R]: a flat effective weight up to rho_star
  (default 0.5), then linear decay to 0 at rho = 1. sqrt_r and uniform_r are reconstructions [R].
- dapo keeps singleton groups (verl-recipe keeps a uid with one sample).
- Population effective weight of the non-weight families (G -> inf, eps -> 0): rho (1 - rho) for
  raw/centred (and kae, whose baseline tends to rho), sqrt(rho (1 - rho)) for std.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np
from numba import cfunc
from numba.core.registry import CPUDispatcher

from theory import kernel as _kae
from theory.advantage_kernels import (DAPO, DR_GRPO, GRPO, GRPO_CONVENTIONS, KAE, LINEAR_R,
                                      P_RHO_STAR, P_W0, PLATEAU_R, REINFORCE, RLOO, SQRT_R, UNIFORM_R,
                                      WEIGHT_SIGNATURE, advantage_row, advantages_batch, keep_row, kernel_params,
                                      w_linear, w_plateau, w_sqrt, w_uniform, weights_many)
from theory.checks import check_choice, check_rewards, choice_option, int_option, real_option
from theory.estimator_entry import FAMILIES, NEEDS, Estimator
from theory.estimator_weights import _omega_rloo, effective_weight, prompt_weight, weight_shapes
from theory.weighting_shapes import SHAPES, plateau_shapes

__all__ = ["Estimator", "ESTIMATORS", "FAMILIES", "GRPO_CONVENTIONS", "Spec", "Estimate", "register",
           "unregister", "registered", "names", "FamilyView", "resolve", "advantages", "estimate", "keep_mask",
           "new_state", "state_from_dict", "prompt_weight", "effective_weight", "weight_shapes", "advantage_row",
           "keep_row", "P_W0", "P_RHO_STAR"]

_REGISTRY: dict[str, Estimator] = {}
_HANDLES: dict[str, object] = {}  # name -> kernel handle: the int code, or the compiled w (cfunc)
ESTIMATORS: Mapping[str, Estimator] = MappingProxyType(_REGISTRY)


def _compile_weight(entry: Estimator):
    """The cfunc of a weight entry's w, checked finite and >= 0 on a grid of rho at the defaults."""
    py = entry.w.py_func if isinstance(entry.w, CPUDispatcher) else entry.w
    try:
        handle = cfunc(WEIGHT_SIGNATURE, error_model="numpy")(py)  # 1/0 -> inf: a cfunc cannot raise
    except Exception as exc:  # Numba's typing errors are many classes
        raise ValueError(f"w of estimator {entry.name!r} must be a Numba-compilable w(rho, params) -> float "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    grid = np.linspace(0.0, 1.0, 101)
    out = np.empty_like(grid)
    weights_many(handle, grid, kernel_params("weight", _validated(entry, {})), out)
    if not np.all(np.isfinite(out) & (out >= 0.0)):
        raise ValueError(f"w of estimator {entry.name!r} must be finite and >= 0 on [0, 1]")
    return handle


def register(entry: Estimator) -> Estimator:
    """Add an estimator; a second entry under an existing name or code raises ``ValueError``."""
    if not isinstance(entry, Estimator):
        raise ValueError(f"entry must be an Estimator; got {type(entry).__name__}")
    if entry.name in _REGISTRY:
        raise ValueError(f"estimator name {entry.name!r} is already registered")
    if entry.code is not None and any(e.code == entry.code for e in _REGISTRY.values()):
        raise ValueError(f"estimator code {entry.code} is already registered")
    handle = entry.code
    if entry.family == "weight" and entry.code is None:
        handle = _compile_weight(entry)
    _REGISTRY[entry.name] = entry
    _HANDLES[entry.name] = handle
    return entry


def unregister(name: str) -> Estimator:
    """Remove a registered entry and return it (``ValueError`` for an unknown name)."""
    entry = _entry(name)
    del _REGISTRY[name], _HANDLES[name]
    return entry


@contextlib.contextmanager
def registered(*entries: Estimator):
    """Register ``entries`` for the duration of a ``with`` block (tests, experiments)."""
    done = []
    try:
        for e in entries:
            done.append(register(e).name)
        yield entries
    finally:
        for name in done:
            if _REGISTRY.get(name) is not None:
                unregister(name)


def names(family: str | None = None) -> list[str]:
    """Sorted registry names, optionally of one family (figures and tests never hard-code lists).

    >>> names("weight")
    ['linear_r', 'plateau_r', 'sqrt_r', 'uniform_r']
    """
    if family is not None:
        check_choice("family", family, FAMILIES)
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


class FamilyView(Sequence):
    """Live, read-only sequence of the registry names of ``families`` (registration order), after
    the fixed names ``include``: an entry registered later appears at once. For module-level
    method lists (figures) that must follow the registry; a copy (``copy``, ``deepcopy``,
    ``dataclasses.asdict``) is a plain tuple snapshot, so configs stay JSON-able.

    >>> tuple(FamilyView("weight", include=("grpo",)))
    ('grpo', 'linear_r', 'sqrt_r', 'uniform_r', 'plateau_r')
    """

    def __init__(self, *families: str, include=()):
        self._families = tuple(check_choice("family", f, FAMILIES) for f in families)
        self._include = tuple(include)

    def _names(self) -> tuple:
        inc = self._include
        return inc + tuple(n for n, e in _REGISTRY.items() if e.family in self._families and n not in inc)

    def __getitem__(self, i):
        return self._names()[i]

    def __len__(self) -> int:
        return len(self._names())

    def __eq__(self, other) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, (tuple, list, FamilyView)) else other)

    __hash__ = object.__hash__

    def __copy__(self):
        return self._names()

    def __deepcopy__(self, memo):
        return self._names()

    def __repr__(self) -> str:
        return repr(self._names())


# ----------------------------------------------------------------------------------------------
# Options -> kernel parameters (one generic validation; one parameter rule per family).
# ----------------------------------------------------------------------------------------------
def _entry(name) -> Estimator:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"estimator name must be one of {sorted(_REGISTRY)}; got {name!r}")
    return _REGISTRY[name]


def _validated(entry: Estimator, options: Mapping) -> dict:
    unknown = set(options) - set(entry.options)
    if unknown:
        accepted = {k: o.domain for k, o in entry.options.items()} or "none"
        raise ValueError(f"unknown option(s) {sorted(unknown)} for estimator {entry.name!r}; accepted: {accepted}")
    return {k: o.check(k, options.get(k, o.default)) for k, o in entry.options.items()}


# ----------------------------------------------------------------------------------------------
# Public API.
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """A resolved estimator: what the Numba kernels take (``advantage_row(code, r, params, out)``)."""

    name: str
    code: object  # int (built-in kernel) or a weight entry's compiled w
    params: np.ndarray


@dataclass(frozen=True)
class Estimate:
    """Advantages (num_prompts, group_size) and the keep-mask (num_prompts,) of one batch."""

    advantages: np.ndarray
    keep: np.ndarray


def resolve(name: str, **options) -> Spec:
    """Validate ``options`` for the stateless estimator ``name``; return its kernel handle and params.

    grpo/dapo: ``convention`` in {"verl", "trl", "openrlhf"} sets ddof, eps and the singleton rule;
    ``ddof`` (0 or 1), ``eps`` (>= 0), ``std_floor`` (>= 0) and ``singleton`` ("raw" | "zero")
    override single knobs. dr_grpo/rloo: ``singleton``. plateau_r: ``rho_star`` in [0, 1).
    Every entry's accepted options and their domains: ``ESTIMATORS[name].options``.
    """
    entry = _entry(name)
    opts = _validated(entry, options)
    if entry.stateful:
        raise ValueError(f"estimator {name!r} is stateful (needs {sorted(entry.needs)}): it has no "
                         "stateless kernel; call estimate(..., prompt_ids=, step=, state=)")
    return Spec(name, _HANDLES[name], kernel_params(entry.family, opts))


def estimate(name: str, rewards, *, prompt_ids=None, step=None, state=None, **options) -> Estimate:
    """Advantages and keep-mask for ``rewards`` shaped (num_prompts, group_size).

    Stateless entries ignore ``prompt_ids``, ``step`` and ``state``; a stateful entry raises
    ``ValueError`` when one it ``needs`` is missing (``state`` comes from :func:`new_state`).

    >>> estimate("dapo", [[1, 0, 0, 0], [1, 1, 1, 1]]).keep.tolist()
    [True, False]
    """
    entry = _entry(name)
    if entry.stateful:
        opts = _validated(entry, options)
        r = check_rewards(rewards, unit_interval=entry.unit_interval)
        given = {"prompt_ids": prompt_ids, "step": step, "state": state}
        missing = sorted(k for k in entry.needs if given[k] is None)
        if missing:
            raise ValueError(f"estimator {name!r} is stateful and needs {missing} "
                             f"(state=new_state({name!r}, **options), one prompt id per row, step >= 1)")
        adv = entry.stateful_advantages(r, prompt_ids=prompt_ids, step=step, state=state, **opts)
        return Estimate(adv, np.ones(r.shape[0], dtype=np.bool_))
    spec = resolve(name, **options)
    r = check_rewards(rewards, unit_interval=entry.unit_interval)
    out = np.empty_like(r)
    keep = np.empty(r.shape[0], dtype=np.bool_)
    advantages_batch(spec.code, r, spec.params, out, keep)
    return Estimate(out, keep)


def advantages(name: str, rewards, *, prompt_ids=None, step=None, state=None, **options) -> np.ndarray:
    """Advantages (same shape as ``rewards``) of estimator ``name``; see :func:`resolve` for options.

    >>> advantages("grpo", [[1, 0, 0, 0]], convention="openrlhf").round(6).tolist()
    [[1.5, -0.5, -0.5, -0.5]]
    >>> advantages("linear_r", [[0, 0, 0, 0]]).tolist()  # an all-fail group still moves
    [[-1.0, -1.0, -1.0, -1.0]]
    """
    return estimate(name, rewards, prompt_ids=prompt_ids, step=step, state=state, **options).advantages


def keep_mask(name: str, rewards, *, prompt_ids=None, step=None, state=None, **options) -> np.ndarray:
    """Which groups take part in the update: (num_prompts,) bool (all True unless the method filters)."""
    return estimate(name, rewards, prompt_ids=prompt_ids, step=step, state=state, **options).keep


def new_state(name: str, **options):
    """A fresh state for estimator ``name``: None for stateless entries, kae's reward history else.

    >>> new_state("grpo") is None, type(new_state("kae", capacity=64)).__name__
    (True, 'KernelHistory')
    """
    entry = _entry(name)
    opts = _validated(entry, options)
    return entry.make_state(**opts) if entry.stateful else None


def state_from_dict(name: str, data):
    """Rebuild a state saved with ``state.to_dict()`` (JSON-able; never pickle). Stateless: None."""
    entry = _entry(name)
    if not entry.stateful:
        if data is not None:
            raise ValueError(f"estimator {name!r} is stateless: its state must be None; got {type(data).__name__}")
        return None
    return entry.load_state(data)


# ----------------------------------------------------------------------------------------------
# The built-in entries.
# ----------------------------------------------------------------------------------------------
_SINGLETON = choice_option("raw", ("raw", "zero"))
_STD_OPTIONS = {"convention": choice_option("verl", tuple(GRPO_CONVENTIONS)),
                "ddof": int_option(None, low=0, high=1, optional=True),
                "eps": real_option(None, low=0.0, optional=True),
                "std_floor": real_option(None, low=0.0, optional=True),
                "singleton": choice_option(None, ("raw", "zero"), optional=True)}
_B = "paper B (asymmetric prompt weighting)"
for _e in (
    Estimator("reinforce", "raw", "A_i = r_i", "Williams 1992", code=REINFORCE),
    Estimator("dr_grpo", "centred", "A_i = r_i - mean(r)", "Dr.GRPO (Liu et al. 2025)",
              {"singleton": _SINGLETON}, code=DR_GRPO),
    Estimator("rloo", "centred", "A_i = r_i - mean_{j!=i} r_j", "Kool et al. 2019; Ahmadian et al. 2024",
              {"singleton": _SINGLETON}, code=RLOO, omega=_omega_rloo),
    Estimator("grpo", "std", "A_i = (r_i - mean(r)) / (max(std(r), floor) + eps)",
              "DeepSeekMath (Shao et al. 2024); verl/TRL/OpenRLHF presets", _STD_OPTIONS, code=GRPO),
    Estimator("dapo", "std", "grpo advantages; keep = not all rewards equal",
              "DAPO (Yu et al. 2025), verl-recipe dynamic sampling", _STD_OPTIONS, code=DAPO,
              filters_groups=True),
    Estimator("linear_r", "weight", "w(rho) = 1 - rho; omega = 1/rho", f"{_B} [V]", code=LINEAR_R,
              w=w_linear, shapes=lambda p: SHAPES["linear"]),
    Estimator("sqrt_r", "weight", "w(rho) = sqrt(1 - rho); omega = 1/(rho sqrt(1 - rho))", f"{_B} [R]",
              code=SQRT_R, w=w_sqrt, shapes=lambda p: SHAPES["sqrt"]),
    Estimator("uniform_r", "weight", "w(rho) = 1; omega = 1/(rho (1 - rho))", f"{_B} [R]", code=UNIFORM_R,
              w=w_uniform, shapes=lambda p: SHAPES["uniform"]),
    Estimator("plateau_r", "weight", "w(rho) = min(1, (1 - rho)/(1 - rho_star))", f"{_B} [R]",
              {"rho_star": real_option(0.5, low=0.0, high=1.0, open_high=True)}, code=PLATEAU_R,
              w=w_plateau, shapes=lambda p: plateau_shapes(p[P_RHO_STAR]), kinks=lambda p: (p[P_RHO_STAR],)),
    Estimator("kae", "stateful", "A_i = r_i - V_hat_i (kernel-smoothed leave-one-out baseline)",
              "paper C (kernelized advantage estimation) [V]", _kae.OPTIONS, code=KAE, needs=NEEDS,
              stateful_advantages=_kae.advantages, make_state=_kae.new_history,
              load_state=_kae.KernelHistory.from_dict),
):
    register(_e)
