"""The stateful registry entry: kernelized advantage estimation (paper C) against its oracle."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.oracles import kae_group, rloo_group
from theory.estimators import ESTIMATORS, advantages, new_state, state_from_dict
from theory.kae import KernelHistory


@given(seed=st.integers(0, 2**31 - 1), g=st.integers(1, 6), steps=st.integers(1, 8),
       bandwidth=st.floats(0.05, 2.0), kernel=st.sampled_from(["triangular", "exponential"]))
def test_kae_equals_oracle_over_a_training_run(seed, g, steps, bandwidth, kernel):
    rng = np.random.default_rng(seed)
    hist = new_state("kae")
    py_hist = {0: [], 1: []}
    for step in range(1, steps + 1):
        r = (rng.random((2, g)) < 0.4).astype(float)
        got = advantages("kae", r, prompt_ids=[0, 1], step=step, state=hist, bandwidth=bandwidth,
                         kernel=kernel)
        for p in (0, 1):
            want = kae_group(list(r[p]), step, py_hist[p], bandwidth, kernel)
            np.testing.assert_allclose(got[p], want, rtol=1e-12, atol=1e-12)
            py_hist[p] += [(step, z) for z in r[p]]


def test_declares_what_it_needs():
    entry = ESTIMATORS["kae"]
    assert entry.stateful and entry.needs == {"prompt_ids", "step", "state"}
    assert all(not e.needs for e in ESTIMATORS.values() if not e.stateful)


def test_empty_history_is_rloo_and_g1_is_reinforce():
    r = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    a = advantages("kae", r, prompt_ids=[0], step=1, state=new_state("kae"))
    np.testing.assert_allclose(a[0], rloo_group(list(r[0])), rtol=1e-12)
    assert advantages("kae", [[1.0]], prompt_ids=[0], step=1, state=new_state("kae"))[0, 0] == 1.0


def test_triangular_window_forgets_old_iterations():
    hist = new_state("kae")
    advantages("kae", [[1.0, 1.0]], prompt_ids=[7], step=1, state=hist, bandwidth=0.5)
    # step 10, h = 0.5: u = 9 / 5 > 1, so the step-1 rewards get weight 0 and the baseline is 0
    assert advantages("kae", [[0.0]], prompt_ids=[7], step=10, state=hist, bandwidth=0.5, update=False)[0, 0] == 0.0
    # step 2, h = 1: u = 1 / 2, K = 0.5 on both past rewards (1, 1) -> baseline 1, A = 0 - 1
    assert advantages("kae", [[0.0]], prompt_ids=[7], step=2, state=hist, bandwidth=1.0, update=False)[0, 0] == -1.0


def test_ring_buffer_capacity():
    hist = new_state("kae", capacity=3)
    assert isinstance(hist, KernelHistory) and hist.capacity == 3
    for step in range(1, 5):
        advantages("kae", [[float(step % 2), 1.0]], prompt_ids=[0], step=step, state=hist, bandwidth=10.0)
    assert hist.count[0] == 8 and len(hist) == 1


@pytest.mark.parametrize("capacity", [3, 64])
def test_state_json_round_trip_continues_identically(capacity):
    """A history saved as JSON and restored gives the very same advantages afterwards (no pickle)."""
    rng = np.random.default_rng(5)
    a, ids = new_state("kae", capacity=capacity), [3, "p7", 11]
    for step in range(1, 6):
        advantages("kae", (rng.random((3, 4)) < 0.5) * 1.0, prompt_ids=ids, step=step, state=a)
    b = state_from_dict("kae", json.loads(json.dumps(a.to_dict())))
    assert json.dumps(b.to_dict()) == json.dumps(a.to_dict())
    for step in range(6, 9):
        r = (rng.random((3, 4)) < 0.5) * 1.0
        np.testing.assert_array_equal(advantages("kae", r, prompt_ids=ids, step=step, state=a),
                                      advantages("kae", r, prompt_ids=ids, step=step, state=b))


@pytest.mark.parametrize("data,match", [
    (None, "format"), ({"format": "x"}, "format"),
    ({"format": "theory.kae.KernelHistory/1", "capacity": 0}, "capacity"),
    ({"format": "theory.kae.KernelHistory/1", "capacity": 4, "ids": [1], "count": [2], "iters": [[1.0]],
      "rewards": [[1.0]]}, "min"),
    ({"format": "theory.kae.KernelHistory/1", "capacity": 4, "ids": [1, 1], "count": [0, 0], "iters": [[], []],
      "rewards": [[], []]}, "distinct"),
    ({"format": "theory.kae.KernelHistory/1", "capacity": 4, "ids": [1], "count": [1], "iters": [["a"]],
      "rewards": [[1.0]]}, "state iters"),
])
def test_malformed_state_is_a_value_error(data, match):
    with pytest.raises(ValueError, match=match):
        state_from_dict("kae", data)


def test_stateless_entries_have_no_state():
    assert new_state("grpo", convention="trl") is None and state_from_dict("grpo", None) is None
    with pytest.raises(ValueError, match="stateless"):
        state_from_dict("grpo", {"a": 1})


@pytest.mark.parametrize("kwargs,match", [
    ({"step": 0, "state": KernelHistory(), "prompt_ids": [0]}, "step must be an integer >= 1"),
    ({"step": 1, "prompt_ids": [0]}, r"needs \['state'\]"),
    ({"state": KernelHistory(), "prompt_ids": [0]}, r"needs \['step'\]"),
    ({"step": 1, "state": KernelHistory()}, r"needs \['prompt_ids'\]"),
    ({"step": 1, "state": {"history": 1}, "prompt_ids": [0]}, "state must be a theory.kae.KernelHistory"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [0], "bandwidth": 0.0}, "bandwidth must be"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [0], "kernel": "gauss"}, "kernel must be one of"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [0], "update": "yes"}, "update must be True or False"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [1, 2]}, "prompt_ids must have one id per row"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [[1]]}, "prompt_ids must be hashable"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [0], "bandwith": 0.3},
     r"unknown option\(s\) \['bandwith'\] for estimator 'kae'; accepted: .*bandwidth"),
    ({"step": 1, "state": KernelHistory(), "prompt_ids": [0], "history": KernelHistory()}, "unknown option"),
])
def test_bad_kae_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        advantages("kae", [[1.0, 0.0]], **kwargs)


def test_option_typo_is_caught_before_the_rewards():
    with pytest.raises(ValueError, match="bandwith"):
        advantages("kae", [[1.0, 0.0]], bandwith=0.3)
