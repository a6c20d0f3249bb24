"""Group rollouts of task problems: G samples per prompt to horizon H, with T, rewards and entropy.

This is the one place where tasks meet the sampler: the problems are chat-formatted with the
model's template, each prompt is repeated G times (prompt-major rows: problem i owns rows
i*G .. i*G+G-1), sampled with :func:`llm_backend.sampling.sample`, and every row gets its solution
time T (``llm_backend.solution_time``). Rewards at any horizon H <= H_max are ``1{T <= H}``.

Example::

    >>> from llm_backend.models import load_model
    >>> from llm_backend.tasks import make_task
    >>> lm, task = load_model("tiny"), make_task("arithmetic", digits=1)
    >>> gr = group_rollouts(lm, task, task.problems(2, seed=0), group=3, horizon=8, seed=0)
    >>> gr.times.shape, gr.rewards().shape
    ((2, 3), (2, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.checks import check_int
from llm_backend.sampling import Rollouts, encode_prompts, sample
from llm_backend.solution_time import rewards_at, solution_times
from llm_backend.tasks import chat_prompt

__all__ = ["GroupRollouts", "group_rollouts"]


@dataclass
class GroupRollouts:
    """Rollouts of ``len(problems)`` prompts x ``group`` samples and their solution times."""

    problems: list
    prompt_ids: list  # token ids per problem
    rollouts: Rollouts  # rows prompt-major
    times: np.ndarray  # (N, G) float64, inf = no correct answer within the horizon
    group: int

    @property
    def horizon(self) -> int:
        return self.rollouts.horizon

    def rewards(self, horizon: int | None = None) -> np.ndarray:
        """(N, G) binary rewards 1{T <= H} (H defaults to the sampled horizon)."""
        return rewards_at(self.times, self.horizon if horizon is None else horizon)

    def mean_entropy(self) -> np.ndarray:
        """(N, G) mean per-token entropy of each rollout (0 for an empty one)."""
        ro = self.rollouts
        n = np.maximum(ro.mask.sum(1), 1)
        return ((ro.entropies * ro.mask).sum(1) / n).reshape(len(self.problems), self.group)


def group_rollouts(lm, task, problems, *, group: int, horizon: int, temperature: float = 1.0,
                   top_p: float = 1.0, seed: int = 0, batch_size: int = 64, system: str | None = None,
                   progress=None, first_row: int = 0) -> GroupRollouts:
    """Sample ``group`` rollouts per problem and compute their solution times.

    ``first_row`` is the global index of the first row (a chunk of a larger measurement): row r
    draws the uniforms of row ``first_row + r``, so chunks reproduce one big call's rollouts.
    """
    group = check_int("group", group, low=1)
    texts = [chat_prompt(lm.tokenizer, p, system) for p in problems]
    pids = encode_prompts(lm.tokenizer, texts)
    rows = [p for p in pids for _ in range(group)]
    ro = sample(lm, rows, horizon=horizon, temperature=temperature, top_p=top_p, seed=seed,
                batch_size=batch_size, progress=progress, first_row=first_row)
    times = solution_times(task, problems, ro, lm.tokenizer, group)
    return GroupRollouts(list(problems), pids, ro, times, group)
