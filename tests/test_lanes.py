"""simulate.lanes: the compiled vector count and one-hot scores equal their plain-Python twins and
NumPy, bit for bit; the sizes marker carries its sizes into a kernel."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from numba import njit

from simulate.lanes import count_le, onehot_scores, sizes, static_shape
from simulate.rng import LANES


@njit
def _compiled(a, start, x):
    return count_le(a, start, x)


@njit
def _compiled_strided(a, start, x):
    return count_le(a[::2], start, x)  # not contiguous: the loop, not the vector load


values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 0.5, 1.0]))


@given(a=st.lists(values, min_size=LANES, max_size=3 * LANES), data=st.data())
def test_count_le_equals_its_twin_and_numpy(a, data):
    arr = np.array(a, dtype=np.float64)
    start = data.draw(st.integers(0, arr.size - LANES), label="start")
    # x: an entry itself (ties count), a neighbour of one, or anything
    x = data.draw(st.one_of(st.sampled_from(a), values, st.sampled_from([np.nextafter(v, np.inf) for v in a])),
                  label="x")
    expected = int(np.count_nonzero(arr[start:start + LANES] <= x))
    assert count_le(arr, start, x) == expected
    assert _compiled(arr, start, x) == expected


def test_count_le_reads_only_its_lanes():
    a = np.arange(3 * LANES, dtype=np.float64)  # 0, 1, ..., 23
    assert _compiled(a, LANES, 100.0) == LANES
    assert _compiled(a, LANES, LANES + 2.5) == 3
    assert _compiled(a, 0, -1.0) == 0
    assert _compiled(a, 2 * LANES, np.nan) == 0


def test_count_le_strided_falls_back_to_the_loop():
    a = np.arange(4 * LANES, dtype=np.float64)  # a[::2] = 0, 2, 4, ...
    assert _compiled_strided(a, 1, 7.0) == 3  # 2, 4, 6


@njit
def _shape_and_sum(marker, a):
    """Sums a[:K] with K from the marker: the loop's trip count is a compile-time constant."""
    (k,) = static_shape(marker)
    s = 0.0
    for i in range(k):
        s += a[i]
    return k, s


@njit
def _static_shape_3(marker):
    return static_shape(marker)


def test_static_shape_returns_the_marker_sizes():
    assert _static_shape_3(sizes(2, 3, 8)) == (2, 3, 8)
    a = np.arange(10.0)
    assert _shape_and_sum(sizes(4), a) == (4, 6.0)
    assert _shape_and_sum(sizes(7), a) == (7, 21.0)


def test_each_sizes_is_its_own_specialisation():
    """The sizes are in the marker's type: one compiled version per distinct sizes, reused."""
    f = njit(_shape_and_sum.py_func)
    a = np.arange(10.0)
    f(sizes(3), a)
    f(sizes(3), a)
    assert len(f.overloads) == 1
    f(sizes(5), a)
    assert len(f.overloads) == 2


@pytest.mark.parametrize("bad", [(), (0,), (3, -1), (2.5,), (True,)])
def test_sizes_refuses_non_positive_or_non_integer(bad):
    with pytest.raises(ValueError, match="sizes must be integers >= 1"):
        sizes(*bad)


@njit
def _scores_compiled(shape, adv, acts, pi, out):
    onehot_scores(shape, adv, acts, pi, out)


@njit
def _scores_strided(shape, adv, acts, pi, out):
    onehot_scores(shape, adv[::2], acts, pi, out)  # not contiguous: the loop, not the vector form


def _bits(x):
    return np.ascontiguousarray(x).view(np.uint64).tolist()


@given(S=st.integers(1, 6), K=st.integers(2, 5), G=st.integers(1, 20), seed=st.integers(0, 2**32 - 1),
       signed_zero=st.booleans())
def test_onehot_scores_equal_the_loop_and_numpy_bit_for_bit(S, K, G, seed, signed_zero):
    rng = np.random.default_rng(seed)
    adv = rng.normal(size=G) * 10.0 ** rng.integers(-3, 4, size=G)  # mixed magnitudes: order matters
    if signed_zero:
        adv[rng.random(G) < 0.3] = -0.0
    acts = rng.integers(0, K, size=(G, S))
    pi = rng.dirichlet(np.ones(K), size=S)
    compiled, twin = np.full((S, K), np.nan), np.full((S, K), np.nan)
    _scores_compiled(sizes(S, K, G), adv, acts, pi, compiled)
    onehot_scores(sizes(S, K, G), adv, acts, pi, twin)
    expected = np.zeros((S, K))  # the sum in rollout order, one (s, j) at a time
    for i in range(G):
        expected += adv[i] * ((acts[i][:, None] == np.arange(K)).astype(np.float64) - pi)
    assert _bits(compiled) == _bits(twin) == _bits(expected)


def test_onehot_scores_strided_take_the_loop():
    adv2 = np.array([1.0, 9.0, -2.0, 9.0, 0.5, 9.0])  # adv2[::2] = 1, -2, 0.5
    acts = np.array([[0], [1], [1]])
    pi = np.array([[0.25, 0.75]])
    out = np.empty((1, 2))
    _scores_strided(sizes(1, 2, 3), adv2, acts, pi, out)
    assert out.tolist() == [[1.0 * 0.75 + -2.0 * -0.25 + 0.5 * -0.25, 1.0 * -0.75 + -2.0 * 0.25 + 0.5 * 0.25]]


def test_onehot_scores_beyond_max_lanes_take_the_loop():
    from numba import typeof

    from simulate.lanes import MAX_LANES, _vector_sizes

    S, K, G = 9, 8, 5  # 72 sums > MAX_LANES
    assert S * K > MAX_LANES
    rng = np.random.default_rng(5)
    adv, acts, pi = rng.normal(size=G), rng.integers(0, K, size=(G, S)), rng.dirichlet(np.ones(K), size=S)
    compiled, twin = np.empty((S, K)), np.empty((S, K))
    types = [typeof(x) for x in (sizes(S, K, G), adv, acts, pi, compiled)]
    assert _vector_sizes(*types) is None  # no vector form: the loop is compiled
    assert _vector_sizes(typeof(sizes(2, 3, G)), *types[1:]) == (2, 3, G)  # (the check itself can pass)
    _scores_compiled(sizes(S, K, G), adv, acts, pi, compiled)
    onehot_scores(sizes(S, K, G), adv, acts, pi, twin)
    assert _bits(compiled) == _bits(twin)
