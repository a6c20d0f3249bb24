"""Benchmark: the sampler and the training step against this machine's matmul limit, measured in
the same process, for the run's dtype and batch.

``rlvr-lab bench`` discovers :func:`bench_cases` and prints :func:`bench_report` after them.

- ``llm-sampler-<model>-<dtype>-b<B>``: tokens/s of the in-place-cache sampler (every row to the
  horizon) and of ``model.generate`` with its cache, against the **matmul limit**: the model's own
  linear layers (every ``nn.Linear``, output head included) applied to B rows in the run's dtype,
  i.e. the matrix products one decoding step cannot avoid, without attention, sampling or
  framework overhead. The ratio to it is the fraction of the limit reached.
- ``llm-train-step-<dtype>``: one trainer step (``trainer._step``: sampling, forward+loss,
  backward, optimizer) on P x G rollouts of H tokens, against the matmul limit of its training
  part (forward + backward ~ 3 x the forward matmuls of the packed batch at every position, the
  output head at response positions only). :func:`bench_report` prints the split by phase.

Quick: the ``tiny`` model, float32, 16 rows x 16 tokens, a 2 x 4 x 8 step. Full: SmolLM2-135M
(when installed): sampling fp32 at batch 64 and bf16 at batch 256, H = 32; training steps of
8 x 8 = 64 rollouts x 32 tokens in fp32 and bf16. Issue 13's targets (2 cores): >= 800 tok/s in
bf16 at batch 256; a 64 x 32 training step in <= 15 s. Timings on a shared machine are
pessimistic; the ratios to the same-process limit are the comparable numbers.

Example::

    >>> [c.name for c in bench_cases(quick=True)]
    ['llm-sampler-tiny-float32-b16', 'llm-train-step-tiny-float32']
"""

from __future__ import annotations

import time

import torch

from theory.bench import BenchCase
from llm_backend.models import find_smollm2_gguf, load_model
from llm_backend.sampling import encode_prompts, sample
from llm_backend.tasks import chat_prompt, make_task

__all__ = ["bench_cases", "bench_report"]

_REPORT: dict = {}


def _rows(lm, n_prompts, group):
    task = make_task("arithmetic")
    texts = [chat_prompt(lm.tokenizer, p) for p in task.problems(n_prompts, seed=0)]
    return [p for p in encode_prompts(lm.tokenizer, texts) for _ in range(group)]


