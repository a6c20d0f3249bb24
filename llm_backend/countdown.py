"""The countdown task (TinyZero, paper B's from-scratch setting): reach a target from given numbers
with + - * / and parentheses, each number used exactly once.

A correct solution is an arithmetic expression over exactly the given multiset of numbers whose
exact (rational) value is the target. It is recognised in two written forms:

- ``<answer> EXPR </answer>`` (the format the prompt asks for, TinyZero's); completed when the
  closing tag's ``>`` is generated;
- an equation ``EXPR = TARGET`` anywhere in the text; completed when the target number is
  completed (``llm_backend.tasks.completed_numbers``).

Expressions are parsed with :mod:`ast` and evaluated over :class:`fractions.Fraction` with only
numbers, + - * / and unary minus allowed; nothing is ever passed to ``eval``.

Modelling choices [R]: targets are generated from a random expression tree over the drawn numbers
(so every problem is solvable), integer, in [1, 999] and different from each given number;
TinyZero's own data set (Countdown-Tasks-3to4) is not used (no network, and its difficulty is far
beyond a 135M model). Base success of SmolLM2-135M is low, which is the point of the task.

Example::

    >>> from llm_backend.tasks import Problem
    >>> task = Countdown()
    >>> p = Problem("", "14", (3, 4, 2))
    >>> task.solved_at(p, "<answer>(3 + 4) * 2</answer>", finished=False)
    28
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction

from theory.checks import check_int
from llm_backend.tasks import Problem, Task, numbers_with_start

__all__ = ["Countdown", "evaluate_expression"]

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_EQUATION = re.compile(r"([\d\s+\-*/().×÷x]+?)=\s*")
_ALLOWED = set("0123456789+-*/() ")


def evaluate_expression(expr: str) -> tuple[Fraction, list[int]] | None:
    """Exact value of an arithmetic expression and the integers it uses, or None if invalid.

    >>> evaluate_expression("(3 + 4) * 2")
    (Fraction(14, 1), [3, 4, 2])
    >>> evaluate_expression("3 / 0") is None, evaluate_expression("__import__('os')") is None
    (True, True)
    """
    expr = expr.replace("×", "*").replace("÷", "/").replace("x", "*").strip()
    if not expr or not set(expr) <= _ALLOWED or len(expr) > 200:
        return None
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    used: list[int] = []

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            used.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if b == 0:
                raise ZeroDivisionError
            return a / b
        raise ValueError("disallowed node")

    try:
        value = ev(tree.body)
    except (ValueError, ZeroDivisionError, RecursionError):
        return None
    return value, used


class Countdown(Task):
    """Countdown with ``numbers`` numbers in [1, ``max_number``] (difficulty: more numbers is harder)."""

    name = "countdown"

    def __init__(self, numbers: int = 3, max_number: int = 20):
        self.n_numbers = check_int("numbers", numbers, low=2, high=6)
        self.max_number = check_int("max_number", max_number, low=2, high=100)

    def options(self):
        return {"numbers": self.n_numbers, "max_number": self.max_number}

    def _draw(self, rng):
        while True:
            nums = [int(rng.integers(1, self.max_number + 1)) for _ in range(self.n_numbers)]
            order = [int(i) for i in rng.permutation(self.n_numbers)]
            expr = str(nums[order[0]])
            value = Fraction(nums[order[0]])
            for i in order[1:]:
                op = "+-*/"[int(rng.integers(4))]
                b = nums[i]
                if op == "/" and (b == 0 or (value / b).denominator != 1):
                    op = "+"
                value = {"+": value + b, "-": value - b, "*": value * b, "/": value / b}[op]
                expr = f"({expr} {op} {b})"
            if value.denominator == 1 and 1 <= value <= 999 and int(value) not in nums:
                break
        target = int(value)
        listed = ", ".join(str(x) for x in nums)
        prompt = (f"Using the numbers [{listed}], create an equation that equals {target}. You can use "
                  f"+, -, * and / and each number exactly once. Show your work, then give the equation "
                  f"in <answer> </answer> tags, for example <answer> (1 + 2) / 3 </answer>.")
        return Problem(prompt, str(target), tuple(nums), meta={"solution": expr[1:-1] if len(order) > 1 else expr})

    def _is_solution(self, problem: Problem, expr: str) -> bool:
        got = evaluate_expression(expr)
        if got is None:
            return False
        value, used = got
        return value == Fraction(int(problem.answer)) and sorted(used) == sorted(problem.numbers)

    def solved_at(self, problem: Problem, text: str, finished: bool) -> int | None:
        needs = []
        for m in _ANSWER.finditer(text):
            if self._is_solution(problem, m.group(1)):
                needs.append(m.end())
        target = float(problem.answer)
        starts = {start: need for value, start, need in numbers_with_start(text, finished) if value == target}
        for m in _EQUATION.finditer(text):
            if m.end() in starts and self._is_solution(problem, m.group(1).strip().strip(".,:")):
                needs.append(starts[m.end()])
        return min(needs) if needs else None

