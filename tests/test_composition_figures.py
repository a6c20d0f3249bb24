"""Paper E figures: each evaluate() can return every verdict on synthetic data (the checks can fail),
and draw() runs headless on the same data."""

import matplotlib.pyplot as plt
import numpy as np

import figures.composition_and_hard as and_hard
import figures.composition_positive as positive
import figures.composition_sign_rule as sign_rule
import figures.composition_suboptimal as suboptimal
import figures.composition_threshold as threshold
from figures.runner import canonical, draw
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED


def _verdict(mod, data):
    data = canonical(data)  # what the runner hands evaluate/draw
    (v,) = mod.evaluate(data)
    assert v.claim.id == mod.FIGURE.claims[0].id
    fig = draw(mod.FIGURE, data)
    plt.close(fig)
    return v.verdict


def _threshold_data(t_exact, t_sampled):
    grid = np.round(np.linspace(0.2, 0.5, 31), 6)
    sgrid = np.round(np.linspace(0.2, 0.5, 13), 6)
    reached = grid > t_exact
    ex = {"chain": np.where(reached, 0.999, 1e-6), "success": np.where(reached, 0.999, 0.5),
          "outcome": np.where(reached, 0, 3)}
    rng = np.random.default_rng(0)
    pc = 1 / (1 + np.exp(-(sgrid - t_sampled) / 0.01))
    oc = np.where(rng.random((200, sgrid.size)) < pc, 0, 1)
    return {"exact_grid": grid, "sampled_grid": sgrid, "n_iter": 10, "sampled": {"outcome": oc},
            "exact": {str(S): ex for S in (2, 3, 4)}}


def test_threshold_verdicts():
    assert _verdict(threshold, _threshold_data(1 / 3, 1 / 3)) == SUPPORTED
    assert _verdict(threshold, _threshold_data(1 / 3, 0.40)) == INCONCLUSIVE
    assert _verdict(threshold, _threshold_data(0.40, 1 / 3)) == NOT_SUPPORTED


def _sign_data(mismatch, unresolved=0):
    traj = {"kind": "exact", "iters": [0, 1], "chain": [0.1, 0.2], "success": [0.3, 0.4],
            "ratio": [1.2, 1e308], "counts": {"agree": 100, "mismatch": mismatch, "unresolved": unresolved},
            "checked_points": 2}
    return {"estimators": ["grpo"], "traj": [{"p0": 0.3, "trajs": [traj]}], "p0": [0.3], "n_iter": 1}


def test_sign_rule_verdicts():
    assert _verdict(sign_rule, _sign_data(0)) == SUPPORTED
    assert _verdict(sign_rule, _sign_data(1)) == NOT_SUPPORTED
    assert _verdict(sign_rule, _sign_data(0, unresolved=50)) == INCONCLUSIVE


def _positive_data(power, noise=0.05):
    S = [2, 4, 8, 16, 32]
    rng = np.random.default_rng(1)
    hits = [(10 * s ** power * np.exp(noise * rng.standard_normal(24))).astype(int) for s in S]
    return {"S": S, "sampled": hits, "exact": [int(10 * s ** power) for s in S], "min_ratio": [1.1] * 5,
            "censored": [0] * 5}


def test_positive_verdicts():
    assert _verdict(positive, _positive_data(1.5)) == SUPPORTED
    assert _verdict(positive, _positive_data(3.0)) == NOT_SUPPORTED


def _and_data(kind):
    S = np.arange(1, 7)
    rng = np.random.default_rng(2)
    T = 30 * 4.0 ** S if kind == "exp" else (30 * S ** 1.5 if kind == "poly" else 3000.0 / S)
    hits = [(t * np.exp(0.1 * rng.standard_normal(24))).astype(int) for t in T]
    return {"S_sampled": S.tolist(), "S_exact": S.tolist(), "sampled": hits, "exact": T.astype(int).tolist(),
            "caps": [10 ** 9] * 6}


def test_and_hard_verdicts():
    assert _verdict(and_hard, _and_data("exp")) == SUPPORTED
    assert _verdict(and_hard, _and_data("poly")) == INCONCLUSIVE  # grows, but not exponentially
    assert _verdict(and_hard, _and_data("shrinking")) == NOT_SUPPORTED


def _sub_data(k_sub, n=200):
    counts = [[n - k_sub, k_sub, 0, 0]] + [[n, 0, 0, 0]] * 5
    return {"labels": [s[0] for s in suboptimal.SETTINGS], "counts": counts, "ratio0": [0.6] * 6,
            "n_seeds": n, "n_iter": 10}


def test_suboptimal_verdicts():
    assert _verdict(suboptimal, _sub_data(150)) == SUPPORTED
    assert _verdict(suboptimal, _sub_data(0)) == NOT_SUPPORTED
    assert _verdict(suboptimal, _sub_data(12)) == INCONCLUSIVE
