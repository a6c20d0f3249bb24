"""The counter-based RNG: Numba kernel == Python twin, uniform moments, thread-count independence."""

import numba
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numba import njit, prange

from simulate.rng import exponential, exponential_py, normal, normal_py, uniform, uniform_py

words = st.integers(0, 2**63 - 1)


@given(seed=words, stream=words, counter=words)
def test_numba_equals_python_twin(seed, stream, counter):
    assert uniform(seed, stream, counter) == uniform_py(seed, stream, counter)
    assert normal(seed, stream, counter % 2**62) == normal_py(seed, stream, counter % 2**62)
    assert exponential(seed, stream, counter) == exponential_py(seed, stream, counter)


@njit(parallel=True, cache=True)
def _fill(seed, n):
    out = np.empty(n)
    for i in prange(n):
        out[i] = uniform(seed, i, 7)
    return out


def test_uniform_moments_and_open_interval():
    x = _fill(3, 200_000)
    # mean 1/2 with se sqrt(1/12 / n) = 6.5e-4 -> 4 se = 2.6e-3; var 1/12 with se ~ 1.9e-4 (4 se 7.5e-4)
    assert abs(x.mean() - 0.5) < 2.6e-3 and abs(x.var() - 1 / 12) < 7.5e-4
    assert 0.0 < x.min() and x.max() < 1.0


def test_same_numbers_on_any_thread_count():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _fill(11, 10_000)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = _fill(11, 10_000)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)
    assert not np.array_equal(_fill(11, 100), _fill(12, 100))
