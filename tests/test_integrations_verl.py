"""The verl adapter: a pure function checked against a plain per-group oracle (no verl needed), and,
where verl is installed, parity with verl's own grpo/rloo and registration on ``import verl``.

verl pins an older transformers than the project, so its tests run in their own environment::

    python3 -m venv /work/venvs/verl && /work/venvs/verl/bin/pip install torch==2.13.0 \\
        && /work/venvs/verl/bin/pip install verl pytest && /work/venvs/verl/bin/pip install -e ".[test]"
    /work/venvs/verl/bin/python -m pytest -q tests/test_integrations_verl.py tests/test_integrations_export.py

(verl 0.9.1 brought transformers 5.10.4 and kept torch 2.13.0; the llm extra's transformers>=5,<6 accepts it.)

In the project's own environment the verl-dependent tests skip with that reason.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rlvr_lab.integrations import verl as rv
from theory.estimators import ESTIMATORS, advantages as registry_advantages

try:
    from verl.trainer.ppo import core_algos
except Exception as err:  # noqa: BLE001 - any failure to import verl means: no verl here
    core_algos = None
    WHY = f"verl is not importable here ({type(err).__name__}); see the module docstring for its environment"
else:
    WHY = ""
needs_verl = pytest.mark.skipif(core_algos is None, reason=WHY or "verl present")


def _batch(seed=0, *, sizes=(4, 3, 1, 5), binary=True, T=7):
    """Rows of several groups (uneven sizes, a one-member group), shuffled, with ragged response masks."""
    rng = np.random.default_rng(seed)
    uids = np.array([f"uid-{g}" for g, n in enumerate(sizes) for _ in range(n)], dtype=object)
    scores = rng.integers(0, 2, uids.size).astype(float) if binary else rng.random(uids.size)
    perm = rng.permutation(uids.size)
    uids, scores = uids[perm], scores[perm]
    lengths = rng.integers(1, T + 1, uids.size)
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float32)
    tlr = np.zeros((uids.size, T), dtype=np.float32)
    tlr[np.arange(uids.size), lengths - 1] = scores  # outcome reward on the last valid token
    return torch.tensor(tlr), torch.tensor(mask), uids, scores


def _oracle(name, scores, uids, options):
    """Plain per-group loop over the registry: advantage of each row, broadcast later."""
    out = np.zeros_like(scores)
    for u in dict.fromkeys(uids.tolist()):
        rows = [k for k in range(len(uids)) if uids[k] == u]
        out[rows] = registry_advantages(name, scores[rows][None, :], **options)[0]
    return out


@pytest.mark.parametrize("name", rv.registrable())
@pytest.mark.parametrize("seed", [0, 1])
def test_adapter_matches_the_per_group_oracle(name, seed):
    tlr, mask, uids, scores = _batch(seed)
    opts = {"rho_star": 0.3} if name == "plateau_r" else {}
    adv, ret = rv.compute_advantage(name, tlr, mask, uids, opts)
    want = _oracle(name, scores, uids, opts)
    assert adv.shape == tlr.shape and adv.dtype == tlr.dtype
    assert torch.equal(adv, ret)
    np.testing.assert_allclose(adv.numpy(), (want[:, None] * mask.numpy()).astype(np.float32), rtol=0, atol=0)
    assert torch.all(adv[mask == 0] == 0)


def test_golden_values_and_the_one_member_group():
    # reference/rlvr_frameworks.md 3.5: verl grpo on [1,0,0,0] gives 1.499997, -0.499999; a singleton keeps r
    tlr = torch.tensor([[1.0], [0.0], [0.0], [0.0], [1.0]])
    mask = torch.ones_like(tlr)
    adv, _ = rv.compute_advantage("grpo", tlr, mask, np.array(["a", "a", "a", "a", "b"], dtype=object))
    np.testing.assert_allclose(adv[:, 0].numpy(), [1.499997, -0.499999, -0.499999, -0.499999, 1 / (1 + 1e-6)],
                               rtol=1e-6)
    lin, _ = rv.compute_advantage("linear_r", torch.zeros(4, 2), torch.ones(4, 2), np.zeros(4, dtype=object))
    assert torch.equal(lin, torch.full((4, 2), -1.0))  # an all-fail group moves under linear_r


def test_options_come_from_the_algorithm_config():
    class Algo:  # attribute access, like verl's AlgoConfig
        rlvr_lab = {"rho_star": 0.3}

    assert rv.options_from_config(None) == {} and rv.options_from_config({}) == {}
    assert rv.options_from_config({"rlvr_lab": {"rho_star": 0.3}}) == {"rho_star": 0.3}
    assert rv.options_from_config(Algo()) == {"rho_star": 0.3}
    omegaconf = pytest.importorskip("omegaconf", reason="omegaconf (comes with verl) is not installed")
    cfg = omegaconf.OmegaConf.create({"adv_estimator": "rlvr_plateau_r", "rlvr_lab": {"rho_star": 0.3}})
    assert rv.options_from_config(cfg) == {"rho_star": 0.3}


def test_what_verl_cannot_take_is_refused_plainly():
    tlr, mask, uids, _ = _batch()
    assert "kae" not in rv.registrable() and "dapo" not in rv.registrable()
    assert set(rv.registrable()) == {n for n, e in ESTIMATORS.items() if not e.stateful and not e.filters_groups}
    for name, word in (("kae", "stateful"), ("dapo", "filter_groups")):
        with pytest.raises(ValueError, match=word):
            rv.compute_advantage(name, tlr, mask, uids)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rv.compute_advantage("linear_r", 2 * tlr, mask, uids)
    with pytest.raises(ValueError, match="index"):
        rv.compute_advantage("grpo", tlr, mask, uids[:-1])
    with pytest.raises(ValueError, match="rho_star"):
        rv.compute_advantage("plateau_r", tlr, mask, uids, {"rho_star": 2.0})


# ---------------------------------------------------------------------------------------------------
# With verl installed (its own environment)
# ---------------------------------------------------------------------------------------------------
@needs_verl
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("binary", [True, False])
def test_parity_with_verl_grpo_and_rloo(seed, binary):
    tlr, mask, uids, _ = _batch(seed, binary=binary)
    for ours, theirs, kw in (
        ("rlvr_grpo", core_algos.compute_grpo_outcome_advantage, {"norm_adv_by_std_in_grpo": True}),
        ("rlvr_rloo", core_algos.compute_rloo_outcome_advantage, {}),
    ):
        want, want_ret = theirs(token_level_rewards=tlr, response_mask=mask, index=uids, **kw)
        got, got_ret = core_algos.get_adv_estimator_fn(ours)(token_level_rewards=tlr, response_mask=mask,
                                                             index=uids, config=None)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got_ret, want_ret, rtol=1e-5, atol=1e-6)


@needs_verl
def test_options_reach_the_estimator_through_verl_config():
    from omegaconf import OmegaConf

    tlr, mask, uids, scores = _batch(3)
    cfg = OmegaConf.create({"adv_estimator": "rlvr_plateau_r", "rlvr_lab": {"rho_star": 0.3}})
    got, _ = core_algos.get_adv_estimator_fn("rlvr_plateau_r")(token_level_rewards=tlr, response_mask=mask,
                                                                index=uids, config=cfg)
    want = _oracle("plateau_r", scores, uids, {"rho_star": 0.3})
    np.testing.assert_allclose(got.numpy(), (want[:, None] * mask.numpy()).astype(np.float32))


@needs_verl
def test_import_verl_registers_every_estimator_through_the_entry_point():
    code = ("import verl\nfrom verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY as R\n"
            "print(' '.join(sorted(k for k in R if k.startswith('rlvr_'))))")
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": ""}
    env.pop("VERL_USE_EXTERNAL_PLUGINS")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).parents[1] / "tests", check=True).stdout.split()
    assert out == [f"rlvr_{n}" for n in rv.registrable()]
