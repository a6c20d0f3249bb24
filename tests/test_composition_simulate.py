"""Paper E simulator: Numba kernels == plain-Python oracles (exact with the counter RNG), the NumPy
reference, the expected update == Monte Carlo mean of sampled updates, determinism, bad inputs."""

import numba
import numpy as np
import pytest

from simulate.composition import (OUTCOMES, Runs, bench_cases, classify, expected_runs, run_metrics,
                                  sampled_runs)
from simulate.composition_reference import sampled_runs_numpy
from simulate.rng import uniform_np
from simulate.rng import uniform_py
from theory.composition import (and_verifier, mod_verifier, ratio_from_marginals, spot_verifier,
                                step_marginals_enum, symmetric_base)
from theory.composition_dynamics import expected_update, gradient_factor
from theory.estimators import advantages, keep_mask


def _softmax_py(theta):
    S, K = theta.shape
    pi = np.empty((S, K))
    for s in range(S):
        m = max(theta[s])
        e = [np.exp(theta[s, j] - m) for j in range(K)]
        tot = 0.0
        for x in e:
            tot += x
        for j in range(K):
            pi[s, j] = e[j] / tot
    return pi


def _oracle_sampled(pi0, v, seed, est, G, lr, n_iter, eps, log_every, stop_on_hit=False, **opt):
    """Plain-Python sampled run: same draws (uniform_py), registry advantages, loop-order updates."""
    S, K = v.S, v.K
    theta = np.log(np.asarray(pi0, dtype=np.float64)).copy()
    hit, logs = -1, []
    for t in range(n_iter + 1):
        pi = _softmax_py(theta)
        if hit < 0 and np.prod(pi[:, 0]) >= 1 - eps:
            hit = t
        if t % log_every == 0:
            logs.append(theta.copy())
        if t == n_iter or (stop_on_hit and hit >= 0):
            break
        acts = np.empty((G, S), dtype=int)
        rew = np.empty(G)
        for i in range(G):
            x = v.init
            for s in range(S):
                u = uniform_py(seed, t, i * (S + 1) + s)
                acc, j = 0.0, K - 1
                for k in range(K):
                    acc += pi[s, k]
                    if u < acc:
                        j = k
                        break
                acts[i, s] = j
                x = v.trans[j, x]
            rew[i] = 1.0 if uniform_py(seed, t, i * (S + 1) + S) < v.accept[x] else 0.0
        A = advantages(est, rew[None], **opt)[0]
        kappa = 1.0 if keep_mask(est, rew[None], **opt)[0] else 0.0
        for s in range(S):
            for j in range(K):
                g = 0.0
                for i in range(G):
                    g += A[i] * ((1.0 if acts[i, s] == j else 0.0) - pi[s, j])
                theta[s, j] += lr * kappa * g / G
    L = n_iter // log_every + 1
    logs += [theta.copy()] * (L - len(logs))
    return theta, hit, np.array(logs)


CASES = [
    (mod_verifier(2), symmetric_base(0.3, 2), "dr_grpo", {}),
    (mod_verifier(3), symmetric_base(0.4, 3), "grpo", {"convention": "trl"}),
    (spot_verifier(3, 2, checks=1), symmetric_base(0.5, 3, 2), "dapo", {}),
    (and_verifier(2, 2), symmetric_base(0.6, 2, 2), "linear_r", {}),
    (and_verifier(2, 3), symmetric_base(0.5, 2, 3), "rloo", {}),
]


