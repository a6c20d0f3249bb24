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


# ---------------------------------------------------------------------------------------------
# Bad inputs: every one exits with code 2 and ONE line naming the parameter (or the file), no
# traceback, and before any model is loaded (load_model is replaced by a tripwire).
# ---------------------------------------------------------------------------------------------
def _files(tmp):
    (tmp / "a_file").write_text("x")
    (tmp / "a_dir").mkdir()
    (tmp / "bad.json").write_text("{not json")
    (tmp / "weights.json").write_text(json.dumps({"kind": "weights"}))
    (tmp / "list.json").write_text("[1, 2]")
    (tmp / "bad.toml").write_text("steps = = 3")
    (tmp / "unknown.toml").write_text('out_dir = "r"\nstepz = 3')
    (tmp / "wrongtype.toml").write_text('out_dir = "r"\nsteps = "ten"')
    return tmp


XI = ["llm", "xi", "--model", "tiny"]
PPL = ["llm", "ppl", "--model", "tiny"]
W = ["llm", "weights", "--model", "tiny"]
TR = ["llm", "train", "--model", "tiny"]
BAD = [  # (argv, word the message must contain); {t} is a temporary directory with _files in it
    (XI + ["--horizon", "0"], "horizon"), (XI + ["--horizon", "-5"], "horizon"),
    (XI + ["--horizon", "100000"], "horizon"), (XI + ["--horizon", "ten"], "horizon"),
    (XI + ["--task", "chess"], "task"), (XI + ["--task-opt", "digits=0"], "digits"),
    (XI + ["--task-opt", "digits"], "KEY=VALUE"), (XI + ["--task-opt", "colour=red"], "option"),
    (XI + ["--task-opt", "digits=abc"], "digits"),
    (XI + ["--prompts", "0"], "prompts"), (XI + ["--prompts", "1.5"], "prompts"), (XI + ["--group", "0"], "group"),
    (XI + ["--temperature", "0"], "temperature"), (XI + ["--temperature", "-1"], "temperature"),
    (XI + ["--temperature", "nan"], "temperature"),
    (XI + ["--top-p", "0"], "top_p"), (XI + ["--top-p", "1.5"], "top_p"), (XI + ["--batch-size", "0"], "batch_size"),
    (XI + ["--seed", "-1"], "seed"), (XI + ["--device", "tpu"], "device"), (XI + ["--device", "cuda"], "device"),
    (XI + ["--dtype", "float16"], "dtype"), (["llm", "xi", "--model", "tinyy"], "model"),
    (["llm", "xi", "--model", "/nonexistent/model/dir"], "model"), (["llm", "xi", "--model", ""], "model"),
    (XI + ["--xi-horizon", "0"], "xi_horizon"),
    (XI + ["--out", "/dev/null/x.json"], "out"), (XI + ["--out", "{t}/a_dir"], "out"), (XI + ["--out", ""], "out"),
    (XI + ["--out", "{t}/a_file/x.json"], "out"), (XI, "--out"),
    (PPL + ["--from-xi", "{t}/missing.json"], "from_xi"), (PPL + ["--from-xi", "{t}/a_dir"], "from_xi"),
    (PPL + ["--from-xi", "{t}/bad.json"], "bad.json"), (PPL + ["--from-xi", "{t}/weights.json"], "from_xi"),
    (PPL + ["--from-xi", "{t}/list.json"], "from_xi"), (PPL + ["--out", "/dev/null/x.json"], "out"),
    (W + ["--target", "1.5"], "target"), (W + ["--target", "0"], "target"), (W + ["--estimators", "nope"], "estimators"),
    (W + ["--estimators", ","], "estimators"), (W + ["--out", "{t}/a_dir"], "out"),
    (TR + ["--out-dir", "{t}/a_file"], "out_dir"), (TR + ["--out-dir", "{t}/a_file/sub"], "out_dir"),
    (TR + ["--out-dir", ""], "out_dir"), (TR, "out_dir"),
    (TR + ["--estimator", "nope"], "estimator"), (TR + ["--estimator", "kae", "--estimator-opt", "bandwith=0.3"], "bandwith"),
    (TR + ["--estimator", "kae", "--estimator-opt", "bandwidth=-1"], "bandwidth"),
    (TR + ["--estimator", "grpo", "--estimator-opt", "convention=foo"], "convention"),
    (TR + ["--estimator", "plateau_r", "--estimator-opt", "rho_star=2"], "rho_star"),
    (TR + ["--estimator", "kae", "--estimator-opt", "step=3"], "estimator_options"),
    (TR + ["--steps", "0"], "steps"), (TR + ["--prompts", "4", "--pool", "1"], "pool"),
    (TR + ["--ppo-epochs", "2"], "clip_low"), (TR + ["--clip-low", "1.5"], "clip_low"),
    (TR + ["--clip-high", "0.3"], "clip_low"),
    (TR + ["--loss-agg", "sum"], "loss-agg"), (TR + ["--lr", "-1"], "lr"), (TR + ["--max-grad-norm", "0"], "max_grad_norm"),
    (TR + ["--kl-coef", "-0.1"], "kl_coef"), (TR + ["--eval-horizon", "0"], "eval_horizon"),
    (TR + ["--checkpoint-every", "0"], "checkpoint_every"), (TR + ["--dtype", "bf16"], "dtype"),
    (TR + ["--device", "tpu"], "device"), (["llm", "train", "--model", "tinyy"], "model"),
    (TR + ["--result", "/dev/null/x.json"], "result"),
    (TR + ["--config", "{t}/missing.toml"], "config"), (TR + ["--config", "{t}/bad.toml"], "bad.toml"),
    (TR + ["--config", "{t}/unknown.toml"], "stepz"), (TR + ["--config", "{t}/wrongtype.toml"], "steps"),
]


