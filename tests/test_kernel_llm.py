"""Paper C on a real model (``rlvr-lab llm kernel``): the measurement end to end on the tiny model,
its value errors against a direct numpy computation, the trainer's reuse schedule, bad inputs, and
the figure's verdicts on synthetic result files."""

import json
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest

from figures import llm_kernel_value_mse as fig
from figures.runner import compute, context, draw
from llm_backend import tasks as task_module
from llm_backend.tasks import Problem, Task
from llm_backend.measure_kernel import KernelConfig, kae_key, value_errors
from llm_backend.config import ModelConfig, SamplingConfig, TaskConfig
from rlvr_lab.cli import main
from tests.oracles import kae_group
from theory.records import to_jsonable


# ---------------------------------------------------------------------------------------------
# Direct numpy computation (the oracle of value_errors)
# ---------------------------------------------------------------------------------------------
def _direct(steps, truth, bandwidths):
    """Squared errors per unit, written out: LOO mean, batch mean, KAE by the plain-Python oracle."""
    hist = {}  # prompt id -> [(iteration, reward)]
    out = {"grpo_loo": [], "global_mean": [], **{kae_key(h): [] for h in bandwidths}}
    for rec in sorted(steps, key=lambda r: r["step"]):
        s, r = rec["step"], np.asarray(rec["rewards"], dtype=float)
        if s in truth:
            v = np.asarray(truth[s], dtype=float).mean(1)
            g = r.shape[1]
            for b, pid in enumerate(rec["prompt_ids"]):
                loo = (r[b].sum() - r[b]) / (g - 1)
                out["grpo_loo"].append(np.mean((loo - v[b]) ** 2))
                out["global_mean"].append((r.mean() - v[b]) ** 2)
                for h in bandwidths:
                    a = np.array(kae_group(list(r[b]), s, hist.get(pid, []), h))
                    out[kae_key(h)].append(np.mean((r[b] - a - v[b]) ** 2))
        for b, pid in enumerate(rec["prompt_ids"]):
            hist.setdefault(pid, []).extend((s, z) for z in r[b])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_errors_equal_direct_numpy(seed):
    rng = np.random.default_rng(seed)
    n_steps, p, g, pool = 7, 3, 4, 5
    steps, truth = [], {}
    for s in range(1, n_steps + 1):
        ids = rng.choice(pool, size=p, replace=False).tolist()
        steps.append({"step": s, "prompt_ids": ids, "rewards": (rng.random((p, g)) < 0.4).astype(float).tolist()})
    for s in (3, 7):
        truth[s] = (rng.random((p, 16)) < 0.4).astype(float)
    got = value_errors(steps[::-1], truth, bandwidths=(0.5, 1.0))  # order of the records does not matter
    want = _direct(steps, truth, (0.5, 1.0))
    assert got["n_units"] == 6 and got["primary"] == "kae(h=0.5)"
    for k, v in want.items():
        np.testing.assert_allclose(got["sq_err"][k], v, rtol=0, atol=1e-12)
        assert got["mse"][k] == pytest.approx(np.mean(v))
    # KAE with history really differs from the LOO mean here (the check can fail)
    assert not np.allclose(got["sq_err"]["kae(h=1)"], got["sq_err"]["grpo_loo"])


def test_value_errors_bad_inputs():
    steps = [{"step": 1, "prompt_ids": [0], "rewards": [[1, 0]]}]
    with pytest.raises(ValueError, match="bandwidths"):
        value_errors(steps, {1: np.ones((1, 4))}, bandwidths=(0.0,))
    with pytest.raises(ValueError, match="missing"):
        value_errors(steps, {2: np.ones((1, 4))})
    with pytest.raises(ValueError, match="truth"):
        value_errors(steps, {1: np.ones((2, 4))})


# ---------------------------------------------------------------------------------------------
# The measurement on the tiny model
# ---------------------------------------------------------------------------------------------
def _cfg(tmp_path, **kw):
    base = dict(model=ModelConfig(name="tiny"), task=TaskConfig(task="arithmetic", task_options={"digits": 1},
                prompts=2, group=3, horizon=2), sampling=SamplingConfig(batch_size=32), steps=3, pool=4, reuse=2,
                checkpoints=(2, 3), truth_group=4, bandwidths=(0.5, 1.0), lr=1e-2, out=str(tmp_path / "k.json"),
                run_dir=str(tmp_path / "run"))
    base.update(kw)
    return KernelConfig(**base)


class FirstDigit(Task):
    """Reward 1 when the first generated character is a digit (about 1 in 9 for the tiny model)."""

    name = "firstdigit"

    def _draw(self, rng):
        return Problem(f"Say a digit after {int(rng.integers(100))}", "0")

    def solved_at(self, problem, text, finished):
        return 1 if text[:1].isdigit() else None


@pytest.fixture
def firstdigit(monkeypatch):
    monkeypatch.setitem(task_module.TASKS, "firstdigit", FirstDigit)


def _no_seconds(steps):
    return [{k: v for k, v in r.items() if k != "truth_seconds"} for r in steps]