@pytest.mark.parametrize("v, pi0, est, opt", CASES)
@pytest.mark.parametrize("stop", [False, True])
def test_sampled_kernel_equals_python_oracle(v, pi0, est, opt, stop):
    seeds = np.array([0, 7, 2 ** 40 + 3])
    kw = dict(G=4, lr=0.8, n_iter=25, eps=0.3, log_every=4)
    res = sampled_runs(pi0, v, seeds, estimator=est, stop_on_hit=stop, **kw, **opt)
    for r, seed in enumerate(seeds):
        theta, hit, logs = _oracle_sampled(pi0, v, int(seed), est, stop_on_hit=stop, **kw, **opt)
        # same draws and operation order; exp() of Numba (LLVM) and NumPy may differ by 1 ulp, so the
        # logits agree to round-off (a flipped draw would show up as an O(lr) difference)
        np.testing.assert_allclose(res.theta[r], theta, rtol=1e-13, atol=1e-13)
        assert res.hit[r] == hit
        np.testing.assert_allclose(res.theta_log[r], logs, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("v, pi0, G", [(mod_verifier(1), symmetric_base(0.4, 1), 1),
                                       (mod_verifier(4), symmetric_base(0.3, 4), 13),
                                       (and_verifier(3, 5), symmetric_base(0.3, 3, 5), 9)])
def test_sampled_kernel_equals_oracle_at_other_sizes(v, pi0, G):
    """The kernel is compiled per (S, K, G): sizes whose loops leave remainders after vector blocks."""
    seeds = np.array([3, 11])
    kw = dict(G=G, lr=0.6, n_iter=15, eps=0.3, log_every=5)
    res = sampled_runs(pi0, v, seeds, estimator="rloo", **kw)
    for r, seed in enumerate(seeds):
        theta, hit, logs = _oracle_sampled(pi0, v, int(seed), "rloo", stop_on_hit=False, **kw)
        np.testing.assert_allclose(res.theta[r], theta, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(res.theta_log[r], logs, rtol=1e-13, atol=1e-13)
        assert res.hit[r] == hit


@pytest.mark.parametrize("v, pi0, est, opt", CASES)
def test_expected_kernel_equals_enumeration_oracle(v, pi0, est, opt):
    G, lr, n_iter = 4, 0.8, 30
    res = expected_runs(pi0, v, estimator=est, G=G, lr=lr, n_iter=n_iter, log_every=n_iter, **opt)
    theta = np.log(pi0)
    for _ in range(n_iter):  # oracle: q+ by enumeration, c from the registry's NumPy API
        pi = _softmax_py(theta)
        q, P = step_marginals_enum(pi, v)
        theta = theta + lr * gradient_factor(est, min(max(P, 0.0), 1.0), G, **opt) * pi * (q - P)
    np.testing.assert_allclose(res.theta[0], theta, rtol=1e-11, atol=1e-12)


def test_numpy_reference_agrees_and_uniform_np_is_bitwise():
    ctr = np.arange(50)
    assert np.array_equal(uniform_np(12345, 7, ctr), np.array([uniform_py(12345, 7, int(c)) for c in ctr]))
    v, pi0 = mod_verifier(2), symmetric_base(0.3, 2)
    seeds = np.arange(16)
    a = sampled_runs(pi0, v, seeds, estimator="grpo", n_iter=40, log_every=40).theta
    b = sampled_runs_numpy(pi0, v, seeds, estimator="grpo", n_iter=40)
    np.testing.assert_allclose(a, b, atol=1e-9)  # einsum vs loop order: round-off only


@pytest.mark.parametrize("v, pi0, est", [(mod_verifier(2), symmetric_base(0.3, 2), "dr_grpo"),
                                         (spot_verifier(3, 3, 1), symmetric_base(0.4, 3, 3), "grpo"),
                                         (and_verifier(2, 2), symmetric_base(0.5, 2, 2), "reinforce")])
def test_expected_update_equals_monte_carlo_mean(v, pi0, est):
    R, G, lr = 20000, 4, 1.0
    res = sampled_runs(pi0, v, np.arange(R), estimator=est, G=G, lr=lr, n_iter=1, log_every=1)
    d = res.theta - np.log(pi0)[None]  # (R, S, K) one-step updates
    mean, se = d.mean(axis=0), d.std(axis=0, ddof=1) / np.sqrt(R)
    exact = expected_update(pi0, v, est, G=G, lr=lr)
    # 4.5 standard errors per entry: a false alarm has probability < 1e-4 over <= 9 entries; the
    # counter RNG makes the draw fixed, so the test is deterministic.
    assert np.all(np.abs(mean - exact) <= 4.5 * se + 1e-12), (mean, exact, se)
    assert np.any(np.abs(exact) > 5 * se)  # the check has power: the update is resolved


def test_determinism_and_thread_independence():
    v, pi0 = mod_verifier(2), symmetric_base(0.33, 2)
    seeds = np.arange(9)
    a = sampled_runs(pi0, v, seeds, n_iter=200, log_every=50)
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        b = sampled_runs(pi0, v, seeds, n_iter=200, log_every=50)
    finally:
        numba.set_num_threads(n)
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.theta_log, b.theta_log)
    c = sampled_runs(pi0, v, seeds[::-1], n_iter=200, log_every=50)
    assert np.array_equal(a.theta, c.theta[::-1])  # a run depends on its own seed only
    assert not np.array_equal(a.theta[0], a.theta[1])


def test_run_metrics_and_hit():
    v = mod_verifier(2)
    res = expected_runs(symmetric_base(0.6, 2), v, n_iter=400, log_every=100, eps=0.1)
    m = run_metrics(res)
    th = res.theta_log[0, 2]
    pi = np.exp(th) / np.exp(th).sum(axis=1, keepdims=True)
    q, P = step_marginals_enum(pi, v)
    assert abs(m["chain"][0, 2] - np.prod(pi[:, 0])) < 1e-14 and abs(m["success"][0, 2] - P) < 1e-14
    np.testing.assert_allclose(m["ratio"][0, 2], ratio_from_marginals(pi, q)["ratio"][:, 0], rtol=1e-12)
    assert res.hit[0] > 0 and classify(res)[0] == 0
    # a base model that already meets the target hits at iteration 0; stop_on_hit freezes the logs
    res = expected_runs(symmetric_base(0.99, 2), v, n_iter=50, log_every=10, eps=0.1, stop_on_hit=True)
    assert res.hit[0] == 0 and np.all(res.theta_log[0] == res.theta_log[0, 0])


def test_classify_outcomes():
    v = mod_verifier(2)
    big = 30.0
    theta = np.zeros((4, 2, 3))
    theta[0, :, 0] = big                       # correct chain
    theta[1, 0, 1] = big; theta[1, 1, 2] = big  # (+1, +2): cancelling wrong pair
    theta[2, 0, 1] = big; theta[2, 1, 1] = big  # (+1, +1): wrong and failing
    runs = Runs(theta, np.zeros(4, dtype=np.int64), theta[:, None], np.zeros(1), v, 0.1)
    assert [OUTCOMES[k] for k in classify(runs)] == ["correct", "wrong-rewarded", "wrong-failing",
                                                     "unconverged"]


def test_bench_cases_run_and_agree():
    (case,) = bench_cases(quick=True)
    assert case.reference == "numpy" and case.kernel == "numba kernel" and case.limit in case.candidates
    case.setup()
    np.testing.assert_allclose(case.candidates["numba kernel"](), case.candidates["numpy"](), atol=1e-8)
    for label in (case.limit, case.serial):
        case.candidates[label]()


@pytest.mark.parametrize("call", [
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[-1]),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[]),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[0.5]),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[1], G=0),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[1], lr=0.0),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[1], eps=1.0),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[1], log_every=0),
    lambda: sampled_runs(symmetric_base(0.3, 2), mod_verifier(2), seeds=[1], estimator="kae"),
    lambda: sampled_runs(symmetric_base(0.3, 3), mod_verifier(2), seeds=[1]),
    lambda: sampled_runs(np.array([[1.0, 0.0, 0.0]] * 2), mod_verifier(2), seeds=[1]),
    lambda: sampled_runs(np.stack([symmetric_base(0.3, 2)] * 3), mod_verifier(2), seeds=[1, 2]),
    lambda: expected_runs(symmetric_base(0.3, 2), mod_verifier(2), n_iter=-1),
    lambda: expected_runs(symmetric_base(0.3, 2), mod_verifier(2), estimator="grpo", eps=0.0),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
