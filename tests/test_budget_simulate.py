"""Paper A simulator (simulate.budget*): plain-Python oracle, twins, determinism, MC vs closed forms."""

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import special, stats

from simulate import budget as S
from simulate.budget_casestudy import gamma_graded_rewards, simulate_case_study
from simulate.budget_numpy import simulate_policy_gradient_numpy
from simulate.rng import uniform_np
from simulate.rng import ln_py, uniform_py
from theory import budget as B
from theory.estimators import estimate


# --- plain-Python oracle: the kernel's algorithm, written out with the Python RNG twin ----------
def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def oracle(d, theta0, H, K, G, n_iter, lr, estimator, reward, seed, **opts):
    theta, out = theta0, {"theta": [theta0], "grad": [], "tokens": [], "successes": [], "mixed": [], "kept": []}
    for it in range(n_iter):
        g = tok = 0.0
        succ = mixed = kept = 0
        for x, dx in enumerate(d):
            p = _sigmoid(theta - dx)
            r, sc = [], []
            for i in range(G):
                t, s = 0.0, 0
                for k in range(K):
                    u = uniform_py(seed, (x << 32) + it, i * K + k)
                    t += math.floor(ln_py(u) / math.log1p(-p)) + 1.0 if p < 1 else 1.0
                    if t > H:
                        break
                    s += 1
                n = min(t, H)
                tok += n
                r.append((1.0 if reward == "binary" else (H - t + 1.0) / H) if t <= H else 0.0)
                succ += t <= H
                sc.append(s - n * p)
            est = estimate(estimator, [r], **opts)
            c = 0.0
            if est.keep[0]:
                for i in range(G):
                    c += est.advantages[0, i] * sc[i]
            g += c
            mixed += len(set(r)) > 1
            kept += bool(est.keep[0])
        g /= len(d) * G
        theta = theta + lr * g
        for key, val in (("theta", theta), ("grad", g), ("tokens", tok), ("successes", succ),
                         ("mixed", mixed), ("kept", kept)):
            out[key].append(val)
    return {k: np.array(v) for k, v in out.items()}


CASES = [  # (K, G, reward, estimator, options): singleton groups, filtering, every reward kind
    (1, 4, "binary", "grpo", {}), (2, 3, "graded", "rloo", {}), (3, 5, "binary", "dapo", {}),
    (1, 1, "binary", "grpo", {"convention": "trl"}), (2, 4, "graded", "linear_r", {}),
    (1, 6, "graded", "dr_grpo", {}), (4, 2, "binary", "reinforce", {}),
]


@pytest.mark.parametrize("K,G,reward,estimator,opts", CASES)
def test_kernel_equals_plain_python_oracle(K, G, reward, estimator, opts):
    d = S.difficulty_population(5, 0.8)
    kw = dict(d=d, theta0=S.theta_for_budget(0.8, d, 30, K), H=30, K=K, G=G, n_iter=4, lr=0.7,
              estimator=estimator, reward=reward, seed=11)
    run = S.simulate_policy_gradient(**kw, **opts)
    ref = oracle(list(d), kw["theta0"], 30, K, G, 4, 0.7, estimator, reward, 11, **opts)
    # exact: same draws, same operations, same summation order (estimator output may differ from
    # the kernel's in the last bit only if the NumPy API did; it runs the same kernel)
    np.testing.assert_array_equal(run.theta, ref["theta"])
    np.testing.assert_array_equal(run.grad, ref["grad"])
    np.testing.assert_array_equal(run.tokens, ref["tokens"])
    np.testing.assert_array_equal(run.successes, ref["successes"])
    np.testing.assert_array_equal(run.mixed_groups, ref["mixed"])
    np.testing.assert_array_equal(run.kept_groups, ref["kept"])


@pytest.mark.parametrize("K,G,reward,estimator", [(1, 8, "binary", "grpo"), (2, 3, "graded", "dapo")])
def test_kernel_equals_oracle_across_prompt_blocks(K, G, reward, estimator):
    """_run takes prompts in blocks of BLOCK (each step for the whole block, then the next step): two
    full blocks and a partial one give the oracle's numbers, one prompt at a time, exactly."""
    from simulate.budget_kernel import BLOCK

    d = S.difficulty_population(2 * BLOCK + 3, 0.6)
    kw = dict(d=d, theta0=S.theta_for_budget(1.0, d, 25, K), H=25, K=K, G=G, n_iter=3, lr=0.5,
              estimator=estimator, reward=reward, seed=2)
    run = S.simulate_policy_gradient(**kw, parallel=False)
    ref = oracle(list(d), kw["theta0"], 25, K, G, 3, 0.5, estimator, reward, 2)
    for field, key in (("theta", "theta"), ("grad", "grad"), ("tokens", "tokens"), ("successes", "successes"),
                       ("mixed_groups", "mixed"), ("kept_groups", "kept")):
        np.testing.assert_array_equal(getattr(run, field), ref[key])


