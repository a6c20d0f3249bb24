"""A weighting registered at run time, w(rho) = (1 - rho)^2, end to end through every layer.

The entry is ONE ``Estimator`` (its w compiled by the registry) plus its plain-Python oracle
(``oracles.WEIGHTS``); it is registered only inside the ``square`` fixture (``registered``), so the
rest of the suite never sees it. Each layer is checked against plain Python that shares no code
with the kernels: the simulators' own replay oracles with their advantage calls swapped for
:func:`py_estimate` (tests/oracles.py), and paper B's closed forms worked out by hand for this w:

    omega = (1 - rho)/rho,  f = log rho - rho,  R = 1/(1 - rho),  E = logit(rho) + 1/(1 - rho).
"""

import copy
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.stats import binom

import simulate.budget as S
import simulate.budget_kernel as BK
import tests.test_budget_simulate as budget_tests
import tests.test_composition_simulate as composition_tests
import tests.test_weighting_sim as weighting_tests
from tests import oracles
from tests.strategies import reward_batches
from theory import numba_cache
from theory.advantage_kernels import advantages_batch
from theory.estimators import (ESTIMATORS, Estimate, Estimator, advantages, effective_weight, estimate, names,
                               prompt_weight, registered, resolve)

NAME = "square_r"


def w_square(rho, params):
    return (1.0 - rho) ** 2


def py_estimate(name, rewards, **options):
    """Advantages from the plain-Python oracle (weight entries never filter a group)."""
    rows = [oracles.oracle(name, [float(x) for x in row], **options) for row in np.asarray(rewards, float)]
    return Estimate(np.array(rows, dtype=np.float64), np.ones(len(rows), dtype=bool))


def py_advantages(name, rewards, **options):
    return py_estimate(name, rewards, **options).advantages


def py_keep(name, rewards, **options):
    return py_estimate(name, rewards, **options).keep


@pytest.fixture
def square(monkeypatch):
    monkeypatch.setitem(oracles.WEIGHTS, NAME, lambda rho: (1 - rho) ** 2)
    entry = Estimator(NAME, "weight", "w(rho) = (1 - rho)^2", "run-time test entry [R]", w=w_square)
    with registered(entry):
        yield entry
    assert NAME not in ESTIMATORS  # unregistered on exit


def test_registered_only_inside_the_block(square):
    assert NAME in names("weight") and ESTIMATORS[NAME] is square
    assert not isinstance(resolve(NAME).code, int)  # the compiled w, not a built-in code


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the entry is the same for all r
@given(r=reward_batches(subnormal=False))
def test_numpy_api_equals_oracle(square, r):
    np.testing.assert_allclose(advantages(NAME, r), py_advantages(NAME, r), rtol=1e-12, atol=1e-12)
    assert estimate(NAME, r).keep.all()


def test_population_weights(square):
    rho = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(effective_weight(NAME, rho), (1 - rho) ** 2, rtol=1e-15)
    inner = rho[1:-1]
    np.testing.assert_allclose(prompt_weight(NAME, inner, 8), (1 - inner) / inner, rtol=1e-13)


