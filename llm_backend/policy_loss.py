"""The policy-gradient loss on real rollouts: token log-probabilities with gradient, PPO clip, KL to
a frozen reference, and the three loss aggregations.

Per token t of kept response i with advantage A_i (from the estimator registry, a constant over the
response) and ratio s_it = exp(logp_it - logp_old_it):

    l_it = -min(s_it A_i, clip(s_it, 1 - eps_low, 1 + eps_high) A_i)  (PPO clip; without a clip
           l_it = -s_it A_i, whose gradient at s = 1 is the REINFORCE term -A_i grad logp_it)
         + beta * k3_it,  k3 = exp(ref - logp) - (ref - logp) - 1  (Schulman's unbiased KL estimator)

Aggregations (reference/rlvr_frameworks.md; the frameworks disagree, so this is explicit):

- ``token-mean``: sum over all tokens / number of tokens (DAPO, verl's default);
- ``seq-mean-token-mean``: mean over responses of each response's token mean (GRPO paper);
- ``constant``: sum over all tokens / (number of responses x horizon) (Dr.GRPO's constant normaliser).

Example::

    >>> import torch
    >>> lp = torch.zeros(2, 3); m = torch.tensor([[1., 1, 0], [1, 0, 0]])
    >>> aggregate(lp + 1.0, m, "token-mean").item(), aggregate(lp + 1.0, m, "constant", horizon=3).item()
    (1.0, 0.5)
"""

from __future__ import annotations

import torch

from theory.checks import check_choice
from llm_backend.config import AGGREGATIONS

__all__ = ["AGGREGATIONS", "aggregate", "token_logprobs", "response_logprobs", "pack", "token_losses"]



def aggregate(values: torch.Tensor, mask: torch.Tensor, how: str, *, horizon: int | None = None) -> torch.Tensor:
    """Reduce per-token ``values`` (B, L) over ``mask`` (B, L) with one of :data:`AGGREGATIONS`."""
    how = check_choice("loss_agg", how, AGGREGATIONS)
    if how == "token-mean":
        return (values * mask).sum() / mask.sum().clamp(min=1)
    if how == "seq-mean-token-mean":
        per = (values * mask).sum(1) / mask.sum(1).clamp(min=1)
        return per.mean()
    if horizon is None:
        raise ValueError("horizon is required for the constant normaliser")
    return (values * mask).sum() / (values.shape[0] * horizon)


def pack(prompts, responses, pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded prompt+response ids (B, L), attention mask (B, L), and the response mask
    (B, L-1) aligned with the next-token log-probabilities."""
    seqs = [list(p) + list(r) for p, r in zip(prompts, responses)]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(seqs), width), dtype=torch.long)
    resp = torch.zeros((len(seqs), width - 1))
    for i, (p, s) in enumerate(zip(prompts, seqs)):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        attn[i, : len(s)] = 1
        resp[i, len(p) - 1: len(s) - 1] = 1.0  # position t predicts token t + 1
    return ids.to(device), attn.to(device), resp.to(device)


def token_logprobs(model, ids: torch.Tensor, attn: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log pi(ids[:, t+1] | ids[:, :t+1]) under softmax(logits / temperature) -> (B, L-1)."""
    logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1].float() / temperature
    return torch.log_softmax(logits, dim=-1).gather(2, ids[:, 1:].unsqueeze(2)).squeeze(2)


def token_losses(logp, old_logp, adv, *, clip_low: float | None, clip_high: float | None,
                 ref_logp=None, kl_coef: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token loss (B, L) and the per-token k3 KL (or None); ``adv`` (B,) broadcast over tokens."""
    ratio = torch.exp(logp - old_logp)
    a = adv.unsqueeze(1)
    loss = -ratio * a
    if clip_low is not None:
        clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * a
        loss = -torch.minimum(ratio * a, clipped)
    kl = None
    if ref_logp is not None:
        d = ref_logp - logp
        kl = torch.exp(d) - d - 1.0
        loss = loss + kl_coef * kl
    return loss, kl


def response_logprobs(model, ids: torch.Tensor, attn: torch.Tensor, rmask: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
    """:func:`token_logprobs` at the response positions only (``rmask`` (B, L-1) from :func:`pack`),
    zero elsewhere -> (B, L-1).

    The decoder runs on every position (attention needs them) but the output head — a
    (hidden x vocabulary) matmul and a log-softmax over 49k tokens per position, most of a step's
    cost — only where ``rmask`` is 1 (responses are a minority of positions: prompts are long).
    Equal to :func:`token_logprobs` on the mask (tested).
    """
    base = getattr(model, model.base_model_prefix)
    hidden = base(input_ids=ids, attention_mask=attn).last_hidden_state[:, :-1]  # (B, L-1, D)
    sel = rmask.bool()
    logits = model.get_output_embeddings()(hidden[sel]).float() / temperature  # (n, V)
    tgt = ids[:, 1:][sel]
    lp = torch.log_softmax(logits, dim=-1).gather(1, tgt.unsqueeze(1)).squeeze(1)
    out = torch.zeros(rmask.shape, dtype=lp.dtype, device=lp.device)
    return out.masked_scatter(sel, lp)
