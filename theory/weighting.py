"""Paper B: success-probability dynamics, time to target and optimal prompt weights.

Reproduces the population-limit theory of paper B (Heckel, Soltanolkotabi, Thramboulidis;
notes: shared/papers/B_asymmetric_weighting.md, section B.3). The weight functions come from the
registry (:func:`theory.estimators.effective_weight`); this module integrates them.

Model (population limit G -> inf, binary reward, one prompt, KL-proximal update):

- prompt weight omega(rho) = w(rho) / (rho (1 - rho)) with w the registry's effective weight
  (population form: rloo's G/(G-1) and grpo's Bessel factor are constants the budget removes);
- KL-proximal step pi' ~ pi exp(eta A), A = omega (r - rho)  =>  log-odds l = log(rho/(1-rho))
  obeys l' = l + eta omega(rho), i.e. drho/dt = eta w(rho)  [R, consistent with the paper's Eq. 13];
- surrogate objective f with f' = omega: the update climbs f(rho)  [R];
- clocks  [R]: a per-update cost c(rho) = a + b/rho; regular time (updates) is (a, b) = (1, 0),
  effective time (responses; ~1/rho draws per informative response) is (0, 1). The 1/rho clock is a
  reconstruction of the paper's "effective time";
- equal budget  [R]: every weighting is rescaled, omega -> k omega, so that
  int_{rho0}^{rho1} k omega drho = B. The notes' "same integrated weight budget" is read as this;
  it equals the integrated per-step KL up to 2/eta^2.

Then T = (f(rho1) - f(rho0)) / (B eta) * int cost(rho) drho / w(rho), and by Cauchy-Schwarz
T >= (int sqrt(cost / (rho (1 - rho))) drho)^2 / (B eta) with equality iff
omega ~ sqrt(cost / (rho (1 - rho))): GRPO for regular time, Sqrt-R for effective time [V results,
R derivation]. Closed forms: each registry entry's ``shapes`` (theory.weighting_shapes); an entry
without them (e.g. a weighting registered at run time) gets the quadrature fallback: f, R and E
become integrals of omega, 1/w and 1/(rho w) from rho = 1/2 (log-substituted adaptive quadrature,
relative tolerance 1e-11), so every function here works for any registered weighting.
Finite-group corrections: theory.weighting_finite. Figures: ``rlvr-lab reproduce --only weighting``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from theory.checks import as_real_array, check_choice, check_int, check_probability, check_real
from theory.estimators import ESTIMATORS, FamilyView, effective_weight, resolve, weight_shapes
from theory.weighting_shapes import SHAPES, F as _F

__all__ = ["WEIGHTINGS", "CLOCKS", "population_omega", "surrogate", "budget_scale", "time_to_target",
           "time_for_weight", "optimal_weight", "lower_bound", "recursion_path", "recursion_time"]

#: Every registry entry that is a prompt weighting (kae has a stateful baseline, no omega).
#: A live view (theory.estimators.FamilyView): a weighting registered at run time appears at once.
WEIGHTINGS = FamilyView("raw", "centred", "std", "weight")
#: Named clocks as per-update costs (a, b) in cost = a + b / rho  [R].
CLOCKS = {"regular": (1.0, 0.0), "effective": (0.0, 1.0)}


def _check_name(name):
    return check_choice("name", name, tuple(WEIGHTINGS))


def _antiderivatives(name, options):
    """(f, R, E) of the entry's closed forms, or the quadrature fallback (module docstring)."""
    shapes = weight_shapes(name, **options)  # validates options
    if shapes is not None:
        return shapes
    omega = _fast_omega(name, options)
    kinks = _kinks(name, options)

    def anti(g):
        def h(r):
            r = np.asarray(r, dtype=np.float64)
            out = np.array([_quad_log(g, 0.5, x, kinks) if x >= 0.5 else -_quad_log(g, x, 0.5, kinks)
                            for x in r.ravel()])
            return out.reshape(r.shape)
        return h
    w = lambda r: omega(r) * r * (1.0 - r)
    return anti(omega), anti(lambda r: 1.0 / w(r)), anti(lambda r: 1.0 / (r * w(r)))


