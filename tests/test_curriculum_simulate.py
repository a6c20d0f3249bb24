"""Paper D simulator: Numba kernel vs a plain-Python oracle (exact), determinism, switches, counting."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simulate.curriculum import SCHEMES, SWITCHES, Model, calibrated_ppl_noise, make_pool, sweep
from simulate.rng import exp_py, normal_py, uniform_py
from theory.curriculum import entropy_weights, progress, selection_size, window_start
from theory.estimators import advantages, keep_mask, ESTIMATORS

SMALL = dict(n_pool=30, n_candidates=10, ratio=0.3, group_size=4, n_steps=6)


def _sig(x):
    return 1.0 / (1.0 + exp_py(-x))


def _oracle(seed, scheme, weighted, model, *, n_pool, n_candidates, ratio, group_size, n_steps,
            estimator="grpo", max_refill=16, pacing="linear", rate=3.0):
    """Plain-Python replay of one run of simulate.curriculum (same draws, same operation order)."""
    m, g = model, group_size
    k = selection_size(n_candidates, ratio)
    refill = max_refill if ESTIMATORS[estimator].filters_groups else 0
    sigma = m.ppl_noise
    r = 1.0 / math.sqrt(1.0 + sigma * sigma)
    d, ppl, theta, h = [], [], [], []
    slope = m.h_slope if m.initial_entropy_gradient else 0.0
    for j in range(n_pool):
        d.append(normal_py(seed, 0, j))
        e = normal_py(seed, 1, j)
        z = (d[j] + sigma * e) * r if m.ppl_informative else e
        ppl.append(exp_py(m.logppl_mu + m.logppl_s * z))
        theta.append(m.theta0 - m.beta * d[j])
        h.append(m.h0 * exp_py(slope * d[j]))
    h_init = list(h)
    gate_a = m.gate if m.entropy_gate else 0.0
    kappa = m.easy_decay if m.easy_entropy_decay else 0.0
    out = {"acc": [sum(_sig(x) for x in theta) / n_pool], "zero": [], "all_correct": [], "entropy": [],
           "reward": [], "rollouts": [], "selected_difficulty": []}
    for t in range(n_steps):
        perm = list(range(n_pool))
        cand = []
        for i in range(n_candidates):
            jj = i + int(uniform_py(seed, 2 + 3 * t, i) * (n_pool - i))
            perm[i], perm[jj] = perm[jj], perm[i]
            cand.append(perm[i])
        asc = sorted(cand, key=lambda j: ppl[j])
        if scheme == "random":
            order = cand
        elif scheme == "low-ppl":
            order = asc
        elif scheme == "high-ppl":
            order = asc[::-1]
        else:
            l = window_start(progress(t, n_steps), n_candidates, k, pacing, rate=rate)
            order = asc[l:] + asc[:l][::-1]
        batch, drawn, n_zero, n_all, hs, rs, ds = [], 0, 0, 0, [], [], []
        for j in order:
            if len(batch) == k or drawn == k + refill:
                break
            p = _sig(theta[j])
            rew = [1.0 if uniform_py(seed, 3 + 3 * t, drawn * g + i) < p else 0.0 for i in range(g)]
            ent = [h[j] * exp_py(m.h_noise * normal_py(seed, 4 + 3 * t, drawn * g + i) - 0.5 * m.h_noise ** 2)
                   for i in range(g)]
            hs += ent
            rs += rew
            drawn += 1
            if g > 1 and len(set(rew)) == 1:
                n_zero += 1
                n_all += rew[0] == 1.0
            if drawn <= k:
                ds.append(d[j])
            if keep_mask(estimator, [rew])[0]:
                batch.append((j, rew, ent))
        out["zero"].append(n_zero / drawn)
        out["all_correct"].append(n_all / drawn)
        out["entropy"].append(sum(hs) / (drawn * g))
        out["reward"].append(sum(rs) / (drawn * g))
        out["rollouts"].append(drawn * g)
        out["selected_difficulty"].append(sum(ds) / len(ds))
        flat = [x for _, _, ent in batch for x in ent]
        w = list(entropy_weights(flat)) if (weighted and flat) else [1.0] * len(flat)
        updates = []
        for a, (j, rew, ent) in enumerate(batch):
            p = _sig(theta[j])
            adv = advantages(estimator, [rew])[0]
            xs = [w[a * g + i] * adv[i] * (rew[i] - p) for i in range(g)]
            num = sum(abs(x) * (h[j] / ent[i]) for i, x in enumerate(xs))
            den = sum(abs(x) for x in xs)
            gate = (h[j] / h_init[j]) ** gate_a if gate_a != 0.0 else 1.0
            u = m.lr * gate * sum(xs) / g
            c = num / den if (m.confident_sharpening and den > 0.0) else 1.0
            updates.append((j, u, c))
        dth, dlh = [0.0] * n_pool, [0.0] * n_pool
        for j, u, c in updates:
            if u == 0.0:
                continue
            for q in range(n_pool):
                if q == j:
                    tr = 1.0
                elif m.transfer:
                    tr = m.transfer_strength * exp_py(-(d[j] - d[q]) ** 2 / (2.0 * m.transfer_width ** 2))
                else:
                    continue
                dth[q] += u * tr
                if u * tr > 0.0:
                    dlh[q] += u * tr * c
        for q in range(n_pool):
            theta[q] += dth[q]
            h[q] *= exp_py(-m.decay * exp_py(-kappa * d[q]) * dlh[q])
        out["acc"].append(sum(_sig(x) for x in theta) / n_pool)
    return out


def _check(seed, scheme, weighted, model, rtol, **kw):
    kw = {**SMALL, **kw}
    run = sweep([seed], [scheme], [weighted], [model], **kw)
    ref = _oracle(seed, scheme, weighted, model, **kw)
    for name, want in ref.items():
        np.testing.assert_allclose(getattr(run, name)[0], want, rtol=rtol, atol=0.0, err_msg=name)


# the oracle sums in the same order and calls the same functions (exp_py is the twin of the kernel's
# simulate.rng.exp; normal_py calls the same libm log and cos): the runs agree bit for bit.
RTOL = 0.0


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("weighted", [False, True])
def test_kernel_matches_oracle(scheme, weighted):
    _check(7, scheme, weighted, Model(lr=0.3), RTOL)


@pytest.mark.parametrize("switch", SWITCHES)
def test_kernel_matches_oracle_each_switch_off(switch):
    _check(3, "schedule", True, Model(lr=0.3).without(switch), RTOL)


@pytest.mark.parametrize("estimator", ["dapo", "rloo", "linear_r", "reinforce"])
def test_kernel_matches_oracle_other_estimators(estimator):
    _check(5, "schedule", True, Model(lr=0.3), RTOL, estimator=estimator, max_refill=3)


@pytest.mark.parametrize("pacing", ["quadratic", "exponential"])
def test_kernel_matches_oracle_pacings(pacing):
    _check(9, "schedule", False, Model(lr=0.3), RTOL, pacing=pacing, rate=2.0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**40), scheme=st.sampled_from(list(SCHEMES)), weighted=st.booleans(),
       g=st.integers(1, 5), b=st.integers(2, 12))
def test_kernel_matches_oracle_property(seed, scheme, weighted, g, b):
    _check(seed, scheme, weighted, Model(lr=0.5), RTOL, group_size=g, n_candidates=b, n_steps=3)


def test_same_seed_same_numbers_on_one_or_two_threads():
    import numba
    kw = dict(n_pool=200, n_candidates=40, n_steps=20)
    args = ([1, 2, 3, 4], ["random", "schedule", "low-ppl", "high-ppl"], [False, True, True, False], [Model()] * 4)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sweep(*args, **kw)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = sweep(*args, **kw)
    finally:
        numba.set_num_threads(before)
    for f in ("acc", "zero", "entropy", "rollouts"):
        np.testing.assert_array_equal(getattr(one, f), getattr(two, f))
    # a run does not depend on which other runs share its sweep
    alone = sweep([3], ["low-ppl"], [True], [Model()], **kw)
    np.testing.assert_array_equal(alone.acc[0], one.acc[2])


def test_common_random_numbers_across_schemes():
    kw = dict(n_pool=100, n_candidates=20, n_steps=4)
    a = sweep([4, 4], ["random", "schedule"], [False, False], [Model()] * 2, **kw)
    assert a.acc[0, 0] == a.acc[1, 0]  # the same pool
    assert not np.array_equal(a.selected_difficulty[0], a.selected_difficulty[1])


def test_every_rollout_is_counted():
    kw = dict(n_pool=100, n_candidates=40, n_steps=10, group_size=4)
    k = selection_size(40, 0.2)
    plain = sweep([1], ["schedule"], [False], [Model()], **kw)
    assert np.all(plain.rollouts == k * 4)
    dapo = sweep([1], ["low-ppl"], [False], [Model(theta0=3.0)], estimator="dapo", max_refill=5, **kw)
    # easy prompts: many all-correct groups are dropped and refilled, each refill counted
    assert np.all(dapo.rollouts >= k * 4) and dapo.rollouts.max() > k * 4
    assert np.all(dapo.rollouts <= (k + 5) * 4)


def test_switch_transfer_off_leaves_unselected_prompts_alone():
    # one step without transfer: at most K prompts change, so the pool mean moves by <= K / N
    r = sweep([2], ["random"], [False], [Model(lr=5.0).without("transfer")], n_pool=500,
              n_candidates=20, n_steps=1)
    assert abs(r.acc[0, 1] - r.acc[0, 0]) <= 4 / 500
    r2 = sweep([2], ["random"], [False], [Model(lr=5.0)], n_pool=500, n_candidates=20, n_steps=1)
    assert abs(r2.acc[0, 1] - r2.acc[0, 0]) > 4 / 500


def test_calibration_closed_form_and_pool_spearman():
    from scipy import stats
    sigma = calibrated_ppl_noise(-0.2)
    r = 1 / math.sqrt(1 + sigma**2)
    assert 6 / math.pi * math.asin(r / 2) == pytest.approx(0.2, abs=1e-12)
    pool = make_pool(11, 20000)
    rho = stats.spearmanr(pool["ppl"], pool["p0"]).statistic
    # n = 20000: the sd of a Spearman estimate near 0.2 is about 1/sqrt(n) = 0.007; 4 sd
    assert rho == pytest.approx(-0.2, abs=0.03)
    flat = make_pool(11, 20000, Model(ppl_informative=False))
    assert abs(stats.spearmanr(flat["ppl"], flat["p0"]).statistic) < 0.03


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="scheme"):
        sweep([1], ["easy-first"], [False], [Model()])
    with pytest.raises(ValueError, match="n_candidates"):
        sweep([1], ["random"], [False], [Model()], n_pool=10, n_candidates=11)
    with pytest.raises(ValueError, match="estimator"):
        sweep([1], ["random"], [False], [Model()], estimator="kae")
    with pytest.raises(ValueError, match="switch"):
        Model().without("magic")
    with pytest.raises(ValueError, match="lr"):
        Model(lr=0.0).vector()


@pytest.mark.slow
def test_learning_rate_calibration_holds():
    s = 32
    out = sweep(list(range(1000, 1000 + s)), ["random"] * s, [False] * s, [Model()] * s)
    assert out.acc[:, -1].mean() == pytest.approx(0.65, abs=0.01)


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("estimator", ["grpo", "dapo"])
def test_numpy_reference_agrees_to_round_off(scheme, estimator):
    from simulate.curriculum_reference import runs_numpy
    kw = dict(n_pool=120, n_candidates=20, n_steps=12, estimator=estimator, max_refill=4)
    model = Model(lr=0.3, theta0=1.0)
    ref = runs_numpy(6, scheme, True, model, **kw)
    run = sweep([6], [scheme], [True], [model], **kw)
    np.testing.assert_array_equal(run.rollouts[0], ref["rollouts"])
    np.testing.assert_array_equal(run.zero[0], ref["zero"])
    # sums in another order (vectorised): agreement to ~1e-15 per step, compounding over 12 steps
    np.testing.assert_allclose(run.acc[0], ref["acc"], rtol=1e-10)
    np.testing.assert_allclose(run.entropy[0], ref["entropy"], rtol=1e-10)


def test_bench_case_runs():
    from simulate.curriculum_reference import bench_cases
    (case,) = bench_cases(quick=True)
    assert set(case.candidates) == {"numba sweep", "numba sweep, 1 thread", "numpy",
                                    "minimum work (draws + transfer exps)"}
    assert case.reference == "numpy" and case.limit and case.serial


@pytest.mark.parametrize("name", ["simulate.curriculum", "figures.curriculum_common"])
def test_docstring_examples(name):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def _w_cube(rho, params):
    return (1.0 - rho) ** 3


def test_runtime_registered_weight_entry_runs_in_the_kernel():
    """A weight entry registered at run time reaches the kernel (first-class function path) and
    agrees with the oracle, which calls the registry's NumPy API on the same rewards."""
    from theory.estimators import Estimator, registered
    entry = Estimator("cube_r", "weight", "w(rho) = (1 - rho)^3", "curriculum test entry [R]", w=_w_cube)
    with registered(entry):
        _check(5, "schedule", True, Model(lr=0.3), 1e-12, estimator="cube_r")
        plain = sweep([5], ["schedule"], [True], [Model(lr=0.3)], estimator="linear_r", **SMALL)
        cube = sweep([5], ["schedule"], [True], [Model(lr=0.3)], estimator="cube_r", **SMALL)
        assert not np.array_equal(plain.acc, cube.acc)
