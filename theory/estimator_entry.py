"""One estimator entry of THE registry (:mod:`theory.estimators`): the :class:`Estimator` record, its
families and their traits, and the checks a new entry must pass before it is registered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from theory.advantage_kernels import KERNEL_FAMILY, N_PARAMS, P_W0
from theory.checks import Option, check_choice

__all__ = ["Estimator", "FAMILIES", "NEEDS"]

FAMILIES = ("raw", "centred", "std", "weight", "stateful")
NEEDS = frozenset({"prompt_ids", "step", "state"})

# Family traits: the properties the contract suite checks, derived from the family.
_TRAITS = {  # centered, shift_invariant, scale_invariant, homogeneous, symmetric_weight, unit_interval
    "raw": (False, False, False, True, True, False),
    "centred": (True, True, False, True, True, False),
    "std": (True, True, True, False, True, False),
    "weight": (False, False, False, False, False, True),
    "stateful": (False, True, False, True, False, False),
}


@dataclass(frozen=True, eq=False)
class Estimator:
    """One registered estimator: the single source of everything the layers need about it.

    ``family`` in :data:`FAMILIES`; ``options`` maps each keyword option to its :class:`Option`
    (default + domain); ``code`` is a built-in kernel code (None: a weight entry compiled from
    ``w``); ``w(rho, params)`` the weight of a weight entry (Numba-compilable); ``omega`` overrides
    the family's prompt weight omega(rho_hat, G, params); ``shapes(params) -> (f, R, E)`` gives
    paper B's closed forms (None: quadrature), ``kinks(params)`` the rho where w is not smooth
    (quadrature break points); stateful entries give ``needs`` (a subset of
    {"prompt_ids", "step", "state"}), ``stateful_advantages(rewards, prompt_ids=, step=, state=,
    **options)``, ``make_state(**options)`` and ``load_state(dict)``.
    """

    name: str
    family: str
    formula: str
    source: str  # paper key or framework, with provenance tag where it is a paper's claim
    options: Mapping[str, Option] = field(default_factory=dict)
    code: int | None = None
    w: Callable | None = None
    omega: Callable | None = None
    shapes: Callable | None = None
    kinks: Callable | None = None
    filters_groups: bool = False
    needs: frozenset = frozenset()
    stateful_advantages: Callable | None = None
    make_state: Callable | None = None
    load_state: Callable | None = None

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name.isidentifier()):
            raise ValueError(f"estimator name must be an identifier string; got {self.name!r}")
        check_choice("family", self.family, FAMILIES)
        for key, opt in self.options.items():
            if not isinstance(opt, Option):
                raise ValueError(f"option {key!r} of estimator {self.name!r} must be a theory.checks.Option")
        if self.code is not None and KERNEL_FAMILY.get(self.code) != self.family:
            raise ValueError(f"code {self.code!r} of estimator {self.name!r} is not a built-in {self.family} "
                             f"kernel code (built-ins: {KERNEL_FAMILY})")
        if self.family == "weight":
            if self.w is None:
                raise ValueError(f"weight estimator {self.name!r} needs w(rho, params)")
            if not all(o.numeric for o in self.options.values()) or len(self.options) > N_PARAMS - P_W0:
                raise ValueError(f"weight estimator {self.name!r}: at most {N_PARAMS - P_W0} numeric options")
        elif self.code is None and self.family != "stateful":
            raise ValueError(f"a {self.family} estimator needs a built-in kernel code (only weight entries "
                             "are compiled from their definition); see theory.advantage_kernels")
        if self.family == "stateful":
            if not (self.needs <= NEEDS and self.stateful_advantages and self.make_state and self.load_state):
                raise ValueError(f"stateful estimator {self.name!r} needs needs <= {sorted(NEEDS)}, "
                                 "stateful_advantages, make_state and load_state")
        elif self.needs:
            raise ValueError(f"stateless estimator {self.name!r} must not declare needs")

    stateful = property(lambda self: self.family == "stateful")
    centered = property(lambda self: _TRAITS[self.family][0])
    shift_invariant = property(lambda self: _TRAITS[self.family][1])
    scale_invariant = property(lambda self: _TRAITS[self.family][2])
    homogeneous = property(lambda self: _TRAITS[self.family][3])
    symmetric_weight = property(lambda self: _TRAITS[self.family][4])
    unit_interval = property(lambda self: _TRAITS[self.family][5])
