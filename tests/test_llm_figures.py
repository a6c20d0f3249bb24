"""The llm_* figures read saved result files (no torch): missing files give inconclusive verdicts;
synthetic files with a known answer give the expected verdicts."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from figures import llm_budget_efficiency, llm_budget_xi, llm_composition_ratio, llm_curriculum_ppl, llm_weighting_rho
from figures.runner import compute, context, draw
from llm_backend.measure_budget import xi_summary
from llm_backend.measure_curriculum import ppl_passrate_summary
from llm_backend.measure_weighting import rho_summary
from theory.records import to_jsonable as jsonable

FIGS = (llm_budget_xi, llm_curriculum_ppl, llm_weighting_rho, llm_budget_efficiency, llm_composition_ratio)
HEADER = {"command": "synthetic", "model": "none", "seed": 0, "hardware": {"processor": "x", "cpu_count": 2},
          "sampling": {"tokens_per_second": 1.0}}


def _write(d, name, obj):
    (d / name).write_text(json.dumps(jsonable(obj)))


def _data(mod, inputs_dir):
    """The figure's data as the runner computes it from the result files in ``inputs_dir``."""
    return compute(mod.FIGURE, context(mod.FIGURE, seed=0, inputs_dir=inputs_dir))


def _draw(mod, data):
    plt.close(draw(mod.FIGURE, data))


@pytest.mark.parametrize("mod", FIGS)
def test_missing_inputs_give_inconclusive(tmp_path, mod):
    data = _data(mod, tmp_path)
    verdicts = mod.FIGURE.evaluate(data)
    assert [v.claim.id for v in verdicts] == [c.id for c in mod.FIGURE.claims]
    assert all(v.verdict == "inconclusive" for v in verdicts)
    _draw(mod, data)


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
    data = _data(llm_budget_xi, tmp_path)
    fit, peak = llm_budget_xi.FIGURE.evaluate(data)
    assert fit.verdict == "supported", fit.measured
    assert 0.5 < peak.measured["2-digit arithmetic"]["xi_star"] < 5.0  # Gamma(2): peak near xi ~ 1.3
    _draw(llm_budget_xi, data)


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
    (d,) = llm_curriculum_ppl.FIGURE.evaluate(_data(llm_curriculum_ppl, tmp_path))
    assert d.verdict == "supported"
    data = _data(llm_weighting_rho, tmp_path)
    (b,) = llm_weighting_rho.FIGURE.evaluate(data)
    assert b.verdict == "supported" and b.measured["countdown"]["delta"] == pytest.approx(0.625)
    assert b.measured["countdown"]["nonzero_advantage_fraction"] == {"grpo_s0": 0.0, "linear_r_s0": 0.0}
    _draw(llm_weighting_rho, data)


START = dict(model="m", task="arithmetic", task_options={"digits": 1}, seed=0, pool=16, lr=1e-5, eval_prompts=8,
             eval_group=4, eval_horizon=48, prompts=2, group=4, estimator="grpo")


def _train_file(d, name, horizon, start, end, rewards=(0.25, 0.5), **cfg):
    _write(d, name, {**HEADER, "wall_seconds": 1, "steps_done": len(rewards), "reward_by_step": list(rewards),
                     "config": {**START, "horizon": horizon, **cfg},
                     "log": [{"tokens": 10 * horizon, "nonzero_adv_fraction": 0.5}] * len(rewards),
                     "eval": [{"step": 0, "horizon": 48, "rewards": start},
                              {"step": len(rewards), "horizon": 48, "rewards": end}]})


def _efficiency_runs(d, gains_by_seed):
    """Per seed: 8 held-out prompts x 4 rollouts, the same start in every run of the seed; prompt i's
    end accuracy rises by g_i / 4 at H = 16 / 64 (by 1/4 at H = 32), so the paired per-prompt
    differences, and hence the verdict, are known exactly."""
    _write(d, "xi_arithmetic_1digit.json", {**HEADER, "summary": {"pooled_mean_t": 100.0}})
    (d / "v2").mkdir(exist_ok=True)
    start = np.zeros((8, 4))
    start[::2, 0] = 1

    def end(gains):
        out = start.copy()
        for i, g in enumerate(gains):
            out[i, 1:1 + g] = 1.0
        return out

    for seed, (small, large) in gains_by_seed.items():
        for h, gains in ((16, small), (32, [1] * 8), (64, large)):
            _train_file(d, f"v2/train_arith1_grpo_h{h}_s{seed}.json", h, start, end(gains), seed=seed)


@pytest.mark.parametrize("gains_small, gains_large, expected", [
    ([0] * 8, [2] * 8, "supported"), ([2] * 8, [0] * 8, "not supported"),
    ([2, 2, 2, 2, 0, 0, 0, 0], [0, 0, 0, 0, 2, 2, 2, 2], "inconclusive")])
def test_synthetic_efficiency_verdicts(tmp_path, gains_small, gains_large, expected):
    _efficiency_runs(tmp_path, {s: (gains_small, gains_large) for s in (1, 2, 3)})
    data = _data(llm_budget_efficiency, tmp_path)
    (v,) = llm_budget_efficiency.FIGURE.evaluate(data)
    assert v.verdict == expected, (v.verdict, v.measured)
    assert v.measured["D"] == pytest.approx((np.mean(gains_large) - np.mean(gains_small)) / 4 / 2)
    assert v.sample_size["units"] == 24 and v.sample_size["seeds_paired"] == 3
    assert v.measured["xi0"] == {"16": 0.16, "32": 0.32, "64": 0.64}
    assert v.measured["sim_eff_per_iteration"]["64"] > v.measured["sim_eff_per_iteration"]["16"]  # the prediction
    _draw(llm_budget_efficiency, data)


