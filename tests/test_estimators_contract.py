"""Contract suite: every registered estimator, checked against its declared properties and an oracle."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests import oracles
from tests.strategies import probabilities, reward_batches
from theory.advantage_kernels import KERNEL_FAMILY, advantage_row, keep_row
from theory.estimators import (ESTIMATORS, FAMILIES, Estimator, advantages, effective_weight, estimate,
                               keep_mask, names, new_state, prompt_weight, register, resolve)

STATELESS = [n for n, e in ESTIMATORS.items() if not e.stateful]
ALL = names()
WEIGHT = names("weight")


def _extra(name, r):
    """What a stateful entry needs: one id per row, a step and a fresh state."""
    if not ESTIMATORS[name].stateful:
        return {}
    return {"prompt_ids": list(range(np.shape(r)[0])), "step": 1, "state": new_state(name)}


def _adv(name, r, **opts):
    return advantages(name, r, **_extra(name, r), **opts)


def test_families_partition_the_registry_and_builtins_are_present():
    assert sorted(n for f in FAMILIES for n in names(f)) == ALL == sorted(ESTIMATORS)
    builtin = {"reinforce", "dr_grpo", "rloo", "grpo", "dapo", "linear_r", "sqrt_r", "uniform_r",
               "plateau_r", "kae"}
    assert builtin <= set(ALL)
    for name in ALL:
        e = ESTIMATORS[name]
        assert e.code is None or KERNEL_FAMILY[e.code] == e.family


def test_every_stateless_entry_has_an_oracle():
    for name in STATELESS:
        assert name in oracles.WEIGHTS or name in oracles.GROUP_ORACLES, name


def test_duplicate_registration_is_rejected():
    entry = ESTIMATORS["grpo"]
    with pytest.raises(ValueError, match="already registered"):
        register(entry)
    with pytest.raises(ValueError, match="code"):
        register(Estimator("grpo2", "std", "", "", code=entry.code))


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="x y", family="weight", w=lambda rho, p: 1.0), "identifier"),
    (dict(name="x", family="gaussian"), "family must be one of"),
    (dict(name="x", family="weight"), "needs w"),
    (dict(name="x", family="centred"), "built-in kernel code"),
    (dict(name="x", family="centred", code=3), "not a built-in centred kernel code"),
    (dict(name="x", family="stateful"), "stateful estimator"),
    (dict(name="x", family="raw", code=0, needs=frozenset({"step"})), "must not declare needs"),
    (dict(name="x", family="weight", w=lambda rho, p: 1.0, options={"a": 1.0}), "theory.checks.Option"),
])
def test_malformed_entries_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Estimator(formula="", source="", **kwargs)


@pytest.mark.parametrize("w,match", [
    (lambda rho, p: "one", "Numba-compilable"),
    (lambda rho, p: rho - 0.5, "finite and >= 0"),
    (lambda rho, p: 1.0 / rho, "finite and >= 0"),
])
def test_bad_weight_functions_are_rejected_at_registration(w, match):
    with pytest.raises(ValueError, match=match):
        register(Estimator("bad_w", "weight", "", "", w=w))
    assert "bad_w" not in ESTIMATORS


@pytest.mark.parametrize("code", [99, -1, 9])  # 9 = kae: stateful, no stateless kernel
def test_unknown_kernel_code_raises_instead_of_falling_through(code):
    r, out, params = np.array([1.0, 0.0]), np.empty(2), resolve("plateau_r").params
    with pytest.raises(ValueError, match="unknown estimator code"):
        advantage_row(code, r, params, out)
    assert keep_row(code, r)  # the keep rule has no formula to fall through to


@pytest.mark.parametrize("name", ALL)
def test_unknown_option_names_it_and_the_accepted_ones(name):
    with pytest.raises(ValueError, match=rf"unknown option\(s\) \['bandwith'\] for estimator '{name}'; accepted"):
        advantages(name, [[1.0, 0.0]], **_extra(name, [[1.0, 0.0]]), bandwith=0.3)


@pytest.mark.parametrize("name,option", [(n, o) for n in ALL for o in ESTIMATORS[n].options])
def test_every_declared_option_is_validated(name, option):
    """A value outside every domain (a list) is rejected with a message naming the option."""
    with pytest.raises(ValueError, match=rf"^{option} must"):
        advantages(name, [[1.0, 0.0]], **_extra(name, [[1.0, 0.0]]), **{option: [1]})
    assert ESTIMATORS[name].options[option].domain  # declared, human-readable


@pytest.mark.parametrize("name", ALL)
@given(r=reward_batches())
def test_shape_kept_and_finite(name, r):
    a = _adv(name, r)
    assert a.shape == r.shape and a.dtype == np.float64
    assert np.all(np.isfinite(a))
    assert keep_mask(name, r, **_extra(name, r)).shape == (r.shape[0],)


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


@pytest.mark.parametrize("name", WEIGHT)
@given(rho=probabilities)
def test_asymmetric_effective_weight_matches_notes(name, rho):
    assert effective_weight(name, rho) == pytest.approx(oracles.effective_weight(name, rho), abs=1e-12)


@pytest.mark.parametrize("name", WEIGHT)
def test_all_fail_group_is_pushed_down(name):
    w0 = float(effective_weight(name, 0.0))
    assert w0 > 0.0
    np.testing.assert_array_equal(advantages(name, np.zeros((1, 8))), -w0 * np.ones((1, 8)))


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
