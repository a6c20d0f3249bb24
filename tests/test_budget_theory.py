"""Paper A closed forms (theory.budget, theory.budget_bounds): properties, textbook forms, quadrature."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy import integrate, stats

from theory import budget as B
from theory import budget_bounds as BB

xis = st.floats(min_value=1e-3, max_value=50.0)
Ks = st.integers(min_value=1, max_value=8)
Gs = st.integers(min_value=1, max_value=64)


@given(a=xis, b=xis, K=Ks)
def test_success_probability_monotone(a, b, K):
    lo, hi = sorted((a, b))
    assert B.success_probability(lo, K) <= B.success_probability(hi, K)


@pytest.mark.parametrize("K", [1, 2, 4, 8])
def test_success_probability_limits(K):
    assert B.success_probability(1e-8, K) < 1e-7
    assert B.success_probability(200.0, K) > 1 - 1e-12
    # small-xi law (K xi)^K / K!  (relative error O(xi))
    assert B.success_probability(1e-4, K) == pytest.approx(BB.small_budget_rate(1e-4, K), rel=1e-3)


@given(p=st.floats(min_value=1e-3, max_value=0.5), H=st.integers(min_value=1, max_value=2000))
def test_stable_geometric_equals_textbook(p, H):
    # both forms are accurate here (1 - (1-p)^H is not near 0): agreement to round-off
    assert B.discrete_success_probability(p, H) == pytest.approx(1 - (1 - p) ** H, rel=1e-12, abs=1e-15)


@given(p=st.floats(min_value=1e-3, max_value=0.9), H=st.integers(min_value=1, max_value=300), K=Ks)
def test_discrete_success_equals_pmf_sum(p, H, K):
    t = np.arange(K, H + 1)
    total = stats.nbinom.pmf(t - K, K, p).sum() if t.size else 0.0
    assert B.discrete_success_probability(p, H, K) == pytest.approx(total, rel=1e-9, abs=1e-12)


@given(xi=st.floats(min_value=0.05, max_value=30.0))
def test_graded_moments_k1_equal_notes_closed_form(xi):
    m, v = B.graded_reward_moments(xi, 1)
    e = math.exp(-xi)
    assert m == pytest.approx((xi - 1 + e) / xi, rel=1e-9)
    assert v == pytest.approx((1 - e * e - 2 * xi * e) / xi**2, rel=1e-7, abs=1e-14)


@pytest.mark.parametrize("K", [1, 2, 3, 6])
@pytest.mark.parametrize("xi", [0.02, 0.3, 1.0, 2.5, 12.0, 80.0])
def test_graded_moments_equal_quadrature(K, xi):
    law = stats.gamma(K, scale=1.0 / K)  # mean 1
    f = lambda t, k: ((xi - t) / xi) ** k * law.pdf(t)
    m1 = integrate.quad(f, 0, xi, args=(1,), epsabs=1e-14, epsrel=1e-12)[0]
    m2 = integrate.quad(f, 0, xi, args=(2,), epsabs=1e-14, epsrel=1e-12)[0]
    m, v = B.graded_reward_moments(xi, K)
    assert m == pytest.approx(m1, rel=1e-7, abs=1e-14)
    assert v == pytest.approx(m2 - m1**2, rel=1e-6, abs=1e-12)


def test_graded_moments_tiny_xi_no_cancellation():
    m, v = B.graded_reward_moments(np.array([1e-7, 1e-5]), 1)
    # E[R]/H -> xi/2 and Var/H^2 -> xi/3 as xi -> 0 (leading terms of the K = 1 forms)
    np.testing.assert_allclose(m, [5e-8, 5e-6], rtol=1e-4)
    np.testing.assert_allclose(v, [1e-7 / 3, 1e-5 / 3], rtol=1e-4)


@given(xi=xis, K=Ks)
def test_variances_nonnegative_and_bounded(xi, K):
    m, v = B.graded_reward_moments(xi, K)
    q, bv = B.binary_reward_moments(xi, K)
    assert 0 <= m <= 1 and 0 <= v <= 0.25 + 1e-12 and 0 <= bv <= 0.25


@pytest.mark.parametrize("K,lo,hi", [(1, 1.10, 1.15), (2, 1.30, 1.36), (4, 1.36, 1.42), (8, 1.33, 1.41)])
def test_sigma_over_H_peak_matches_notes(K, lo, hi):
    x = np.exp(np.linspace(np.log(0.2), np.log(5.0), 4001))
    _, v = B.graded_reward_moments(x, K)
    assert lo < x[np.argmax(v)] < hi


@given(p=st.floats(min_value=0.005, max_value=0.5), H=st.integers(min_value=2, max_value=400), K=Ks)
def test_discrete_moments_consistent(p, H, K):
    d = B.discrete_reward_moments(p, H, K)
    assert d["graded_var"] >= 0 and 0 <= d["graded_mean"] <= d["q"] <= 1
    assert min(K, H) <= d["tokens_mean"] <= H


@pytest.mark.parametrize("p,H,K", [(0.14587833044120208, 5, 5), (0.32877165581214446, 7, 7), (0.3, 3, 5)])
def test_discrete_tokens_mean_at_h_equal_k(p, H, K):
    """Regression (found by the property test above): at H <= K every rollout generates exactly
    min(K, H) tokens; the plain form sum t pmf + H (1 - q) gave 4.999999999999999 at H = K = 5."""
    assert B.discrete_reward_moments(p, H, K)["tokens_mean"] == min(K, H)


@given(q=st.floats(min_value=0.0, max_value=1.0), G=Gs)
def test_informative_probability_monotone_in_G(q, G):
    for reward in ("graded", "binary"):
        assert B.informative_probability(q, G, reward) <= B.informative_probability(q, G + 1, reward) + 1e-15
    assert B.informative_probability(q, G, "binary") <= B.informative_probability(q, G, "graded") + 1e-15


def test_informative_probability_values():
    q = np.linspace(0, 1, 101)
    mixed = B.informative_probability(q, 8, "binary")
    assert q[np.argmax(mixed)] == pytest.approx(0.5)
    np.testing.assert_allclose(mixed, 1 - q**8 - (1 - q) ** 8, atol=1e-15)
    assert B.informative_probability(1.0, 8, "binary") == 0.0


@given(xi=st.floats(min_value=0.05, max_value=20.0), eps=st.floats(min_value=0.0, max_value=2.0))
def test_anti_concentration_k1_equals_notes(xi, eps):
    _, v = B.graded_reward_moments(xi, 1)
    expected = max(1 - math.exp(-(1 - math.exp(-xi)) + math.sqrt(v) * xi * math.sqrt(eps)), 0.0)
    assert B.anti_concentration(xi, eps, 1) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("K", [1, 2, 3])
def test_anti_concentration_rate_and_constant(K):
    small = np.array([1e-3, 2e-3])
    c = B.anti_concentration(small, 0.1, K)
    assert math.log(c[1] / c[0]) / math.log(2) == pytest.approx(K, abs=0.05)  # c ~ f(xi) = xi^K
    assert B.anti_concentration(50.0, 0.1, K) > 0.3  # Theta(1) in the ample regime


@given(xi=st.floats(min_value=1e-3, max_value=100.0))
def test_regime_consistent_with_thresholds(xi):
    r = B.regime(xi)
    assert r == ("deficient" if xi < B.DEFICIENT_BELOW else "ample" if xi > B.AMPLE_ABOVE else "balanced")


@pytest.mark.parametrize("K", [1, 2])
def test_required_samples_bound_shapes(K):
    # Theorem 6.3 [S]: ~ xi^(-3K/2) as xi -> 0, ~ xi as xi -> infinity, minimum at Theta(1)
    n = lambda x: float(BB.required_samples_bound(x, 0.05, K))
    assert math.log(n(2e-3) / n(1e-3)) / math.log(2) == pytest.approx(-1.5 * K, abs=0.05)
    assert math.log(n(400.0) / n(200.0)) / math.log(2) == pytest.approx(1.0, abs=0.05)
    x = np.exp(np.linspace(np.log(0.05), np.log(50), 400))
    xmin = x[np.argmin(BB.required_samples_bound(x, 0.05, K))]
    assert 0.5 < xmin < 5.0


@pytest.mark.parametrize("K", [1, 2, 4])
def test_case_study_recursion_increment(K):
    d = BB.case_study_recursion(1.0, 120, K)
    assert np.all(d["increment"] > 0)
    assert d["increment"][-1] == pytest.approx(1 / (2 * K), rel=0.02)  # 1/(2K) + O(1/xi)


def test_graded_mean_inverse_roundtrip():
    for K in (1, 3):
        for xi in (0.01, 0.7, 9.0):
            assert B.graded_mean_inverse(B.graded_reward_moments(xi, K)[0], K) == pytest.approx(xi, rel=1e-9)


@pytest.mark.parametrize("call", [
    lambda: B.relative_budget(0, 10), lambda: B.relative_budget(10, -1),
    lambda: B.success_probability(-1.0), lambda: B.success_probability(1.0, K=0),
    lambda: B.discrete_success_probability(1.5, 10), lambda: B.discrete_success_probability(0.1, 0),
    lambda: B.graded_reward_moments(np.nan), lambda: B.informative_probability(0.5, 0),
    lambda: B.informative_probability(0.5, 4, "other"), lambda: B.anti_concentration(1.0, -0.1),
    lambda: B.regime(0.0), lambda: B.hazard_for_budget(5.0, 4), lambda: B.graded_mean_inverse(1.0),
    lambda: BB.required_samples_bound(1.0, 0.0), lambda: BB.case_study_recursion(1.0, 0),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


def test_argmax_log_recovers_parabola_peak():
    from figures.budget_efficiency import argmax_log

    xi = np.exp(np.linspace(np.log(0.1), np.log(10), 17))
    curve = -((np.log(xi) - np.log(1.7)) ** 2)  # exact parabola in log xi, peak at 1.7
    assert argmax_log(xi, curve) == pytest.approx(1.7, rel=1e-9)
    assert argmax_log(xi, np.arange(17.0)) == pytest.approx(10.0)  # peak at the edge stays there
