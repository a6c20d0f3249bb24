"""Paper D real-model figure: missing runs give inconclusive with a message; synthetic schedule/random
pairs reach every verdict of both declared rules; draw runs headless."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

import figures.llm_curriculum_training as mod
from figures import runner
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

CFG = dict(model="m", task="arithmetic", task_options={"digits": 1}, seed=0, pool=16, lr=1e-5, eval_prompts=40,
           eval_group=4, eval_horizon=48, steps=4, prompts=4, group=4, estimator="grpo", selection_ratio=0.2,
           rollout_weights=None, horizon=32)


def _run(tmp_path, name, selection, acc_end, rho_hat_late, seed=0, n_eval=40):
    rng = np.random.default_rng(10 * seed + {"schedule": 1, "random": 2}[selection])
    end = (rng.random((n_eval, 4)) < acc_end).astype(float)
    start = np.zeros((n_eval, 4))
    log = [{"step": t + 1, "rho_hat": [0.5, 0.25, 0.5, 0.75] if t < 2 else rho_hat_late,
            "selection": {"ppl_selected": [2.0 + t, 4.0 + t], "window": [t, t + 4]}} for t in range(4)]
    (tmp_path / name).write_text(json.dumps({
        "kind": "train", "command": f"synthetic {selection}", "hardware": {"processor": "x"},
        "config": {**CFG, "selection": selection}, "log": log,
        "eval": [{"step": 0, "rewards": start.tolist()}, {"step": 4, "rewards": end.tolist()}]}))


def _verdicts(tmp_path):
    ctx = runner.context(mod.FIGURE, inputs_dir=tmp_path)
    data = runner.compute(mod.FIGURE, ctx)
    vs = mod.FIGURE.evaluate(data)
    assert [v.claim.id for v in vs] == [c.id for c in mod.FIGURE.claims]
    plt.close(runner.draw(mod.FIGURE, data))
    return [v.verdict for v in vs], vs


def test_missing_runs_are_inconclusive_with_a_message(tmp_path):
    verdicts, vs = _verdicts(tmp_path)
    assert verdicts == [INCONCLUSIVE, INCONCLUSIVE]
    assert "--selection" in vs[0].note


@pytest.mark.parametrize("acc, zero, want", [
    ((0.9, 0.1), ([0.5] * 4, [0.0, 1.0, 0.0, 1.0] * 1), SUPPORTED),
    ((0.1, 0.9), ([0.0, 1.0, 0.0, 1.0], [0.5] * 4), NOT_SUPPORTED),
])
def test_pairs_reach_supported_and_not_supported(tmp_path, acc, zero, want):
    for k in range(6):  # six seeds: 12 late groups per arm and seed
        cfg_seed = dict(seed=k)
        CFG.update(cfg_seed)
        _run(tmp_path, f"train_curriculum_schedule_{k}.json", "schedule", acc[0], zero[0], seed=k)
        _run(tmp_path, f"train_curriculum_random_{k}.json", "random", acc[1], zero[1], seed=k)
    CFG.update(seed=0)
    verdicts, _ = _verdicts(tmp_path)
    assert verdicts == [want, want]


def test_equal_arms_are_inconclusive(tmp_path):
    _run(tmp_path, "train_curriculum_schedule.json", "schedule", 0.5, [0.5, 0.0, 0.5, 1.0], seed=1)
    _run(tmp_path, "train_curriculum_random.json", "random", 0.5, [0.5, 1.0, 0.5, 0.0], seed=2)
    verdicts, _ = _verdicts(tmp_path)
    assert verdicts == [INCONCLUSIVE, INCONCLUSIVE]


def test_unpaired_runs_are_not_compared(tmp_path):
    _run(tmp_path, "train_curriculum_schedule.json", "schedule", 0.9, [0.5] * 4)
    CFG.update(lr=2e-5)
    try:
        _run(tmp_path, "train_curriculum_random.json", "random", 0.1, [0.0] * 4)
    finally:
        CFG.update(lr=1e-5)
    verdicts, vs = _verdicts(tmp_path)
    assert verdicts == [INCONCLUSIVE, INCONCLUSIVE] and "pair" in vs[0].note


def test_runs_of_different_dtypes_are_not_paired(tmp_path):
    """bf16 and fp32 sample different rollouts from the same uniforms: no common random numbers."""
    _run(tmp_path, "train_curriculum_schedule.json", "schedule", 0.9, [0.5] * 4)
    CFG.update(dtype="bfloat16")
    try:
        _run(tmp_path, "train_curriculum_random.json", "random", 0.1, [0.0] * 4)
    finally:
        CFG.pop("dtype")
    verdicts, vs = _verdicts(tmp_path)
    assert verdicts == [INCONCLUSIVE, INCONCLUSIVE] and "pair" in vs[0].note

