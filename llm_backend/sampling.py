"""Batched rollouts with a KV cache: temperature / top-p sampling to a horizon H, with per-token
log-probabilities and entropies.

Algorithm: left-pad the distinct prompts and run one forward pass over them (transformers'
Cache API; only the last position's logits are computed, ``logits_to_keep=1``). The cache is
then moved into preallocated (rows, heads, prompt + H, dim) buffers — a prompt repeated G times
for a group is prefilled once and copied to its G rows once — which every later step writes in
place (no concatenation, which copied the whole cache at every token). Then one forward pass per
generated token on the last token only, with explicit ``position_ids`` so left padding does not
shift positions, and an attention mask preallocated to prompt + H whose next column is switched
on in place. The cache keyword is read from ``forward``'s signature (``cache`` in transformers
>= 5.2x, ``past_key_values`` before); where the cache layers are not transformers' plain
``DynamicLayer`` the model's own cache is used unchanged (same numbers, slower). A row that has
produced EOS keeps emitting padding (log-probability 0, entropy 0, ``mask`` 0).

Why not ``StaticCache``: it attends over the whole preallocated length with the unused positions
masked, which changes the attention's float reduction; in bfloat16 that moved tokens against
the concatenating sampler. The in-place layer hands attention exactly the prefix the
concatenating cache would hold, so tokens and log-probabilities equal the previous sampler's at
the same weights and dtype (tested against it, ``tests/llm_oracle.py``).

The CDF over the vocabulary is accumulated in float64. Float32 would be exact enough for the
distribution (relative error ~1e-5 on a 49k-token CDF) but not for reproducibility: a uniform
near a CDF boundary would pick a different token than the float64 CDF about once per 1e5 tokens,
breaking token identity with earlier runs and common-random-number pairing; the cast costs a few
percent of a step [R].

Sampling is inverse-CDF with one uniform per (row, step), drawn up front from a generator seeded
by ``(seed, row)``; with ``top_p < 1`` the CDF runs over the probability-sorted nucleus. So:

- a row's tokens are a function of (seed, row index, prompt) only: sampling in chunks of any
  ``batch_size`` gives the same tokens (up to float round-off of batched matmuls, which can move a
  uniform across a CDF boundary with probability ~1e-7 per token);
- sampling is causal, so the first H tokens of a horizon-H' rollout (H < H') ARE a horizon-H
  rollout with the same seed: one set of long rollouts gives every shorter horizon exactly.

``logprobs`` and ``entropies`` are those of the tempered distribution softmax(logits / temperature)
before the top-p cut (the policy whose score function the trainer uses); a modelling choice [R].

Example::

    >>> from llm_backend.models import load_model
    >>> lm = load_model("tiny")
    >>> ro = sample(lm, [[5, 6, 7]], horizon=4, seed=0)
    >>> ro.tokens.shape, bool(ro.mask.sum() <= 4)
    ((1, 4), True)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import torch

from theory.checks import check_int, check_real

__all__ = ["Rollouts", "sample", "encode_prompts", "row_uniforms"]


@dataclass
class Rollouts:
    """Generated tokens of B rows to horizon H (arrays on the CPU).

    ``tokens`` (B, H) int64, padding after the end; ``mask`` (B, H) 1 for generated tokens (EOS
    included); ``logprobs``/``entropies`` (B, H) float32; ``ended`` (B,) bool, EOS produced;
    ``prompts`` the prompt token ids per row.
    """

    tokens: np.ndarray
    mask: np.ndarray
    logprobs: np.ndarray
    entropies: np.ndarray
    ended: np.ndarray
    prompts: list
    horizon: int
    eos_id: int

    @property
    def lengths(self) -> np.ndarray:
        return self.mask.sum(axis=1)  # (B,)

    def truncate(self, horizon: int) -> "Rollouts":
        """The same rollouts at a shorter horizon (exact, by causality)."""
        h = check_int("horizon", horizon, low=1, high=self.horizon)
        tok = self.tokens[:, :h]
        ended = np.array([bool(np.any((tok[i] == self.eos_id) & (self.mask[i, :h] == 1)))
                          for i in range(tok.shape[0])])
        return Rollouts(tok.copy(), self.mask[:, :h].copy(), self.logprobs[:, :h].copy(),
                        self.entropies[:, :h].copy(), ended, self.prompts, h, self.eos_id)

    def response_ids(self, i: int) -> list[int]:
        """Generated ids of row ``i`` without padding and without the EOS token."""
        ids = self.tokens[i, : int(self.lengths[i])].tolist()
        return ids[:-1] if self.ended[i] else ids


def encode_prompts(tokenizer, texts) -> list[list[int]]:
    """Token ids of already-formatted prompt texts (no special tokens added: the template has them)."""
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def row_uniforms(seed: int, rows, horizon: int) -> torch.Tensor:
    """(len(rows), horizon) float64 uniforms; row r's come from a generator seeded by (seed, r)."""
    out = torch.empty(len(rows), horizon, dtype=torch.float64)
    for k, r in enumerate(rows):
        g = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(r)) % (2**63 - 1))
        out[k] = torch.rand(horizon, generator=g, dtype=torch.float64)
    return out