def _check_cost(clock):
    if isinstance(clock, str):
        return CLOCKS[check_choice("clock", clock, CLOCKS)]
    try:
        a, b = clock
    except (TypeError, ValueError):
        raise ValueError(f"clock must be one of {sorted(CLOCKS)} or a pair (a, b); got {clock!r}") from None
    a = check_real("cost a", a, low=0.0)
    b = check_real("cost b", b, low=0.0)
    if a + b == 0.0:
        raise ValueError("cost (a, b) must not be (0, 0)")
    return a, b


def _check_interval(rho0, rho1):
    rho0 = check_probability("rho0", rho0, open_low=True, open_high=True)
    rho1 = check_probability("rho1", rho1, open_low=True, open_high=True)
    if rho1 <= rho0:
        raise ValueError(f"rho1 must be > rho0; got rho0={rho0}, rho1={rho1}")
    return rho0, rho1


def population_omega(name: str, rho, **options) -> np.ndarray:
    """Population prompt weight omega(rho) = w(rho) / (rho (1 - rho)), rho in (0, 1).

    ``w`` is the registry's :func:`~theory.estimators.effective_weight`; constant factors
    (rloo's G/(G-1), grpo's Bessel factor) are dropped: the equal budget removes them [R].

    >>> float(population_omega("linear_r", 0.25))  # 1/rho
    4.0
    """
    _check_name(name)
    rho = as_real_array("rho", rho)
    if np.any(~((rho > 0.0) & (rho < 1.0))):
        raise ValueError("rho must lie in (0, 1) for the population prompt weight")
    return effective_weight(name, rho, **options) / (rho * (1.0 - rho))


def _fast_omega(name, options):
    """omega(rho) for scalar rho in (0, 1) without per-call validation (the registry's own w)."""
    w = _population_w_fn(name, options)
    return lambda r: w(r) / (r * (1.0 - r))


def _population_w_fn(name, options):
    """Scalar w(rho) of a stateless entry: its kernel weight (weight family) or its family's."""
    from theory.estimator_weights import population_w  # the registry's one rule
    spec = resolve(name, **options)
    entry = ESTIMATORS[name]
    return lambda r: float(population_w(entry, spec.code, np.float64(r), spec.params))


def surrogate(name: str, rho, **options) -> np.ndarray:
    """Surrogate objective f(rho) with f' = omega (up to an additive constant), rho in (0, 1) [R].

    rloo/reinforce/dr_grpo: rho; grpo/dapo: 2 arcsin sqrt(rho); linear_r: log rho;
    sqrt_r: log[(1 - sqrt(1-rho))/(1 + sqrt(1-rho))]; uniform_r: logit rho;
    plateau_r: logit rho below rho_star, log(rho)/(1 - rho_star) + const above.

    >>> round(float(surrogate("grpo", 0.5)), 6)  # 2 arcsin sqrt(1/2) = pi/2
    1.570796
    """
    _check_name(name)
    rho = as_real_array("rho", rho)
    if np.any(~((rho > 0.0) & (rho < 1.0))):
        raise ValueError("rho must lie in (0, 1) for the surrogate")
    return np.asarray(_antiderivatives(name, options)[0](rho), dtype=np.float64)


def budget_scale(name: str, rho0: float, rho1: float, budget: float = 1.0, **options) -> float:
    """Factor k with int_{rho0}^{rho1} k omega drho = budget, i.e. k = B / (f(rho1) - f(rho0)) [R].

    >>> round(budget_scale("rloo", 0.4, 0.9), 6)  # f = rho: 1 / 0.5
    2.0
    """
    rho0, rho1 = _check_interval(rho0, rho1)
    budget = check_real("budget", budget, low=0.0, open_low=True)
    f = surrogate(name, np.array([rho0, rho1]), **options)
    return float(budget / (f[1] - f[0]))


