"""Paper D theory: perplexity, the schedule window, relative-entropy weights and their identities."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from theory.curriculum import (PACINGS, effective_batch_factor, entropy_weight_jacobian, entropy_weights,
                               pace, progress, prompt_perplexity, schedule_window, selection_size,
                               weighted_advantages, window_start)
from theory.estimators import ESTIMATORS, advantages

entropies = st.lists(st.floats(0.01, 5.0), min_size=1, max_size=30)
rhos = st.floats(0.0, 1.0)


# --- perplexity ----------------------------------------------------------------------------------
def test_perplexity_of_a_known_distribution_is_exact():
    # tokens drawn from a distribution q scored by the model q itself: the sample perplexity is
    # exp of the mean surprisal; with each outcome appearing in proportion to q it equals exp(H(q))
    q = np.array([0.5, 0.25, 0.125, 0.125])
    counts = (q * 8).astype(int)  # 4, 2, 1, 1 tokens
    lp = np.concatenate([np.full(c, math.log(p)) for p, c in zip(q, counts)])
    entropy = -(q * np.log(q)).sum()  # 1.75 bits = 1.2130 nats
    assert prompt_perplexity(lp) == pytest.approx(math.exp(entropy), rel=1e-14)
    assert prompt_perplexity([math.log(1 / 50257)] * 9) == pytest.approx(50257, rel=1e-12)
    assert prompt_perplexity([0.0, 0.0]) == 1.0


@pytest.mark.parametrize("bad", [[], [0.1], [float("nan")], [[-1.0]]])
def test_perplexity_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="token_logprobs"):
        prompt_perplexity(bad)


# --- window --------------------------------------------------------------------------------------
@given(n=st.integers(1, 200), data=st.data())
def test_window_ends_and_monotone(n, data):
    k = data.draw(st.integers(1, n))
    pacing = data.draw(st.sampled_from(list(PACINGS)))
    assert window_start(0.0, n, k, pacing) == 0
    assert window_start(1.0, n, k, pacing) == n - k
    grid = np.linspace(0, 1, 101)
    starts = [window_start(r, n, k, pacing) for r in grid]
    assert all(a <= b for a, b in zip(starts, starts[1:]))
    assert all(0 <= s <= n - k for s in starts)


@settings(max_examples=50)
@given(ppl=arrays(np.float64, st.integers(1, 60), elements=st.floats(1.0, 100.0), unique=True),
       data=st.data())
def test_window_selects_lowest_then_highest(ppl, data):
    n = ppl.size
    k = data.draw(st.integers(1, n))
    lo = schedule_window(ppl, 0.0, k=k)
    hi = schedule_window(ppl, 1.0, k=k)
    assert set(lo) == set(np.argsort(ppl)[:k])  # exactly the K lowest
    assert set(hi) == set(np.argsort(ppl)[n - k:])  # exactly the K highest
    # the selected band moves up: min and max perplexity of the window are non-decreasing in rho
    bands = [ppl[schedule_window(ppl, r, k=k)] for r in np.linspace(0, 1, 21)]
    mins, maxs = [b.min() for b in bands], [b.max() for b in bands]
    assert all(a <= b for a, b in zip(mins, mins[1:])) and all(a <= b for a, b in zip(maxs, maxs[1:]))
    assert all(len(b) == k for b in bands)


def test_window_linear_formula_and_pacings():
    # l = floor(rho (|B| - K)) with |B| = 100, K = 20
    for r in (0.0, 0.1, 0.25, 0.5, 0.999, 1.0):
        assert window_start(r, 100, 20) == math.floor(r * 80)
    assert pace(0.3, "quadratic") == pytest.approx(0.09)
    for name in PACINGS:
        assert pace(0.0, name) == 0.0 and pace(1.0, name) == pytest.approx(1.0)
    assert pace(0.5, "exponential", rate=1e-6) == pytest.approx(0.5, abs=1e-6)  # a -> 0: linear
    assert selection_size(80) == 16 and selection_size(5, 0.2) == 1


def test_progress_and_validation():
    assert [progress(t, 3) for t in range(3)] == [0.0, 0.5, 1.0]
    assert progress(0, 1) == 0.0
    with pytest.raises(ValueError, match="step"):
        progress(3, 3)
    with pytest.raises(ValueError, match="pacing"):
        pace(0.5, "cosine")
    with pytest.raises(ValueError, match="rho"):
        window_start(1.5, 10, 2)
    with pytest.raises(ValueError, match="k"):
        window_start(0.5, 10, 11)
    with pytest.raises(ValueError, match="ratio"):
        selection_size(10, 0.0)


# --- weights -------------------------------------------------------------------------------------
@given(h=entropies)
def test_simple_weights_have_mean_one_and_order(h):
    w = entropy_weights(h)
    assert w.mean() == pytest.approx(1.0, rel=1e-12)
    x = np.array(h)
    hbar = x.mean()
    clear = np.abs(x - hbar) > 1e-9 * hbar  # away from the round-off tie w = 1
    np.testing.assert_array_equal((w > 1)[clear], (x > hbar)[clear])


@given(data=st.data(), n=st.integers(1, 30))
def test_token_weighted_weights_preserve_effective_batch(data, n):
    h = data.draw(st.lists(st.floats(0.01, 5.0), min_size=n, max_size=n))
    ln = data.draw(st.lists(st.integers(1, 4000), min_size=n, max_size=n))
    w = entropy_weights(h, ln, token_weighted=True)
    assert effective_batch_factor(w, ln) == pytest.approx(1.0, rel=1e-12)
    assert float(w @ ln) == pytest.approx(float(sum(ln)), rel=1e-12)


def test_simple_weights_do_not_preserve_effective_batch_when_length_and_entropy_covary():
    # long rollouts with high entropy: the simple-mean weights inflate the token count (Fig. 20's drift)
    w = entropy_weights([0.5, 1.5], [100, 300])
    assert effective_batch_factor(w, [100, 300]) == pytest.approx(1.25)


def test_all_zero_entropy_gives_unit_weights():
    assert entropy_weights([0.0, 0.0]).tolist() == [1.0, 1.0]


@settings(max_examples=40)
@given(h=st.lists(st.floats(0.05, 5.0), min_size=2, max_size=12), data=st.data(), tw=st.booleans())
def test_jacobian_matches_finite_differences(h, data, tw):
    ln = data.draw(st.lists(st.integers(1, 500), min_size=len(h), max_size=len(h))) if tw else None
    J = entropy_weight_jacobian(h, ln, token_weighted=tw)
    x = np.array(h)
    step = 1e-6
    fd = np.empty_like(J)
    for j in range(x.size):
        up, dn = x.copy(), x.copy()
        up[j] += step
        dn[j] -= step
        fd[:, j] = (entropy_weights(up, ln, token_weighted=tw) - entropy_weights(dn, ln, token_weighted=tw)) / (2 * step)
    # central differences: error ~ step^2 * w''' ~ 1e-12 relative to entries of size 1/Hbar ~ 1
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-7)
    off = J[~np.eye(x.size, dtype=bool)]
    assert np.all(off < 0)  # a rollout's weight falls when another's entropy rises
    lam = np.array(ln) / sum(ln) if tw else np.full(x.size, 1 / x.size)
    np.testing.assert_allclose(lam @ J, 0.0, atol=1e-12)  # derivative of the identity


def test_self_sensitivity_small_in_a_large_batch():
    # the paper's robustness argument: an extreme rollout barely raises its own weight
    rng = np.random.default_rng(0)
    h = rng.uniform(0.5, 1.5, 256)
    h[0] = 20.0  # extreme entropy
    J = entropy_weight_jacobian(h)
    hbar = h.mean()
    assert J[0, 0] == pytest.approx((1 - h[0] / (hbar * 256)) / hbar)
    assert J[0, 0] < 1.0 / hbar  # damped below the naive 1/Hbar
    assert np.all(J[1:, 0] < 0)


def test_weights_validation():
    with pytest.raises(ValueError, match="mean_entropy"):
        entropy_weights([-1.0, 1.0])
    with pytest.raises(ValueError, match="lengths"):
        entropy_weights([1.0, 1.0], token_weighted=True)
    with pytest.raises(ValueError, match="lengths"):
        entropy_weights([1.0, 1.0], [1, 0], token_weighted=True)
    with pytest.raises(ValueError, match="all zero"):
        entropy_weight_jacobian([0.0, 0.0])


# --- composition with the registry ----------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, e in ESTIMATORS.items() if not e.stateful])
def test_weights_compose_with_every_estimator(name):
    rewards = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    a = advantages(name, rewards)
    w = entropy_weights(np.linspace(0.2, 2.0, 12)).reshape(3, 4)
    out = weighted_advantages(a, w)
    np.testing.assert_array_equal(out, a * w)  # the estimator is untouched, only scaled per rollout
    np.testing.assert_array_equal(out[a == 0.0], 0.0)  # a zero advantage stays zero
    np.testing.assert_array_equal(weighted_advantages(a, np.ones_like(a)), a)


def test_weighted_advantages_validation():
    with pytest.raises(ValueError, match="shape"):
        weighted_advantages(np.zeros((2, 3)), np.ones(6))
    with pytest.raises(ValueError, match="weights"):
        weighted_advantages(np.zeros(2), [1.0, -1.0])
