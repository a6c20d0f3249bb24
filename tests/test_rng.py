"""The counter-based RNG: Numba kernel == Python twin, uniform moments, thread-count independence."""

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit, prange

from simulate.rng import (LANES, cos2pi, cos2pi_py, exp, exp_py, exponential, exponential_py, ln, ln_py, normal,
                          normal_py, padded, stream_key, uniform, uniform_py, uniforms_into)

words = st.integers(0, 2**63 - 1)


@given(seed=words, stream=words, counter=words)
def test_numba_equals_python_twin(seed, stream, counter):
    assert uniform(seed, stream, counter) == uniform_py(seed, stream, counter)
    assert normal(seed, stream, counter % 2**62) == normal_py(seed, stream, counter % 2**62)
    assert exponential(seed, stream, counter) == exponential_py(seed, stream, counter)


@njit(parallel=True)
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


@njit(error_model="numpy")
def _ln_loop(x, out):  # a loop of ln calls: the vectorised code path of the kernels
    for i in range(x.shape[0]):
        out[i] = ln(x[i])
    return out


positive_normal = st.floats(min_value=2.0**-1022, max_value=1.7e308, allow_nan=False, allow_infinity=False)


@given(x=positive_normal)
def test_ln_numba_equals_python_twin(x):
    assert ln(x) == ln_py(x)


def test_ln_vectorised_loop_equals_twin_and_is_within_one_ulp():
    rng = np.random.default_rng(5)
    u = np.concatenate([rng.random(100_000), np.exp(-rng.random(20_000) * 37.0),  # the uniforms' range
                        2.0 ** rng.uniform(-1022, 1023, 20_000),  # every binade
                        [2.0**-53, 1.0 - 2.0**-53, 0.5, 1.0, 2.0, 0.7071067811865476, 1.4142135623730951]])
    got = _ln_loop(u, np.empty_like(u))
    assert np.array_equal(got, [ln_py(float(v)) for v in u])
    assert got[-4] == 0.0  # ln(1) exactly
    # against an extended-precision log (x86 long double: 64-bit mantissa; plain double elsewhere,
    # where the bound still holds against the platform's log with 1 ulp to spare)
    exact = np.log(u.astype(np.longdouble))
    err = np.abs((got.astype(np.longdouble) - exact) / np.spacing(np.abs(got)).astype(np.longdouble))
    assert float(err[got != 0].max()) < (1.0 if np.finfo(np.longdouble).nmant > 52 else 2.0)


@njit
def _blocked(seed, stream, n):
    out = np.full(padded(n) + 1, -1.0)  # one sentinel past the padded length
    uniforms_into(stream_key(seed, stream), n, out)
    return out


def test_uniforms_into_fills_whole_blocks_with_the_counter_draws():
    for n in (1, 7, 8, 9, 24, 25):
        got = _blocked(3, 11, n)
        assert padded(n) % LANES == 0 and n <= padded(n) < n + LANES
        assert got.tolist() == [uniform_py(3, 11, c) for c in range(padded(n))] + [-1.0]


@njit(error_model="numpy")
def _exp_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])
    return out


@given(x=st.floats(min_value=-800.0, max_value=800.0, allow_nan=False))
def test_exp_numba_equals_python_twin(x):
    assert exp(x) == exp_py(x)


def test_exp_vectorised_loop_equals_twin_and_is_within_one_ulp():
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.uniform(-20.0, 5.0, 100_000), rng.uniform(-750.0, 712.0, 50_000),
                        [0.0, -0.0, 1.0, -1.0, 1e-300, -745.2, -745.1, -740.0, -708.5, 709.7, 709.8, 800.0, -800.0]])
    got = _exp_loop(x, np.empty_like(x))
    assert np.array_equal(got, [exp_py(float(v)) for v in x])
    assert got[-13] == 1.0 and got[-2] == np.inf and got[-1] == 0.0 and got[-8] == 0.0
    with np.errstate(over="ignore"):
        exact = np.exp(x.astype(np.longdouble))
    normal_range = (exact > np.finfo(np.float64).tiny) & (exact < np.finfo(np.float64).max)
    err = np.abs((got[normal_range] - exact[normal_range]) / np.spacing(got[normal_range]).astype(np.longdouble))
    assert float(err.max()) < (1.0 if np.finfo(np.longdouble).nmant > 52 else 2.0)
    sub = (exact > 0) & (exact <= np.finfo(np.float64).tiny)  # subnormal results: within one step of 2^-1074
    assert np.all(np.abs(got[sub] - exact[sub]) <= np.float64(5e-324))
    special = _exp_loop(np.array([np.nan, np.inf, -np.inf]), np.empty(3))  # as libm, in the loop too
    assert np.isnan(special[0]) and special[1] == np.inf and special[2] == 0.0
    assert np.isnan(exp(np.nan)) and np.isnan(exp_py(float("nan"))) and exp_py(float("inf")) == np.inf


@given(u=st.floats(min_value=0.0, max_value=1.0))
def test_cos2pi_numba_equals_python_twin(u):
    assert cos2pi(u) == cos2pi_py(u)


def test_cos2pi_is_within_one_ulp_also_near_its_zeros():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 200
    rng = np.random.default_rng(8)
    u = np.concatenate([rng.random(4000), 0.25 + 1e-3 * rng.random(500), 0.75 - 1e-6 * rng.random(500),
                        [0.125, 0.375, 0.625, 0.875, 1e-300, 0.25 + 2**-40, 0.75 - 2**-50, 0.5 - 2**-53, 1 - 2**-53]])
    for x in map(float, u):
        got, exact = cos2pi(x), mpmath.cos(2 * mpmath.pi * mpmath.mpf(x))
        assert float(abs(mpmath.mpf(got) - exact)) < np.spacing(abs(float(exact))), x
    assert [cos2pi(x) for x in (0.0, 0.25, 0.5, 0.75, 1.0)] == [1.0, 0.0, -1.0, 0.0, 1.0]  # exact where cos is


def test_draws_are_the_same_bits_on_every_platform():
    """Golden values: basic IEEE operations only (no libm), so any platform must give these."""
    assert [normal(7, 3, k).hex() for k in range(3)] == ["0x1.0515c988824d7p+0", "0x1.36d64aa542dcdp-2",
                                                         "-0x1.4aeef351d741ep+0"]
    assert [exponential(7, 3, k).hex() for k in range(3)] == ["0x1.a7c68870e3543p+0", "0x1.dcc47f984196dp+0",
                                                              "0x1.09444abe37cf3p-2"]
    assert [cos2pi(x).hex() for x in (0.1, 0.3, 0.61)] == ["0x1.9e3779b97f4a8p-1", "-0x1.3c6ef372fe94ep-2",
                                                          "-0x1.8a80b635b6beap-1"]
    assert uniform(7, 3, 0).hex() == "0x1.8735e582a2a68p-3" and ln(0.3).hex() == "-0x1.34378fcbda721p+0"
    assert exp(-1.7).hex() == "0x1.7622c78a98a07p-3"
