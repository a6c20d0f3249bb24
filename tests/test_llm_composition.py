"""Paper E on a real model: q+/q- per step with Wilson intervals (known counts), and the
``llm composition`` measurement end to end on the tiny model (result, resume, bad input)."""

import json

import numpy as np
import pytest

from llm_backend.measure_composition import composition_summary
from theory.stats import conditional_ratio, wilson_ci


def test_summary_counts_and_intervals():
    rng = np.random.default_rng(0)
    checks = rng.random((20, 8, 3)) < 0.5
    final = rng.random((20, 8)) < 0.4
    s = composition_summary(checks, final)
    c, f = checks.reshape(-1, 3), final.reshape(-1)
    for d in s["steps"]:
        on = c[:, d["step"] - 1]
        kp, np_, km, nm = int((f & on).sum()), int(on.sum()), int((f & ~on).sum()), int((~on).sum())
        assert d["q_plus"] == kp / np_ and d["q_minus"] == km / nm
        assert d["q_plus_detail"]["ci95"] == list(wilson_ci(kp, np_))
        assert d["ratio"] == pytest.approx((kp / np_) / (km / nm))
        lo, hi = d["ratio_ci95"]
        assert lo <= d["ratio"] <= hi
    assert s["rollouts"] == 160


def test_summary_edge_cases():
    checks = np.ones((2, 2, 1), dtype=bool)  # the step always correct: q- undefined
    s = composition_summary(checks, np.array([[1, 0], [1, 1]], dtype=bool))
    assert s["steps"][0]["q_minus"] is None and s["steps"][0]["ratio"] is None
    s = composition_summary(np.array([[[1], [0]]], dtype=bool), np.array([[1, 0]], dtype=bool))
    assert s["steps"][0]["ratio"] == float("inf") and s["steps"][0]["ratio_ci95"][1] == float("inf")
    with pytest.raises(ValueError, match="checks"):
        composition_summary(np.ones((2, 2)), np.ones((2, 2)))


def test_conditional_ratio_is_the_summary_rule():
    """theory.stats.conditional_ratio (the figure's rule) gives the summary's q+, q- and r on the same
    pooled rollouts, including its undefined (None) and infinite cases; unequal shapes are refused."""
    rng = np.random.default_rng(1)
    for checks, final in ((rng.random((6, 4, 2)) < 0.5, rng.random((6, 4)) < 0.5),
                          (np.ones((2, 2, 1), bool), np.array([[1, 0], [1, 1]], bool)),
                          (np.array([[[1], [0]]], bool), np.array([[1, 0]], bool)),
                          (np.array([[[1], [0]]], bool), np.zeros((1, 2), bool))):
        s = composition_summary(checks, final)
        for d in s["steps"]:
            on = checks.reshape(-1, checks.shape[2])[:, d["step"] - 1]
            assert conditional_ratio(on, final.reshape(-1)) == (d["q_plus"], d["q_minus"], d["ratio"])
    assert conditional_ratio(np.array([1, 0], bool), np.zeros(2, bool)) == (0.0, 0.0, None)  # 0/0: undefined
    with pytest.raises(ValueError, match="same shape"):
        conditional_ratio(np.ones(3, bool), np.ones(2, bool))


def test_composition_runs_on_the_tiny_model(tmp_path):
    pytest.importorskip("torch", reason="the real-model tests need the llm extra")
    pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
    from rlvr_lab import cli

    out = tmp_path / "comp.json"
    argv = ["llm", "composition", "--model", "tiny", "--task-opt", "steps=2", "--prompts", "3", "--group", "4",
            "--horizon", "10", "--batch-size", "8", "--out", str(out)]
    assert cli.main(argv) == 0
    res = json.loads(out.read_text())
    assert res["kind"] == "composition" and res["dtype"] == "float32"
    assert np.array(res["checks"]).shape == (3, 4, 2) and len(res["summary"]["steps"]) == 2
    assert res["summary"]["rollouts"] == 12


def test_composition_needs_the_multistep_task(tmp_path, capsys):
    from rlvr_lab import cli

    assert cli.main(["llm", "composition", "--model", "tiny", "--task", "arithmetic", "--out",
                     str(tmp_path / "c.json")]) == 2
    assert "multistep" in capsys.readouterr().err


def test_composition_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="the real-model tests need the llm extra")
    pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
    from llm_backend import experiments
    from llm_backend.config import CompositionConfig, ModelConfig, SamplingConfig, TaskConfig

    def cfg(name, **kw):
        return CompositionConfig(model=ModelConfig(name="tiny"), sampling=SamplingConfig(batch_size=8, seed=2),
                                 task=TaskConfig(task="multistep", task_options={"steps": 2}, prompts=5, group=4,
                                                 horizon=10), out=str(tmp_path / name), **kw).validate()

    straight = experiments.run_composition(cfg("a.json"), progress=False)
    real, calls = experiments.group_rollouts, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(experiments, "group_rollouts", flaky)
    with pytest.raises(KeyboardInterrupt):
        experiments.run_composition(cfg("b.json"), progress=False)
    calls["n"] = -100
    resumed = experiments.run_composition(cfg("b.json", resume=True), progress=False)
    for key in ("summary", "checks", "problems", "examples"):
        assert json.dumps(resumed[key], default=np.ndarray.tolist, sort_keys=True) == \
            json.dumps(straight[key], default=np.ndarray.tolist, sort_keys=True)
    np.testing.assert_array_equal(resumed["times"], straight["times"])
