"""The measurement runs behind ``rlvr-lab llm xi|ppl|weights``: sample, measure, assemble a result.

Each function loads the model, draws ``prompts`` problems of the task with the run's seed, samples
``group`` rollouts per problem to the horizon (progress bar on stderr), computes the paper's
quantities (``measure_budget``, ``measure_curriculum``, ``measure_weighting``) and returns a JSON-able
result with its provenance header (``llm_backend.results.run_header``), the per-prompt data, the
sample sizes and the sampler's throughput. Nothing is written here; the CLI writes the file.

Example::

    >>> res = run_xi(model="tiny", task="arithmetic", task_options={"digits": 1}, prompts=2, group=2,
    ...              horizon=6, command="doctest", progress=False)
    >>> res["summary"]["rollouts"]
    4
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from theory.checks import check_int
from llm_backend.measure_budget import xi_summary
from llm_backend.measure_curriculum import ppl_passrate_summary, prompt_perplexity
from llm_backend.measure_weighting import rho_summary
from llm_backend.models import load_model
from llm_backend.results import read_result, run_header
from llm_backend.rollouts import group_rollouts
from llm_backend.tasks import make_task

__all__ = ["run_xi", "run_ppl", "run_weights", "sample_task"]


def sample_task(*, model, task, task_options, prompts, group, horizon, temperature=1.0, top_p=1.0,
                batch_size=48, seed=0, device=None, progress=True, lm=None):
    """Load, draw problems, roll out: (lm, task, problems, GroupRollouts, sampling stats)."""
    prompts = check_int("prompts", prompts, low=1)
    group = check_int("group", group, low=1)
    lm = lm or load_model(model, device=device, seed=seed)
    tk = make_task(task, **(task_options or {}))
    problems = tk.problems(prompts, seed=seed)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=prompts * group, desc=f"rollouts {task}", unit="row")
    t0 = time.perf_counter()
    gr = group_rollouts(lm, tk, problems, group=group, horizon=horizon, temperature=temperature, top_p=top_p,
                        seed=seed, batch_size=batch_size, progress=bar.update if bar else None)
    secs = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    tokens = int(gr.rollouts.mask.sum())
    stats = {"generated_tokens": tokens, "sampling_seconds": round(secs, 2),
             "tokens_per_second": round(tokens / secs, 2) if secs > 0 else None,
             "ended_with_eos": float(gr.rollouts.ended.mean())}
    return lm, tk, problems, gr, stats


def _settings(task, tk, prompts, group, horizon, temperature, top_p, seed):
    return {"task": tk.describe(), "prompts": prompts, "group": group, "horizon": horizon,
            "temperature": temperature, "top_p": top_p, "seed": seed, "problem_seed": seed}


def _examples(lm, problems, gr, k=3):
    out = []
    for i in range(min(k, len(problems))):
        row = i * gr.group
        out.append({"prompt": problems[i].prompt, "answer": problems[i].answer,
                    "response": lm.tokenizer.decode(gr.rollouts.response_ids(row)),
                    "T": gr.times[i, 0]})
    return out


def run_xi(*, model="smollm2-135m", task="arithmetic", task_options=None, prompts=48, group=6, horizon=80,
           xi_horizon=None, temperature=1.0, top_p=1.0, batch_size=48, seed=0, device=None, command="",
           started=None, progress=True) -> dict:
    """Paper A: solution times of G rollouts per prompt, E[T] (censored MLE), xi, q(H), regimes."""
    started = time.time() if started is None else started
    lm, tk, problems, gr, stats = sample_task(model=model, task=task, task_options=task_options, prompts=prompts,
                                              group=group, horizon=horizon, temperature=temperature,
                                              top_p=top_p, batch_size=batch_size, seed=seed, device=device,
                                              progress=progress)
    summary = xi_summary(gr.times, horizon, xi_horizon)
    return {"kind": "xi", **run_header(command=command, seed=seed, model=model, started=started),
            "settings": _settings(task, tk, prompts, group, horizon, temperature, top_p, seed),
            "sampling": stats, "summary": summary,
            "problems": [{"prompt": p.prompt, "answer": p.answer} for p in problems],
            "examples": _examples(lm, problems, gr),
            "sample_size": {"prompts": prompts, "rollouts_per_prompt": group, "rollouts": prompts * group}}


def run_ppl(*, model="smollm2-135m", task="arithmetic", task_options=None, prompts=48, group=6, horizon=80,
            temperature=1.0, top_p=1.0, batch_size=48, seed=0, device=None, command="", started=None,
            from_xi: Path | None = None, progress=True) -> dict:
    """Paper D: prompt PPL under the model against pass rate (fresh rollouts or an xi result's)."""
    started = time.time() if started is None else started
    if from_xi is not None:
        src = read_result(from_xi)
        if src.get("kind") != "xi":
            raise ValueError(f"from_xi must be a result written by `rlvr-lab llm xi`; {from_xi} is not")
        st = src["settings"]
        model, seed = src["model"], st["seed"]
        tk = make_task(st["task"]["task"], **{k: v for k, v in st["task"].items() if k != "task"})
        problems = tk.problems(st["prompts"], seed=st["problem_seed"])
        times = np.array([[np.inf if t == "inf" else t for t in row] for row in src["summary"]["per_prompt"]["times"]],
                         dtype=np.float64)
        horizon, group = st["horizon"], st["group"]
        passrate = (times <= horizon).mean(1)
        lm = load_model(model, device=device, seed=seed)
        stats = {"reused_rollouts_from": str(from_xi)}
        settings = {**st, "rollouts_from": str(from_xi)}
    else:
        lm, tk, problems, gr, stats = sample_task(model=model, task=task, task_options=task_options,
                                                  prompts=prompts, group=group, horizon=horizon,
                                                  temperature=temperature, top_p=top_p, batch_size=batch_size,
                                                  seed=seed, device=device, progress=progress)
        passrate = gr.rewards().mean(1)
        settings = _settings(task, tk, prompts, group, horizon, temperature, top_p, seed)
    ppl = prompt_perplexity(lm, problems)
    summary = ppl_passrate_summary(ppl, passrate, seed=seed)
    return {"kind": "ppl", **run_header(command=command, seed=seed, model=model, started=started),
            "settings": settings, "sampling": stats, "summary": summary,
            "per_prompt": {"ppl": ppl, "passrate": passrate, "prompt": [p.prompt for p in problems]},
            "sample_size": {"prompts": len(problems), "rollouts_per_prompt": group,
                            "rollouts": len(problems) * group}}


def run_weights(*, model="smollm2-135m", task="countdown", task_options=None, prompts=16, group=8, horizon=96,
                temperature=1.0, top_p=1.0, batch_size=48, seed=0, device=None, command="", started=None,
                target=0.5, estimators=("grpo", "rloo", "dapo", "linear_r", "sqrt_r"), progress=True) -> dict:
    """Paper B: rho_hat at the start of training and each weighting's predicted time to target."""
    started = time.time() if started is None else started
    lm, tk, problems, gr, stats = sample_task(model=model, task=task, task_options=task_options, prompts=prompts,
                                              group=group, horizon=horizon, temperature=temperature,
                                              top_p=top_p, batch_size=batch_size, seed=seed, device=device,
                                              progress=progress)
    summary = rho_summary(gr.rewards(), estimators=estimators, target=target)
    return {"kind": "weights", **run_header(command=command, seed=seed, model=model, started=started),
            "settings": _settings(task, tk, prompts, group, horizon, temperature, top_p, seed),
            "sampling": stats, "summary": summary, "examples": _examples(lm, problems, gr),
            "times": gr.times,
            "sample_size": {"prompts": prompts, "rollouts_per_prompt": group, "rollouts": prompts * group}}
