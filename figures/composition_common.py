"""Shared settings of the paper-E figures (no FIGURE here, so the registry skips this module).

Training settings [R, our choices; the paper states none]: the dr_grpo estimator (group mean
baseline, so the exact expected dynamics are the REINFORCE gradient flow scaled by 1 - 1/G),
G = 8 rollouts per iteration, learning rate 0.5 on the logits, eps = 0.1 for "reached the correct
chain" (P(correct chain) >= 0.9).
"""

from __future__ import annotations

from scipy.stats import binomtest

ESTIMATOR, G, LR, EPS = "dr_grpo", 8, 0.5, 0.1


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial fraction k / n (scipy's ``binomtest``)."""
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)
