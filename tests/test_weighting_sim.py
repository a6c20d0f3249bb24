"""Paper B simulator: Numba kernel vs a plain-Python oracle (exact), determinism, mean step vs theory."""


import numba
import numpy as np
import pytest
from hypothesis import given, strategies as st

from simulate.rng import uniform_py
from simulate.weighting import (hitting_time, initial_logits, initial_success, simulate, bench_cases)
from theory.estimators import advantages, keep_mask, ESTIMATORS
from theory.weighting import WEIGHTINGS, population_omega
from theory.weighting_finite import finite_group_drift
from tests.oracles import categorical, softmax

SIMULATED = tuple(n for n, e in ESTIMATORS.items() if not e.stateful)


def _oracle(name, rho0, *, group_size, n_steps, step, scale=1.0, update="kl", n_responses=8,
            n_correct=2, max_refill=10, seed=0):
    """Plain-Python replay of simulate(): same draws (uniform_py), same operation order."""
    refill = max_refill if ESTIMATORS[name].filters_groups else 0
    logits, correct = initial_logits(rho0, n_responses, n_correct)
    eta = step * scale
    g = group_size
    n_p, k = logits.shape
    rho = np.empty((n_steps + 1, n_p))
    succ = np.empty((n_steps, n_p), dtype=np.int64)
    resp = np.empty((n_steps, n_p), dtype=np.int64)
    signal = np.empty((n_steps, n_p), dtype=bool)

    def rho_of(pi, c):
        s = 0.0
        for a, b in zip(pi, c):
            s += a * b
        return s

    for p in range(n_p):
        z = list(logits[p])
        c = list(correct[p])
        pi = softmax(z)
        rho[0, p] = rho_of(pi, c)
        for t in range(n_steps):
            used, kept = 0, False
            for a in range(refill + 1):
                stream = (p * n_steps + t) * (refill + 1) + a
                ys = [categorical(pi, uniform_py(seed, stream, i)) for i in range(g)]
                r = [c[y] for y in ys]
                used += g
                if keep_mask(name, [r])[0]:
                    kept = True
                    break
            resp[t, p] = used
            succ[t, p] = int(sum(r)) if kept else -1
            moved = False
            if kept:
                adv = list(advantages(name, [r])[0])
                moved = any(x != 0.0 for x in adv)
                if moved:
                    if update == "kl":
                        grad = {}
                        for y, x in zip(ys, adv):
                            grad[y] = grad.get(y, 0.0) + x / (g * pi[y])
                        for y in ys:
                            if y in grad:
                                z[y] += eta * grad.pop(y)
                    else:
                        grad, total = [0.0] * k, 0.0
                        for y, x in zip(ys, adv):
                            grad[y] += x
                            total += x
                        z = [z[j] + eta * (grad[j] - total * pi[j]) / g for j in range(k)]
                    pi = softmax(z)
            signal[t, p] = moved
            rho[t + 1, p] = rho_of(pi, c)
    return rho, succ, resp, signal


@pytest.mark.parametrize("name", SIMULATED)
@pytest.mark.parametrize("update", ["kl", "pg"])
def test_kernel_matches_oracle_exactly(name, update):
    # edge cases: a near-zero and a near-one prompt (all-fail / all-pass groups, dapo refills)
    rho0 = [0.002, 0.05, 0.4, 0.97]
    kw = dict(group_size=4, n_steps=6, step=0.3, scale=0.7, update=update, max_refill=3, seed=11)
    run = simulate(name, rho0, **kw)
    rho, succ, resp, signal = _oracle(name, rho0, **kw)
    np.testing.assert_array_equal(run.rho, rho)
    np.testing.assert_array_equal(run.successes, succ)
    np.testing.assert_array_equal(run.responses, resp)
    np.testing.assert_array_equal(run.signal, signal)


@pytest.mark.parametrize("name", ["grpo", "rloo", "linear_r", "dapo"])
def test_singleton_groups_match_oracle(name):
    kw = dict(group_size=1, n_steps=5, step=0.2, n_responses=3, n_correct=1, seed=5)
    run = simulate(name, [0.1, 0.6], **kw)
    np.testing.assert_array_equal(run.rho, _oracle(name, [0.1, 0.6], **kw)[0])


@given(seed=st.integers(0, 2**40), g=st.integers(1, 6), name=st.sampled_from(SIMULATED))
def test_kernel_matches_oracle_property(seed, g, name):
    kw = dict(group_size=g, n_steps=3, step=0.5, seed=seed, n_responses=5, n_correct=2)
    np.testing.assert_array_equal(simulate(name, [0.03, 0.5], **kw).rho, _oracle(name, [0.03, 0.5], **kw)[0])


