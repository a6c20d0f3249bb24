"""Time to first correct solution T (paper A) from a generated token stream.

Definition [R, paper A's T made precise for text]: for generated tokens y_1..y_n (EOS, if
produced, is y_n), let text_t = decode(y_1..y_t) without EOS. T is the smallest t such that the
task's verifier finds a completed correct answer in text_t, where "completed" may use the end of
generation only when y_t is EOS. So T is the index of the token that *completes* the answer: the
delimiter after the last digit, or the EOS token. T = None when no correct answer is completed.

Consequence (tested): for every horizon H, the verifier's reward of the rollout truncated at H
equals 1{T <= H}. Hence ``rewards_at(T, H)`` turns one set of long rollouts into exact rewards at
every shorter horizon.

Example::

    >>> from llm_backend.models import load_model
    >>> from llm_backend.tasks import make_task, Problem
    >>> tok = load_model("tiny").tokenizer
    >>> ids = tok("So 12+3 = 15 ok", add_special_tokens=False)["input_ids"]
    >>> solution_time(make_task("arithmetic"), Problem("", "15"), ids, tok, ended=False)
    13
"""

from __future__ import annotations

import numpy as np

__all__ = ["solution_time", "solution_times", "rewards_at"]


def _decode(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def solution_time(task, problem, ids, tokenizer, *, ended: bool) -> int | None:
    """T (1-based token index) for generated ``ids`` (without EOS); ``ended``: EOS followed them.

    With ``ended`` the EOS token is token ``len(ids) + 1``.
    """
    ids = list(ids)
    text = _decode(tokenizer, ids)
    need = task.solved_at(problem, text, ended)
    if need is None:
        return None
    if need > len(text):  # completed by the end-of-sequence token
        return len(ids) + 1
    target = text[:need]
    lo, hi = 1, len(ids)  # smallest t whose decoded prefix covers the needed characters
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_decode(tokenizer, ids[:mid])) >= need:
            hi = mid
        else:
            lo = mid + 1
    t = lo
    while t < len(ids) and not _decode(tokenizer, ids[:t]).startswith(target):  # partial UTF-8
        t += 1
    return t


def solution_times(task, problems, rollouts, tokenizer, group: int) -> np.ndarray:
    """T for every row of ``rollouts`` (rows ordered prompt-major, ``group`` rows per problem).

    Returns (len(problems), group) float64 with ``inf`` where no correct answer was completed.
    """
    n = len(problems)
    out = np.full((n, group), np.inf)
    for i in range(n):
        for j in range(group):
            row = i * group + j
            t = solution_time(task, problems[i], rollouts.response_ids(row), tokenizer,
                              ended=bool(rollouts.ended[row]))
            if t is not None:
                out[i, j] = t
    return out


def rewards_at(times, horizon: int) -> np.ndarray:
    """Binary rewards 1{T <= H} at horizon H from solution times (inf = never)."""
    return (np.asarray(times, dtype=np.float64) <= horizon).astype(np.float64)