@pytest.mark.parametrize("reward,K,G", [("binary", 1, 4), ("graded", 2, 3), ("binary", 1, 1)])
def test_budget_simulator(square, monkeypatch, reward, K, G):
    monkeypatch.setattr(budget_tests, "estimate", py_estimate)
    d = S.difficulty_population(5, 0.8)
    theta0 = S.theta_for_budget(0.8, d, 30, K)
    kw = dict(d=d, theta0=theta0, H=30, K=K, G=G, n_iter=4, lr=0.7, estimator=NAME, reward=reward, seed=11)
    run = S.simulate_policy_gradient(**kw)
    ref = budget_tests.oracle(list(d), theta0, 30, K, G, 4, 0.7, NAME, reward, 11)
    # the oracle's advantages come from omega (r - rho), the kernel's from (r/rho - (1-r)/(1-rho)) w:
    # equal to round-off, so theta and grad agree to 1e-12; the integer counts exactly
    np.testing.assert_allclose(run.theta, ref["theta"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.grad, ref["grad"], rtol=1e-10, atol=1e-14)
    for key, ref_key in (("tokens", "tokens"), ("successes", "successes"), ("mixed_groups", "mixed"),
                         ("kept_groups", "kept")):
        np.testing.assert_array_equal(getattr(run, key), ref[ref_key])
    serial = S.simulate_policy_gradient(**kw, parallel=False)
    np.testing.assert_array_equal(serial.theta, run.theta)
    sweep = S.simulate_sweep(d=d, theta0=[theta0], H=[30], seed=[11], K=K, G=G, n_iter=4, lr=0.7,
                             estimator=NAME, reward=reward)
    np.testing.assert_array_equal(sweep.theta[0], run.theta)


@pytest.mark.parametrize("update", ["kl", "pg"])
def test_weighting_simulator(square, monkeypatch, update):
    monkeypatch.setattr(weighting_tests, "advantages", py_advantages)
    monkeypatch.setattr(weighting_tests, "keep_mask", py_keep)
    rho0 = [0.002, 0.05, 0.4, 0.97]
    kw = dict(group_size=4, n_steps=6, step=0.3, scale=0.7, update=update, max_refill=3, seed=11)
    run = weighting_tests.simulate(NAME, rho0, **kw)
    rho, succ, resp, signal = weighting_tests._oracle(NAME, rho0, **kw)
    np.testing.assert_allclose(run.rho, rho, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(run.successes, succ)
    np.testing.assert_array_equal(run.responses, resp)
    np.testing.assert_array_equal(run.signal, signal)


def _py_gradient_factor(P, G):
    """c(P, G) = sum_k b(k-1; G-1, P) A_first(k) - sum_k b(k; G-1, P) A_last(k), groups k ones first."""
    c = 0.0
    for k in range(G + 1):
        a = oracles.oracle(NAME, [1.0] * k + [0.0] * (G - k))
        if k >= 1:
            c += binom.pmf(k - 1, G - 1, P) * a[0]
        if k <= G - 1:
            c -= binom.pmf(k, G - 1, P) * a[-1]
    return c


def test_composition_simulators(square, monkeypatch):
    monkeypatch.setattr(composition_tests, "advantages", py_advantages)
    monkeypatch.setattr(composition_tests, "keep_mask", py_keep)
    v, pi0 = composition_tests.and_verifier(2, 2), composition_tests.symmetric_base(0.6, 2, 2)
    seeds = np.array([0, 7])
    kw = dict(G=4, lr=0.8, n_iter=25, eps=0.3, log_every=4)
    res = composition_tests.sampled_runs(pi0, v, seeds, estimator=NAME, **kw)
    for r, seed in enumerate(seeds):
        theta, hit, logs = composition_tests._oracle_sampled(pi0, v, int(seed), NAME, **kw)
        np.testing.assert_allclose(res.theta[r], theta, rtol=1e-12, atol=1e-12)
        assert res.hit[r] == hit
    for P in (0.0, 0.3, 0.9, 1.0):
        assert composition_tests.gradient_factor(NAME, P, 4) == pytest.approx(_py_gradient_factor(P, 4), abs=1e-12)
    G, lr, n_iter = 4, 0.8, 10
    got = composition_tests.expected_runs(pi0, v, estimator=NAME, G=G, lr=lr, n_iter=n_iter, log_every=n_iter)
    theta = np.log(pi0)
    for _ in range(n_iter):
        pi = composition_tests._softmax_py(theta)
        q, P = composition_tests.step_marginals_enum(pi, v)
        theta = theta + lr * _py_gradient_factor(min(max(P, 0.0), 1.0), G) * pi * (q - P)
    np.testing.assert_allclose(got.theta[0], theta, rtol=1e-10, atol=1e-12)


def test_paper_b_theory_uses_the_quadrature_fallback(square):
    from theory.weighting import (WEIGHTINGS, population_omega, recursion_path, surrogate, time_to_target)
    from theory.weighting_finite import finite_group_drift

    assert NAME in WEIGHTINGS
    rho = np.array([0.05, 0.3, 0.7, 0.95])
    np.testing.assert_allclose(population_omega(NAME, rho), (1 - rho) / rho, rtol=1e-13)
    f = surrogate(NAME, rho)
    np.testing.assert_allclose(f - f[0], (np.log(rho) - rho) - (np.log(rho[0]) - rho[0]), rtol=1e-9, atol=1e-10)
    r0, r1 = 0.1, 0.9
    df = (math.log(r1) - r1) - (math.log(r0) - r0)
    reg = df * (1 / (1 - r1) - 1 / (1 - r0))
    logit = lambda x: math.log(x / (1 - x))
    eff = df * ((logit(r1) + 1 / (1 - r1)) - (logit(r0) + 1 / (1 - r0)))
    for method in ("closed", "quad"):
        assert time_to_target(NAME, r0, r1, "regular", method=method) == pytest.approx(reg, rel=1e-9)
        assert time_to_target(NAME, r0, r1, "effective", method=method) == pytest.approx(eff, rel=1e-9)
    path, rho_t, ell = recursion_path(NAME, 0.2, 5, 0.3), 0.2, math.log(0.2 / 0.8)
    for t in range(5):
        ell += 0.3 * (1 - rho_t) / rho_t
        rho_t = 1 / (1 + math.exp(-ell))
        assert path[t + 1] == pytest.approx(rho_t, rel=1e-12)
    g, p = 6, 0.3
    want = sum(binom.pmf(k, g, p) * np.mean(np.array(oracles.oracle(NAME, [1.0] * k + [0.0] * (g - k)))
                                           * (np.array([1.0] * k + [0.0] * (g - k)) - p)) for k in range(g + 1))
    assert finite_group_drift(NAME, p, g) == pytest.approx(want / (p * (1 - p)), rel=1e-11)


def test_trainer_uses_the_entry(square, monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from llm_backend import trainer as trainer_module
    from tests.test_llm_train import _cfg

    seen = []

    def recording(name, rewards, **kw):
        est = estimate(name, rewards, **kw)
        seen.append((name, np.array(rewards), est.advantages))
        return est

    monkeypatch.setattr(trainer_module, "estimate", recording)
    summary = trainer_module.train(_cfg(tmp_path, NAME, estimator=NAME, steps=2))
    assert summary["steps_done"] == 2 and len(seen) == 2
    for name, rewards, adv in seen:
        assert name == NAME
        np.testing.assert_allclose(adv, py_advantages(NAME, rewards), rtol=1e-12, atol=1e-12)


def test_b_figures_method_lists_follow_the_registry(square):
    import figures.weighting_effective_weights as eff
    import figures.weighting_surrogates as sur
    import figures.weighting_time_to_target as ttt
    import figures.weighting_zero_signal as zero
    from figures.base import RunContext

    assert NAME in eff.ASYMMETRIC and NAME in zero.ASYMMETRIC and NAME in ttt.FAST.methods
    assert NAME not in eff.SYMMETRIC
    assert copy.deepcopy(ttt.FAST).methods[-1] == NAME  # a config copy is a plain tuple snapshot
    data = eff.compute(RunContext(seed=0), eff.FIGURE.config)
    assert data["population"][NAME][0] == 1.0 and max(data["all_fail_adv"][NAME]) < 0
    assert all(v.verdict == "supported" for v in eff.evaluate(data))
    assert NAME in sur.compute(RunContext(seed=0), sur.FIGURE.config)["surrogate"]


def test_one_compiled_specialisation_serves_every_runtime_weight(square):
    """The machine code does not depend on which w: a second run-time weight adds no signature."""
    r = np.array([[1.0, 0.0, 0.0]])
    advantages(NAME, r)
    before = set(advantages_batch.signatures)
    cube = Estimator("cube_r", "weight", "w = (1 - rho)^3", "test [R]", w=lambda rho, p: (1.0 - rho) ** 3)
    with registered(cube):
        a = advantages("cube_r", r)
    assert set(advantages_batch.signatures) == before
    np.testing.assert_allclose(a, [[(2 / 3) ** 3 * 3 / 1, -(2 / 3) ** 3 * 3 / 2, -(2 / 3) ** 3 * 3 / 2]], rtol=1e-12)


def test_numba_cache_stamp_covers_the_kernel_packages(tmp_path):
    """Every cached kernel of theory/ and simulate/ is stamped with the hash of both packages'
    sources, so editing the registry's kernel recompiles the simulators that inline it."""
    for fn in (BK._sweep_kernel, BK._run, advantages_batch):  # simulate.budget_kernel: the budget kernels
        locator = fn._cache._impl.locator
        assert type(locator).__name__.startswith("PackageStamp")
        assert locator.get_source_stamp() == numba_cache.source_stamp()
    (tmp_path / "theory").mkdir()
    (tmp_path / "simulate").mkdir()
    (tmp_path / "theory" / "k.py").write_text("x = 1\n")
    pkgs = (tmp_path / "theory", tmp_path / "simulate")
    first = numba_cache.hash_sources(tmp_path, pkgs)
    (tmp_path / "simulate" / "s.py").write_text("y = 2\n")
    second = numba_cache.hash_sources(tmp_path, pkgs)
    (tmp_path / "theory" / "k.py").write_text("x = 3\n")
    assert len({first, second, numba_cache.hash_sources(tmp_path, pkgs)}) == 3
    assert numba_cache.hash_sources(tmp_path, pkgs) == numba_cache.hash_sources(tmp_path, pkgs)


def test_simulator_twins(square):
    """The NumPy twins go through the registry too: budget (round-off), composition (round-off),
    and the weighting bench reference (its own RNG: equal mean final rho within 4 standard errors)."""
    from simulate.budget_numpy import simulate_policy_gradient_numpy
    from simulate.composition_reference import sampled_runs_numpy
    from simulate.weighting import _numpy_reference

    d = S.difficulty_population(16, 0.5)
    kw = dict(d=d, theta0=S.theta_for_budget(1.2, d, 60, 2), H=60, K=2, G=4, n_iter=6, lr=0.5,
              estimator=NAME, reward="graded", seed=5)
    twin = simulate_policy_gradient_numpy(**kw)
    np.testing.assert_allclose(twin["theta"], S.simulate_policy_gradient(**kw).theta, rtol=0, atol=1e-12)
    v, pi0, seeds = composition_tests.mod_verifier(2), composition_tests.symmetric_base(0.3, 2), np.arange(8)
    a = composition_tests.sampled_runs(pi0, v, seeds, estimator=NAME, n_iter=40, log_every=40).theta
    np.testing.assert_allclose(a, sampled_runs_numpy(pi0, v, seeds, estimator=NAME, n_iter=40), atol=1e-9)
    rho0 = weighting_tests.initial_success("post_sft", 3000, 1)
    logits, correct = weighting_tests.initial_logits(rho0)
    spec = resolve(NAME)
    z = _numpy_reference(spec.code, spec.params, logits, correct, 8, 0.05, 10, 3)
    pi = np.exp(z - z.max(axis=1, keepdims=True))
    ref = (pi * correct).sum(axis=1) / pi.sum(axis=1)
    fast = weighting_tests.simulate(NAME, rho0, group_size=8, n_steps=10, step=0.05, seed=3).rho[-1]
    se = np.hypot(ref.std(), fast.std()) / np.sqrt(rho0.size)
    assert abs(ref.mean() - fast.mean()) < 4 * se and fast.mean() > rho0.mean() + 10 * se
