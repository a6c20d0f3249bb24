"""Seeds are integers end to end: never rounded through float64 (which merges seeds above 2**53)."""

import numpy as np
import pytest

from theory.checks import as_seed_array


def test_large_seeds_survive_exactly():
    seeds = [2**62, 2**62 + 1, 2**63 - 1]
    out = as_seed_array("seeds", seeds)
    assert out.dtype == np.int64 and out.tolist() == seeds
    assert as_seed_array("seeds", np.array(seeds, dtype=np.uint64)).tolist() == seeds


@pytest.mark.parametrize("bad", [[-1], [2**63], [1.5], [float("nan")], [2.0**60], [[1, 2]], ["a"], [1 + 0j]])
def test_bad_seeds_name_the_parameter(bad):
    with pytest.raises(ValueError, match=r"seeds must"):
        as_seed_array("seeds", bad)


def test_efficiency_sweep_distinguishes_neighbouring_large_seeds():
    from simulate.budget_sweep import efficiency_sweep

    a = efficiency_sweep([1.0], [2**62, 2**62 + 1], P=8, G=4, n_iter=3)
    gain = a["gain"]  # (S, X)
    assert not np.array_equal(gain[0], gain[1])  # float64 rounding made these two runs identical
