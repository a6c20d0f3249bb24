"""The previous sampler (dynamic cache grown by concatenation, full-vocabulary logits at prefill),
kept as the oracle of ``llm_backend.sampling``: same weights, same dtype, same uniforms -> the
same tokens, log-probabilities equal to float round-off."""

import inspect

import numpy as np
import torch

from llm_backend.sampling import Rollouts, _pick, row_uniforms


@torch.inference_mode()
def _sample_chunk(lm, prompts, rows, horizon, temperature, top_p, seed, ignore_eos=False):
    model, dev, pad, eos = lm.model, lm.device, lm.pad_id, (-1 if ignore_eos else lm.eos_id)
    b = len(prompts)
    # Prefill each distinct prompt once, then copy its cache rows to the G rows that share it.
    keys = [tuple(p) for p in prompts]
    uniq = list(dict.fromkeys(keys))
    inv = torch.tensor([uniq.index(k) for k in keys], dtype=torch.long, device=dev)
    width = max(len(p) for p in uniq)
    ids = torch.full((len(uniq), width), pad, dtype=torch.long)
    attn = torch.zeros((len(uniq), width), dtype=torch.long)
    for i, p in enumerate(uniq):
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        attn[i, width - len(p):] = 1
    ids, attn = ids.to(dev), attn.to(dev)
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    out = model(input_ids=ids, attention_mask=attn, position_ids=pos, use_cache=True)
    cache = getattr(out, kw)
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
        attn = torch.cat([attn, torch.ones((b, 1), dtype=attn.dtype, device=dev)], dim=1)
        last = last + 1
        out = model(input_ids=nxt.unsqueeze(1), attention_mask=attn, position_ids=last.unsqueeze(1),
                    use_cache=True, **{kw: cache})
        cache, logits = getattr(out, kw), out.logits[:, -1, :]
    return (tokens.cpu().numpy(), mask.cpu().numpy(), logp.cpu().numpy(), ent.cpu().numpy(),
            done.cpu().numpy())


def sample_reference(lm, prompts, *, horizon, temperature=1.0, top_p=1.0, seed=0, batch_size=64):
    parts = []
    for start in range(0, len(prompts), batch_size):
        rows = list(range(start, min(start + batch_size, len(prompts))))
        parts.append(_sample_chunk(lm, [prompts[r] for r in rows], rows, horizon, temperature, top_p, seed))
    cat = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    return Rollouts(cat[0], cat[1], cat[2], cat[3], cat[4].astype(bool), [list(p) for p in prompts],
                    horizon, lm.eos_id)
