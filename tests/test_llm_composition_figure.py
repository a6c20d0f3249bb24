"""Paper E's real-model figure on synthetic training results with known answers: every verdict each
claim can return, the bootstrap ratio against a direct computation, and the missing-file case."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from figures import llm_composition_ratio as fig
from figures.runner import compute, context, draw
from theory.records import to_jsonable

N, G = 24, 8


def _eval(step, checks, final):
    return {"step": step, "horizon": 64, "rewards": final.astype(float), "checks": checks}


def _pattern(p_on, q_plus, q_minus):
    """(N, G, 2) checks and (N, G) finals: in every prompt the first round(p_on G) rollouts have the
    step right; of those the first round(q_plus k) succeed, of the others round(q_minus (G - k))."""
    checks, final = np.zeros((N, G, 2), bool), np.zeros((N, G), bool)
    k = round(p_on * G)
    checks[:, :k, 0] = True
    final[:, :round(q_plus * k)] = True
    final[:, k:k + round(q_minus * (G - k))] = True
    checks[..., 1] = final
    return checks, final


def _write(tmp_path, start, end, name="train_multistep2add_grpo_s1.json"):
    d = tmp_path / "v2"
    d.mkdir(exist_ok=True)
    res = {"command": "synthetic", "model": "none", "seed": 1, "hardware": {"processor": "x", "cpu_count": 2},
           "steps_done": 8, "reward_by_step": [0.1] * 8,
           "config": {"task": "multistep", "task_options": {"steps": 2, "ops": "+"}, "estimator": "grpo",
                      "horizon": 64, "temperature": 0.6, "lr": 1e-5, "prompts": 8, "group": 8, "eval_horizon": 64},
           "eval": [_eval(0, *start), _eval(8, *end)]}
    (d / name).write_text(json.dumps(to_jsonable(res)))


def _verdicts(tmp_path):
    data = compute(fig.FIGURE, context(fig.FIGURE, seed=0, inputs_dir=tmp_path))
    plt.close(draw(fig.FIGURE, data))
    return {v.claim.id: v for v in fig.FIGURE.evaluate(data)}


@pytest.mark.parametrize("start, end, ratio, sign", [
    (_pattern(0.25, 0.5, 0.0), _pattern(0.5, 0.5, 0.0), "supported", "supported"),          # r = inf, step rises
    (_pattern(0.5, 0.5, 0.25), _pattern(0.25, 0.5, 0.25), "supported", "not supported"),    # r = 2, step falls
    (_pattern(0.5, 0.0, 0.5), _pattern(0.25, 0.0, 0.5), "not supported", "supported"),      # r = 0, step falls
    (_pattern(0.5, 0.25, 0.25), _pattern(0.75, 0.25, 0.25), "inconclusive", "inconclusive"),  # r = 1: no prediction
    (_pattern(0.5, 0.5, 0.25), _pattern(0.5, 0.5, 0.25), "supported", "inconclusive"),      # no change
])
def test_every_verdict(tmp_path, start, end, ratio, sign):
    _write(tmp_path, start, end)
    v = _verdicts(tmp_path)
    assert v["E.llm-ratio"].verdict == ratio, v["E.llm-ratio"].measured
    assert v["E.llm-sign-rule"].verdict == sign, v["E.llm-sign-rule"].measured


def test_ratio_and_paired_change_match_a_direct_count(tmp_path):
    rng = np.random.default_rng(3)
    checks = rng.random((N, G, 2)) < 0.4
    final = rng.random((N, G)) < np.where(checks[..., 0], 0.5, 0.2)
    after = checks.copy()
    after[:5, :, 0] = True
    _write(tmp_path, (checks, final), (after, final))
    data = compute(fig.FIGURE, context(fig.FIGURE, seed=0, inputs_dir=tmp_path))
    on = checks[..., 0]
    r = (final & on).sum() / on.sum() / ((final & ~on).sum() / (~on).sum())
    step = data["steps"][0]
    assert step["ratio"]["r"] == pytest.approx(r)
    assert step["ratio"]["ci95"][0] < r < step["ratio"]["ci95"][1]
    assert step["accuracy_change"]["delta"] == pytest.approx(after[..., 0].mean() - on.mean())
    assert len(data["steps"]) == 1  # step 2 is the answer: not an intermediate step


def test_undefined_ratios_leave_the_interval_undecided():
    checks = np.zeros((N, G), bool)
    checks[0, 0] = True  # one rollout with the step right: most resamples have none
    out = fig.ratio_bootstrap(checks, checks.copy())
    assert out["undefined_fraction"] > fig.MAX_UNDEFINED and out["ci95"] == [None, None]


def test_missing_files_are_inconclusive(tmp_path):
    v = _verdicts(tmp_path)
    assert {x.verdict for x in v.values()} == {"inconclusive"}
