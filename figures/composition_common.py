"""Shared settings of the paper-E figures (no FIGURE here, so the registry skips this module).

Training settings [R, our choices; the paper states none]: the dr_grpo estimator (group mean
baseline, so the exact expected dynamics are the REINFORCE gradient flow scaled by 1 - 1/G),
G = 8 rollouts per iteration, learning rate 0.5 on the logits, eps = 0.1 for "reached the correct
chain" (P(correct chain) >= 0.9).
"""

from __future__ import annotations


ESTIMATOR, G, LR, EPS = "dr_grpo", 8, 0.5, 0.1
