"""Paper C theory (theory/kernel.py): the properties of the kernel value as theorems, and the closed
forms against Monte Carlo with tolerances from standard errors."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.oracles import kae_group, rloo_group
from theory.kernel import (bias_order, global_mean_mse, grpo_loo_mse, heterogeneity_bias, kae_values,
                           kernel_weight, nw_variance, optimal_bandwidth, stone_exponent, variance_order)

kernels = st.sampled_from(["triangular", "exponential"])
bandwidths = st.floats(0.02, 3.0)


@st.composite
def situations(draw, min_group=1, binary=False):
    """(group rewards, step, history iterations, history rewards)."""
    g = draw(st.integers(min_group, 6))
    step = draw(st.integers(1, 60))
    n = draw(st.integers(0, 12))
    elems = st.sampled_from([0.0, 1.0]) if binary else st.floats(0.0, 1.0)
    r = np.array(draw(st.lists(elems, min_size=g, max_size=g)))
    it = np.sort(np.array(draw(st.lists(st.integers(1, step), min_size=n, max_size=n)), dtype=float))
    z = np.array(draw(st.lists(elems, min_size=n, max_size=n)))
    return r, step, it, z


@given(situations(), bandwidths, kernels)
def test_numba_value_equals_oracle(sit, h, kernel):
    r, step, it, z = sit
    got = kae_values(r, step, it, z, bandwidth=h, kernel=kernel)
    want = r - np.array(kae_group(list(r), step, list(zip(it, z)), h, kernel))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@given(situations(), bandwidths, kernels)
def test_value_is_a_convex_combination_of_observed_rewards(sit, h, kernel):
    """V_hat_g = sum w Z / sum w with w >= 0 over the history and the other traces: it lies in
    their range, and equals the explicit weighted mean built from kernel_weight."""
    r, step, it, z = sit
    v = kae_values(r, step, it, z, bandwidth=h, kernel=kernel)
    w_hist = kernel_weight((step - it) / (step * h), kernel) if it.size else np.zeros(0)
    for g in range(r.size):
        others = np.delete(r, g)
        w = np.concatenate([w_hist, np.ones(others.size)])
        obs = np.concatenate([z, others])
        if w.sum() == 0:
            assert v[g] == 0.0  # nothing observed in the window: baseline 0 [R]
            continue
        used = obs[w > 0]
        assert used.min() - 1e-12 <= v[g] <= used.max() + 1e-12
        assert v[g] == pytest.approx(float(np.sum(w * obs) / w.sum()), rel=1e-12, abs=1e-12)


@given(situations(), bandwidths, kernels, st.floats(0.0, 1.0))
def test_own_reward_never_enters_its_baseline(sit, h, kernel, new):
    """Changing Z_g leaves V_hat_g unchanged, up to the round-off of V_hat = Z - A (kae_row returns
    advantages; Z - (Z - V) is V within one ulp of Z <= 1, so 1e-15)."""
    r, step, it, z = sit
    v = kae_values(r, step, it, z, bandwidth=h, kernel=kernel)
    for g in range(r.size):
        r2 = r.copy()
        r2[g] = new
        assert abs(kae_values(r2, step, it, z, bandwidth=h, kernel=kernel)[g] - v[g]) <= 1e-15


@given(situations(), st.floats(0.02, 0.95), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5))
def test_triangular_kernel_ignores_history_older_than_the_window(sit, h, old_rewards):
    r, step, it, z = sit
    cutoff = int(np.floor(step * (1 - h)))  # iterations I <= i (1 - h) have u >= 1
    assume(cutoff >= 1)
    old_it = np.full(len(old_rewards), float(cutoff))
    it2 = np.concatenate([old_it, it[it > cutoff]])
    z2 = np.concatenate([old_rewards, z[it > cutoff]])
    a = kae_values(r, step, it[it > cutoff], z[it > cutoff], bandwidth=h)
    b = kae_values(r, step, it2, z2, bandwidth=h)
    np.testing.assert_array_equal(a, b)


@given(situations(min_group=2, binary=True), bandwidths, kernels)
def test_empty_history_is_the_rloo_mean(sit, h, kernel):
    r, step, _, _ = sit
    v = kae_values(r, step, bandwidth=h, kernel=kernel)
    np.testing.assert_allclose(r - v, rloo_group(list(r)), atol=1e-12)


@given(situations(min_group=2), bandwidths, kernels, st.sampled_from([0.0, 0.25, 1.0]))
def test_constant_rewards_give_zero_advantage(sit, h, kernel, c):
    r, step, it, z = sit
    r = np.full(r.size, c)
    v = kae_values(r, step, it, np.full(z.size, c), bandwidth=h, kernel=kernel)
    np.testing.assert_allclose(r - v, 0.0, atol=1e-12)


@pytest.mark.parametrize("kernel", ["triangular", "exponential"])
@pytest.mark.parametrize("g", [1, 4])
def test_kae_mse_without_drift_equals_nw_variance(kernel, g):
    """Constant V: KAE's MSE is exactly v(1-v) sum w^2 / (sum w)^2 (nw_variance).

    40,000 Monte Carlo groups with a fixed history pattern (iterations 80..99, 3 rewards each) at
    i = 100, h = 0.3; tolerance 4 standard errors of the mean squared error.
    """
    rng = np.random.default_rng(0)
    v, step, h, n = 0.3, 100, 0.3, 40_000
    it = np.repeat(np.arange(80, 100), 3).astype(float)
    err = np.empty(n)
    for k in range(n):
        z = (rng.random(it.size) < v).astype(float)
        r = (rng.random(g) < v).astype(float)
        err[k] = (kae_values(r, step, it, z, bandwidth=h, kernel=kernel)[0] - v) ** 2
    w = np.concatenate([kernel_weight((step - it) / (step * h), kernel), np.ones(g - 1)])
    pred = nw_variance(v, w)
    assert abs(err.mean() - pred) < 4 * err.std(ddof=1) / np.sqrt(n), (err.mean(), pred)


def test_grpo_and_global_mse_match_monte_carlo():
    """LOO mean: v(1-v)/(G-1); global mean of a heterogeneous batch: bias^2 + Var (global_mean_mse).
    200,000 batches; tolerance 4 standard errors."""
    rng = np.random.default_rng(1)
    vals, g, n = np.array([0.1, 0.5, 0.8]), 4, 200_000
    z = (rng.random((n, vals.size, g)) < vals[None, :, None]).astype(float)  # (n, B, G)
    loo = (z.sum(axis=2) - z[:, :, 0]) / (g - 1)  # trace 0's baseline
    gm = z.mean(axis=(1, 2))
    for got, pred in (((loo - vals) ** 2, grpo_loo_mse(vals, g)), ((gm[:, None] - vals) ** 2, global_mean_mse(vals, g))):
        se = got.std(axis=0, ddof=1) / np.sqrt(n)
        assert np.all(np.abs(got.mean(axis=0) - pred) < 4 * se), (got.mean(axis=0), pred)
    assert heterogeneity_bias(vals).sum() == pytest.approx(0.0, abs=1e-15)


@given(st.floats(0.5, 3.0), st.integers(10, 10**6))
def test_bandwidth_rule_balances_the_orders(p, n):
    """argmin_h h^(2p) + 1/(N h) = (2 p N)^(-1/(2p+1)): the rule's N-exponent, and at the rule the
    two terms are of the same order (their ratio does not depend on N)."""
    h_star = (2 * p * n) ** (-1 / (2 * p + 1))
    assert h_star / optimal_bandwidth(n, p) == pytest.approx((2 * p) ** (-1 / (2 * p + 1)), rel=1e-9)
    h = optimal_bandwidth(n, p)
    ratio = h ** (2 * p) / variance_order(n, h)
    assert ratio == pytest.approx(1.0, rel=1e-9)
    mse = h ** (2 * p) + variance_order(n, h)
    assert mse == pytest.approx(2 * n ** stone_exponent(p, p), rel=1e-9)


def test_bias_order_is_minimised_in_h_and_domains():
    h = np.geomspace(1e-3, 10, 2000)
    b = bias_order(h, 400)
    assert 0 < np.argmin(b) < h.size - 1  # h + 1/(i h): interior minimum at h = i^(-1/2)
    assert h[np.argmin(b)] == pytest.approx(400 ** -0.5, rel=0.01)
    with pytest.raises(ValueError, match="h must be finite and > 0"):
        bias_order(0.0, 10)
    with pytest.raises(ValueError, match="group_size must be an integer >= 2"):
        grpo_loo_mse(0.5, 1)
    with pytest.raises(ValueError, match="hist_iters must lie in"):
        kae_values([1.0], 3, [4.0], [1.0])
    with pytest.raises(ValueError, match="kernel must be one of"):
        kernel_weight([0.1], "gauss")
    with pytest.raises(ValueError, match="weights must be finite"):
        nw_variance(0.5, [0.0, 0.0])