def _linears(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


def _matmul_step(model, rows: int, head_rows: int | None = None, dtype=None):
    """A callable applying every linear layer of ``model`` to ``rows`` random rows (the output head
    to ``head_rows``): the unavoidable matrix products of one forward step."""
    head = model.get_output_embeddings()
    p = next(model.parameters())
    dt = dtype or p.dtype
    work = []
    for lin in _linears(model):
        n = head_rows if (lin is head and head_rows is not None) else rows
        work.append((torch.randn(n, lin.in_features, dtype=dt, device=p.device), lin.weight.to(dt)))

    @torch.inference_mode()
    def run():
        for x, w in work:
            torch.nn.functional.linear(x, w)
    return run


def _generate(lm, prompts, horizon):
    pad = lm.pad_id
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        attn[i, width - len(p):] = 1
    with torch.inference_mode():
        return lm.model.generate(input_ids=ids.to(lm.device), attention_mask=attn.to(lm.device),
                                 do_sample=True, top_k=0, temperature=1.0, max_new_tokens=horizon,
                                 min_new_tokens=horizon, use_cache=True, pad_token_id=pad)


def _sampler_case(name, dtype, batch, horizon, with_generate):
    state = {}
    short = "tiny" if name == "tiny" else "smollm2"

    def setup():
        lm = load_model(name, dtype=dtype)
        rows = _rows(lm, max(1, batch // 8), 8)[:batch]
        state.update(lm=lm, rows=rows, limit=_matmul_step(lm.model, len(rows)))

    def ours():
        return sample(state["lm"], state["rows"], horizon=horizon, seed=0, ignore_eos=True, batch_size=batch)

    def limit():
        for _ in range(horizon):
            state["limit"]()

    cands = {"matmul limit (linear layers, same rows)": limit, "kv sampler (in-place cache)": ours}
    if with_generate:
        cands["generate, cache"] = lambda: _generate(state["lm"], state["rows"], horizon)
    return BenchCase(
        name=f"llm-sampler-{short}-{dtype}-b{batch}", unit="tokens", work=float(batch * horizon),
        candidates=cands, reference="matmul limit (linear layers, same rows)", setup=setup,
        note=f"{name} {dtype}: {batch} rows x {horizon} tokens, every row to the horizon; the ratio to the "
             "reference is the fraction of this machine's matmul limit reached",
        targets={"kv sampler (in-place cache)": ">= 800 tok/s" if (dtype == "bfloat16" and batch == 256) else ""})


def _train_case(name, dtype, prompts, group, horizon):
    from llm_backend import trainer
    from llm_backend.config import TrainConfig

    state = {}
    short = "tiny" if name == "tiny" else "smollm2"
    key = f"llm-train-step-{short}-{dtype}"

    def setup():
        cfg = TrainConfig(model=name, dtype=dtype, task="arithmetic", task_options={"digits": 1},
                          estimator="linear_r", prompts=prompts, group=group, pool=max(prompts, 16), horizon=horizon,
                          batch_size=prompts * group, lr=1e-6, out_dir="unused").validate()
        lm = load_model(name)
        lm.dtype = dtype
        slm = trainer._sampler_model(lm)
        task = make_task(cfg.task, **cfg.task_options)
        pool = task.problems(cfg.pool, seed=0)
        opt = torch.optim.AdamW(lm.model.parameters(), lr=cfg.lr)
        state.update(cfg=cfg, lm=lm, slm=slm, task=task, pool=pool, opt=opt, step=0)
        rows = _rows(lm, prompts, group)
        width = max(len(r) for r in rows) + horizon
        fwd = _matmul_step(lm.model, len(rows) * width, head_rows=len(rows) * horizon,
                           dtype=torch.bfloat16 if dtype == "bfloat16" else torch.float32)
        state["limit"] = lambda: [fwd() for _ in range(3)]  # forward + backward ~ 3 forward matmuls

    def step():
        state["step"] += 1
        rec = trainer._step(state["cfg"], state["lm"], state["slm"], None, state["opt"], state["task"],
                            state["pool"], state["step"], None, lambda point: None)
        _REPORT[key] = rec["phase_seconds"] | {"tokens": rec["tokens"]}
        return rec

    def train_limit():
        t0 = time.perf_counter()
        state["limit"]()
        _REPORT[key + ":limit"] = time.perf_counter() - t0

    return BenchCase(
        name=key, unit="steps", work=1.0,
        candidates={"matmul limit (3 x forward matmuls of the batch)": train_limit,
                    f"train step ({prompts}x{group} rollouts x {horizon} tokens)": step},
        reference="matmul limit (3 x forward matmuls of the batch)", setup=setup,
        note=f"{name} {dtype}: sampling + forward/loss + backward + AdamW; the limit counts the training "
             "part's matmuls only (sampling is benchmarked above)",
        targets={f"train step ({prompts}x{group} rollouts x {horizon} tokens)":
                 "<= 15 s" if prompts * group == 64 and horizon == 32 else ""})


def bench_cases(quick: bool) -> list[BenchCase]:
    """Sampler and training-step cases (module docstring)."""
    if quick or find_smollm2_gguf() is None:
        return [_sampler_case("tiny", "float32", 16, 16, with_generate=True),
                _train_case("tiny", "float32", 2, 4, 8)]
    return [_sampler_case("smollm2-135m", "float32", 64, 32, with_generate=True),
            _sampler_case("smollm2-135m", "bfloat16", 256, 32, with_generate=False),
            _train_case("smollm2-135m", "float32", 8, 8, 32),
            _train_case("smollm2-135m", "bfloat16", 8, 8, 32)]


def bench_report() -> list[str]:
    """The last training steps' split by phase (seconds) from the cases above."""
    lines = []
    for key, split in _REPORT.items():
        if key.endswith(":limit"):
            continue
        total = sum(v for k, v in split.items() if k != "tokens")
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in split.items() if k != "tokens")
        lines.append(f"{key}: {total:.2f} s per step ({parts}; {split['tokens']} generated tokens)")
    return lines