def time_to_target(name: str, rho0: float, rho1: float, clock="regular", *, budget: float = 1.0,
                   eta: float = 1.0, method: str = "closed", **options) -> float:
    """Time for drho/dt = eta k w(rho) to go from rho0 to rho1 under the equal budget [R clocks].

    T = (f(rho1) - f(rho0)) / (B eta) * int_{rho0}^{rho1} cost(rho) / w(rho) drho, with
    ``clock`` "regular" (cost 1), "effective" (cost 1/rho) or a pair (a, b): cost a + b/rho.
    ``method`` "closed" (named clocks only) or "quad" (numerical quadrature of omega and cost/w).

    >>> round(time_to_target("grpo", 0.01, 0.9), 2), round(time_to_target("sqrt_r", 0.01, 0.9, "effective"), 1)
    (5.28, 28.4)
    """
    _check_name(name)
    rho0, rho1 = _check_interval(rho0, rho1)
    a, b = _check_cost(clock)
    budget = check_real("budget", budget, low=0.0, open_low=True)
    eta = check_real("eta", eta, low=0.0, open_low=True)
    method = check_choice("method", method, ("closed", "quad"))
    if method == "closed":
        if isinstance(clock, str):
            f, reg, eff = _antiderivatives(name, options)
            anti = reg if clock == "regular" else eff
            ends = np.array([rho0, rho1])
            return float(np.diff(f(ends))[0] * np.diff(anti(ends))[0] / (budget * eta))
        raise ValueError("method='closed' needs clock 'regular' or 'effective'; use method='quad'")
    return time_for_weight(lambda r: population_omega(name, r, **options), rho0, rho1, (a, b),
                           budget=budget, eta=eta, kinks=_kinks(name, options))


def _kinks(name, options):
    kinks = ESTIMATORS[name].kinks
    return tuple(float(k) for k in kinks(resolve(name, **options).params)) if kinks is not None else ()


def _quad_log(g, rho0, rho1, kinks=()):
    """int_{rho0}^{rho1} g(rho) drho in u = log rho (smooth near rho -> 0)."""
    pts = [np.log(k) for k in kinks if rho0 < k < rho1] or None
    val, _ = integrate.quad(lambda u: float(g(np.exp(u))) * np.exp(u), np.log(rho0), np.log(rho1),
                            points=pts, limit=200, epsabs=0.0, epsrel=1e-11)
    return val


def time_for_weight(omega, rho0: float, rho1: float, clock="regular", *, budget: float = 1.0,
                    eta: float = 1.0, kinks=()) -> float:
    """Time to target for an arbitrary positive prompt weight ``omega`` (callable) by quadrature [R].

    T = (int omega drho)(int cost / (omega rho (1 - rho)) drho) / (B eta): the budget normalisation
    makes T invariant to rescaling ``omega``.

    >>> round(time_for_weight(lambda r: 1.0 / np.sqrt(r * (1 - r)), 0.01, 0.9), 2)
    5.28
    """
    if not callable(omega):
        raise ValueError(f"omega must be a callable omega(rho) > 0 on (rho0, rho1); got {type(omega).__name__}")
    rho0, rho1 = _check_interval(rho0, rho1)
    a, b = _check_cost(clock)
    budget = check_real("budget", budget, low=0.0, open_low=True)
    eta = check_real("eta", eta, low=0.0, open_low=True)
    spent = _quad_log(omega, rho0, rho1, kinks)
    cost = _quad_log(lambda r: (a + b / r) / (omega(r) * r * (1.0 - r)), rho0, rho1, kinks)
    return spent * cost / (budget * eta)


def optimal_weight(rho, cost=(1.0, 0.0), *, rho0: float | None = None, rho1: float | None = None,
                   budget: float = 1.0) -> np.ndarray:
    """Optimal prompt weight omega*(rho) = k sqrt((a + b/rho) / (rho (1 - rho))) [V results, R derivation].

    ``cost`` is a clock name or (a, b). Without an interval k = 1 (the shape); with ``rho0, rho1``
    k spends ``budget``. b = 0 gives GRPO (symmetric), a = 0 gives Sqrt-R (asymmetric).

    >>> round(float(optimal_weight(0.5, "regular")), 6)  # 1/sqrt(1/4)
    2.0
    """
    a, b = _check_cost(cost)
    rho = as_real_array("rho", rho)
    if np.any(~((rho > 0.0) & (rho < 1.0))):
        raise ValueError("rho must lie in (0, 1) for the optimal weight")
    shape = np.sqrt((a + b / rho) / (rho * (1.0 - rho)))
    if rho0 is None and rho1 is None:
        return shape
    if rho0 is None or rho1 is None:
        raise ValueError("give both rho0 and rho1 (or neither)")
    rho0, rho1 = _check_interval(rho0, rho1)
    budget = check_real("budget", budget, low=0.0, open_low=True)
    return shape * budget / _quad_log(lambda r: np.sqrt((a + b / r) / (r * (1.0 - r))), rho0, rho1)


