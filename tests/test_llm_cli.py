"""``rlvr-lab llm`` subcommands through their argparse parser, on the tiny model."""

import argparse
import json

import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")

from rlvr_lab import llm_cli


def _parse(argv):
    parser = argparse.ArgumentParser(prog="rlvr-lab")
    sub = parser.add_subparsers(dest="command", required=True)
    llm_cli.add_parser(sub)
    return parser.parse_args(argv)


def test_xi_ppl_weights_write_results_with_provenance(tmp_path):
    xi = tmp_path / "xi.json"
    common = ["--model", "tiny", "--prompts", "3", "--group", "2", "--horizon", "6"]
    assert llm_cli.run(_parse(["llm", "xi", *common, "--task-opt", "digits=1", "--out", str(xi)])) == 0
    res = json.loads(xi.read_text())
    assert res["kind"] == "xi" and res["model"] == "tiny" and res["seed"] == 0
    assert {"command", "hardware", "started_utc", "wall_seconds", "sample_size"} <= set(res)
    assert res["sample_size"]["rollouts"] == 6
    ppl = tmp_path / "ppl.json"
    assert llm_cli.run(_parse(["llm", "ppl", "--from-xi", str(xi), "--out", str(ppl)])) == 0
    assert json.loads(ppl.read_text())["summary"]["n_prompts"] == 3
    w = tmp_path / "w.json"
    assert llm_cli.run(_parse(["llm", "weights", *common, "--out", str(w)])) == 0
    assert set(json.loads(w.read_text())["summary"]["predicted"]) == {"grpo", "rloo", "dapo", "linear_r", "sqrt_r"}


def test_train_and_resume(tmp_path):
    argv = ["llm", "train", "--model", "tiny", "--task", "arithmetic", "--task-opt", "digits=1", "--estimator",
            "rloo", "--steps", "1", "--prompts", "2", "--group", "2", "--horizon", "4", "--out-dir",
            str(tmp_path / "run"), "--result", str(tmp_path / "t.json")]
    assert llm_cli.run(_parse(argv)) == 0
    argv[argv.index("--steps") + 1] = "2"
    assert llm_cli.run(_parse(argv + ["--resume"])) == 0
    assert json.loads((tmp_path / "t.json").read_text())["steps_done"] == 2


def test_train_with_held_out_evaluation(tmp_path):
    argv = ["llm", "train", "--model", "tiny", "--task", "arithmetic", "--task-opt", "digits=1", "--steps", "1",
            "--prompts", "2", "--group", "2", "--horizon", "4", "--pool", "4", "--eval-prompts", "3",
            "--eval-group", "2", "--eval-horizon", "5", "--out-dir", str(tmp_path / "run"),
            "--result", str(tmp_path / "t.json")]
    assert llm_cli.run(_parse(argv)) == 0
    res = json.loads((tmp_path / "t.json").read_text())
    assert res["config"]["eval_horizon"] == 5 and [e["step"] for e in res["eval"]] == [0, 1]
    assert set(res["eval_reward_by_step"]) == {"0", "1"}


@pytest.mark.parametrize("argv, match", [
    (["llm", "xi", "--model", "tiny", "--horizon", "0"], "horizon"),
    (["llm", "xi", "--model", "tiny", "--task", "chess"], "task"),
    (["llm", "xi", "--model", "tiny", "--task-opt", "digits=0"], "digits"),
    (["llm", "train", "--model", "tiny", "--estimator", "nope"], "estimator"),
])
def test_bad_input_raises_value_error_naming_the_parameter(tmp_path, argv, match):
    extra = ["--out-dir", str(tmp_path / "r")] if argv[1] == "train" else ["--out", str(tmp_path / "o.json")]
    with pytest.raises(ValueError, match=match):
        llm_cli.run(_parse(argv + extra))
