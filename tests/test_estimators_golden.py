"""Golden values: the cross-framework table of reference/rlvr_frameworks.md, section 3.5.

Each cell is pinned to the precision it is printed with (half a unit in the last printed digit),
so a change of ddof, epsilon or its placement fails here.
"""

import numpy as np
import pytest

from theory.estimators import GRPO_CONVENTIONS, advantages

# group rewards -> {column: (value of first response, value of last response)} as printed
GOLDEN = [
    ([1, 0, 0, 0], {"verl": ("1.499997", "-0.499999"), "trl": ("1.4997", "-0.4999"),
                    "openrlhf": ("1.5", "-0.5"), "dr_grpo": ("0.75", "-0.25"), "rloo": ("1.0", "-0.333333")}),
    ([1, 1, 0, 0], {"verl": ("0.866024", "-0.866024"), "trl": ("0.865875", "-0.865875"),
                    "openrlhf": ("0.866025", "-0.866025"), "dr_grpo": ("0.5", "-0.5"),
                    "rloo": ("0.666667", "-0.666667")}),
    ([1] + [0] * 7, {"verl": ("2.474867", "-0.353552"), "trl": ("2.474174", "-0.353453"),
                     "openrlhf": ("2.474874", "-0.353553"), "dr_grpo": ("0.875", "-0.125"),
                     "rloo": ("1.0", "-0.142857")}),
    ([1, 1, 1] + [0] * 5, {"verl": ("1.207612", "-0.724567"), "trl": ("1.207381", "-0.724429"),
                           "openrlhf": ("1.207615", "-0.724569"), "dr_grpo": ("0.625", "-0.375"),
                           "rloo": ("0.714286", "-0.428571")}),
    ([1, 1, 1, 1], {"verl": ("0", "0"), "trl": ("0", "0"), "openrlhf": ("0", "0"),
                    "dr_grpo": ("0", "0"), "rloo": ("0", "0")}),
    ([0.5, 0.2], {"verl": ("0.707103", "-0.707103"), "trl": ("0.706774", "-0.706774"),
                  "openrlhf": ("0.707107", "-0.707107"), "dr_grpo": ("0.15", "-0.15"),
                  "rloo": ("0.3", "-0.3")}),
]


def _tol(printed: str) -> float:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0 ** (-decimals) + 1e-12


def _compute(column, rewards):
    r = np.array([rewards], dtype=float)
    if column in GRPO_CONVENTIONS:
        return advantages("grpo", r, convention=column)[0]
    return advantages(column, r)[0]


@pytest.mark.parametrize("rewards,cells", GOLDEN, ids=[str(g[0]) for g in GOLDEN])
@pytest.mark.parametrize("column", ["verl", "trl", "openrlhf", "dr_grpo", "rloo"])
def test_golden_table(rewards, cells, column):
    first, last = cells[column]
    adv = _compute(column, rewards)
    assert abs(adv[0] - float(first)) <= _tol(first)
    assert abs(adv[-1] - float(last)) <= _tol(last)


@pytest.mark.parametrize("convention", ["verl", "trl", "openrlhf"])
def test_g2_standardised_advantage_is_plus_minus_one_over_sqrt2(convention):
    # trl #5767: with G = 2 any std-normalised advantage is +-1/sqrt(2) whatever the reward gap
    eps = GRPO_CONVENTIONS[convention]["eps"]
    for gap in (1.0, 0.3, 1e-2):
        adv = advantages("grpo", [[gap, 0.0]], convention=convention)[0]
        std = gap / np.sqrt(2.0)
        np.testing.assert_allclose(adv, [gap / 2 / (std + eps), -gap / 2 / (std + eps)], rtol=1e-12)


def test_singleton_groups_follow_each_framework():
    r = [[0.7]]
    assert advantages("grpo", r, convention="verl")[0, 0] == pytest.approx(0.7 / (1 + 1e-6), rel=1e-15)
    assert advantages("grpo", r, convention="trl")[0, 0] == 0.0  # TRL: std 0 -> (r - r)/eps = 0
    assert advantages("grpo", r, convention="openrlhf")[0, 0] == 0.0  # OpenRLHF refuses n = 1; defined 0
    assert advantages("rloo", r)[0, 0] == 0.7  # verl rloo keeps the raw score
    assert advantages("rloo", r, singleton="zero")[0, 0] == 0.0  # verl rloo_vectorized
    assert advantages("dr_grpo", r)[0, 0] == 0.7


def test_vectorized_verl_std_floor():
    # verl grpo_vectorized: std = sqrt(max(var, 1e-6)) -> a nearly constant group is not blown up
    r = [[0.1, 0.1 + 1e-9, 0.1]]
    plain = advantages("grpo", r, convention="openrlhf")  # eps 1e-9
    floored = advantages("grpo", r, convention="openrlhf", std_floor=1e-3)
    assert np.abs(plain).max() > 0.3  # without the floor the 1e-9 wiggle is standardised to O(1)
    assert np.abs(floored).max() < 1e-5


def test_dapo_keep_mask_drops_all_equal_groups_only():
    from theory.estimators import estimate

    r = [[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0.5, 0.5, 0.5, 0.2]]
    est = estimate("dapo", r)
    assert est.keep.tolist() == [True, False, False, True]
    np.testing.assert_array_equal(est.advantages, advantages("grpo", r))
    assert estimate("dapo", [[1.0]]).keep.tolist() == [True]  # verl-recipe keeps singletons
    assert estimate("grpo", r).keep.all()
