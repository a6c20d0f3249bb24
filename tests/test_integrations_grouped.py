"""The framework-independent core of the integrations: flat rewards + group labels -> registry advantages.

Checked against a plain per-group loop over ``theory.estimators.estimate`` (the oracle), with NaN
(unscorable) rows, uneven and one-member groups, dapo's dropped groups, and kae's order-dependent
state; and the JSON state file."""

import json

import numpy as np
import pytest

from rlvr_lab.integrations import estimator_state as es
from rlvr_lab.integrations.grouped import grouped_advantages
from theory.estimators import estimate, names


def _oracle(name, r, labels, options, **stateful):
    """Per group, in order of first appearance: the registry on the scorable members; NaN rows and dropped groups 0."""
    out = np.zeros_like(r)
    order = list(dict.fromkeys(labels))
    for gi, g in enumerate(order):
        rows = [k for k in range(len(r)) if labels[k] == g and not np.isnan(r[k])]
        if not rows:
            continue
        extra = {}
        if stateful:
            extra = {"prompt_ids": [stateful["prompt_ids"][gi]], "step": stateful["step"], "state": stateful["state"]}
        est = estimate(name, r[rows][None, :], **options, **extra)
        out[rows] = est.advantages[0] if est.keep[0] else 0.0
    return out


def _batch(seed):
    rng = np.random.default_rng(seed)
    labels = [g for g, n in enumerate([4, 4, 1, 3, 4, 2]) for _ in range(n)]
    perm = rng.permutation(len(labels))
    labels = [labels[k] for k in perm]
    r = rng.integers(0, 2, len(labels)).astype(float)
    r[rng.random(len(r)) < 0.2] = np.nan
    r[[k for k in range(len(r)) if labels[k] == 4]] = 0.0  # an all-fail group
    return r, labels


@pytest.mark.parametrize("name", names())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_per_group_oracle(name, seed):
    r, labels = _batch(seed)
    options = {"rho_star": 0.3} if name == "plateau_r" else {}
    if es.is_stateful(name):
        n_groups = len(set(labels))
        ids = [f"p{g % 3}" for g in range(n_groups)]  # repeated prompts within one batch
        s1, s2 = es.new_state(name), es.new_state(name)
        for step in (1, 2):
            got = grouped_advantages(name, r, labels, options=options, prompt_ids=ids, step=step, state=s1)
            want = _oracle(name, r, labels, options, prompt_ids=ids, step=step, state=s2)
            np.testing.assert_array_equal(got.advantages, want)
        assert es.state_to_dict(name, s1) == es.state_to_dict(name, s2)
        return
    got = grouped_advantages(name, r, labels, options=options)
    np.testing.assert_array_equal(got.advantages, _oracle(name, r, labels, options))
    assert np.all(got.advantages[np.isnan(r)] == 0)
    assert got.labels == list(dict.fromkeys(labels))


def test_dropped_and_unscorable_groups_get_zero():
    r = np.array([1, 1, 1, 1, 1, 0, np.nan, 0, np.nan, np.nan])
    labels = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    got = grouped_advantages("dapo", r, labels, options={"convention": "trl"})
    assert got.keep.tolist() == [False, True, True]
    assert got.advantages[:4].tolist() == [0.0] * 4 and got.advantages[8:].tolist() == [0.0, 0.0]
    assert got.advantages[6] == 0.0 and got.advantages[4] > 0 > got.advantages[5]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"linear_r.*\[0, 1\]"):
        grouped_advantages("linear_r", [0.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="infinite"):
        grouped_advantages("grpo", [0.0, np.inf], [0, 0])
    with pytest.raises(ValueError, match="group_ids"):
        grouped_advantages("grpo", [0.0, 1.0], [0])
    with pytest.raises(ValueError, match="prompt_ids"):
        grouped_advantages("kae", [0.0, 1.0], [0, 0], step=1, state=es.new_state("kae"))
    with pytest.raises(ValueError, match="must not set"):
        es.validate("kae", {"state": None})
    with pytest.raises(ValueError, match="bandwidth"):
        es.validate("kae", {"bandwidth": -1.0})


def test_read_only_calls_leave_the_state_alone():
    s = es.new_state("kae")
    grouped_advantages("kae", [0.0, 1.0, 1.0, 1.0], [0, 0, 1, 1], prompt_ids=["x", "y"], step=1, state=s)
    before = es.state_to_dict("kae", s)
    grouped_advantages("kae", [1.0, 1.0, 0.0, 0.0], [0, 0, 1, 1], prompt_ids=["x", "y"], step=2, state=s,
                       update=False)
    assert es.state_to_dict("kae", s) == before


def test_state_file_round_trip_and_refusals(tmp_path):
    s = es.new_state("kae", bandwidth=1.0)
    grouped_advantages("kae", [0.0, 1.0, 1.0, 1.0], [0, 0, 1, 1], options={"bandwidth": 1.0}, prompt_ids=[7, "q"],
                       step=1, state=s)
    path = tmp_path / "state.json"
    es.save_json(path, "kae", {"bandwidth": 1.0}, 1, s)
    step, back = es.load_json(path, "kae")
    assert step == 1 and es.state_to_dict("kae", back) == es.state_to_dict("kae", s)
    a = grouped_advantages("kae", [1.0, 0.0, 1.0, 0.0], [0, 0, 1, 1], options={"bandwidth": 1.0}, prompt_ids=[7, "q"],
                           step=2, state=s).advantages
    b = grouped_advantages("kae", [1.0, 0.0, 1.0, 0.0], [0, 0, 1, 1], options={"bandwidth": 1.0}, prompt_ids=[7, "q"],
                           step=2, state=back).advantages
    np.testing.assert_array_equal(a, b)
    fresh = grouped_advantages("kae", [1.0, 0.0, 1.0, 0.0], [0, 0, 1, 1], options={"bandwidth": 1.0},
                               prompt_ids=[7, "q"], step=2, state=es.new_state("kae")).advantages
    assert not np.array_equal(a, fresh)  # the history matters, so the round trip is a real check
    with pytest.raises(ValueError, match="not 'grpo'"):
        es.load_json(path, "grpo")
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not an rlvr-lab estimator state"):
        es.load_json(path, "kae")
