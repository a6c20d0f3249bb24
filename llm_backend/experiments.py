"""The measurement runs behind ``rlvr-lab llm xi|ppl|weights``: sample, measure, assemble a result.

Each function takes its typed config (``llm_backend.config``), loads the model, draws ``prompts``
problems of the task with the run's seed, samples ``group`` rollouts per problem to the horizon
(progress bar on stderr), computes the paper's quantities (``measure_budget``,
``measure_curriculum``, ``measure_weighting``) and returns a JSON-able result with its provenance
header (``llm_backend.results.run_header``, dtype included), the per-prompt data, the sample
sizes and the sampler's throughput. The CLI writes the result file, then calls :func:`finish`.

Resumable: the problems are processed in chunks of ``max(1, batch_size // group)`` prompts (a
function of the config only). Each finished chunk (solution times, perplexities, example
responses, token counts) is appended as one JSON line to ``<out>.partial.jsonl`` (flushed and
fsynced; its first line is the config). ``resume=True`` reads the finished chunks back and
samples only the rest; rows keep their global index, so their uniforms, tokens and the final
result are those of an uninterrupted run (tested). A partial file with another configuration is
refused; without ``resume`` an existing partial file is an error, never silently overwritten.

Example::

    >>> import tempfile, os
    >>> from llm_backend.config import ModelConfig, TaskConfig, XiConfig
    >>> cfg = XiConfig(model=ModelConfig(name="tiny"), task=TaskConfig(task_options={"digits": 1},
    ...                prompts=2, group=2, horizon=6), out=os.path.join(tempfile.mkdtemp(), "xi.json"))
    >>> res = run_xi(cfg.validate(), command="doctest", progress=False)
    >>> res["summary"]["rollouts"], res["dtype"]
    (4, 'float32')
"""

from __future__ import annotations

import json
import time

import numpy as np

from llm_backend.config import CompositionConfig, PplConfig, WeightsConfig, XiConfig, config_dict
from llm_backend.measure_composition import composition_summary
from llm_backend.measure_budget import xi_summary
from llm_backend.measure_curriculum import ppl_passrate_summary, prompt_perplexity
from llm_backend.measure_weighting import rho_summary
from llm_backend.models import load_model
from llm_backend.partial import append_record, partial_key, read_records
from llm_backend.results import read_result, run_header
from llm_backend.rollouts import group_rollouts
from llm_backend.tasks import make_task

__all__ = ["run_xi", "run_ppl", "run_weights", "run_composition", "finish", "measure_chunks"]

N_EXAMPLES = 3


def _key(cfg) -> dict:
    """The part of a config that decides the numbers (not where they are written, not the device)."""
    return partial_key(config_dict(cfg))


