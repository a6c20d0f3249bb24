"""Paper D figures: every verdict rule reaches each verdict it can return on synthetic data, draw()
runs headless on the same data, and the savings statistics recover a known factor."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import figures.curriculum_difficulty as difficulty
import figures.curriculum_dynamics as dynamics
import figures.curriculum_savings as savings
import figures.curriculum_weighting as weighting
from figures import runner
from figures.curriculum_common import paired_ci, rollouts_to_reach, savings_ci, savings_factor, sweep_unit
from simulate.curriculum import SCHEMES
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

S, T = 8, 20


def _verdicts(mod, data):
    vs = mod.evaluate(data)
    assert [v.claim.id for v in vs] == [c.id for c in mod.FIGURE.claims]
    plt.close(runner.draw(mod.FIGURE, data))
    return [v.verdict for v in vs]


# --- statistics ----------------------------------------------------------------------------------
def test_savings_factor_recovers_a_time_compression():
    t = np.arange(T + 1)
    roll = np.tile(t * 100.0, (S, 1))
    base = np.tile(1 - np.exp(-t / 10), (S, 1))
    fast = np.tile(1 - np.exp(-2 * t / 10), (S, 1))  # the same curve at twice the speed
    f = savings_factor(base, roll, fast, roll)
    assert f["factor"] == pytest.approx(2.0, rel=0.02)  # linear interpolation between steps
    assert savings_factor(base, roll, base, roll)["factor"] == pytest.approx(1.0)
    never = savings_factor(base, roll, base * 0.5, roll)
    assert never["factor"] == 0.0 and never["rollouts_new"] == float("inf")
    assert rollouts_to_reach([0.2, 0.4], [0, 10], 0.1) == 0.0


def test_paired_ci_covers_and_excludes():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 200)
    m, lo, hi = paired_ci(a + 1.0, a)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    m, lo, hi = paired_ci(rng.normal(0, 1, 200), rng.normal(0, 1, 200))
    assert lo < 0 < hi


# --- dynamics ------------------------------------------------------------------------------------
def _dyn_data(zero, entropy, all_correct, early, noise=0.001, seed=0):
    """Per-scheme late means; summary with seed noise; runs shaped (S, T) for drawing."""
    rng = np.random.default_rng(seed)
    summary, runs = {}, {}
    for s in SCHEMES:
        summary[s] = {"late_zero": zero[s] + noise * rng.normal(size=S),
                      "late_entropy": entropy[s] + noise * rng.normal(size=S),
                      "late_all_correct": all_correct[s] + noise * rng.normal(size=S),
                      "early_gain": early[s] + noise * rng.normal(size=S), "final_acc": np.full(S, 0.6)}
        runs[f"{s}|0"] = {k: np.full((S, T), 0.3) + 0.01 * rng.normal(size=(S, T))
                          for k in ("zero", "entropy", "all_correct")} | {"acc": np.full((S, T + 1), 0.5)}
    return {"config": {"n_pool": 10, "n_candidates": 5, "ratio": 0.2, "group_size": 4, "n_seeds": S},
            "runs": runs, "summary": summary}


def _d(**v):
    return {s: v.get(s.replace("-", "_"), 0.0) for s in SCHEMES}


def test_dynamics_verdicts():
    paper = _dyn_data(zero=_d(schedule=0.43, high_ppl=0.52, low_ppl=0.66, random=0.5),
                      entropy=_d(schedule=0.11, high_ppl=0.05, low_ppl=0.03, random=0.06),
                      all_correct=_d(low_ppl=0.5, high_ppl=0.2), early=_d(low_ppl=0.1, high_ppl=0.05))
    assert _verdicts(dynamics, paper) == [SUPPORTED] * 3
    reversed_ = _dyn_data(zero=_d(schedule=0.7, high_ppl=0.52, low_ppl=0.66),
                          entropy=_d(schedule=0.01, high_ppl=0.05, low_ppl=0.03),
                          all_correct=_d(low_ppl=0.1, high_ppl=0.2), early=_d(low_ppl=0.1, high_ppl=0.05))
    assert _verdicts(dynamics, reversed_) == [NOT_SUPPORTED] * 3
    tied = _dyn_data(zero=_d(), entropy=_d(), all_correct=_d(), early=_d(), noise=0.05)
    assert _verdicts(dynamics, tied) == [INCONCLUSIVE] * 3


# --- savings -------------------------------------------------------------------------------------
def _savings_data(speed, noise):
    rng = np.random.default_rng(1)
    t = np.arange(T + 1)
    roll = np.tile(t * 128.0, (S, 1))
    base = 0.4 + 0.3 * (1 - np.exp(-t / 15)) + noise * rng.normal(size=(S, 1))
    new = 0.4 + 0.3 * (1 - np.exp(-speed * t / 15)) + noise * rng.normal(size=(S, 1))
    rec = {k: savings_ci(base, roll, new, roll, n_boot=200) for k in ("prepo", "schedule", "random+w")}
    table = {name: rec for name in ("calibrated (all mechanisms on)", "transfer off")}
    return {"config": {"n_seeds": S, "n_steps": T}, "table": table,
            "curves": {arm: {"acc": base.mean(0), "roll": roll[0]} for arm in ("random|0", "random|1", "schedule|0", "schedule|1")}}


def test_savings_verdicts():
    assert _verdicts(savings, _savings_data(2.0, 0.0)) == [SUPPORTED]
    assert _verdicts(savings, _savings_data(1.0, 0.0)) == [NOT_SUPPORTED]
    assert _verdicts(savings, _savings_data(1.2, 0.03)) == [INCONCLUSIVE]
    assert savings.judge(1.25, 1.4) == SUPPORTED and savings.judge(0.9, 1.19) == NOT_SUPPORTED
    assert savings.judge(1.1, 1.3) == INCONCLUSIVE


# --- weighting -----------------------------------------------------------------------------------
def _w_data(delta, noise):
    rng = np.random.default_rng(2)
    base = 0.4 + 0.02 * rng.normal(size=S)
    late = {"schedule|0": {"zero": base}, "schedule|1": {"zero": base + delta + noise * rng.normal(size=S)},
            "random|0": {"zero": base}, "random|1": {"zero": base + 0.001 * rng.normal(size=S)}}
    for arm in late.values():
        arm["entropy"] = np.full(S, 0.5) + 0.01 * rng.normal(size=S)
        arm["final_acc"] = np.full(S, 0.6) + 0.01 * rng.normal(size=S)
    curves = {arm: {"zero": np.full(T, 0.3), "entropy": np.full(T, 0.5)} for arm in late}
    return {"config": {"n_seeds": S}, "late": late, "curves": curves}


def test_weighting_verdicts():
    assert _verdicts(weighting, _w_data(-0.1, 0.01)) == [SUPPORTED]
    assert _verdicts(weighting, _w_data(0.0, 0.0001)) == [NOT_SUPPORTED]
    assert _verdicts(weighting, _w_data(0.05, 0.01)) == [NOT_SUPPORTED]
    assert _verdicts(weighting, _w_data(-0.005, 0.02)) == [INCONCLUSIVE]


# --- difficulty ----------------------------------------------------------------------------------
def _diff_data(slope, n=600):
    rng = np.random.default_rng(3)
    ppl = np.exp(rng.normal(size=n))
    p = np.clip(0.5 + slope * np.log(ppl) + 0.05 * rng.normal(size=n), 0, 1)
    return {"config": {"k": 16}, "ppl": ppl, "passrate": np.round(p * 16) / 16}


def test_difficulty_verdicts():
    assert _verdicts(difficulty, _diff_data(-0.1)) == [SUPPORTED]
    assert _verdicts(difficulty, _diff_data(+0.1)) == [NOT_SUPPORTED]
    assert _verdicts(difficulty, _diff_data(0.0, n=60)) == [INCONCLUSIVE]


def test_sweep_unit_variants_match_separate_sweeps():
    sim = dict(n_pool=50, n_candidates=10, n_steps=4)
    arms = [("random", False), ("schedule", True)]
    both = sweep_unit(seeds=[1, 2], arms=arms, model={}, sim=sim, variants={"a": {}, "b": {"transfer": False}})
    alone = sweep_unit(seeds=[1, 2], arms=arms, model={"transfer": False}, sim=sim)
    np.testing.assert_array_equal(both["b"]["schedule|1"]["acc"], alone["schedule|1"]["acc"])
    assert not np.array_equal(both["a"]["schedule|1"]["acc"], alone["schedule|1"]["acc"])
