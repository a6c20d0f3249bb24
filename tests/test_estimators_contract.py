"""Contract suite: every registered estimator, checked against its declared properties and an oracle."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests import oracles
from tests.strategies import probabilities, reward_batches
from theory.estimators import (ESTIMATORS, Estimator, advantages, effective_weight, estimate,
                               keep_mask, prompt_weight, register, resolve)
from theory.kae import KernelHistory

STATELESS = [n for n, e in ESTIMATORS.items() if not e.stateful]
ALL = list(ESTIMATORS)


def _adv(name, r, **opts):
    if ESTIMATORS[name].stateful:
        return advantages(name, r, step=1, history=KernelHistory(), **opts)
    return advantages(name, r, **opts)


def test_registry_names_match_the_issue():
    expected = {"reinforce", "dr_grpo", "rloo", "grpo", "dapo", "linear_r", "sqrt_r", "uniform_r",
                "plateau_r", "kae"}
    assert set(ESTIMATORS) == expected


def test_duplicate_registration_is_rejected():
    entry = ESTIMATORS["grpo"]
    with pytest.raises(ValueError, match="already registered"):
        register(entry)
    with pytest.raises(ValueError, match="code"):
        register(Estimator("grpo2", entry.code, "", "", {}, None, None))


@pytest.mark.parametrize("name", ALL)
@given(r=reward_batches())
def test_shape_kept_and_finite(name, r):
    a = _adv(name, r)
    assert a.shape == r.shape and a.dtype == np.float64
    assert np.all(np.isfinite(a))
    assert keep_mask(name, r, **({"step": 1, "history": KernelHistory()} if ESTIMATORS[name].stateful else {})).shape == (r.shape[0],)


@pytest.mark.parametrize("name", STATELESS)
@given(r=reward_batches(subnormal=False))  # the oracle's omega = w / (rho (1 - rho)) overflows there
def test_equals_plain_python_oracle(name, r):
    got = advantages(name, r)
    want = np.array([oracles.oracle(name, list(row)) for row in r])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("convention", ["verl", "trl", "openrlhf"])
@given(r=reward_batches())
def test_grpo_conventions_equal_oracle(convention, r):
    got = advantages("grpo", r, convention=convention)
    want = np.array([oracles.grpo_group(list(row), convention) for row in r])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in STATELESS if ESTIMATORS[n].centered])
@given(value=probabilities, g=st.integers(2, 16))
def test_constant_group_gives_exact_zero(name, value, g):
    assert np.all(advantages(name, np.full((1, g), value)) == 0.0)


@pytest.mark.parametrize("name", [n for n in STATELESS if ESTIMATORS[n].shift_invariant])
@given(r=reward_batches(min_group=2), c=st.floats(-0.5, 0.5))
def test_shift_invariance(name, r, c):
    np.testing.assert_allclose(advantages(name, r + c), advantages(name, r), atol=1e-9)


@pytest.mark.parametrize("name", [n for n in STATELESS if ESTIMATORS[n].scale_invariant])
@given(r=reward_batches(binary=True, min_group=2), c=st.floats(0.5, 4.0))
def test_scale_invariance(name, r, c):
    # binary groups: std >= 1/sqrt(G) * c, so eps (<= 1e-6 in the default preset) moves A by < 1e-5
    np.testing.assert_allclose(advantages(name, c * r), advantages(name, r), atol=1e-5)


@pytest.mark.parametrize("name", [n for n in STATELESS if ESTIMATORS[n].homogeneous])
@given(r=reward_batches(min_group=2), c=st.floats(0.1, 10.0))
def test_homogeneity(name, r, c):
    np.testing.assert_allclose(advantages(name, c * r), c * advantages(name, r), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in STATELESS if ESTIMATORS[n].symmetric_weight])
@given(rho=probabilities)
def test_symmetric_weights(name, rho):
    assume(1 - (1 - rho) == rho)  # otherwise 1 - rho is not the mirror point in floating point
    w = effective_weight(name, [rho, 1 - rho])
    assert w[0] == pytest.approx(w[1], abs=1e-12)


@pytest.mark.parametrize("name", [n for n in STATELESS if n != "reinforce"])
@given(r=reward_batches(binary=True, min_group=2))
def test_weight_family_form(name, r):
    """A_i = omega(rho_hat) (r_i - rho_hat) wherever omega is finite (paper B, B.1)."""
    g = r.shape[1]
    rho = r.mean(axis=1)
    inside = (rho > 0) & (rho < 1)
    if not inside.any():
        return
    omega = prompt_weight(name, rho[inside], g)
    np.testing.assert_allclose(advantages(name, r)[inside], omega[:, None] * (r[inside] - rho[inside, None]),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["linear_r", "sqrt_r", "uniform_r", "plateau_r"])
@given(rho=probabilities)
def test_asymmetric_effective_weight_matches_notes(name, rho):
    assert effective_weight(name, rho) == pytest.approx(oracles.effective_weight(name, rho), abs=1e-12)


@pytest.mark.parametrize("name", ["linear_r", "sqrt_r", "uniform_r", "plateau_r"])
def test_all_fail_group_is_pushed_down(name):
    np.testing.assert_array_equal(advantages(name, np.zeros((1, 8))), -np.ones((1, 8)))


def test_linear_r_wrong_response_gets_minus_one_for_every_rho_hat():
    for k in range(8):
        r = np.array([[1.0] * k + [0.0] * (8 - k)])
        assert advantages("linear_r", r)[0, -1] == pytest.approx(-1.0, abs=1e-12)


def test_rloo_is_g_over_g_minus_one_times_dr_grpo():
    r = np.random.default_rng(1).random((5, 6))
    np.testing.assert_allclose(advantages("rloo", r), 6 / 5 * advantages("dr_grpo", r), rtol=1e-12)


@pytest.mark.parametrize("bad,match", [
    (np.zeros(4), "rank 1"), (np.zeros((2, 0)), "group_size >= 1"), ([[np.nan, 1.0]], "finite"),
    ([[1.0, np.inf]], "finite"), (np.zeros((1, 2, 3)), "rank 3"),
])
def test_bad_rewards_raise_value_error_naming_the_parameter(bad, match):
    with pytest.raises(ValueError, match="rewards") as info:
        advantages("grpo", bad)
    assert match in str(info.value)


def test_weight_family_requires_unit_interval():
    with pytest.raises(ValueError, match=r"rewards must lie in \[0, 1\]"):
        advantages("linear_r", [[2.0, 0.0]])


@pytest.mark.parametrize("call,match", [
    (lambda: advantages("nope", [[1.0]]), "estimator name must be one of"),
    (lambda: advantages("grpo", [[1.0, 0.0]], convention="deepspeed"), "convention must be one of"),
    (lambda: advantages("grpo", [[1.0, 0.0]], ddof=2), r"ddof must be an integer in \[0, 1\]"),
    (lambda: advantages("grpo", [[1.0, 0.0]], eps=-1.0), "eps must be"),
    (lambda: advantages("grpo", [[1.0, 0.0]], eps=0.0), "must not both be 0"),
    (lambda: advantages("rloo", [[1.0, 0.0]], singleton="drop"), "singleton must be one of"),
    (lambda: advantages("plateau_r", [[1.0, 0.0]], rho_star=1.0), r"rho_star must be .* \[0.0, 1.0\)"),
    (lambda: advantages("dr_grpo", [[1.0, 0.0]], convention="trl"), "unknown option"),
    (lambda: prompt_weight("grpo", [1.5], 4), r"rho_hat must lie in \[0, 1\]"),
    (lambda: prompt_weight("grpo", [0.5], 0), "group_size must be an integer >= 1"),
    (lambda: prompt_weight("rloo", [0.5], 1), "group_size must be >= 2"),
    (lambda: prompt_weight("kae", [0.5], 4), "stateful"),
    (lambda: effective_weight("grpo", [-0.1]), r"rho must lie in \[0, 1\]"),
])
def test_bad_options_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_resolve_gives_kernel_inputs():
    spec = resolve("grpo", convention="trl")
    assert spec.code == ESTIMATORS["grpo"].code and spec.params.dtype == np.float64
    assert estimate("grpo", [[1, 0]], convention="trl").advantages[0, 0] > 0
