"""Paper E on a real model: how the final answer's success depends on each intermediate step.

From G rollouts per ``multistep`` problem at horizon H (``rlvr-lab llm composition``), every
rollout gives, per step s, whether the step's intermediate result appears completed in the
response (``Multistep.step_checks``), and whether the final answer was correct within H
(reward 1{T <= H}). Pooling the rollouts of all prompts:

    q+_s = P(final correct | step s correct),   q-_s = P(final correct | step s not correct),
    r_s  = q+_s / q-_s  (the task-advantage ratio; inf when q-_s = 0 < q+_s, undefined when both 0),

each fraction with its Wilson 95% interval (``theory.stats.wilson_ci``). The interval of r is
the ratio of the endpoints (conservative: lo = lo+ / hi-, hi = hi+ / lo-) [R].

Modelling choices [R]: rollouts are pooled over prompts (rollouts of one prompt are correlated,
so the intervals are optimistic by the design effect; the number of prompts is reported beside
them); a step counts as correct if its value appears anywhere in the response (the task's
check), whether or not the model derived it in order; the last step's value is the answer, so
its q+ is ~1 by construction and its ratio is not informative.

Example::

    >>> import numpy as np
    >>> checks = np.array([[[1, 1], [1, 0]], [[0, 0], [1, 1]]], dtype=bool)  # (N, G, S)
    >>> final = np.array([[1, 0], [0, 1]], dtype=bool)                          # (N, G)
    >>> s = composition_summary(checks, final)
    >>> s["steps"][0]["q_plus"], s["steps"][0]["q_minus"]
    (0.6666666666666666, 0.0)
"""

from __future__ import annotations

import numpy as np

from theory.stats import ratio_of, wilson_ci

__all__ = ["composition_summary"]


def _frac(k: int, n: int) -> dict:
    if n == 0:
        return {"k": 0, "n": 0, "value": None, "ci95": None}
    lo, hi = wilson_ci(k, n)
    return {"k": int(k), "n": int(n), "value": k / n, "ci95": [lo, hi]}


def composition_summary(checks, final) -> dict:
    """q+/q-/r per step from step checks (N, G, S) and final successes (N, G)."""
    c = np.asarray(checks, dtype=bool)
    f = np.asarray(final, dtype=bool)
    if c.ndim != 3 or f.shape != c.shape[:2]:
        raise ValueError(f"checks must be (N, G, S) and final (N, G); got {c.shape} and {f.shape}")
    c, f = c.reshape(-1, c.shape[2]), f.reshape(-1)
    steps = []
    for s in range(c.shape[1]):
        on, off = c[:, s], ~c[:, s]
        plus, minus = _frac(int((f & on).sum()), int(on.sum())), _frac(int((f & off).sum()), int(off.sum()))
        qp, qm = plus["value"], minus["value"]
        ratio = ratio_of(qp, qm)  # the one rule for r (theory.stats)
        if ratio is None:
            ratio_ci = None
        else:
            lo = plus["ci95"][0] / minus["ci95"][1]
            hi = float("inf") if minus["ci95"][0] == 0 else plus["ci95"][1] / minus["ci95"][0]
            ratio_ci = [lo, hi]
        steps.append({"step": s + 1, "accuracy": _frac(int(on.sum()), int(on.size)), "q_plus": qp, "q_minus": qm,
                      "q_plus_detail": plus, "q_minus_detail": minus, "ratio": ratio, "ratio_ci95": ratio_ci})
    return {"rollouts": int(f.size), "final_success": float(f.mean()), "steps": steps}
