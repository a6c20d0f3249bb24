"""Data-set export: rows reproduce the tasks' problems, every framework's reward function is the task's
own verifier (checked against ``Task.reward`` on the original problems), and the files read back."""

import json

import pytest

from llm_backend.tasks import make_task
from rlvr_lab.cli import main
from rlvr_lab.integrations import export as ex

CASES = [("arithmetic", {"digits": 1}), ("multistep", {"steps": 2}), ("countdown", {"numbers": 3})]


def _texts(problem):
    """Completions that are right, wrong, truncated-looking and (countdown) an equation."""
    out = [f"The answer is {problem.answer}.", f"It is {int(problem.answer) + 1}", "no idea",
           f"so {problem.answer}"]
    if "solution" in problem.meta:
        out += [f"<answer>{problem.meta['solution']}</answer>", f"<answer>{problem.meta['solution']} + 0</answer>"]
    return out


@pytest.mark.parametrize("task,opts", CASES)
def test_every_reward_function_is_the_task_verifier(task, opts):
    t = make_task(task, **opts)
    problems = t.problems(6, seed=3)
    rows = ex.task_rows(task, 6, seed=3, **opts)
    assert [r["prompt"] for r in rows] == [p.prompt for p in problems]
    assert [r["answer"] for r in rows] == [p.answer for p in problems]
    trl_rows, verl_rows, orl_rows = ex.trl_rows(rows), ex.verl_rows(rows), ex.openrlhf_rows(rows)
    seen = set()
    for i, p in enumerate(problems):
        for text in _texts(p):
            want = t.reward(p, text, finished=True)
            seen.add(want)
            assert ex.verify(rows[i], text) == want
            r = trl_rows[i]
            got = ex.trl_reward([r["prompt"]], [[{"role": "assistant", "content": text}]], answer=[r["answer"]],
                                numbers=[r["numbers"]], steps=[r["steps"]], task=[r["task"]],
                                task_options=[r["task_options"]], trainer_state=None)
            assert got == [want]
            v = verl_rows[i]
            assert ex.compute_score(v["data_source"], text, v["reward_model"]["ground_truth"], v["extra_info"]) == want
            o = orl_rows[i]
            res = ex.reward_func([o["prompt"] + text], [o["prompt"]], [o["label"]])
            assert res["rewards"].tolist() == [want] and res["scores"].tolist() == [want]
    assert seen == {0.0, 1.0}  # the texts exercise both outcomes


def test_formats_have_the_frameworks_fields():
    rows = ex.task_rows("arithmetic", 3, seed=0, digits=2)
    t = ex.trl_rows(rows)[0]
    assert t["prompt"] == [{"role": "user", "content": rows[0]["prompt"]}] and t["answer"] == rows[0]["answer"]
    assert ex.trl_rows(rows, conversational=False)[0]["prompt"] == rows[0]["prompt"]
    v = ex.verl_rows(rows, split="test")[2]
    assert v["data_source"] == "rlvr_lab/arithmetic" and v["prompt"][0]["role"] == "user"
    assert v["reward_model"]["ground_truth"] == rows[2]["answer"]
    assert v["extra_info"]["index"] == 2 and v["extra_info"]["split"] == "test"
    o = ex.openrlhf_rows(rows)[1]
    assert set(o) == {"prompt", "label"} and json.loads(o["label"])["answer"] == rows[1]["answer"]
    assert ex.task_rows("arithmetic", 3, seed=0, digits=2) == rows  # same seed, same rows
    with pytest.raises(ValueError, match="compute_score"):
        ex.compute_score("openai/gsm8k", "42", "42", None)


@pytest.mark.parametrize("fmt", ["trl", "openrlhf"])
def test_jsonl_files_read_back(tmp_path, fmt):
    path = ex.export("countdown", 5, tmp_path / f"{fmt}.jsonl", fmt=fmt, seed=1, numbers=3)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    rows = ex.task_rows("countdown", 5, seed=1, numbers=3)
    assert lines == (ex.trl_rows(rows) if fmt == "trl" else ex.openrlhf_rows(rows))


def test_verl_parquet_reads_back(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (it comes with datasets/verl)")
    path = ex.export("arithmetic", 4, tmp_path / "train.parquet", fmt="verl", digits=1)
    table = pq.read_table(path).to_pylist()
    assert table == ex.verl_rows(ex.task_rows("arithmetic", 4, digits=1))
    assert [r["extra_info"]["index"] for r in table] == [0, 1, 2, 3]


def test_trl_dataset_in_memory():
    pytest.importorskip("datasets", reason="datasets is not installed (pip install 'rlvr-lab[trl]')")
    ds = ex.trl_dataset("arithmetic", 4, seed=2, digits=1)
    assert ds.num_rows == 4 and {"prompt", "answer", "numbers", "task", "task_options", "prompt_id"} <= set(ds.column_names)
    assert ds[0]["prompt"] == ex.trl_rows(ex.task_rows("arithmetic", 4, seed=2, digits=1))[0]["prompt"]


def test_cli_export_and_check(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    assert main(["integrations", "export", "--task", "arithmetic", "--task-opt", "digits=1", "--n", "3",
                 "--format", "openrlhf", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert main(["integrations", "export", "--n", "3", "--format", "csv", "--out", str(out)]) == 2
    assert "format must be one of" in capsys.readouterr().err
    code = main(["integrations", "check"])
    text = capsys.readouterr().out
    assert "rlvr_linear_r" in text and "rlvr_kae" not in text
    assert code == 0, text  # 1 means an installed framework did not take the plug-in