@pytest.mark.parametrize("K", [1, 2])
@pytest.mark.parametrize("parallel", [True, False])
def test_edge_hazards_zero_and_one(K, parallel):
    # theta -> -inf: p = 0, nothing is solved; theta -> +inf: p = 1, every rollout takes K tokens
    d = np.zeros(3)
    lo = S.simulate_policy_gradient(d=d, theta0=-800.0, H=20, K=K, G=4, n_iter=2, seed=1, parallel=parallel)
    assert lo.successes.sum() == 0 and np.all(lo.tokens == 3 * 4 * 20) and np.all(lo.grad == 0)
    hi = S.simulate_policy_gradient(d=d, theta0=800.0, H=20, K=K, G=4, n_iter=2, seed=1, parallel=parallel)
    assert np.all(hi.successes == 12) and np.all(hi.tokens == 3 * 4 * K)


@pytest.mark.parametrize("K,reward,estimator", [(1, "binary", "grpo"), (3, "graded", "rloo"), (2, "binary", "dapo")])
def test_numpy_twin_matches_kernel(K, reward, estimator):
    d = S.difficulty_population(16, 0.5)
    kw = dict(d=d, theta0=S.theta_for_budget(1.2, d, 60, K), H=60, K=K, G=4, n_iter=6, lr=0.5,
              estimator=estimator, reward=reward, seed=5)
    run = S.simulate_policy_gradient(**kw)
    twin = simulate_policy_gradient_numpy(**kw)
    # summation order differs (NumPy pairwise vs the kernel's serial sums): round-off only
    np.testing.assert_allclose(twin["theta"], run.theta, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(twin["tokens"], run.tokens)


def test_uniform_np_equals_python_twin():
    streams = np.array([0, 1, 5 << 32, 2**40 + 3], dtype=np.uint64)
    counters = np.array([0, 7, 123456, 2**33], dtype=np.uint64)
    got = uniform_np(987654321, streams, counters)
    assert got.tolist() == [uniform_py(987654321, int(s), int(c)) for s, c in zip(streams, counters)]


def test_determinism_parallel_serial_batched():
    d = S.difficulty_population(40, 0.5)
    th = S.theta_for_budget(1.5, d, 120, 2)
    kw = dict(d=d, theta0=th, H=120, K=2, G=6, n_iter=8, lr=0.3, estimator="rloo", reward="graded", seed=3)
    a, b = S.simulate_policy_gradient(**kw), S.simulate_policy_gradient(**kw)
    serial = S.simulate_policy_gradient(**kw, parallel=False)
    sweep = S.simulate_sweep(d=d, theta0=[th - 1, th], H=[60, 120], seed=[9, 3], K=2, G=6, n_iter=8, lr=0.3,
                             estimator="rloo", reward="graded")
    for field in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        np.testing.assert_array_equal(getattr(a, field), getattr(serial, field))
        np.testing.assert_array_equal(getattr(a, field), getattr(sweep, field)[1])
    other = S.simulate_policy_gradient(**{**kw, "seed": 4})
    assert not np.array_equal(a.tokens, other.tokens)
    # a longer run extends a shorter one exactly (stream = prompt << 32 + iteration)
    longer = S.simulate_policy_gradient(**{**kw, "n_iter": 12})
    np.testing.assert_array_equal(longer.theta[:9], a.theta)


@pytest.mark.parametrize("K,reward,estimator", [(1, "binary", "grpo"), (3, "graded", "dapo")])
def test_prompt_parallel_kernel_equals_serial_run(monkeypatch, K, reward, estimator):
    # a large single run splits its prompts over threads; force that path on a small run
    d = S.difficulty_population(33, 0.6)
    kw = dict(d=d, theta0=S.theta_for_budget(1.1, d, 50, K), H=50, K=K, G=5, n_iter=5, lr=0.4,
              estimator=estimator, reward=reward, seed=8)
    serial = S.simulate_policy_gradient(**kw, parallel=False)
    monkeypatch.setattr(S, "PROMPT_PARALLEL_MIN_DRAWS", 0)
    split = S.simulate_policy_gradient(**kw, parallel=True)
    for field in serial.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(split, field), getattr(serial, field))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs NUMBA_NUM_THREADS >= 2")