def test_deterministic_and_thread_count_free():
    rho0 = initial_success("from_scratch", 64, 3)
    kw = dict(group_size=8, n_steps=30, step=0.05, seed=42)
    a = simulate("sqrt_r", rho0, **kw)
    b = simulate("sqrt_r", rho0, **kw)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        c = simulate("sqrt_r", rho0, **kw)
    finally:
        numba.set_num_threads(old)
    for x in (b, c):
        np.testing.assert_array_equal(a.rho, x.rho)
        np.testing.assert_array_equal(a.responses, x.responses)
    d = simulate("sqrt_r", rho0, **{**kw, "seed": 43})
    assert not np.array_equal(a.rho, d.rho)


@pytest.mark.parametrize("name", ["rloo", "grpo", "linear_r", "sqrt_r", "uniform_r", "dapo"])
@pytest.mark.parametrize("g", [2, 8, 64])
def test_mean_step_matches_finite_group_drift(name, g):
    """Mean one-step log-odds change / eta vs theory.weighting_finite (first order in eta).

    P = 4000 independent prompts from rho = 0.2; tolerance 4 standard errors of the mean plus the
    O(eta) second-order term, bounded by 2 % of the drift at eta = 1e-3 (checked: the quadratic term
    is ~eta * Var(Delta l) / 2 relative).
    """
    rho, eta, n = 0.2, 1e-3, 4000
    run = simulate(name, np.full(n, rho), group_size=g, n_steps=1, step=eta, seed=7, max_refill=2)
    dl = (np.log(run.rho[1]) - np.log1p(-run.rho[1]) - (np.log(rho) - np.log1p(-rho))) / eta
    mean, se = dl.mean(), dl.std(ddof=1) / np.sqrt(n)
    pred = finite_group_drift(name, rho, g, max_refill=2)
    assert abs(mean - pred) <= 4 * se + 0.02 * abs(pred), (mean, se, pred)


@pytest.mark.parametrize("name", ["grpo", "linear_r", "sqrt_r", "uniform_r"])
def test_finite_drift_approaches_population_as_g_grows(name):
    """The finite-G drift tends to omega(rho) (the paper's ODE); the gap shrinks monotonically."""
    rho = 0.1
    target = float(population_omega(name, rho))
    gaps = [abs(finite_group_drift(name, rho, g) / target - 1.0) for g in (4, 16, 64, 256, 1024)]
    assert all(b < a for a, b in zip(gaps, gaps[1:])), gaps
    # grpo keeps verl's Bessel factor sqrt((G-1)/G) ~ 1 - 1/(2G): 5e-4 at G = 1024
    assert gaps[-1] < 2e-3


def test_all_fail_group_moves_only_asymmetric_weightings():
    run_kw = dict(group_size=4, n_steps=1, step=0.1, seed=2, max_refill=0)
    for name in WEIGHTINGS:
        run = simulate(name, np.full(400, 0.02), **run_kw)
        # dapo (no refill here) reports a dropped group as -1; at rho = 0.02 and G = 4 a dropped
        # group is all-fail unless all four succeed (probability 1.6e-7)
        fail = (run.successes[0] == 0) | (run.successes[0] == -1)
        assert fail.sum() > 200
        moved = run.rho[1, fail] != run.rho[0, fail]
        if ESTIMATORS[name].unit_interval:  # the paper-B asymmetric family
            assert moved.all() and (run.rho[1, fail] > run.rho[0, fail]).all()
        else:
            assert not moved.any()


def test_dapo_responses_count_refills():
    run = simulate("dapo", np.full(50, 0.01), group_size=4, n_steps=5, step=0.1, max_refill=3, seed=1)
    assert set(np.unique(run.responses)) <= {4, 8, 12, 16}
    assert ((run.successes == -1) == (run.responses == 16) & (run.successes == -1)).all()
    no_keep = run.successes == -1
    assert (run.responses[no_keep] == 16).all() and not run.signal[no_keep].any()
    grpo = simulate("grpo", np.full(50, 0.01), group_size=4, n_steps=5, step=0.1, max_refill=3, seed=1)
    assert (grpo.responses == 4).all()