def _pick(probs: torch.Tensor, u: torch.Tensor, top_p: float) -> torch.Tensor:
    """Inverse-CDF draw of one token per row from ``probs`` (B, V) with uniforms ``u`` (B,)."""
    if top_p < 1.0:
        sp, idx = torch.sort(probs, dim=-1, descending=True)
        cum = sp.cumsum(-1)
        sp = torch.where(cum - sp >= top_p, torch.zeros_like(sp), sp)  # keep the nucleus
        cum = sp.cumsum(-1)
        k = torch.searchsorted(cum, (u * cum[:, -1].double()).unsqueeze(1).to(cum.dtype), right=True)
        k = k.clamp(max=probs.shape[1] - 1)
        return idx.gather(1, k).squeeze(1)
    cum = probs.double().cumsum(-1)  # float64: the CDF over 49k tokens keeps its resolution
    k = torch.searchsorted(cum, (u * cum[:, -1]).unsqueeze(1), right=True)
    return k.clamp(max=probs.shape[1] - 1).squeeze(1)


def _forward_kwargs(model) -> tuple[str, bool]:
    """The cache keyword of ``model.forward`` ("cache" from transformers 5.2x, "past_key_values"
    before) and whether it takes ``logits_to_keep``; read from the signature, not the version."""
    params = inspect.signature(model.forward).parameters
    return ("cache" if "cache" in params else "past_key_values"), "logits_to_keep" in params


def _in_place_cache(cache, inv: torch.Tensor, capacity: int) -> bool:
    """Turn the prefilled dynamic ``cache`` (one row per distinct prompt) into one that holds
    ``len(inv)`` rows (row r copies prompt ``inv[r]``'s keys/values, once) in buffers of
    ``capacity`` positions, written in place by every later step. False (cache untouched) where
    this transformers version's cache layers do not have the expected shape."""
    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:
        return False
    layers = getattr(cache, "layers", None)
    if not layers or not all(type(layer) is DynamicLayer and layer.keys is not None for layer in layers):
        return False
    cache.layers[:] = [_InPlaceLayer(layer.keys[inv], layer.values[inv], capacity) for layer in layers]
    return True


def _make_in_place_layer():
    from transformers.cache_utils import DynamicLayer

    class InPlaceLayer(DynamicLayer):
        """A ``DynamicLayer`` whose keys/values are views of preallocated buffers: ``update`` writes
        the new positions in place and returns the filled prefix (the tensors attention reads are
        those of the concatenating layer, element for element)."""

        def __init__(self, keys, values, capacity):
            super().__init__()
            b, h, n, _ = keys.shape
            self.kbuf = keys.new_empty((b, h, capacity, keys.shape[-1]))
            self.vbuf = values.new_empty((b, h, capacity, values.shape[-1]))
            self.kbuf[:, :, :n] = keys
            self.vbuf[:, :, :n] = values
            self.n, self.device, self.is_initialized = n, keys.device, True
            self.keys, self.values = self.kbuf[:, :, :n], self.vbuf[:, :, :n]

        def update(self, key_states, value_states, *args, **kwargs):
            m = key_states.shape[-2]
            self.kbuf[:, :, self.n: self.n + m] = key_states
            self.vbuf[:, :, self.n: self.n + m] = value_states
            self.n += m
            self.keys, self.values = self.kbuf[:, :, : self.n], self.vbuf[:, :, : self.n]
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return self.n

    return InPlaceLayer


class _InPlaceLayerProxy:
    """Builds the ``DynamicLayer`` subclass on first use (transformers is imported lazily)."""

    cls = None

    def __call__(self, keys, values, capacity):
        if _InPlaceLayerProxy.cls is None:
            _InPlaceLayerProxy.cls = _make_in_place_layer()
        return _InPlaceLayerProxy.cls(keys, values, capacity)


_InPlaceLayer = _InPlaceLayerProxy()