def test_efficiency_needs_three_seeds_that_agree(tmp_path):
    """Two seeds: inconclusive whatever the interval; three where one seed goes the other way: the
    pooled interval may exclude 0, but the verdict stays inconclusive (declared seed-sign rule)."""
    up, down = ([0] * 8, [2] * 8), ([1] * 8, [0] * 8)
    _efficiency_runs(tmp_path, {1: up, 2: up})
    (v,) = llm_budget_efficiency.FIGURE.evaluate(_data(llm_budget_efficiency, tmp_path))
    assert v.verdict == "inconclusive" and "needs >= 3" in v.note
    _efficiency_runs(tmp_path, {1: up, 2: up, 3: down})
    (v,) = llm_budget_efficiency.FIGURE.evaluate(_data(llm_budget_efficiency, tmp_path))
    assert v.uncertainty["D_ci95"][0] > 0
    assert v.verdict == "inconclusive" and v.measured["D_per_seed"]["3"] < 0 and "disagree" in v.note


def test_efficiency_leaves_out_seeds_whose_runs_do_not_share_the_start(tmp_path):
    _efficiency_runs(tmp_path, {s: ([0] * 8, [2] * 8) for s in (1, 2, 3)})
    z = np.zeros((8, 4))
    _train_file(tmp_path, "v2/train_arith1_grpo_h64_s3.json", 64, z + 1, z + 1, seed=3)  # another start
    data = _data(llm_budget_efficiency, tmp_path)
    (v,) = llm_budget_efficiency.FIGURE.evaluate(data)
    assert v.verdict == "inconclusive" and "['3']" in v.note and v.sample_size["seeds_paired"] == 2


def test_weighting_combines_data_sets_by_the_declared_rule(tmp_path):
    """countdown all-zero (inconclusive by its interval) + 1-digit sums where the asymmetric runs
    clearly win -> supported; + a clear loss instead -> not supported. Held-out gains are reported."""
    for name in ("grpo", "linear_r"):
        _write(tmp_path, f"train_countdown_{name}.json", {
            **HEADER, "wall_seconds": 1, "steps_done": 3, "reward_by_step": [0.0] * 3,
            "config": {"estimator": name, "prompts": 2, "group": 4, "horizon": 40},
            "log": [{"nonzero_adv_fraction": 0.0}] * 3})
    z, o = np.zeros((8, 4)), np.ones((8, 4))
    for asym_wins, expected in ((True, "supported"), (False, "not supported")):
        hi, lo = [0.3] + [0.9] * 9, [0.3] + [0.1] * 9  # 10 steps x 16 rollouts: intervals well apart
        (tmp_path / "v2").mkdir(exist_ok=True)
        for seed in (1, 2, 3):
            for name in ("grpo", "linear_r"):
                asym = name in llm_weighting_rho.ASYM
                _train_file(tmp_path, f"v2/train_arith1_{name}_h32_s{seed}.json", 32, z, o if asym == asym_wins else z,
                            rewards=hi if asym == asym_wins else lo, estimator=name, prompts=4, seed=seed)
        data = _data(llm_weighting_rho, tmp_path)
        (b,) = llm_weighting_rho.FIGURE.evaluate(data)
        assert b.measured["countdown"]["verdict"] == "inconclusive"
        assert b.verdict == expected, b.measured
        held = b.measured["1-digit sums"]["held_out"]
        assert held["asym_minus_sym"] == pytest.approx(1.0 if asym_wins else -1.0) and held["prompts"] == 24
        assert set(b.measured["1-digit sums"]["delta_per_seed"]) == {"1", "2", "3"}
        _draw(llm_weighting_rho, data)


def test_weighting_needs_the_seeds_to_agree(tmp_path):
    """1-digit sums only: seeds 1 and 2 clearly for the asymmetric weighting, seed 3 clearly against
    by more than the margin: the pooled interval is above -margin but the verdict is inconclusive."""
    z = np.zeros((8, 4))
    (tmp_path / "v2").mkdir()
    for seed, (a, s) in {1: (0.9, 0.5), 2: (0.9, 0.5), 3: (0.3, 0.5)}.items():
        for name, x in (("linear_r", a), ("grpo", s)):
            _train_file(tmp_path, f"v2/train_arith1_{name}_h32_s{seed}.json", 32, z, z, rewards=[0.3] + [x] * 9,
                        estimator=name, prompts=4, seed=seed)
    (b,) = llm_weighting_rho.FIGURE.evaluate(_data(llm_weighting_rho, tmp_path))
    m = b.measured["1-digit sums"]
    assert b.uncertainty["1-digit sums"]["delta_ci95"][0] > -llm_weighting_rho.MARGIN
    assert m["delta_per_seed"]["3"] == pytest.approx(-0.2) and b.verdict == "inconclusive", m


def test_model_is_named_from_the_result_file():
    from figures.llm_inputs import model_label, provenance

    assert model_label({"model": "smollm2-135m"}) == "SmolLM2-135M-Instruct"
    assert model_label({"model": "tiny", "dtype": "bfloat16"}) == "tiny random Llama (bfloat16)"
    assert model_label({"model": "/ckpts/my-model/", "config": {"dtype": "float32"}}) == "my-model"
    assert provenance({"model": "org/name"})["model_label"] == "org/name"