def test_measurement_end_to_end(tmp_path, firstdigit):
    pytest.importorskip("torch", reason="the real-model tests need the llm extra")
    from llm_backend.measure_kernel import run_kernel
    from llm_backend.trainer import train

    cfg = _cfg(tmp_path, task=TaskConfig(task="firstdigit", prompts=3, group=4, horizon=1), truth_group=8).validate()
    res = run_kernel(cfg, command="test", progress=False)
    assert res["kind"] == "kernel" and {"command", "hardware", "git_commit", "dtype"} <= set(res)
    steps = res["steps"]
    assert [r["step"] for r in steps] == [1, 2, 3]
    assert steps[0]["prompt_ids"] == steps[1]["prompt_ids"]  # J = 2: steps 1 and 2 share their batch
    truth = {s: np.asarray(steps[s - 1]["truth_rewards"]) for s in (2, 3)}
    assert all(t.shape == (3, 8) for t in truth.values()) and "truth_rewards" not in steps[0]
    assert 0 < sum(np.sum(r["rewards"]) for r in steps) < 36  # non-trivial rewards: the comparison can fail
    want = _direct(steps, truth, (0.5, 1.0))
    for k, v in want.items():
        np.testing.assert_allclose(res["summary"]["sq_err"][k], v, rtol=0, atol=1e-12)
    # the hook's extra rollouts leave the training run unchanged
    plain = train(replace(cfg.train_config(), out_dir=str(tmp_path / "plain")))
    assert plain["reward_by_step"] == res["reward_by_step"]
    assert [r["prompt_ids"] for r in plain["log"]] == [r["prompt_ids"] for r in steps]


def test_interrupted_measurement_resumes_to_the_same_result(tmp_path, firstdigit):
    """Killed inside step 2 (after its truth rollouts were recorded, before its log line): --resume
    repeats step 2 from the step-1 checkpoint, skips the recorded truth, and equals an uninterrupted run."""
    pytest.importorskip("torch", reason="the real-model tests need the llm extra")
    from llm_backend.measure_kernel import run_kernel

    kw = dict(task=TaskConfig(task="firstdigit", prompts=2, group=3, horizon=1),
              steps=2, reuse=2, checkpoints=(1, 2), truth_group=3, checkpoint_every=1)
    whole = run_kernel(_cfg(tmp_path / "a", **kw).validate(), progress=False)
    seen = []

    def fault(point):
        seen.append(point)
        if point == "step:estimated" and seen.count(point) == 2:
            raise KeyboardInterrupt

    cfg = _cfg(tmp_path / "b", **kw).validate()
    with pytest.raises(KeyboardInterrupt):
        run_kernel(cfg, progress=False, fault=fault)
    lines = cfg.partial_path().read_text().splitlines()
    assert len(lines) == 3 and "truth_rewards" in json.loads(lines[2])  # config, step 1, step 2
    with pytest.raises(ValueError, match="--resume"):
        run_kernel(cfg, progress=False)
    cfg.resume = True
    again = run_kernel(cfg, progress=False)
    assert _no_seconds(again["steps"]) == _no_seconds(whole["steps"]) and again["summary"] == whole["summary"]
    assert sum(np.sum(r["rewards"]) + np.sum(r["truth_rewards"]) for r in whole["steps"]) > 0
    assert again["reward_by_step"] == whole["reward_by_step"]


def test_cli_bad_inputs_exit_2_one_line(tmp_path, capsys):
    out = str(tmp_path / "k.json")
    for argv, word in ((["--checkpoints", "9"], "checkpoints"), (["--bandwidths", "0,1"], "bandwidths"),
                       (["--group", "1"], "group"), (["--truth-group", "1"], "truth_group"),
                       (["--checkpoints", "a"], "checkpoints"), (["--reuse", "0"], "reuse")):
        assert main(["llm", "kernel", "--model", "tiny", *argv, "--out", out, "--run-dir", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and word in err, err


def test_reuse_needs_no_selection():
    from llm_backend.config import TrainConfig
    from llm_backend.trainer import batch_step

    assert [batch_step(s, 1) for s in range(1, 5)] == [1, 2, 3, 4]  # default: every earlier run's draw
    assert [batch_step(s, 3) for s in range(1, 8)] == [1, 1, 1, 4, 4, 4, 7]
    with pytest.raises(ValueError, match="batch_reuse"):
        TrainConfig(model="tiny", batch_reuse=2, selection="random", pool=64).validate()
    with pytest.raises(ValueError, match="batch_reuse"):
        TrainConfig(model="tiny", batch_reuse=0).validate()


# ---------------------------------------------------------------------------------------------
# The figure on synthetic result files
# ---------------------------------------------------------------------------------------------
def _file(d, kae_shift, n=12, seed=0):
    rng = np.random.default_rng(seed)
    loo = rng.uniform(0.02, 0.08, n)
    sq = {"grpo_loo": loo.tolist(), "global_mean": (loo + 0.05).tolist(),
          "kae(h=0.5)": (loo + kae_shift + rng.normal(0, 0.002, n)).tolist(), "kae(h=1)": loo.tolist()}
    res = {"kind": "kernel", "command": "synthetic", "model": "none", "seed": 0, "hardware": {},
           "config": {"steps": 6}, "summary": {"primary": "kae(h=0.5)", "methods": list(sq), "sq_err": sq,
                                                "mse": {k: float(np.mean(v)) for k, v in sq.items()},
                                                "mse_corrected": {}, "units": [{}] * n}}
    (d / "kernel_synthetic.json").write_text(json.dumps(to_jsonable(res)))


@pytest.mark.parametrize("shift, verdict", [(None, "inconclusive"), (-0.02, "supported"),
                                            (0.02, "not supported"), (0.0, "inconclusive")])
def test_figure_verdicts(tmp_path, shift, verdict):
    if shift is not None:
        _file(tmp_path, shift)
    data = compute(fig.FIGURE, context(fig.FIGURE, seed=0, inputs_dir=tmp_path))
    (v,) = fig.FIGURE.evaluate(data)
    assert v.claim.id == "C.llm-value-mse" and v.verdict == verdict, v
    if shift is None:
        assert "no result file" in v.note
    plt.close(draw(fig.FIGURE, data))


def test_figure_does_not_import_torch():
    src = open(fig.__file__).read()
    assert "import torch" not in src and "from llm_backend" not in src and "import llm_backend" not in src