@torch.inference_mode()
def _sample_chunk(lm, prompts, rows, horizon, temperature, top_p, seed, ignore_eos=False):
    model, dev, pad, eos = lm.model, lm.device, lm.pad_id, (-1 if ignore_eos else lm.eos_id)
    cache_kw, has_keep = _forward_kwargs(model)
    b = len(prompts)
    # Prefill each distinct prompt once, then copy its cache rows to the G rows that share it.
    keys = [tuple(p) for p in prompts]
    uniq = list(dict.fromkeys(keys))
    inv = torch.tensor([uniq.index(k) for k in keys], dtype=torch.long, device=dev)
    width = max(len(p) for p in uniq)
    ids = torch.full((len(uniq), width), pad, dtype=torch.long)
    attn = torch.zeros((len(uniq), width + horizon), dtype=torch.long)  # preallocated, switched on in place
    for i, p in enumerate(uniq):
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        attn[i, width - len(p): width] = 1
    ids, attn = ids.to(dev), attn.to(dev)
    pos = (attn[:, :width].cumsum(-1) - 1).clamp(min=0)
    extra = {"logits_to_keep": 1} if has_keep else {}
    out = model(input_ids=ids, attention_mask=attn[:, :width], position_ids=pos, use_cache=True, **extra)
    cache = getattr(out, cache_kw)
    in_place = _in_place_cache(cache, inv, width + horizon)  # the G rows of a prompt share its prefill
    if not in_place:
        cache.batch_select_indices(inv)
    logits, last, attn = out.logits[:, -1, :][inv], pos[:, -1][inv], attn[inv]
    uni = row_uniforms(seed, rows, horizon).to(dev)  # (B, H)
    tokens = torch.full((b, horizon), pad, dtype=torch.long, device=dev)
    mask = torch.zeros((b, horizon), dtype=torch.long, device=dev)
    logp = torch.zeros((b, horizon), dtype=torch.float32, device=dev)
    ent = torch.zeros((b, horizon), dtype=torch.float32, device=dev)
    done = torch.zeros(b, dtype=torch.bool, device=dev)
    for t in range(horizon):
        lp = torch.log_softmax(logits.float() / temperature, dim=-1)  # (B, V)
        probs = lp.exp()
        nxt = _pick(probs, uni[:, t], top_p)
        live = ~done
        nxt = torch.where(live, nxt, torch.full_like(nxt, pad))
        tokens[:, t] = nxt
        mask[:, t] = live.long()
        logp[:, t] = torch.where(live, lp.gather(1, nxt.unsqueeze(1)).squeeze(1), torch.zeros_like(logp[:, t]))
        h = -(probs * lp).nan_to_num().sum(-1)
        ent[:, t] = torch.where(live, h, torch.zeros_like(h))
        done = done | (live & (nxt == eos))
        if bool(done.all()) or t == horizon - 1:
            break
        attn[:, width + t] = 1
        last = last + 1
        out = model(input_ids=nxt.unsqueeze(1), attention_mask=attn[:, : width + t + 1],
                    position_ids=last.unsqueeze(1), use_cache=True, **{cache_kw: cache})
        logits, cache = out.logits[:, -1, :], getattr(out, cache_kw)
    return (tokens.cpu().numpy(), mask.cpu().numpy(), logp.cpu().numpy(), ent.cpu().numpy(),
            done.cpu().numpy())


def sample(lm, prompts, *, horizon: int, temperature: float = 1.0, top_p: float = 1.0, seed: int = 0,
           batch_size: int = 64, progress=None, ignore_eos: bool = False, first_row: int = 0) -> Rollouts:
    """Sample one continuation per prompt (repeat a prompt G times for a group) to ``horizon``.

    ``prompts`` is a list of token-id lists; ``progress`` an optional callable(n_rows_done);
    ``ignore_eos`` keeps every row going to the horizon (benchmarks); ``first_row`` the global
    index of the first row (its uniforms are those of row ``first_row``).
    """
    first_row = check_int("first_row", first_row, low=0)
    horizon = check_int("horizon", horizon, low=1, high=8192)
    temperature = check_real("temperature", temperature, low=0.0, open_low=True)
    top_p = check_real("top_p", top_p, low=0.0, high=1.0, open_low=True)
    seed = check_int("seed", seed, low=0)
    batch_size = check_int("batch_size", batch_size, low=1)
    if len(prompts) == 0 or any(len(p) == 0 for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-empty token-id lists")
    parts = []
    for start in range(0, len(prompts), batch_size):
        rows = list(range(start, min(start + batch_size, len(prompts))))
        parts.append(_sample_chunk(lm, [prompts[r] for r in rows], [first_row + r for r in rows], horizon,
                                   temperature, top_p, seed, ignore_eos))
        if progress is not None:
            progress(len(rows))
    cat = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return Rollouts(cat[0], cat[1], cat[2], cat[3], cat[4].astype(bool), [list(p) for p in prompts],
                    horizon, lm.eos_id)
