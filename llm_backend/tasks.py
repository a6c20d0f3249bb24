"""Verifiable, generated, seeded tasks: ``arithmetic`` and ``multistep`` (``countdown`` lives in
``llm_backend.countdown``); the registry :data:`TASKS` and :func:`make_task`.

Every task answers one question about a generated text: *where, if anywhere, is a correct answer
first completed?* :meth:`Task.solved_at` returns the number of characters ``c`` of the response
that decide it (``c = len(text) + 1`` means "decided by the end-of-sequence token"), or None.
From it follow, for one response,

- the final-answer reward ``r = 1{solved}`` (binary verifier) and
- the time to first correct solution T (paper A): the 1-based index of the generated token whose
  arrival first makes ``solved_at`` hold (``llm_backend.solution_time``).

Because ``solved_at(text[:c])`` only looks at the prefix, the reward of a rollout truncated at H
tokens is exactly ``1{T <= H}``: one set of long rollouts gives every shorter horizon.

Modelling choices [R] (the papers leave the verifier open):

- A number is *completed* when the character after it is generated and cannot extend it (a
  non-digit that is not ``.``/``,``; or ``.``/``,`` followed by a non-digit), or when generation
  ends with EOS. So "68" at a truncation point is not yet an answer (it may become "685").
- The response is correct when *any* completed number equals the answer ("a correct solution
  appears", paper A's T), not only the last one. A response that lists many numbers can game this;
  the tasks avoid answers equal to a number in the prompt so that echoing the question never counts.
- Problems are drawn with ``numpy.random.default_rng(seed)``; the same seed gives the same list.

Example::

    >>> task = make_task("arithmetic", digits=2, operands=2)
    >>> p = task.problems(1, seed=0)[0]
    >>> task.solved_at(p, f"It is {p.answer}.", finished=True) is not None
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from theory.checks import check_choice, check_int

__all__ = ["Problem", "Task", "Arithmetic", "Multistep", "TASKS", "make_task", "completed_numbers", "numbers_with_start",
           "chat_prompt"]

_NUMBER = re.compile(r"(?<![\d.,])(-?)(\d+(?:,\d{3})*(?:\.\d+)?)")


@dataclass(frozen=True)
class Problem:
    """One generated problem: the user message, the answer, and task-specific data."""

    prompt: str
    answer: str
    numbers: tuple = ()
    steps: tuple = ()  # intermediate results (multistep)
    meta: dict = field(default_factory=dict)


def completed_numbers(text: str, finished: bool) -> list[tuple[float, int]]:
    """Every number in ``text`` that is completed, as (value, characters needed to decide it).

    The characters needed are ``end + 1`` (one delimiter), ``end + 2`` (a "." or "," and then a
    non-digit) or ``len(text) + 1`` (only the end-of-sequence token completes it; needs
    ``finished``). A "-" counts as a sign when it does not follow a digit, letter or ")".

    >>> completed_numbers("so 12 + 3 = 15", finished=False)
    [(12.0, 6), (3.0, 10)]
    >>> completed_numbers("so 12 + 3 = 15", finished=True)[-1]
    (15.0, 15)
    """
    return [(value, need) for value, _, need in numbers_with_start(text, finished)]


def numbers_with_start(text: str, finished: bool) -> list[tuple[float, int, int]]:
    """Like :func:`completed_numbers`, as (value, start of the digits, characters needed)."""
    out = []
    n = len(text)
    for m in _NUMBER.finditer(text):
        sign, digits = m.group(1), m.group(2)
        start = m.start(2)
        if sign and start >= 2 and (text[start - 2].isalnum() or text[start - 2] == ")"):
            sign = ""  # binary minus, e.g. "45-23"
        end = m.end()
        if end < n and text[end] not in ".,":
            need = end + 1
        elif end + 1 < n:  # "." or "," then one more character
            if text[end + 1].isdigit():
                continue  # cannot happen for a greedy match; kept for clarity
            need = end + 2
        elif finished:
            need = n + 1
        else:
            continue
        value = float(digits.replace(",", ""))
        out.append((-value if sign else value, start, need))
    return out


def chat_prompt(tokenizer, problem: Problem, system: str | None = None) -> str:
    """The problem as the model's chat-formatted prompt text (generation prompt appended)."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": problem.prompt}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


class Task:
    """Base class: ``problems(n, seed)``, ``solved_at(problem, text, finished)``, ``reward``."""

    name = "task"

    def options(self) -> dict:
        return {}

    def problems(self, n: int, seed: int) -> list[Problem]:
        n = check_int("n", n, low=1)
        rng = np.random.default_rng(check_int("seed", seed, low=0))
        return [self._draw(rng) for _ in range(n)]

    def _draw(self, rng) -> Problem:  # pragma: no cover - abstract
        raise NotImplementedError

    def solved_at(self, problem: Problem, text: str, finished: bool) -> int | None:
        """Characters of ``text`` needed to complete the first correct answer, or None."""
        target = float(problem.answer)
        needs = [need for value, need in completed_numbers(text, finished) if value == target]
        return min(needs) if needs else None

    def reward(self, problem: Problem, text: str, finished: bool) -> float:
        """Binary final-answer verifier: 1.0 when a correct answer is completed in ``text``."""
        return float(self.solved_at(problem, text, finished) is not None)

    def describe(self) -> dict:
        return {"task": self.name, **self.options()}


