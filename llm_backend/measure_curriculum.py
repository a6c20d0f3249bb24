"""Paper D on a real model: prompt perplexity under the model against the pass rate.

PPL_i = exp(-(1/T) sum_t log pi(x_{i,t} | x_{i,<t})) over the prompt's tokens [V, paper D (a)].
Which tokens: the model sees the chat-formatted prompt; we average over the tokens of the *problem
text only* (the user message), conditioned on everything before it (system prompt, role markers).
The template's fixed tokens are the same for every prompt and would only dilute the differences
[modelling choice, R]. The first problem token is scored too (conditioned on the template prefix).

Pass rate: the fraction of a prompt's G rollouts with a correct answer within H (from
``rlvr-lab llm xi`` rollouts or fresh ones). Reported: Spearman's rank correlation with a
bootstrap interval over prompts, its p-value, and a quantile-bin table (deciles when N >= 50,
otherwise N // 5 bins) like paper D's Fig. F1.

Example::

    >>> import numpy as np
    >>> s = ppl_passrate_summary(np.array([2.0, 3.0, 4.0, 5.0, 6.0]), np.array([.9, .5, .4, .2, 0.]))
    >>> round(s["spearman"], 3)
    -1.0
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from theory.stats import bootstrap_ci
from llm_backend.tasks import chat_prompt

__all__ = ["prompt_perplexity", "ppl_passrate_summary"]


def prompt_perplexity(lm, problems, *, system: str | None = None) -> np.ndarray:
    """PPL of each problem's text inside its chat-formatted prompt -> (N,) float64."""
    import torch  # the llm extra; the summary below needs only numpy/scipy

    with torch.inference_mode():
        return np.array([_ppl_one(torch, lm, p, system) for p in problems])


def _ppl_one(torch, lm, p, system) -> float:
    """Perplexity of one problem's text given the template's context."""
    tok = lm.tokenizer
    text = chat_prompt(tok, p, system)
    start = text.rfind(p.prompt)
    if start < 0:
        raise ValueError("the chat template altered the problem text; cannot locate it")
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    span = [i for i, (a, b) in enumerate(offsets) if a >= start and b <= start + len(p.prompt) and b > a]
    span = [i for i in span if i > 0]  # a token needs a context
    x = torch.tensor([ids], device=lm.device)
    logp = torch.log_softmax(lm.model(input_ids=x).logits[0].float(), dim=-1)  # (L, V)
    lp = torch.stack([logp[i - 1, ids[i]] for i in span])
    return float(torch.exp(-lp.mean()))


def ppl_passrate_summary(ppl, passrate, *, seed: int = 0) -> dict:
    """Spearman(PPL, pass rate) with a 95% bootstrap interval, p-value and a quantile-bin table."""
    ppl, passrate = np.asarray(ppl, dtype=np.float64), np.asarray(passrate, dtype=np.float64)
    n = ppl.size
    if n < 3 or n != passrate.size:
        raise ValueError(f"ppl and passrate must have the same length >= 3; got {ppl.size}, {passrate.size}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.spearmanr(ppl, passrate)
    rho = float(res.statistic) if np.isfinite(res.statistic) else 0.0

    def stat(idx):
        with warnings.catch_warnings():  # a resample with constant pass rates has no correlation
            warnings.simplefilter("ignore")
            r = stats.spearmanr(ppl[idx.astype(int)], passrate[idx.astype(int)]).statistic
        return r if np.isfinite(r) else 0.0

    lo, hi = bootstrap_ci(np.arange(n), stat, n_boot=2000, seed=seed)
    bins = 10 if n >= 50 else max(2, n // 5)
    order = np.argsort(ppl, kind="stable")
    groups = np.array_split(order, bins)
    table = [{"bin": k + 1, "n": int(g.size), "ppl_median": float(np.median(ppl[g])),
              "passrate_mean": float(passrate[g].mean())} for k, g in enumerate(groups)]
    return {"n_prompts": n, "spearman": rho, "spearman_ci95": [lo, hi], "p_value": float(res.pvalue)
            if np.isfinite(res.pvalue) else 1.0, "bins": table}
