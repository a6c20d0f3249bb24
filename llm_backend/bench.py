"""Benchmark: rollout tokens/s of the KV-cache sampler against ``model.generate`` without and with
its cache, on the same prompts and the same amount of work (every row runs to the horizon).

``rlvr-lab bench`` discovers :func:`bench_cases`. Quick: the ``tiny`` model, 16 rows x 32 tokens.
Full: SmolLM2-135M (when installed), 4 prompts x 4 rollouts x 24 tokens (CPU-sized).

Example::

    >>> [c.name for c in bench_cases(quick=True)]
    ['llm-rollouts-tiny']
"""

from __future__ import annotations

import torch

from theory.bench import BenchCase
from llm_backend.models import find_smollm2_gguf, load_model
from llm_backend.sampling import encode_prompts, sample
from llm_backend.tasks import chat_prompt, make_task

__all__ = ["bench_cases"]


def _generate(lm, prompts, horizon, use_cache):
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
                                 min_new_tokens=horizon, use_cache=use_cache, pad_token_id=pad)


def bench_cases(quick: bool) -> list[BenchCase]:
    """One case: sampler vs generate(use_cache=False) vs generate(use_cache=True)."""
    name = "tiny" if quick or find_smollm2_gguf() is None else "smollm2-135m"
    n_prompts, group, horizon = (4, 4, 32) if quick else (4, 4, 24)
    state = {}

    def setup():
        lm = load_model(name)
        task = make_task("arithmetic")
        texts = [chat_prompt(lm.tokenizer, p) for p in task.problems(n_prompts, seed=0)]
        rows = [p for p in encode_prompts(lm.tokenizer, texts) for _ in range(group)]
        state.update(lm=lm, rows=rows)
        sample(lm, rows[:2], horizon=2, seed=0)  # warm-up

    def ours():
        return sample(state["lm"], state["rows"], horizon=horizon, seed=0, ignore_eos=True)

    def gen_nocache():
        return _generate(state["lm"], state["rows"], horizon, use_cache=False)

    def gen_cache():
        return _generate(state["lm"], state["rows"], horizon, use_cache=True)

    return [BenchCase(
        name=f"llm-rollouts-{'tiny' if name == 'tiny' else 'smollm2'}", unit="tokens",
        work=float(n_prompts * group * horizon),
        candidates={"generate, no cache": gen_nocache, "generate, cache": gen_cache,
                    "kv sampler (shared prefill)": ours},
        reference="generate, no cache", setup=setup,
        note=f"{name}: {n_prompts} prompts x {group} rollouts x {horizon} tokens, every row to the horizon; "
             "the sampler prefills each distinct prompt once and records log-probs and entropies",
        targets={"kv sampler (shared prefill)": ">= generate, cache"})]
