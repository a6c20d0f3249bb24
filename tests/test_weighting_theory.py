"""Paper B theory: weights, surrogates, time to target (closed forms vs quadrature), optimal weights."""

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from theory.estimators import ESTIMATORS, effective_weight, names as registry_names
from theory.weighting import (CLOCKS, WEIGHTINGS, budget_scale, lower_bound, optimal_weight,
                              population_omega, recursion_path, recursion_time, surrogate,
                              time_for_weight, time_to_target)
from theory.weighting_finite import expected_responses, finite_group_drift, finite_group_time

SYMMETRIC = tuple(n for f in ("raw", "centred", "std") for n in registry_names(f))
ASYMMETRIC = tuple(registry_names("weight"))
rhos = st.floats(1e-4, 1 - 1e-4)
names = st.sampled_from(WEIGHTINGS)


@st.composite
def intervals(draw, low=1e-3, high=0.999):
    a = draw(st.floats(low, high))
    b = draw(st.floats(low, high))
    assume(abs(a - b) > 1e-3)
    return min(a, b), max(a, b)


def test_weightings_are_the_registry_prompt_weightings():
    assert set(WEIGHTINGS) == set(SYMMETRIC) | set(ASYMMETRIC)
    assert {"reinforce", "dr_grpo", "rloo", "grpo", "dapo"} <= set(SYMMETRIC)
    assert {"linear_r", "sqrt_r", "uniform_r", "plateau_r"} <= set(ASYMMETRIC)
    assert "kae" not in WEIGHTINGS


@given(name=st.sampled_from(SYMMETRIC))
def test_symmetric_weights_vanish_at_the_ends(name):
    assert effective_weight(name, [0.0, 1.0]).tolist() == [0.0, 0.0]


@given(name=st.sampled_from(ASYMMETRIC))
def test_asymmetric_weights_are_one_at_zero(name):
    assert float(effective_weight(name, 0.0)) == 1.0


@given(name=st.sampled_from(("rloo", "grpo", "dapo", "dr_grpo")), rho=rhos, ends=intervals())
def test_symmetric_weights_and_times_are_mirror_symmetric(name, rho, ends):
    w = effective_weight(name, [rho, 1 - rho])
    assert w[0] == pytest.approx(w[1], rel=1e-12, abs=1e-15)
    a, b = ends  # regular time is symmetric under rho <-> 1 - rho: T(a -> b) = T(1-b -> 1-a)
    assert time_to_target(name, a, b) == pytest.approx(time_to_target(name, 1 - b, 1 - a), rel=1e-9)


@given(name=names, ends=intervals(), step=st.floats(1e-3, 0.5))
def test_population_recursion_raises_rho_monotonically(name, ends, step):
    path = recursion_path(name, ends[0], 50, step, scale=budget_scale(name, *ends))
    assert np.all(np.diff(path) >= 0.0) and path[-1] > path[0]


@given(name=names, ends=intervals(), clock=st.sampled_from(sorted(CLOCKS)))
def test_quadrature_equals_closed_forms(name, ends, clock):
    closed = time_to_target(name, *ends, clock)
    assert closed == pytest.approx(time_to_target(name, *ends, clock, method="quad"), rel=1e-8)
    assert lower_bound(*ends, clock) == pytest.approx(lower_bound(*ends, clock, method="quad"), rel=1e-8)
    # no weighting beats the bound; GRPO attains it in regular time, Sqrt-R in effective time
    assert closed >= lower_bound(*ends, clock) * (1 - 1e-10)


@given(ends=intervals())
def test_grpo_and_sqrt_r_attain_the_bounds(ends):
    assert time_to_target("grpo", *ends) == pytest.approx(lower_bound(*ends), rel=1e-10)
    assert time_to_target("sqrt_r", *ends, "effective") == pytest.approx(lower_bound(*ends, "effective"), rel=1e-10)


@given(name=names, rho=st.floats(1e-3, 0.99))
def test_surrogate_derivative_is_the_prompt_weight(name, rho):
    h = 1e-6 * min(rho, 1 - rho)
    fd = (surrogate(name, rho + h) - surrogate(name, rho - h)) / (2 * h)  # central difference, O(h^2)
    assert float(fd) == pytest.approx(float(population_omega(name, rho)), rel=1e-5)


def test_reference_numbers_of_the_notes():
    """The notes' table (B.3), reconstructed model, rounded to three figures."""
    table = {("rloo", 0.01): (6.05, 94.1), ("grpo", 0.01): (5.28, 44.2), ("linear_r", 0.01): (10.3, 30.6),
             ("sqrt_r", 0.01): (7.24, 28.4), ("uniform_r", 0.01): (6.05, 30.6), ("grpo", 0.4): (1.27, 2.01),
             ("sqrt_r", 0.4): (1.29, 1.98)}
    for (name, r0), (reg, eff) in table.items():
        assert round(time_to_target(name, r0, 0.9), 3 - len(str(int(reg)))) == pytest.approx(reg)
        assert round(time_to_target(name, r0, 0.9, "effective"), 3 - len(str(int(eff)))) == pytest.approx(eff)