@pytest.mark.parametrize("hogs", [0, 1])
def test_sweep_same_numbers_on_one_and_two_threads(hogs):
    """Threads claim runs (simulate.schedule): the bits do not depend on the thread count, nor on
    which thread ran which run when another CPU-bound process shares the cores (hogs=1)."""
    from rlvr_lab.bench import cpu_hogs

    d = S.difficulty_population(24, 0.5)
    th = S.theta_for_budget(1.3, d, 80, 1)
    kw = dict(d=d, theta0=np.full(6, th) + np.linspace(-0.5, 0.5, 6), H=80, seed=np.arange(6), K=1, G=8,
              n_iter=6, lr=0.3, estimator="grpo", reward="graded")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = S.simulate_sweep(**kw)
        numba.set_num_threads(2)
        with cpu_hogs(hogs):
            two = S.simulate_sweep(**kw)
    finally:
        numba.set_num_threads(before)
    for field in one.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    # and each run of the sweep is the single run with its parameters
    solo = S.simulate_policy_gradient(d=d, theta0=float(kw["theta0"][4]), H=80, seed=4, K=1, G=8, n_iter=6,
                                      lr=0.3, estimator="grpo", reward="graded")
    np.testing.assert_array_equal(solo.theta, one.theta[4])


# --- Monte Carlo from the simulator against every closed form (4 standard errors) -------------
@settings(max_examples=15)
@given(p=st.floats(min_value=0.005, max_value=0.3), H=st.integers(min_value=4, max_value=300),
       G=st.integers(min_value=2, max_value=12), K=st.integers(min_value=1, max_value=4))
def test_monte_carlo_agrees_with_closed_forms(p, H, G, K):
    P, n_iter = 64, 12
    run = S.simulate_policy_gradient(d=np.zeros(P), theta0=float(special.logit(p)), H=H, K=K, G=G,
                                     n_iter=n_iter, lr=0.0, estimator="rloo", reward="graded", seed=17)
    binary = S.simulate_policy_gradient(d=np.zeros(P), theta0=float(special.logit(p)), H=H, K=K, G=G,
                                        n_iter=n_iter, lr=0.0, estimator="rloo", reward="binary", seed=17)
    p_used = float(special.expit(special.logit(p)))  # the hazard the kernel actually uses
    ex = B.discrete_reward_moments(p_used, H, K)
    N, groups = P * G * n_iter, P * n_iter
    q = ex["q"]

    def close(measured, expected, se):
        # 4 standard errors; se floor for degenerate cases (q ~ 0 or 1 gives se ~ 0)
        assert abs(measured - expected) <= 4 * se + 1e-9, (measured, expected, se)

    close(run.successes.sum() / N, q, math.sqrt(q * (1 - q) / N))
    close(run.reward_mean.mean(), ex["graded_mean"], math.sqrt(ex["graded_var"] / N))
    # variance of the sample variance: (mu4 - sigma^4)/N with mu4 from the exact pmf
    t = np.arange(K, H + 1)
    pmf = stats.nbinom.pmf(t - K, K, p_used)
    r = (H - t + 1.0) / H
    mu4 = np.sum((r - ex["graded_mean"]) ** 4 * pmf) + (1 - q) * ex["graded_mean"] ** 4
    close(run.reward_var.mean(), ex["graded_var"], math.sqrt(max(mu4 - ex["graded_var"] ** 2, 0) / N))
    # tokens min(T, H): exact variance from the pmf
    var_n = np.sum(t * t * pmf) + H * H * (1 - q) - ex["tokens_mean"] ** 2
    close(run.tokens.sum() / N, ex["tokens_mean"], math.sqrt(max(var_n, 0) / N))
    pi_any = float(B.informative_probability(q, G, "graded"))
    close(run.success_groups.sum() / groups, pi_any, math.sqrt(pi_any * (1 - pi_any) / groups))
    pi_mixed = float(B.informative_probability(q, G, "binary"))
    close(binary.mixed_groups.sum() / groups, pi_mixed, math.sqrt(pi_mixed * (1 - pi_mixed) / groups))


