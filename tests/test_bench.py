"""The bench harness (rlvr_lab.bench) and the BenchCase contract: what is timed, how ratios are
formed, and the contention processes. No assertion depends on a measured time."""

import os

import pytest

from rlvr_lab import bench as B
from theory.bench import BenchCase, with_threads


def _case(**kw):
    calls = {"numpy": 0, "fast": 0, "floor": 0, "one": 0}

    def make(label):
        def fn():
            calls[label] += 1
        return fn

    base = dict(name="fake", unit="items", work=10.0, candidates={k: make(k) for k in calls},
                reference="numpy", kernel="fast", limit="floor", serial="one")
    return BenchCase(**{**base, **kw}), calls


def test_case_roles_must_name_candidates():
    with pytest.raises(ValueError, match="limit"):
        _case(limit="nope")
    with pytest.raises(ValueError, match="kernel"):
        _case(kernel=None)  # a limit needs the kernel it bounds
    with pytest.raises(ValueError, match="reference"):
        _case(reference="nope")
    case, _ = _case(kernel=None, limit=None, serial=None)
    assert B.summarize(case, {}) == {}


def test_run_case_times_every_candidate_round_robin_and_reports_ratios():
    case, calls = _case()
    res = B.run_case(case, repeats=4)
    assert calls == {k: 5 for k in calls}  # one warm-up and four timed rounds each
    assert res["numpy"]["speedup_vs_reference"] == 1.0
    for label, r in res.items():
        assert r["throughput"] == pytest.approx(case.work / r["seconds"])
        assert r["speedup_vs_reference"] == pytest.approx(res["numpy"]["seconds"] / r["seconds"])


def test_summary_ratios_are_time_ratios():
    case, _ = _case()
    res = {"numpy": {"seconds": 10.0}, "fast": {"seconds": 2.0}, "floor": {"seconds": 1.0}, "one": {"seconds": 3.0}}
    s = B.summarize(case, res)
    assert s == {"kernel": "fast", "vs_reference": 5.0, "of_limit": 0.5, "vs_serial": 1.5}


def test_cpu_hogs_start_and_stop():
    with B.cpu_hogs(2) as pids:
        assert len(pids) == 2 and all(os.path.exists(f"/proc/{p}") for p in pids)
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)  # terminated and reaped


def test_run_bench_with_contention_runs_each_case_twice(monkeypatch):
    case, calls = _case()
    monkeypatch.setattr(B, "discover", lambda quick, pattern, echo: [case])
    lines = []
    rows = B.run_bench(repeats=1, contention=True, hogs=1, echo=lines.append)
    assert [r["condition"] for r in rows] == ["as is", "contention: 1 CPU-bound process(es)"]
    assert all(set(r["summary"]) == {"kernel", "vs_reference", "of_limit", "vs_serial"} for r in rows)
    assert calls["fast"] == 4 and any("of floor" in line for line in lines)


def test_with_threads_restores_the_thread_count():
    import numba

    before = numba.get_num_threads()
    assert with_threads(1, numba.get_num_threads) == 1
    assert numba.get_num_threads() == before


SIMULATORS = ("budget", "weighting", "kernel", "curriculum", "composition")


def test_every_simulator_case_names_its_kernel_limit_and_serial_path():
    cases = [c for c in B.discover(quick=True, pattern=None, echo=lambda *_: None)
             if c.name.split(".")[0] in SIMULATORS]
    assert {c.name.split(".")[0] for c in cases} == set(SIMULATORS)
    for c in cases:
        assert c.kernel and c.limit and c.serial and c.reference.startswith("numpy"), c.name
        assert "50% of minimum work" in c.targets[c.kernel], c.name


def test_simulators_give_the_same_numbers_on_one_thread_and_under_contention():
    """Threads claim runs (simulate.schedule); neither the thread count nor a busy process on the
    same cores changes a result (counter RNG, fixed order within a unit)."""
    import numpy as np

    from simulate.budget import difficulty_population, simulate_sweep
    from simulate.composition import expected_runs, sampled_runs
    from simulate.curriculum import Model, sweep
    from simulate.kernel import Method
    from simulate.kernel import simulate as kernel_simulate
    from simulate.weighting import simulate
    from theory.composition import mod_verifier

    d = difficulty_population(16, 0.5)
    pi0 = np.stack([np.full((2, 3), 1 / 3), np.array([[0.5, 0.25, 0.25]] * 2), np.array([[0.2, 0.4, 0.4]] * 2)])
    runs = [lambda: simulate_sweep(d=d, theta0=[-3.0, -2.5, -2.0, -1.5], H=64, seed=[0, 1, 2, 3], n_iter=4).theta,
            lambda: simulate("grpo", [0.05, 0.3, 0.6, 0.2, 0.9], group_size=8, n_steps=20, step=0.05, seed=2).rho,
            lambda: sampled_runs(np.full((2, 3), 1 / 3), mod_verifier(2), seeds=[1, 2, 3], n_iter=30).theta,
            lambda: expected_runs(pi0, mod_verifier(2), n_iter=30).theta,
            lambda: sweep([0, 1, 2], ["schedule", "random", "high-ppl"], [True, False, False], [Model()] * 3,
                          n_pool=60, n_candidates=12, group_size=4, n_steps=6).acc,
            lambda: kernel_simulate(drift="logistic", baselines=(Method("grpo"), Method("kae", "triangular", 0.3)),
                                    n_prompts=30, batch_size=6, group_size=4, n_steps=12, reuse=3, n_runs=3,
                                    seed=1).value_mse]
    quiet = [f() for f in runs]
    with B.cpu_hogs(1):
        busy = [f() for f in runs]
    one = [with_threads(1, f) for f in runs]
    for a, b, c in zip(quiet, busy, one):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
