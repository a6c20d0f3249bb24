"""The llm_* figures read saved result files (no torch): missing files give inconclusive verdicts;
synthetic files with a known answer give the expected verdicts."""

import json
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest

from figures import llm_budget_xi, llm_curriculum_ppl, llm_weighting_rho
from figures.base import RunContext
from llm_backend.measure_budget import xi_summary
from llm_backend.measure_curriculum import ppl_passrate_summary
from llm_backend.measure_weighting import rho_summary
from theory.records import to_jsonable as jsonable

FIGS = (llm_budget_xi, llm_curriculum_ppl, llm_weighting_rho)
HEADER = {"command": "synthetic", "model": "none", "seed": 0, "hardware": {"processor": "x", "cpu_count": 2},
          "sampling": {"tokens_per_second": 1.0}}


def _write(d, name, obj):
    (d / name).write_text(json.dumps(jsonable(obj)))


@pytest.mark.parametrize("mod", FIGS)
def test_missing_inputs_give_inconclusive(tmp_path, mod):
    ctx = RunContext(seed=0, inputs_dir=tmp_path)
    data = json.loads(json.dumps(jsonable(mod.FIGURE.compute(ctx))))
    verdicts = mod.FIGURE.evaluate(data)
    assert [v.claim.id for v in verdicts] == [c.id for c in mod.FIGURE.claims]
    assert all(v.verdict == "inconclusive" for v in verdicts)
    plt.close(mod.FIGURE.draw(data))


def test_figures_do_not_import_torch():
    for mod in FIGS:
        src = open(mod.__file__).read()
        assert "import torch" not in src and "llm_backend" not in src.replace("``llm_backend", "")


def test_synthetic_gamma_data_support_the_gamma_fit(tmp_path):
    rng = np.random.default_rng(0)
    t = np.ceil(rng.gamma(2.0, 1 / 0.1, size=(60, 16)))  # E[T] = 20
    t[t > 64] = np.inf
    settings = {"task": {"task": "arithmetic", "digits": 2}}
    _write(tmp_path, "xi_arithmetic.json", {**HEADER, "summary": xi_summary(t, 64), "settings": settings,
                                            "sample_size": {}})
    ctx = RunContext(seed=0, inputs_dir=tmp_path)
    data = json.loads(json.dumps(jsonable(llm_budget_xi.FIGURE.compute(ctx))))
    fit, peak = llm_budget_xi.FIGURE.evaluate(data)
    assert fit.verdict == "supported", fit.measured
    assert 0.5 < peak.measured["2-digit arithmetic"]["xi_star"] < 5.0  # Gamma(2): peak near xi ~ 1.3
    plt.close(llm_budget_xi.FIGURE.draw(data))


def test_synthetic_ppl_and_weights(tmp_path):
    ppl = np.linspace(2, 10, 80)
    rate = np.clip(1 - ppl / 10 + np.random.default_rng(1).normal(0, 0.05, 80), 0, 1)
    _write(tmp_path, "ppl_arithmetic.json", {**HEADER, "summary": ppl_passrate_summary(ppl, rate), "settings": {},
                                             "per_prompt": {"ppl": ppl, "passrate": rate},
                                             "sample_size": {"rollouts_per_prompt": 8}})
    r = np.zeros((12, 8))
    r[0, 0] = 1
    _write(tmp_path, "weights_countdown.json", {**HEADER, "summary": rho_summary(r), "settings": {}})
    for name, rewards in (("grpo", [0.0, 0.0, 0.0]), ("linear_r", [0.0, 0.5, 0.75])):
        _write(tmp_path, f"train_countdown_{name}.json", {
            **HEADER, "wall_seconds": 1, "steps_done": 3, "reward_by_step": rewards,
            "config": {"estimator": name, "prompts": 2, "group": 8},
            "log": [{"nonzero_adv_fraction": 0.0}] * 3})
    ctx = RunContext(seed=0, inputs_dir=tmp_path)
    (d,) = llm_curriculum_ppl.FIGURE.evaluate(json.loads(json.dumps(jsonable(llm_curriculum_ppl.FIGURE.compute(ctx)))))
    assert d.verdict == "supported"
    data = json.loads(json.dumps(jsonable(llm_weighting_rho.FIGURE.compute(ctx))))
    (b,) = llm_weighting_rho.FIGURE.evaluate(data)
    assert b.verdict == "supported" and b.measured["delta"] == pytest.approx(0.625)
    assert b.measured["nonzero_advantage_fraction"] == {"grpo": 0.0, "linear_r": 0.0}
    plt.close(llm_weighting_rho.FIGURE.draw(data))