@pytest.mark.parametrize("K,reward", [(1, "binary"), (2, "binary"), (1, "graded"), (3, "graded")])
def test_policy_gradient_is_unbiased_with_exact_score(K, reward):
    # rloo is unbiased: E[grad] = (1/G) * G * dJ/dtheta per prompt = dJ/dtheta, J = E[r]
    H, P, n_iter, G = 60, 100, 40, 4
    theta = float(special.logit(1.5 * K / H))
    run = S.simulate_policy_gradient(d=np.zeros(P), theta0=theta, H=H, K=K, G=G, n_iter=n_iter, lr=0.0,
                                     estimator="rloo", reward=reward, seed=23)
    key = "q" if reward == "binary" else "graded_mean"
    J = lambda th: B.discrete_reward_moments(float(special.expit(th)), H, K)[key]
    h = 1e-5
    dJ = (J(theta + h) - J(theta - h)) / (2 * h)
    se = run.grad.std(ddof=1) / math.sqrt(n_iter)  # iterations are independent batches
    assert abs(run.grad.mean() - dJ) <= 4 * se


@pytest.mark.parametrize("K,xi", [(1, 0.3), (2, 1.5), (4, 6.0)])
def test_gamma_rewards_agree_with_closed_form(K, xi):
    n = 40000
    r = gamma_graded_rewards(n, xi, K, seed=2, stream=1)
    m, v = B.graded_reward_moments(xi, K)
    assert abs(r.mean() - m) <= 4 * math.sqrt(v / n)
    assert np.array_equal(r, gamma_graded_rewards(n, xi, K, seed=2, stream=1))


def test_case_study_deterministic_and_growing():
    a, b = simulate_case_study(1.0, 10, 2, seed=4), simulate_case_study(1.0, 10, 2, seed=4)
    np.testing.assert_array_equal(a["xi"], b["xi"])
    assert np.all(np.diff(a["xi"]) > 0)


def test_population_helpers():
    d = S.difficulty_population(9, 0.7)
    th = S.theta_for_budget(1.7, d, 200, 2)
    assert S.population_xi(th, d, 200, 2) == pytest.approx(1.7, rel=1e-10)
    assert np.allclose(d, -d[::-1])


@pytest.mark.parametrize("kwargs", [
    {"estimator": "kae"}, {"reward": "other"}, {"G": 0}, {"K": 0}, {"H": 0}, {"n_iter": -1},
    {"d": np.array([np.nan])}, {"d": np.zeros((2, 2))}, {"seed": -1}, {"lr": float("nan")},
    {"estimator": "grpo", "bogus": 1},
])
def test_bad_inputs_raise(kwargs):
    base = dict(d=np.zeros(3), theta0=-3.0, H=20, n_iter=1)
    with pytest.raises(ValueError):
        S.simulate_policy_gradient(**{**base, **kwargs})


def test_bad_sweep_and_case_study_inputs():
    with pytest.raises(ValueError):
        S.simulate_sweep(d=np.zeros(3), theta0=[0.0, 1.0], H=[10.5, 3], seed=0)
    with pytest.raises(ValueError):
        S.theta_for_budget(50.0, np.zeros(2), 20, 1)
    with pytest.raises(ValueError):
        simulate_case_study(-1.0, 3)
    with pytest.raises(ValueError):
        gamma_graded_rewards(0, 1.0)


def test_run_kernel_has_no_reference_counting():
    """_run is compiled with _nrt=False (its caller owns the scratch): no atomic count in the hot loop.
    Compiled afresh from its own options (a cached kernel has no IR to inspect)."""
    from numba import njit

    from simulate import budget_kernel as BK

    d = S.difficulty_population(3, 0.5)
    args = (1, 0.0, d, 20.0, 1, 8, 1, 0.01, 0, 0, np.zeros(8), *S._outputs((), 1), *BK.scratch(8, 1))
    options = {k: v for k, v in BK._run.targetoptions.items() if k not in ("cache", "nopython")}
    assert options.get("_nrt") is False
    for nrt, expect in ((False, False), (True, True)):  # the same function with counting has it
        fn = njit(**{**options, "_nrt": nrt})(BK._run.py_func)
        fn(*args)
        llvm = "".join(fn.inspect_llvm().values())
        assert "define" in llvm
        assert ("NRT_decref" in llvm) is expect
