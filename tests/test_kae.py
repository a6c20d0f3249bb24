"""The stateful registry entry: kernelized advantage estimation (paper C) against its oracle."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.oracles import kae_group, rloo_group
from theory.estimators import advantages
from theory.kae import KernelHistory


@given(seed=st.integers(0, 2**31 - 1), g=st.integers(1, 6), steps=st.integers(1, 8),
       bandwidth=st.floats(0.05, 2.0), kernel=st.sampled_from(["triangular", "exponential"]))
def test_kae_equals_oracle_over_a_training_run(seed, g, steps, bandwidth, kernel):
    rng = np.random.default_rng(seed)
    hist = KernelHistory()
    py_hist = {0: [], 1: []}
    for step in range(1, steps + 1):
        r = (rng.random((2, g)) < 0.4).astype(float)
        got = advantages("kae", r, prompt_ids=[0, 1], step=step, history=hist, bandwidth=bandwidth,
                         kernel=kernel)
        for p in (0, 1):
            want = kae_group(list(r[p]), step, py_hist[p], bandwidth, kernel)
            np.testing.assert_allclose(got[p], want, rtol=1e-12, atol=1e-12)
            py_hist[p] += [(step, z) for z in r[p]]


def test_empty_history_is_rloo_and_g1_is_reinforce():
    r = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    a = advantages("kae", r, step=1, history=KernelHistory())
    np.testing.assert_allclose(a[0], rloo_group(list(r[0])), rtol=1e-12)
    assert advantages("kae", [[1.0]], step=1, history=KernelHistory())[0, 0] == 1.0


def test_triangular_window_forgets_old_iterations():
    hist = KernelHistory()
    advantages("kae", [[1.0, 1.0]], step=1, history=hist, bandwidth=0.5)
    # step 10, h = 0.5: u = 9 / 5 > 1, so the step-1 rewards get weight 0 and the baseline is 0
    assert advantages("kae", [[0.0]], step=10, history=hist, bandwidth=0.5, update=False)[0, 0] == 0.0
    # step 2, h = 1: u = 1 / 2, K = 0.5 on both past rewards (1, 1) -> baseline 1, A = 0 - 1
    assert advantages("kae", [[0.0]], step=2, history=hist, bandwidth=1.0, update=False)[0, 0] == -1.0


def test_ring_buffer_capacity():
    hist = KernelHistory(capacity=3)
    for step in range(1, 5):
        advantages("kae", [[float(step % 2), 1.0]], step=step, history=hist, bandwidth=10.0)
    assert hist.count[0] == 8 and len(hist) == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"step": 0, "history": KernelHistory()}, "step must be an integer >= 1"),
    ({"step": 1}, "history must be"),
    ({"step": 1, "history": KernelHistory(), "bandwidth": 0.0}, "bandwidth must be"),
    ({"step": 1, "history": KernelHistory(), "kernel": "gauss"}, "kernel must be one of"),
    ({"step": 1, "history": KernelHistory(), "prompt_ids": [1, 2]}, "prompt_ids must have one id per row"),
])
def test_bad_kae_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        advantages("kae", [[1.0, 0.0]], **kwargs)
