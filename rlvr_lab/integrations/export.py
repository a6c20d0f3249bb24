"""The procedural tasks as TRL / verl / OpenRLHF data sets, and the verifier as each one's reward function.

One row per problem of ``llm_backend.tasks.make_task(task, **options).problems(n, seed)`` (same seed,
same problems), carrying what the verifier needs: the answer, the numbers (countdown checks that a
solution uses exactly them) and the intermediate steps (multistep).

====================  ===================================================================  ==========================
framework             data set                                                             reward function
====================  ===================================================================  ==========================
TRL                   ``prompt`` (chat messages, or text with ``conversational=False``),    :func:`trl_reward`
                      ``answer``, ``numbers``, ``steps``, ``task``, ``task_options``,
                      ``prompt_id``; :func:`trl_dataset` (in memory) or jsonl
verl                  parquet: ``data_source`` ("rlvr_lab/<task>"), ``prompt`` (messages),  :func:`compute_score`
                      ``ability``, ``reward_model`` {style, ground_truth}, ``extra_info``    (``custom_reward_function``)
                      {index, split, numbers, steps, task, task_options}
OpenRLHF              jsonl: ``prompt`` (text), ``label`` (JSON of answer, numbers, ...)    :func:`reward_func`
                                                                                           (``--remote_rm_url`` file)
====================  ===================================================================  ==========================

Modelling choice [R]: the frameworks hand the reward function the decoded completion without saying
whether generation stopped at EOS or at the length limit, so the verifier reads it as finished
(``finished=True``): a number at the very end of a truncated completion counts as completed. The
project's own trainer knows and uses ``finished`` exactly.

Example::

    >>> rows = task_rows("arithmetic", 2, seed=0, digits=1)
    >>> verify(rows[0], f"The answer is {rows[0]['answer']}.")
    1.0
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from llm_backend.tasks import Problem, make_task
from theory.checks import check_choice, check_int

__all__ = ["FORMATS", "task_rows", "verify", "trl_rows", "verl_rows", "openrlhf_rows", "trl_dataset",
           "trl_reward", "compute_score", "reward_func", "export"]

FORMATS = ("trl", "verl", "openrlhf")


def task_rows(task: str, n: int, seed: int = 0, **options) -> list[dict]:
    """Framework-neutral rows: prompt, answer, numbers, steps, task, task_options (JSON), index, prompt_id."""
    t = make_task(task, **options)
    n = check_int("n", n, low=1)
    opts = json.dumps(t.options(), sort_keys=True)
    return [{"prompt": p.prompt, "answer": p.answer, "numbers": [int(x) for x in p.numbers],
             "steps": [int(x) for x in p.steps], "task": task, "task_options": opts, "index": i,
             "prompt_id": f"{task}-{seed}-{i}"} for i, p in enumerate(t.problems(n, seed))]


@lru_cache(maxsize=64)
def _task(task: str, task_options: str):
    return make_task(task, **json.loads(task_options))


def _verify(task, task_options, answer, numbers, steps, text) -> float:
    problem = Problem("", str(answer), tuple(int(x) for x in numbers or ()), tuple(int(x) for x in steps or ()))
    return _task(task, task_options).reward(problem, text, finished=True)


def verify(row: dict, text: str) -> float:
    """Binary reward of completion ``text`` for a row of :func:`task_rows` (1.0 when correct)."""
    return _verify(row["task"], row["task_options"], row["answer"], row["numbers"], row["steps"], text)


# ---------------------------------------------------------------------------------------------------
# Framework formats
# ---------------------------------------------------------------------------------------------------
def _messages(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def trl_rows(rows: list[dict], *, conversational: bool = True) -> list[dict]:
    """TRL's prompt-only format: ``prompt`` plus the columns :func:`trl_reward` reads."""
    return [{**{k: r[k] for k in ("answer", "numbers", "steps", "task", "task_options", "prompt_id")},
             "prompt": _messages(r["prompt"]) if conversational else r["prompt"]} for r in rows]