def test_hitting_time_and_initial_states():
    path = np.array([[0.1, 0.9], [0.5, 0.95], [0.8, 0.99]])
    np.testing.assert_allclose(hitting_time(path, 0.6), [1 + 1 / 3, 0.0])
    assert np.isnan(hitting_time(path, 0.999)).tolist() == [True, True]
    logits, correct = initial_logits([0.3], n_responses=5, n_correct=2)
    pi = np.exp(logits[0]) / np.exp(logits[0]).sum()
    assert abs(pi @ correct[0] - 0.3) < 1e-15
    s = initial_success("from_scratch", 2000, 0)
    assert np.median(s) < 0.03 and s.min() >= 1e-3
    assert abs(initial_success("post_sft", 2000, 0).mean() - 0.4) < 0.02
    np.testing.assert_array_equal(initial_success("post_sft", 10, 4), initial_success("post_sft", 10, 4))


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="kae"), "name"), (dict(group_size=0), "group_size"), (dict(n_steps=0), "n_steps"),
    (dict(step=0.0), "step"), (dict(update="adam"), "update"), (dict(rho0=[0.0]), "rho0"),
    (dict(n_correct=8), "n_correct"), (dict(seed=-1), "seed"), (dict(scale=-1.0), "scale"),
])
def test_bad_inputs_raise(kwargs, match):
    base = dict(name="grpo", rho0=[0.2], group_size=4, n_steps=2, step=0.1)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate(base.pop("name"), base.pop("rho0"), **base)
    with pytest.raises(ValueError, match="kind"):
        initial_success("sft", 3, 0)


def test_numpy_bench_reference_agrees_in_distribution():
    """The bench's NumPy reference does the same work: same mean final rho within 4 SE (its own RNG)."""
    from simulate.weighting import _numpy_reference
    from theory.estimators import resolve
    rho0 = initial_success("post_sft", 3000, 1)
    logits, correct = initial_logits(rho0)
    spec = resolve("grpo")
    z = _numpy_reference(spec.code, spec.params, logits, correct, 8, 0.05, 10, 3)
    pi = np.exp(z - z.max(axis=1, keepdims=True))
    ref = (pi * correct).sum(axis=1) / pi.sum(axis=1)
    fast = simulate("grpo", rho0, group_size=8, n_steps=10, step=0.05, seed=3).rho[-1]
    se = np.hypot(ref.std(), fast.std()) / np.sqrt(rho0.size)
    assert abs(ref.mean() - fast.mean()) < 4 * se
    assert fast.mean() > rho0.mean() + 10 * se  # and both actually moved
    (case,) = bench_cases(quick=True)
    assert case.reference == "numpy" and case.kernel == "numba kernel" and case.limit in case.candidates
    case.setup()
    for fn in case.candidates.values():  # every candidate runs (the harness times them)
        fn()


@pytest.mark.parametrize("name", ["grpo", "linear_r", "plateau_r"])
def test_clock_readouts_match_the_population_recursion(name):
    """effective_time / hitting_time on a recursion path reproduce theory.weighting.recursion_time."""
    from simulate.weighting_targets import effective_time
    from theory.weighting import budget_scale, recursion_path, recursion_time
    step = 0.01
    path = recursion_path(name, 0.05, 3000, step, scale=budget_scale(name, 0.05, 0.9))
    reg, eff = recursion_time(name, 0.05, 0.9, step)
    assert float(hitting_time(path, 0.9)) * step == pytest.approx(reg, rel=1e-12)
    assert effective_time(path[:, None], 0.9, step)[0] == pytest.approx(eff, rel=1e-12)


def test_responses_to_target_interpolates():
    from simulate.weighting_targets import responses_to_target
    rho = np.array([[0.1, 0.1], [0.4, 0.2], [0.8, 0.3]])
    resp = np.array([[16, 16], [48, 16]])
    out = responses_to_target(rho, resp, 0.6)
    assert out[0] == pytest.approx(16 + 0.5 * 48) and np.isnan(out[1])


@given(pi=st.lists(st.one_of(st.just(0.0), st.floats(1e-300, 1.0), st.floats(1e-18, 1e-15)), min_size=1,
                   max_size=20),
       u=st.one_of(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), st.just(1.0 - 2**-53)))
def test_branch_free_categorical_equals_search(pi, u):
    from simulate.weighting import _categorical, _cdf

    p = np.array(pi)
    tot = p.sum()
    if tot > 0:
        p = p / tot  # a distribution up to round-off (sums may land just below or above 1)
    cum = np.empty_like(p)
    last = _cdf(p, cum, p.size)
    assert _categorical(cum, last, u, p.size) == categorical(list(p), u)
