"""Paper D in the trainer: perplexity-based prompt selection and relative-entropy rollout weights.

Two options of :class:`llm_backend.config.TrainConfig`, both off by default (the trainer then
draws its prompts exactly as before):

- ``selection`` = ``random`` | ``low-ppl`` | ``high-ppl`` | ``schedule``: each step draws a
  candidate batch of |B| = round(prompts / selection_ratio) distinct prompts from the pool (seeded
  by (seed, step)), scores every candidate's perplexity under the CURRENT policy (one prompt-only
  forward pass each; :func:`llm_backend.measure_curriculum.prompt_perplexity`, problem tokens
  inside the chat template) and keeps K = prompts of them: the first K drawn (random), the K lowest
  or highest perplexities, or the schedule's window l(rho) = floor(pace(rho) (|B| - K)) over the
  ascending order with rho = (step - 1) / (steps - 1) (theory.curriculum; paper D [V]). Random
  scores too, so its log carries the same perplexities for comparison.
- ``rollout_weights`` = ``entropy``: w_i = Hbar_i / Hbar over the step's kept rollouts, Hbar_i
  the rollout's mean token entropy (full vocabulary, from the sampler), Hbar their simple mean
  (theory.curriculum.entropy_weights; paper D (c) [V]); the advantages of ANY registry estimator
  are multiplied by w (theory.curriculum.weighted_advantages). The policy loss is linear in the
  advantage for a fixed ratio and PPO's clip keeps its sign, so this equals paper D's per-rollout
  factor on the loss.

Each step's log records ``selection`` (rho, candidates, their perplexities, the window, the
selected perplexity band) and ``weights`` (min, mean, max, effective batch factor
sum w |o| / sum |o|). Changing ``steps`` on resume moves the schedule's rho for the remaining steps.
"""

from __future__ import annotations

import numpy as np

from theory.curriculum import effective_batch_factor, entropy_weights, progress, weighted_advantages, window_start

__all__ = ["SELECTIONS", "ROLLOUT_WEIGHTS", "n_candidates", "select_prompts", "apply_rollout_weights"]

SELECTIONS = ("none", "random", "low-ppl", "high-ppl", "schedule")
ROLLOUT_WEIGHTS = ("none", "entropy")


def n_candidates(prompts: int, ratio: float) -> int:
    """|B| = round(K / ratio), at least K: the candidate batch from which K prompts are kept."""
    return max(int(prompts), int(round(prompts / ratio)))


def select_prompts(cfg, lm, pool, step: int, seed: int) -> tuple[np.ndarray, dict]:
    """Indices into ``pool`` of the step's prompts (sorted) and the log entry of the selection."""
    k = cfg.prompts
    rng = np.random.default_rng(seed)
    if cfg.selection == "none":
        return np.sort(rng.choice(len(pool), size=k, replace=False)), {}
    from llm_backend.measure_curriculum import prompt_perplexity

    b = n_candidates(k, cfg.selection_ratio)
    cand = rng.choice(len(pool), size=b, replace=False)  # (B,) in draw order
    ppl = prompt_perplexity(lm, [pool[i] for i in cand])  # (B,) under the current policy
    rho = progress(step - 1, cfg.steps)
    asc = np.argsort(ppl, kind="stable")
    window = None
    if cfg.selection == "random":
        chosen = np.arange(k)
    elif cfg.selection == "low-ppl":
        chosen = asc[:k]
    elif cfg.selection == "high-ppl":
        chosen = asc[b - k:]
    else:
        l = window_start(rho, b, k, cfg.pacing)
        chosen, window = asc[l:l + k], [l, l + k]
    sel = ppl[chosen]
    return np.sort(cand[chosen]), {"selection": {
        "rho": rho, "candidates": cand.tolist(), "candidate_ppl": ppl.tolist(), "window": window,
        "ppl_selected": [float(sel.min()), float(sel.max())], "ppl_selected_mean": float(sel.mean())}}


def apply_rollout_weights(cfg, adv: np.ndarray, gr, keep: np.ndarray) -> tuple[np.ndarray, dict]:
    """Advantages (P, G) times the relative-entropy weights of the kept rollouts (others keep w = 1)."""
    if cfg.rollout_weights == "none" or not np.any(keep):
        return adv, {}
    h = gr.mean_entropy()  # (P, G)
    w = np.ones_like(h)
    w[keep] = entropy_weights(h[keep].ravel()).reshape(-1, h.shape[1])
    lengths = np.maximum(gr.rollouts.lengths.reshape(h.shape), 1)[keep].ravel()
    kept_w = w[keep].ravel()
    return weighted_advantages(adv, w), {"weights": {
        "min": float(kept_w.min()), "mean": float(kept_w.mean()), "max": float(kept_w.max()),
        "effective_batch_factor": effective_batch_factor(kept_w, lengths)}}