def lower_bound(rho0: float, rho1: float, clock="regular", *, budget: float = 1.0, eta: float = 1.0,
                method: str = "closed") -> float:
    """Minimum time over all weightings: (int sqrt(cost/(rho(1-rho))) drho)^2 / (B eta) [R derivation].

    Regular: (2 arcsin sqrt(rho1) - 2 arcsin sqrt(rho0))^2; effective: (F(rho1) - F(rho0))^2 with
    F(rho) = log[(1 - sqrt(1-rho)) / (1 + sqrt(1-rho))]; other costs by quadrature.

    >>> round(lower_bound(0.01, 0.9), 2), round(lower_bound(0.01, 0.9, "effective"), 1)
    (5.28, 28.4)
    """
    rho0, rho1 = _check_interval(rho0, rho1)
    a, b = _check_cost(clock)
    budget = check_real("budget", budget, low=0.0, open_low=True)
    eta = check_real("eta", eta, low=0.0, open_low=True)
    method = check_choice("method", method, ("closed", "quad"))
    if method == "closed" and isinstance(clock, str):
        anti = SHAPES["semicircle"][0] if clock == "regular" else _F
        root = anti(rho1) - anti(rho0)
    else:
        root = _quad_log(lambda r: np.sqrt((a + b / r) / (r * (1.0 - r))), rho0, rho1)
    return float(root * root / (budget * eta))


def recursion_path(name: str, rho0: float, n_steps: int, step: float, *, scale: float = 1.0,
                   **options) -> np.ndarray:
    """rho_t of the population log-odds recursion l_{t+1} = l_t + step * scale * omega(rho_t).

    The exact population analogue of the simulator's KL-proximal update (G -> inf) [R]; its
    continuous-time limit (step -> 0) is drho/dt = scale w(rho). Returns (n_steps + 1,).

    >>> recursion_path("uniform_r", 0.5, 1, 1.0).round(6).tolist()  # omega(1/2) = 4: l = 0 -> 4
    [0.5, 0.982014]
    """
    _check_name(name)
    rho = check_probability("rho0", rho0, open_low=True, open_high=True)
    n_steps = check_int("n_steps", n_steps, low=0)
    eta = check_real("step", step, low=0.0, open_low=True) * check_real("scale", scale, low=0.0, open_low=True)
    out = np.empty(n_steps + 1)
    out[0] = rho
    ell = np.log(rho) - np.log1p(-rho)
    omega = _fast_omega(name, options)
    for t in range(n_steps):
        if 0.0 < rho < 1.0:
            ell += eta * omega(rho)
            rho = float(1.0 / (1.0 + np.exp(-ell)))
        out[t + 1] = rho
    return out


def recursion_time(name: str, rho0: float, rho1: float, step: float, *, budget: float = 1.0,
                   max_steps: int = 1_000_000, **options) -> tuple[float, float]:
    """(regular, effective) time of the budget-normalised population recursion from rho0 to rho1.

    Regular time = step * (hitting index, linearly interpolated between the two iterates around
    rho1); effective time = step * sum_{t < hit} 1/rho_t (left Riemann sum, the same interpolation
    for the last step). These are the discrete references for the simulator at G -> inf [R].
    """
    rho0, rho1 = _check_interval(rho0, rho1)
    step = check_real("step", step, low=0.0, open_low=True)
    max_steps = check_int("max_steps", max_steps, low=1)
    k = budget_scale(name, rho0, rho1, budget, **options)
    rho, ell, t, eff = rho0, np.log(rho0) - np.log1p(-rho0), 0, 0.0
    omega = _fast_omega(name, options)
    while t < max_steps:
        ell += step * k * omega(rho)
        new = 1.0 / (1.0 + math.exp(-ell))
        if new >= rho1:
            frac = (rho1 - rho) / (new - rho)
            return step * (t + frac), step * (eff + frac / rho)
        eff += 1.0 / rho
        rho, t = new, t + 1
    raise ValueError(f"rho did not reach rho1 within max_steps={max_steps}")