@given(ends=intervals(), a=st.floats(0, 5), b=st.floats(0, 5),
       coef=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_optimal_weight_beats_budget_preserving_perturbations(ends, a, b, coef):
    assume(a + b > 1e-3)
    star = lambda r: optimal_weight(r, (a, b))  # noqa: E731
    t_star = time_for_weight(star, *ends, (a, b))
    assert t_star == pytest.approx(lower_bound(*ends, (a, b)), rel=1e-8)
    u = lambda r: np.log(r / (1 - r)) / 5  # noqa: E731
    pert = lambda r: star(r) * np.exp(coef[0] * np.sin(u(r)) + coef[1] * np.cos(2 * u(r)) + coef[2] * r)  # noqa: E731
    # the budget normalisation inside time_for_weight rescales pert to spend the same budget
    assert time_for_weight(pert, *ends, (a, b)) >= t_star * (1 - 1e-9)


def test_optimal_weight_ends_are_grpo_and_sqrt_r_and_normalises_budget():
    r = np.linspace(0.01, 0.99, 50)
    for clock, name in (("regular", "grpo"), ("effective", "sqrt_r")):
        ratio = optimal_weight(r, clock) / population_omega(name, r)
        assert np.ptp(ratio) < 1e-12 * ratio.mean()
    w = optimal_weight(r, (1.0, 0.0))
    assert np.allclose(w, w[::-1])  # symmetric without the response cost
    assert optimal_weight(0.1, (1.0, 1.0)) > optimal_weight(0.9, (1.0, 1.0))
    from scipy.integrate import quad
    spent = quad(lambda x: float(optimal_weight(x, "effective", rho0=0.05, rho1=0.9, budget=2.0)), 0.05, 0.9)[0]
    assert spent == pytest.approx(2.0, rel=1e-8)


@pytest.mark.parametrize("name", ["rloo", "grpo", "linear_r", "sqrt_r", "uniform_r", "plateau_r"])
def test_recursion_converges_to_ode_as_step_shrinks(name):
    ode = time_to_target(name, 0.05, 0.9), time_to_target(name, 0.05, 0.9, "effective")
    gaps = [abs(recursion_time(name, 0.05, 0.9, s)[0] / ode[0] - 1) for s in (0.05, 0.005, 0.0005)]
    assert gaps[2] < gaps[0] and gaps[2] < 2e-3
    assert recursion_time(name, 0.05, 0.9, 5e-4)[1] == pytest.approx(ode[1], rel=5e-3)


def test_finite_group_quantities():
    assert finite_group_drift("rloo", 0.03, 5) == pytest.approx(1.0, rel=1e-12)
    assert expected_responses("grpo", 0.01, 16) == 16.0
    # dapo's refill: G / P(keep) when refills are unlimited, about 1/rho at rho << 1/G
    p_keep = 1 - 0.99**16 - 0.01**16
    assert expected_responses("dapo", 0.01, 16, max_refill=10_000) == pytest.approx(16 / p_keep, rel=1e-9)
    for name in WEIGHTINGS:
        for g in (2, 16):
            assert finite_group_drift(name, 0.1, g) > 0.0
    reg, resp = finite_group_time("grpo", 0.2, 0.9, 16, 0.02)
    assert resp == pytest.approx(16 * reg / 0.02, rel=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: time_to_target("kae", 0.1, 0.9), "name"),
    (lambda: time_to_target("grpo", 0.9, 0.1), "rho1"),
    (lambda: time_to_target("grpo", 0.0, 0.9), "rho0"),
    (lambda: time_to_target("grpo", 0.1, 0.9, "wall"), "clock"),
    (lambda: time_to_target("grpo", 0.1, 0.9, (0, 0), method="quad"), "cost"),
    (lambda: time_to_target("grpo", 0.1, 0.9, (1, 1)), "closed"),
    (lambda: time_to_target("grpo", 0.1, 0.9, budget=0.0), "budget"),
    (lambda: time_to_target("plateau_r", 0.1, 0.9, rho_star=1.0), "rho_star"),
    (lambda: optimal_weight(0.0), "rho"),
    (lambda: optimal_weight(0.5, rho0=0.1), "rho1"),
    (lambda: surrogate("grpo", 1.0), "rho"),
    (lambda: finite_group_drift("grpo", 0.5, 0), "group_size"),
    (lambda: finite_group_drift("dapo", 0.5, 4, max_refill=-1), "max_refill"),
])
def test_bad_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_every_registry_weighting_has_a_surrogate():
    for name in WEIGHTINGS:
        assert not ESTIMATORS[name].stateful
        assert np.isfinite(surrogate(name, [0.01, 0.5, 0.99])).all()
