"""Tasks, verifiers and the solution time T on hand-written texts and token streams (tiny tokenizer)."""

import math

import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
from hypothesis import given, strategies as st

from llm_backend.countdown import Countdown, evaluate_expression
from llm_backend.models import build_tiny
from llm_backend.solution_time import solution_time
from llm_backend.tasks import Problem, completed_numbers, make_task

TOK = build_tiny(0)[1]  # character-level: token t covers exactly character t


def ids(text):
    return TOK(text, add_special_tokens=False)["input_ids"]


ARITH = make_task("arithmetic")


@pytest.mark.parametrize("text, finished, expected", [
    ("= 15 ok", False, 5),        # "15" then " ": decided by character 5
    ("= 15", False, None),         # may still become 150
    ("= 15", True, 5),             # EOS completes it: len(text) + 1
    ("= 15.", False, None),        # may still become 15.5
    ("= 15.\n", False, 6),         # "." then a non-digit
    ("= 15.5 ", False, None),      # 15.5 is not 15
    ("= 150 ", False, None),
    ("1,015 ", False, None),
    ("-15 ", False, None),         # a negative number is not 15
    ("30-15 ", False, 6),          # binary minus: 15 is there
    ("15 and 15 ", False, 3),      # the first completion counts
])
def test_solved_at_hand_written(text, finished, expected):
    assert ARITH.solved_at(Problem("", "15"), text, finished) == expected


@pytest.mark.parametrize("text, ended, expected", [
    ("So 12+3 = 15 ok", False, 13),   # token 13 is the space after "15"
    ("So 12+3 = 15", True, 13),       # tokens 1..12, EOS is token 13
    ("So 12+3 = 15", False, None),
    ("15", True, 3),
    ("no answer here", True, None),
    ("x 15\n15 ", False, 5),
])
def test_solution_time_on_token_streams(text, ended, expected):
    assert solution_time(ARITH, Problem("", "15"), ids(text), TOK, ended=ended) == expected


@given(st.text(alphabet="0125 .,=+-ab\n", max_size=24), st.booleans())
def test_truncation_reward_equals_indicator_of_T(text, ended):
    """For every horizon H: the verifier on the first H tokens == 1{T <= H} (exact horizons)."""
    problem = Problem("", "12")
    toks = ids(text)
    t = solution_time(ARITH, problem, toks, TOK, ended=ended)
    n = len(toks) + (1 if ended else 0)
    for h in range(1, n + 1):
        finished = ended and h == n
        prefix = TOK.decode(toks[: min(h, len(toks))])
        r = ARITH.reward(problem, prefix, finished)
        assert r == float(t is not None and t <= h), (text, h, t)


def test_completed_numbers_values():
    assert completed_numbers("a 1,234 b 7", finished=True) == [(1234.0, 8), (7.0, 12)]


@pytest.mark.parametrize("name, options", [("arithmetic", {"digits": 2, "operands": 3, "op": "mixed"}),
                                           ("multistep", {"steps": 4}), ("countdown", {"numbers": 4})])
def test_problems_are_seeded_and_never_answer_an_echo(name, options):
    task = make_task(name, **options)
    a, b = task.problems(20, seed=3), task.problems(20, seed=3)
    assert a == b and a != task.problems(20, seed=4)
    for p in a:
        assert int(p.answer) not in p.numbers
        assert task.solved_at(p, p.prompt + " ", finished=False) is None  # echoing the question fails


def test_arithmetic_answer_is_correct():
    for p in make_task("arithmetic", digits=2, operands=3, op="*").problems(10, seed=0):
        assert int(p.answer) == math.prod(p.numbers)


def test_multistep_steps_and_checks():
    task = make_task("multistep", steps=3)
    for p in task.problems(10, seed=1):
        value = p.numbers[0]
        words = p.prompt.split(". ", 1)[1].lower()
        for b, s, word in zip(p.numbers[1:], p.steps, words.split(", then ")):
            value = value + b if word.startswith("add") else value - b if word.startswith("subtract") else value * b
            assert value == s
        assert p.answer == str(p.steps[-1])
    p = Problem("", "52", (12, 7, 3, 5), (19, 57, 52))
    assert task.step_checks(p, "12+7=19, 19*3=58, 58-5=53", finished=True) == [True, False, False]
    assert task.step_times(p, "19 then 57 then 52", finished=True) == [3, 11, 19]


def test_multistep_ops_option():
    """ops restricts the operations; the default draws the same problems as before the option."""
    default = make_task("multistep", steps=3).problems(20, seed=2)
    assert make_task("multistep", steps=3, ops="*-+").problems(20, seed=2) == default  # canonical order
    adds = make_task("multistep", steps=2, ops="+").problems(20, seed=2)
    assert all(p.prompt.count("dd ") == 2 and p.steps[-1] == sum(p.numbers) for p in adds)
    assert make_task("multistep", ops="+").options()["ops"] == "+"
    for bad in ("", "/", "++", 3):
        with pytest.raises(ValueError, match="ops must be"):
            make_task("multistep", ops=bad)


def test_countdown_verifier():
    task = Countdown()
    p = Problem("", "14", (3, 4, 2))
    assert task.solved_at(p, "<answer>(3 + 4) * 2</answer>", finished=False) == 28
    assert task.solved_at(p, "I get 2 * (4 + 3) = 14.\n", finished=False) == 24
    assert task.solved_at(p, "<answer>(3 + 4) * 2 * 1</answer>", finished=False) is None  # extra number
    assert task.solved_at(p, "<answer>7 * 2</answer>", finished=False) is None  # numbers not used
    assert task.solved_at(p, "(3 + 4) * 2 = 14", finished=False) is None  # 14 not completed yet
    assert task.solved_at(p, "(3 + 4) * 2 = 14", finished=True) == 17
    for q in task.problems(30, seed=0):  # the generating expression solves its problem
        assert task.solved_at(q, f"<answer>{q.meta['solution']}</answer>", finished=False) is not None


def test_evaluate_expression_is_exact_and_safe():
    assert evaluate_expression("1 / 3 * 3") == (1, [1, 3, 3])
    assert evaluate_expression("2 ** 3") is None
    assert evaluate_expression("().__class__") is None
    assert evaluate_expression("4 / (2 - 2)") is None


def test_make_task_rejects_bad_input():
    with pytest.raises(ValueError, match="task must be one of"):
        make_task("chess")
    with pytest.raises(ValueError, match="digits"):
        make_task("arithmetic", digits=0)
    with pytest.raises(ValueError, match="unknown option"):
        make_task("countdown", digits=2)
