"""Paper E theory: enumeration == forward-backward == closed forms, ratio conventions, the exact
expected update against a brute-force expectation over groups, predictions, bad inputs."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from theory.composition import (and_marginals, and_verifier, chain_value, mod3_symmetric, mod_marginals,
                                mod_verifier, ratio_from_marginals, spot_verifier, step_marginals,
                                step_marginals_enum, symmetric_base, task_advantage_ratio)
from theory.composition_dynamics import (_binom_pmf, expected_update, expected_update_bruteforce,
                                         gradient_factor, mod3_threshold, predicted_mod3_outcome,
                                         sign_agreement, uniformly_positive)
from theory.estimators import ESTIMATORS, estimate

NON_STATEFUL = [n for n, e in ESTIMATORS.items() if not e.stateful]


def _policy(seed, S, K, alpha=1.0):
    return np.random.default_rng(seed).dirichlet(np.full(K, alpha), size=S)


def _verifiers(S, K):
    out = [and_verifier(S, K), mod_verifier(S, K, modulus=3), spot_verifier(S, K, checks=1)]
    if S >= 2:
        out += [spot_verifier(S, K, checks=2), and_verifier(S, K, steps=[0, S - 1]),
                mod_verifier(S, K, modulus=2, offsets=[(3 * j + 1) % 5 for j in range(K)])]
    return out


@given(seed=st.integers(0, 2 ** 32 - 1), S=st.integers(1, 4), K=st.integers(2, 4))
def test_forward_backward_equals_enumeration(seed, S, K):
    pi = _policy(seed, S, K)
    for v in _verifiers(S, K):
        q_dp, P_dp = step_marginals(pi, v)
        q_en, P_en = step_marginals_enum(pi, v)
        # both are sums of at most K^S = 256 products of probabilities: round-off ~ 1e-15
        np.testing.assert_allclose(q_dp, q_en, atol=1e-13)
        assert abs(P_dp - P_en) < 1e-13
        # law of total probability at every step
        np.testing.assert_allclose((pi * q_dp).sum(axis=1), P_dp, atol=1e-13)


@given(seed=st.integers(0, 2 ** 32 - 1), S=st.integers(1, 5), K=st.integers(2, 4))
def test_closed_forms_equal_enumeration(seed, S, K):
    pi = _policy(seed, S, K)
    v = and_verifier(S, K)
    q, P = and_marginals(pi)
    q_en, P_en = step_marginals_enum(pi, v)
    np.testing.assert_allclose(q, q_en, atol=1e-14)
    assert abs(P - P_en) < 1e-14
    v = mod_verifier(S, K, modulus=3)
    q, P = mod_marginals(pi, 3)
    q_en, P_en = step_marginals_enum(pi, v)
    np.testing.assert_allclose(q, q_en, atol=1e-13)
    assert abs(P - P_en) < 1e-13
    # the DFT reproduces exact zeros only to round-off (~1e-16), so compare ratios where q- is not tiny
    ok = ratio_from_marginals(pi, q_en)["qminus"] > 1e-9
    np.testing.assert_allclose(task_advantage_ratio(pi, v, "closed")[ok],
                               task_advantage_ratio(pi, v, "enumerate")[ok], rtol=1e-9, atol=1e-12)


def test_and_closed_form_with_unchecked_steps_and_zeros():
    pi = np.array([[0.0, 1.0], [0.3, 0.7], [0.6, 0.4], [1.0, 0.0]])
    for steps in (None, (1, 2), (0, 3)):
        v = and_verifier(4, 2, steps=steps)
        np.testing.assert_allclose(and_marginals(pi, v.params[0])[0], step_marginals_enum(pi, v)[0], atol=1e-15)


@pytest.mark.parametrize("S", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("p", [0.0, 0.1, 0.3, 1 / 3, 0.5, 0.9])
def test_mod3_symmetric_closed_form(S, p):
    pi = np.tile([p, (1 - p) / 2, (1 - p) / 2], (S, 1))
    q, P = step_marginals(pi, mod_verifier(S))
    f = mod3_symmetric(p, S)
    assert abs(f["success"] - P) < 1e-14 and abs(f["qplus_correct"] - q[0, 0]) < 1e-14
    assert abs(f["advantage"] - (q[0, 0] - P)) < 1e-14
    if S == 2:
        assert abs(f["advantage"] - (1 - p) * (3 * p - 1) / 2) < 1e-15


def test_spot_with_all_checks_is_and():
    pi = _policy(3, 4, 3)
    np.testing.assert_allclose(step_marginals(pi, spot_verifier(4, 3, checks=4))[0],
                               step_marginals(pi, and_verifier(4, 3))[0], atol=1e-15)


def test_spot_single_check_ratio_closed_form():
    # P(V | a) = #correct / S, so q+[s,0] - q-[s,0] = 1/S and r[s,0] = 1 + 1/sum_{t != s} p_t
    pi = _policy(5, 5, 3)
    r = task_advantage_ratio(pi, spot_verifier(5, 3, 1))
    rest = pi[:, 0].sum() - pi[:, 0]
    np.testing.assert_allclose(r[:, 0], 1 + 1 / rest, rtol=1e-12)


@given(seed=st.integers(0, 2 ** 32 - 1))
def test_ratio_exactly_one_for_a_step_that_cannot_affect_the_verifier(seed):
    pi = _policy(seed, 4, 3)
    v = and_verifier(4, 3, steps=[0, 2])  # steps 1 and 3 are never checked
    for method in ("dp", "enumerate", "closed"):
        r = task_advantage_ratio(pi, v, method)
        assert np.all(r[[1, 3]] == 1.0)
    v = mod_verifier(3, 3, modulus=3, offsets=[0, 3, 6])  # every task has offset 0 mod 3
    assert np.all(task_advantage_ratio(pi[:3], v) == 1.0)


def test_and_ratio_conventions():
    pi = np.array([[0.3, 0.7], [0.5, 0.5]])
    r = task_advantage_ratio(pi, and_verifier(2, 2))
    assert np.all(np.isinf(r[:, 0])) and np.all(r[:, 1] == 0.0)
    # the other step is surely wrong: the step cannot change the outcome (0/0 -> 1)
    pi = np.array([[0.3, 0.7], [0.0, 1.0]])
    assert task_advantage_ratio(pi, and_verifier(2, 2))[0, 0] == 1.0
    # pi[s, j] = 1: q- is the unweighted mean of q+ over the other tasks
    pi = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    out = ratio_from_marginals(pi, step_marginals(pi, mod_verifier(2))[0])
    assert abs(out["qminus"][0, 0] - 0.5 * (0.3 + 0.5)) < 1e-15


@pytest.mark.parametrize("n", [0, 1, 5, 12])
@pytest.mark.parametrize("P", [0.0, 1e-9, 0.3, 0.999, 1.0])
def test_binom_pmf_matches_scipy(n, P):
    out = np.empty(n + 1)
    _binom_pmf(n, P, out)
    np.testing.assert_allclose(out, binom.pmf(np.arange(n + 1), n, P), atol=1e-14)


@pytest.mark.parametrize("G", [1, 2, 5, 8])
def test_gradient_factor_known_values(G):
    for P in (0.1, 0.5, 0.8):
        assert gradient_factor("reinforce", P, G) == pytest.approx(1.0, abs=1e-14)
        # singleton groups follow the registry's default "raw" convention (A = r)
        assert gradient_factor("dr_grpo", P, G) == pytest.approx(1 - 1 / G if G > 1 else 1.0, abs=1e-14)
        if G >= 2:
            assert gradient_factor("rloo", P, G) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("est", NON_STATEFUL)
@pytest.mark.parametrize("G", [1, 3, 5])
def test_gradient_factor_equals_sum_over_reward_vectors(est, G):
    # c = (1/G) sum_i E[kappa A_i (r_i/P - (1 - r_i)/(1 - P))] over all 2^G reward vectors
    P = 0.37
    r = np.array(list(itertools.product([0.0, 1.0], repeat=G)))
    e = estimate(est, r)
    w = np.prod(np.where(r == 1, P, 1 - P), axis=1)
    m = r / P - (1 - r) / (1 - P)
    c = np.sum(w * (e.advantages * e.keep[:, None] * m).sum(axis=1)) / G
    assert gradient_factor(est, P, G) == pytest.approx(c, abs=1e-12)


@pytest.mark.parametrize("est", NON_STATEFUL)
def test_expected_update_equals_bruteforce_over_groups(est):
    for v, pi, G in ((mod_verifier(2), _policy(1, 2, 3), 3), (spot_verifier(2, 2, 1), _policy(2, 2, 2), 3),
                     (and_verifier(2, 2), _policy(3, 2, 2), 4)):
        a = expected_update(pi, v, est, G=G, lr=0.7)
        b = expected_update_bruteforce(pi, v, est, G=G, lr=0.7)
        np.testing.assert_allclose(a, b, atol=1e-13)  # sums of <= 10^4 terms of size <= 1


@given(seed=st.integers(0, 2 ** 32 - 1), S=st.integers(2, 4))
def test_sign_rule_on_random_policies(seed, S):
    pi = _policy(seed, S, 3, alpha=0.7)
    for v in _verifiers(S, 3):
        q, P = step_marginals(pi, v)
        for est in ("dr_grpo", "grpo", "linear_r"):
            u = expected_update(pi, v, est, G=4)
            res = sign_agreement(u, pi, q, tol=1e-12)
            assert res["mismatch"] == 0, (v.kind, est, res)


def test_mod3_predictions_and_threshold():
    assert mod3_threshold(2) == 1 / 3 and mod3_threshold(4) == 1 / 3 and mod3_threshold(3) is None
    for p in (0.1, 0.3, 0.33):
        assert predicted_mod3_outcome(p, 2) == "suboptimal"
        assert predicted_mod3_outcome(p, 3) == "stall"
        assert mod3_symmetric(p, 2)["advantage"] < 0
    for p in (0.34, 0.5, 0.9):
        assert predicted_mod3_outcome(p, 2) == "correct" and mod3_symmetric(p, 2)["advantage"] > 0
    assert uniformly_positive([[1.1, 1.2], [1.01, 5.0]]) and not uniformly_positive([[1.1, 1.0]])


def test_chain_value_definitions():
    assert chain_value(mod_verifier(3), (1, 1, 1)) == 1.0
    assert chain_value(mod_verifier(3), (2, 0, 0)) == 0.0
    assert chain_value(spot_verifier(4, 2, checks=2), (0, 0, 0, 1)) == pytest.approx(3 / 6)
    assert chain_value(and_verifier(3, 2, steps=[1]), (1, 0, 1)) == 1.0


def test_symmetric_base():
    b = symmetric_base(0.25, 3, 4)
    assert b.shape == (3, 4) and np.allclose(b.sum(axis=1), 1) and np.all(b[:, 0] == 0.25)


@pytest.mark.parametrize("call", [
    lambda: and_verifier(0),
    lambda: and_verifier(2, 1),
    lambda: and_verifier(2, 2, steps=[2]),
    lambda: mod_verifier(2, 3, modulus=1),
    lambda: mod_verifier(2, 3, offsets=[0, 1]),
    lambda: spot_verifier(3, 2, checks=4),
    lambda: spot_verifier(3, 2, checks=0),
    lambda: step_marginals(np.full((2, 2), 0.5), mod_verifier(2)),
    lambda: step_marginals(np.array([[0.5, 0.6, 0.0]] * 2), mod_verifier(2)),
    lambda: step_marginals(np.array([[1.5, -0.5, 0.0]] * 2), mod_verifier(2)),
    lambda: step_marginals_enum(np.full((21, 2), 0.5), and_verifier(21, 2)),
    lambda: task_advantage_ratio(np.full((2, 3), 1 / 3), mod_verifier(2), method="mc"),
    lambda: task_advantage_ratio(np.full((2, 2), 0.5), spot_verifier(2), method="closed"),
    lambda: expected_update(np.full((2, 3), 1 / 3), mod_verifier(2), "kae"),
    lambda: expected_update(np.full((2, 3), 1 / 3), mod_verifier(2), "nope"),
    lambda: expected_update(np.full((2, 3), 1 / 3), mod_verifier(2), "dr_grpo", G=0),
    lambda: gradient_factor("grpo", 1.2, 4),
    lambda: expected_update_bruteforce(np.full((2, 3), 1 / 3), mod_verifier(2), "grpo", G=8),
    lambda: chain_value(mod_verifier(2), (0, 3)),
    lambda: symmetric_base(0.0, 2),
    lambda: mod3_symmetric(0.5, 0),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