@pytest.mark.parametrize("argv, word", BAD, ids=[" ".join(a[1:]) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line_before_loading(tmp_path, monkeypatch, capsys, argv, word):
    from rlvr_lab import cli

    def tripwire(*a, **k):
        raise AssertionError("a model was loaded before the input was validated")

    for mod in ("llm_backend.models", "llm_backend.experiments", "llm_backend.trainer"):
        monkeypatch.setattr(f"{mod}.load_model", tripwire, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    t = _files(tmp_path)
    argv = [a.replace("{t}", str(t)) for a in argv]
    if argv[1] in ("xi", "ppl", "weights") and "--out" not in argv and word != "--out":
        argv += ["--out", str(t / "o.json")]
    if argv[1] == "train" and "--out-dir" not in argv and "--config" not in argv and word != "out_dir":
        argv += ["--out-dir", str(t / "run")]
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert word.lower() in err.lower(), err
    assert not (t / "o.json").exists() and not (t / "run").exists()  # nothing written


def test_options_are_generated_from_the_configs():
    """Every config field is an option with its dataclass default in the help; nothing is declared twice."""
    from dataclasses import fields

    from llm_backend.config import TrainConfig, XiConfig

    parser = argparse.ArgumentParser(prog="rlvr-lab")
    llm_cli.add_parser(parser.add_subparsers(dest="command"))
    sub = parser._subparsers._group_actions[0].choices["llm"]._subparsers._group_actions[0].choices
    train_opts = {a.dest for a in sub["train"]._actions}
    assert {f.name for f in fields(TrainConfig) if f.name != "command"} <= train_opts
    xi_opts = {a.dest for a in sub["xi"]._actions}
    assert {"model.name", "model.dtype", "model.device", "task.horizon", "sampling.batch_size", "xi_horizon",
            "out", "resume"} <= xi_opts
    helps = {a.dest: a.help for a in sub["train"]._actions}
    assert "(default: 5)" in helps["checkpoint_every"] and "(default: float32)" in helps["dtype"]
    cfg = llm_cli.config_from_args(_parse(["llm", "xi", "--model", "tiny", "--dtype", "bfloat16", "--out", "x.json"]))
    assert isinstance(cfg, XiConfig) and cfg.model.dtype == "bfloat16" and cfg.task.prompts == XiConfig().task.prompts


def test_train_config_file_and_command_line_override(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(f'model = "tiny"\ntask = "arithmetic"\nestimator = "kae"\nsteps = 7\nlr = 1\nout_dir = "{tmp_path / "r"}"\n'
                    '[task_options]\ndigits = 1\n[estimator_options]\nbandwidth = 0.3\n')
    cfg = llm_cli.config_from_args(_parse(["llm", "train", "--config", str(toml), "--steps", "3"]))
    assert (cfg.steps, cfg.lr, cfg.estimator, cfg.task_options, cfg.estimator_options) == \
        (3, 1.0, "kae", {"digits": 1}, {"bandwidth": 0.3})
    assert cfg.out_dir == str(tmp_path / "r") and cfg.model == "tiny"


def test_measurement_resume_through_the_cli(tmp_path):
    out = tmp_path / "xi.json"
    argv = ["llm", "xi", "--model", "tiny", "--prompts", "3", "--group", "2", "--horizon", "5", "--out", str(out)]
    partial = tmp_path / "xi.json.partial.jsonl"
    partial.write_text(json.dumps({"config": {"other": 1}}) + "\n")
    with pytest.raises(ValueError, match="--resume"):
        llm_cli.run(_parse(argv))
    with pytest.raises(ValueError, match="configuration"):
        llm_cli.run(_parse(argv + ["--resume"]))
    partial.unlink()
    assert llm_cli.run(_parse(argv)) == 0 and not partial.exists()
    res = json.loads(out.read_text())
    assert res["dtype"] == "float32" and res["config"]["model"]["name"] == "tiny"


def test_without_the_llm_extra_the_error_names_it(tmp_path, monkeypatch, capsys):
    """A real-model command on an install without torch/transformers: one line naming the extra."""
    import importlib.util

    from rlvr_lab import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("torch", "transformers") else real(name, *a))
    rc = cli.main(["llm", "xi", "--model", "tiny", "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2 and 'pip install "rlvr-lab[llm]"' in err and len(err.strip().splitlines()) == 1