def measure_chunks(cfg, lm, tk, problems, *, sample: bool, ppl: bool, progress: bool,
                   steps: bool = False) -> list[dict]:
    """Per-chunk records for ``problems`` (resuming from and appending to ``cfg.partial_path()``)."""
    path, key = cfg.partial_path(), _key(cfg)
    g = cfg.task.group
    size = max(1, cfg.sampling.batch_size // g)
    starts = list(range(0, len(problems), size))
    done: list[dict] = []
    if path.exists():
        if not cfg.resume:
            raise ValueError(f"out: a partial result of an interrupted run exists at {path}; pass --resume to "
                             "continue it, or delete it")
        done = [c for c in read_records(path, key, what="rlvr-lab") if c.get("start") in starts][: len(starts)]
        done = [c for i, c in enumerate(done) if c["start"] == starts[i]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:  # rewritten: the header, the chunks kept, then new chunks as they finish
        append_record(f, {"config": key})
        for c in done:
            append_record(f, c)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(problems), initial=sum(c["n"] for c in done), unit="prompt",
                       desc=f"{cfg.task.task} (resumed)" if done else cfg.task.task)
        try:
            for start in starts[len(done):]:
                part = problems[start: start + size]
                rec = {"start": start, "n": len(part)}
                if sample:
                    t0 = time.perf_counter()
                    gr = group_rollouts(lm, tk, part, group=g, horizon=cfg.task.horizon,
                                        temperature=cfg.sampling.temperature, top_p=cfg.sampling.top_p,
                                        seed=cfg.sampling.seed, batch_size=cfg.sampling.batch_size,
                                        first_row=start * g)
                    rec.update(times=[[None if not np.isfinite(t) else float(t) for t in row] for row in gr.times],
                               tokens=int(gr.rollouts.mask.sum()), ended=int(gr.rollouts.ended.sum()),
                               seconds=time.perf_counter() - t0,
                               examples=[lm.tokenizer.decode(gr.rollouts.response_ids(i * g))
                                         for i in range(len(part)) if start + i < N_EXAMPLES])
                    if steps:  # per row: which intermediate results appear completed (paper E)
                        ro = gr.rollouts
                        rec["checks"] = [[tk.step_checks(part[i], lm.tokenizer.decode(ro.response_ids(i * g + j)),
                                                         bool(ro.ended[i * g + j])) for j in range(g)]
                                         for i in range(len(part))]
                if ppl:
                    rec["ppl"] = prompt_perplexity(lm, part).tolist()
                append_record(f, rec)
                done.append(rec)
                if bar is not None:
                    bar.update(len(part))
        finally:
            if bar is not None:
                bar.close()
    return done


def _times(chunks) -> np.ndarray:
    return np.array([[np.inf if t is None else t for t in row] for c in chunks for row in c["times"]],
                    dtype=np.float64)


def _stats(chunks, rows: int) -> dict:
    tokens = sum(c["tokens"] for c in chunks)
    secs = sum(c["seconds"] for c in chunks)
    return {"generated_tokens": tokens, "sampling_seconds": round(secs, 2),
            "tokens_per_second": round(tokens / secs, 2) if secs > 0 else None,
            "ended_with_eos": sum(c["ended"] for c in chunks) / rows}


def _examples(problems, chunks, times) -> list[dict]:
    texts = [t for c in chunks for t in c.get("examples", [])]
    return [{"prompt": problems[i].prompt, "answer": problems[i].answer, "response": texts[i], "T": times[i, 0]}
            for i in range(min(len(texts), len(problems)))]


def _settings(cfg, tk) -> dict:
    s = cfg.sampling
    return {"task": tk.describe(), "prompts": cfg.task.prompts, "group": cfg.task.group, "horizon": cfg.task.horizon,
            "temperature": s.temperature, "top_p": s.top_p, "seed": s.seed, "problem_seed": s.seed,
            "batch_size": s.batch_size}


def _header(kind, cfg, lm, command, started):
    return {"kind": kind, **run_header(command=command, seed=cfg.sampling.seed, model=cfg.model.name,
                                       started=started, dtype=lm.dtype, config=config_dict(cfg))}


def _setup(cfg):
    lm = load_model(cfg.model.name, device=cfg.model.device, seed=cfg.sampling.seed, dtype=cfg.model.dtype)
    tk = make_task(cfg.task.task, **cfg.task.task_options)
    return lm, tk, tk.problems(cfg.task.prompts, seed=cfg.sampling.seed)


def _sample_size(cfg, n=None):
    n = cfg.task.prompts if n is None else n
    return {"prompts": n, "rollouts_per_prompt": cfg.task.group, "rollouts": n * cfg.task.group}


def run_xi(cfg: XiConfig, *, command: str = "", started: float | None = None, progress: bool = True) -> dict:
    """Paper A: solution times of G rollouts per prompt, E[T] (censored MLE), xi, q(H), regimes."""
    started = time.time() if started is None else started
    lm, tk, problems = _setup(cfg)
    chunks = measure_chunks(cfg, lm, tk, problems, sample=True, ppl=False, progress=progress)
    times = _times(chunks)
    return {**_header("xi", cfg, lm, command, started), "settings": _settings(cfg, tk),
            "sampling": _stats(chunks, times.size), "summary": xi_summary(times, cfg.task.horizon, cfg.xi_horizon),
            "problems": [{"prompt": p.prompt, "answer": p.answer} for p in problems],
            "examples": _examples(problems, chunks, times), "sample_size": _sample_size(cfg)}


def run_ppl(cfg: PplConfig, *, command: str = "", started: float | None = None, progress: bool = True) -> dict:
    """Paper D: prompt PPL under the model against pass rate (fresh rollouts or an xi result's)."""
    started = time.time() if started is None else started
    if cfg.from_xi is not None:
        src = _read_xi(cfg.from_xi)
        st = src["settings"]
        tk = make_task(st["task"]["task"], **{k: v for k, v in st["task"].items() if k != "task"})
        problems = tk.problems(st["prompts"], seed=st["problem_seed"])
        times = np.array([[np.inf if t == "inf" else t for t in row] for row in src["summary"]["per_prompt"]["times"]],
                         dtype=np.float64)
        passrate = (times <= st["horizon"]).mean(1)
        dtype = src.get("dtype", cfg.model.dtype)
        lm = load_model(src["model"], device=cfg.model.device, seed=st["seed"], dtype=dtype)
        chunks = measure_chunks(cfg, lm, tk, problems, sample=False, ppl=True, progress=progress)
        stats, settings, group = {"reused_rollouts_from": str(cfg.from_xi)}, {**st, "rollouts_from": str(cfg.from_xi)}, st["group"]
        model, seed = src["model"], st["seed"]
    else:
        lm, tk, problems = _setup(cfg)
        chunks = measure_chunks(cfg, lm, tk, problems, sample=True, ppl=True, progress=progress)
        times = _times(chunks)
        passrate = (times <= cfg.task.horizon).mean(1)
        stats, settings, group = _stats(chunks, times.size), _settings(cfg, tk), cfg.task.group
        model, seed = cfg.model.name, cfg.sampling.seed
    ppl = np.array([v for c in chunks for v in c["ppl"]])
    summary = ppl_passrate_summary(ppl, passrate, seed=seed)
    head = run_header(command=command, seed=seed, model=model, started=started, dtype=lm.dtype, config=config_dict(cfg))
    return {"kind": "ppl", **head, "settings": settings, "sampling": stats, "summary": summary,
            "per_prompt": {"ppl": ppl, "passrate": passrate, "prompt": [p.prompt for p in problems]},
            "sample_size": {"prompts": len(problems), "rollouts_per_prompt": group, "rollouts": len(problems) * group}}


def _read_xi(path) -> dict:
    try:
        src = read_result(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"from_xi: {path} is not valid JSON ({err})") from None
    if not isinstance(src, dict) or src.get("kind") != "xi" or "settings" not in src or "summary" not in src:
        raise ValueError(f"from_xi must be a result written by `rlvr-lab llm xi`; {path} is not")
    return src


def run_weights(cfg: WeightsConfig, *, command: str = "", started: float | None = None,
                progress: bool = True) -> dict:
    """Paper B: rho_hat at the start of training and each weighting's predicted time to target."""
    started = time.time() if started is None else started
    lm, tk, problems = _setup(cfg)
    chunks = measure_chunks(cfg, lm, tk, problems, sample=True, ppl=False, progress=progress)
    times = _times(chunks)
    rewards = (times <= cfg.task.horizon).astype(np.float64)
    summary = rho_summary(rewards, estimators=tuple(cfg.estimators), target=cfg.target)
    return {**_header("weights", cfg, lm, command, started), "settings": _settings(cfg, tk),
            "sampling": _stats(chunks, times.size), "summary": summary,
            "examples": _examples(problems, chunks, times), "times": times, "sample_size": _sample_size(cfg)}


def run_composition(cfg: CompositionConfig, *, command: str = "", started: float | None = None,
                    progress: bool = True) -> dict:
    """Paper E: q+ / q- and the task-advantage ratio per intermediate step (``measure_composition``)."""
    started = time.time() if started is None else started
    lm, tk, problems = _setup(cfg)
    chunks = measure_chunks(cfg, lm, tk, problems, sample=True, ppl=False, progress=progress, steps=True)
    times = _times(chunks)
    checks = np.array([row for c in chunks for row in c["checks"]], dtype=bool)  # (N, G, S)
    summary = {**composition_summary(checks, times <= cfg.task.horizon), "num_prompts": len(problems),
               "group": cfg.task.group, "horizon": cfg.task.horizon}
    return {**_header("composition", cfg, lm, command, started), "settings": _settings(cfg, tk),
            "sampling": _stats(chunks, times.size), "summary": summary, "times": times, "checks": checks,
            "problems": [{"prompt": p.prompt, "answer": p.answer, "steps": list(p.steps)} for p in problems],
            "examples": _examples(problems, chunks, times), "sample_size": _sample_size(cfg)}


def finish(cfg) -> None:
    """Remove the partial file once the result file is written."""
    cfg.partial_path().unlink(missing_ok=True)