def _operand(rng, digits: int) -> int:
    lo = 2 if digits == 1 else 10 ** (digits - 1)
    return int(rng.integers(lo, 10 ** digits))


class Arithmetic(Task):
    """Sums or products of ``operands`` numbers of ``digits`` digits ("What is 23 + 45?").

    ``op`` is "+", "*" or "mixed" (each problem draws one of the two). Operands are >= 2, so the
    answer exceeds every operand and echoing the question never counts as a solution.
    """

    name = "arithmetic"

    def __init__(self, digits: int = 2, operands: int = 2, op: str = "+"):
        self.digits = check_int("digits", digits, low=1, high=6)
        self.operands = check_int("operands", operands, low=2, high=6)
        self.op = check_choice("op", op, ("+", "*", "mixed"))

    def options(self):
        return {"digits": self.digits, "operands": self.operands, "op": self.op}

    def _draw(self, rng):
        xs = [_operand(rng, self.digits) for _ in range(self.operands)]
        op = self.op if self.op != "mixed" else ("+", "*")[int(rng.integers(2))]
        value = sum(xs) if op == "+" else int(np.prod(xs, dtype=object))
        expr = f" {op} ".join(str(x) for x in xs)
        prompt = f"What is {expr}? Give the final answer as a number."
        return Problem(prompt, str(value), tuple(xs), meta={"op": op})


_OPS = {"+": ("add {b}", lambda a, b: a + b), "-": ("subtract {b}", lambda a, b: a - b),
        "*": ("multiply by {b}", lambda a, b: a * b)}


class Multistep(Task):
    """Chained operations with checkable intermediate results (paper E's step checks).

    "Start with 12. Add 7, then multiply by 3, then subtract 5. What is the final result?" has
    steps (19, 57, 52) and answer 52. Intermediate results stay in [1, 9999]; the answer differs
    from every number in the prompt. :meth:`step_checks` says which intermediate results appear
    completed in a response, and :meth:`step_times` where. ``ops`` restricts the operations (each
    step draws one uniformly); the default '+-*' keeps the original problems draw for draw.
    """

    name = "multistep"

    def __init__(self, steps: int = 3, digits: int = 1, ops: str = "+-*"):
        self.n_steps = check_int("steps", steps, low=1, high=8)
        self.digits = check_int("digits", digits, low=1, high=3)
        if not isinstance(ops, str) or not ops or len(set(ops)) != len(ops) or not set(ops) <= set(_OPS):
            raise ValueError(f"ops must be distinct operations out of '+-*' (e.g. '+' or '+-'); got {ops!r}")
        self.ops = "".join(o for o in "+-*" if o in ops)  # canonical order: '*+' draws as '+*'

    def options(self):
        return {"steps": self.n_steps, "digits": self.digits, "ops": self.ops}

    def _draw(self, rng):
        while True:
            a = _operand(rng, self.digits)
            value, steps, words, numbers = a, [], [], [a]
            for _ in range(self.n_steps):
                op = self.ops[int(rng.integers(len(self.ops)))]
                b = _operand(rng, self.digits)
                template, fn = _OPS[op]
                value = fn(value, b)
                steps.append(value)
                words.append(template.format(b=b))
                numbers.append(b)
            if all(1 <= v <= 9999 for v in steps) and steps[-1] not in numbers:
                break
        phrase = ", then ".join(words)
        phrase = phrase[0].upper() + phrase[1:]
        prompt = f"Start with {a}. {phrase}. What is the final result? Give the final answer as a number."
        return Problem(prompt, str(steps[-1]), tuple(numbers), tuple(steps))

    def step_times(self, problem: Problem, text: str, finished: bool) -> list[int | None]:
        """For each intermediate result, the characters needed to first complete it (or None)."""
        found = completed_numbers(text, finished)
        out = []
        for s in problem.steps:
            needs = [need for value, need in found if value == float(s)]
            out.append(min(needs) if needs else None)
        return out

    def step_checks(self, problem: Problem, text: str, finished: bool) -> list[bool]:
        """Whether each intermediate result appears completed in ``text``."""
        return [t is not None for t in self.step_times(problem, text, finished)]


def _countdown(**kw):
    from llm_backend.countdown import Countdown

    return Countdown(**kw)


TASKS = {"arithmetic": Arithmetic, "multistep": Multistep, "countdown": _countdown}


def make_task(name: str, **options) -> Task:
    """A task by name with its difficulty options (``ValueError`` on unknown names/options)."""
    name = check_choice("task", name, TASKS)
    try:
        return TASKS[name](**options)
    except TypeError as err:
        raise ValueError(f"unknown option for task {name!r}: {err}") from None