def verl_rows(rows: list[dict], *, split: str = "train") -> list[dict]:
    """verl's RL data set rows (``data_source``, ``prompt``, ``reward_model``, ``extra_info``)."""
    return [{"data_source": f"rlvr_lab/{r['task']}", "prompt": _messages(r["prompt"]), "ability": "math",
             "reward_model": {"style": "rule", "ground_truth": r["answer"]},
             "extra_info": {"index": r["index"], "split": split, "numbers": r["numbers"], "steps": r["steps"],
                            "task": r["task"], "task_options": r["task_options"]}} for r in rows]


def openrlhf_rows(rows: list[dict]) -> list[dict]:
    """OpenRLHF rows: ``prompt`` (use ``--input_key prompt --apply_chat_template``) and ``label``
    (``--label_key label``), a JSON string with what :func:`reward_func` needs."""
    return [{"prompt": r["prompt"],
             "label": json.dumps({k: r[k] for k in ("answer", "numbers", "steps", "task", "task_options")})}
            for r in rows]


def trl_dataset(task: str, n: int, seed: int = 0, *, conversational: bool = True, **options):
    """An in-memory ``datasets.Dataset`` in TRL's format (needs ``datasets``)."""
    from datasets import Dataset

    return Dataset.from_list(trl_rows(task_rows(task, n, seed, **options), conversational=conversational))


# ---------------------------------------------------------------------------------------------------
# Reward functions
# ---------------------------------------------------------------------------------------------------
def _text(completion) -> str:
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role", "assistant") == "assistant")


def trl_reward(prompts, completions, answer, numbers, steps, task, task_options, **kwargs) -> list[float]:
    """TRL reward function (pass as ``reward_funcs=trl_reward``): the task's verifier per completion."""
    return [_verify(*args, _text(c)) for c, *args in zip(completions, task, task_options, answer, numbers, steps,
                                                         strict=True)]


trl_reward.__name__ = "rlvr_lab_verifier"  # the name TRL logs the reward under


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """verl custom reward function (``custom_reward_function.path=<this file>``, ``.name=compute_score``)."""
    if not str(data_source).startswith("rlvr_lab/") or extra_info is None:
        raise ValueError(f"compute_score scores rlvr-lab data sets only (data_source 'rlvr_lab/<task>' with "
                         f"extra_info); got data_source {data_source!r}")
    return _verify(extra_info["task"], extra_info["task_options"], ground_truth, extra_info.get("numbers"),
                   extra_info.get("steps"), solution_str)


def reward_func(queries, prompts, labels, **kwargs):
    """OpenRLHF ``--remote_rm_url <this file>`` reward: {"rewards", "scores", "extra_logs"} as tensors.

    ``queries`` are prompt + response; the response is what follows the prompt.
    """
    import torch

    out = []
    for q, p, label in zip(queries, prompts, labels, strict=True):
        info = json.loads(label)
        response = q[len(p):] if q.startswith(p) else q
        out.append(_verify(info["task"], info["task_options"], info["answer"], info.get("numbers"),
                           info.get("steps"), response))
    r = torch.tensor(out, dtype=torch.float32)
    return {"rewards": r, "scores": r, "extra_logs": {"accuracy": r}}


# ---------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------
def export(task: str, n: int, out, *, fmt: str, seed: int = 0, split: str = "train", **options) -> Path:
    """Write ``n`` problems of ``task`` in format ``fmt`` ("trl", "openrlhf": jsonl; "verl": parquet)."""
    fmt = check_choice("format", fmt, FORMATS)
    rows = task_rows(task, n, seed, **options)
    out = Path(out)
    if fmt == "verl":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("format 'verl' writes parquet and needs pyarrow (pip install pyarrow; it comes "
                             "with verl and with 'rlvr-lab[trl]')") from None
        table = pa.Table.from_pylist(verl_rows(rows, split=split))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".partial")
        pq.write_table(table, tmp)
        tmp.replace(out)
        return out
    data = trl_rows(rows) if fmt == "trl" else openrlhf_rows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in data))
    tmp.replace(out)
    return out
