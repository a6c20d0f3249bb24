"""The TRL integration on the tiny model: parity with native TRL, the all-fail group, kae resume, NaN rows.

Needs trl and datasets (``pip install 'rlvr-lab[trl]'``); skipped with the reason otherwise. Every
trainer runs on CPU without vLLM. Rewards are a deterministic function of the completion text
(SHA-256), so groups mix successes, failures and (``none_every``) unscorable rows.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl", reason="trl is not installed (pip install 'rlvr-lab[trl]')")
pytest.importorskip("datasets", reason="datasets is not installed (pip install 'rlvr-lab[trl]')")

import torch  # noqa: E402
import trl  # noqa: E402
from datasets import Dataset  # noqa: E402

from llm_backend.models import build_tiny  # noqa: E402
from rlvr_lab.integrations import estimator_state  # noqa: E402
from rlvr_lab.integrations import trl as rt  # noqa: E402
from rlvr_lab.integrations.grouped import grouped_advantages  # noqa: E402
from theory.estimators import advantages as registry_advantages  # noqa: E402

PROMPTS = ["What is 2 + 3?", "What is 4 + 4?", "What is 5 + 1?", "What is 7 + 2?"]
ALL_FAIL = "What is 4 + 4?"  # the reward function fails every completion of this prompt


def _digest_bit(text: str, k: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[k], 16)


def make_reward(none_every: int = 0):
    """Reward 1 for about half of the completions, 0 for the all-fail prompt, None for some rows."""
    def reward(prompts, completions, **kwargs):
        out = []
        for p, c in zip(prompts, completions):
            if none_every and _digest_bit(c, 1) % none_every == 0:
                out.append(None)
            else:
                out.append(0.0 if p == ALL_FAIL else float(_digest_bit(c, 0) < 8))
        return out
    return reward


def _config(out, **kw):
    base = dict(output_dir=str(out), per_device_train_batch_size=8, num_generations=4, max_completion_length=6,
                max_steps=2, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no", seed=0,
                steps_per_generation=1, temperature=1.5)
    base.update(kw)
    return base


def _recording(cls):
    class Recording(cls):
        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            self.rec_adv.append(out["advantages"].detach().clone())
            self.rec_logged.append(list(self._logs["advantages"]))
            return out

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            self.rec_loss.append(loss.detach().clone())
            return loss
    return Recording


def run(cls, config_cls, tmp_path, reward, *, dataset=None, train=True, resume=None, **kw):
    trainer_kw = {k: kw.pop(k) for k in ("estimator", "estimator_options", "prompt_id_column") if k in kw}
    model, tok = build_tiny(0)
    ds = dataset if dataset is not None else Dataset.from_dict({"prompt": PROMPTS * 4})
    tr = _recording(cls)(model=model, reward_funcs=reward, args=config_cls(**_config(tmp_path, **kw)),
                         train_dataset=ds, processing_class=tok, **trainer_kw)
    tr.rec_adv, tr.rec_loss, tr.rec_logged = [], [], []
    tr.init_params = {n: p.detach().clone() for n, p in tr.model.named_parameters()}
    if train:
        tr.train(resume_from_checkpoint=resume)
    return tr


def _assert_same_update(native, ours):
    """The trained weights agree (the loss value alone can be 0 by construction: centred advantages on
    equal-length completions sum to 0), and the update moved them (so the comparison is not vacuous)."""
    moved = 0.0
    for (name, p), (_, q) in zip(native.model.named_parameters(), ours.model.named_parameters()):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-7, msg=name)
        moved = max(moved, (p - native.init_params[name]).abs().max().item())
    assert moved > 0


def _assert_same(a, b):
    """Equal up to float32 rounding: the registry works in float64 and rounds once, TRL rounds each step."""
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("none_every", [0, 5])
def test_grpo_trl_convention_reproduces_native_trl(tmp_path, none_every):
    reward = make_reward(none_every)
    native = run(trl.GRPOTrainer, trl.GRPOConfig, tmp_path / "n", reward)
    ours = run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path / "o", reward, estimator="grpo",
               estimator_options={"convention": "trl"})
    adv = torch.cat(native.rec_adv)
    assert (adv > 0).any() and (adv < 0).any() and (adv == 0).any()  # the batch exercises every case
    _assert_same(native.rec_adv, ours.rec_adv)
    _assert_same(native.rec_loss, ours.rec_loss)
    _assert_same_update(native, ours)
    for x, y in zip(native.rec_logged, ours.rec_logged):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def test_rloo_reproduces_native_trl_rloo(tmp_path):
    reward = make_reward(5)
    native = run(trl.RLOOTrainer, trl.RLOOConfig, tmp_path / "n", reward, beta=0.0)
    ours = run(rt.RLOOTrainer, trl.RLOOConfig, tmp_path / "o", reward, beta=0.0, estimator="rloo",
               estimator_options={"singleton": "zero"})
    assert torch.cat(native.rec_adv).abs().sum() > 0
    _assert_same(native.rec_adv, ours.rec_adv)
    _assert_same(native.rec_loss, ours.rec_loss)
    _assert_same_update(native, ours)


def test_linear_r_moves_an_all_fail_group_where_trl_does_not(tmp_path):
    reward = make_reward()
    ds = Dataset.from_dict({"prompt": [PROMPTS[0], ALL_FAIL]})  # one batch holds both groups
    native = run(trl.GRPOTrainer, trl.GRPOConfig, tmp_path / "n", reward, max_steps=1, dataset=ds)
    ours = run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path / "o", reward, max_steps=1, dataset=ds, estimator="linear_r")
    r = ours.rlvr_last["rewards"].reshape(-1, 4)
    nat, lin = native.rec_adv[0].view(-1, 4), ours.rec_adv[0].view(-1, 4)
    fail = np.flatnonzero((r == 0).all(axis=1))
    assert fail.size >= 1 and fail.size < r.shape[0]  # the all-fail prompt's group, and a mixed one
    for g in fail:
        assert torch.equal(nat[g], torch.zeros(4))
        assert torch.equal(lin[g], torch.full((4,), -1.0))
    # every group is the registry's linear_r of the same rewards, and that is what TRL logs
    np.testing.assert_allclose(lin.numpy(), registry_advantages("linear_r", r), rtol=1e-6, atol=1e-7)
    assert ours.rec_logged[0][-8:] == lin.reshape(-1).tolist() != native.rec_logged[0][-8:]


def test_unit_interval_checked_with_a_clear_error(tmp_path):
    def big(prompts, completions, **kw):
        return [2.0 for _ in completions]
    with pytest.raises(ValueError, match=r"linear_r.*\[0, 1\]"):
        run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path, big, max_steps=1, estimator="linear_r")


def test_bad_options_fail_before_the_model_is_touched(tmp_path):
    with pytest.raises(ValueError, match="rho_star"):
        rt.GRPOTrainer(model=None, estimator="plateau_r", estimator_options={"rho_star": 1.5})
    with pytest.raises(ValueError, match="estimator must be one of"):
        rt.GRPOTrainer(model=None, estimator="nope")
    with pytest.raises(ValueError, match="must not set"):
        rt.GRPOTrainer(model=None, estimator="kae", estimator_options={"step": 3})
    with pytest.raises(ValueError, match="scale_rewards"):
        run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path, make_reward(), train=False, scale_rewards="none",
            estimator="dr_grpo")


def test_kae_state_survives_save_and_resume(tmp_path):
    ds = Dataset.from_dict({"prompt": PROMPTS * 4, "pid": [10, 11, 12, 13] * 4})
    kw = dict(estimator="kae", estimator_options={"bandwidth": 1.0}, prompt_id_column="pid", max_steps=3,
              dataset=ds)
    full = run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path / "full", make_reward(), **kw)
    run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path / "part", make_reward(), save_strategy="steps",
        save_steps=2, **kw)
    ck = tmp_path / "part" / "checkpoint-2"
    doc = json.loads((ck / rt.STATE_FILE).read_text())
    assert doc["estimator"] == "kae" and doc["step"] == 2
    assert 2 <= len(doc["state"]["ids"]) and set(doc["state"]["ids"]) <= {10, 11, 12, 13}  # the column's ids
    resumed = run(rt.GRPOTrainer, trl.GRPOConfig, tmp_path / "resumed", make_reward(), resume=str(ck), **kw)
    assert full.rlvr_step == resumed.rlvr_step == 3
    want = estimator_state.state_to_dict("kae", full.rlvr_state)
    assert estimator_state.state_to_dict("kae", resumed.rlvr_state) == want
    # the history carries information: step 3's advantages differ from a fresh-history run's
    fresh = estimator_state.new_state("kae")
    assert want != estimator_state.state_to_dict("kae", fresh)
    _assert_same(full.rec_adv[2:], resumed.rec_adv[-1:])


def test_signature_check_fails_loudly_on_a_changed_trl():
    rt.check_trl_compatibility(trl.GRPOTrainer)
    rt.check_trl_compatibility(trl.RLOOTrainer)

    class Changed(trl.GRPOTrainer):
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list, extra):
            return None

    with pytest.raises(rt.TRLCompatibilityError, match="_calculate_rewards"):
        rt.check_trl_compatibility(Changed)

    class Missing:
        __name__ = "Missing"

    with pytest.raises(rt.TRLCompatibilityError, match="missing"):
        rt.check_trl_compatibility(Missing)


def test_prompt_digest_is_stable_across_processes():
    code = "from rlvr_lab.integrations.estimator_state import prompt_digest as d; print(d('x'), d([{'role': 'user', 'content': 'x'}]))"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).parents[1], check=True).stdout.split()
    assert out == [rt.prompt_digest("x"), rt.prompt_digest([{"role": "user", "content": "x"}])]


_WORKER = """
import json, sys
from pathlib import Path
import trl
from datasets import Dataset
from llm_backend.models import build_tiny
from rlvr_lab.integrations import estimator_state
from rlvr_lab.integrations import trl as rt
from tests.test_integrations_trl import PROMPTS, make_reward

out = Path(sys.argv[1])
class Rec(rt.GRPOTrainer):
    def _generate_and_score_completions(self, inputs):
        o = super()._generate_and_score_completions(inputs)
        self.rec.append({"rewards": self.rlvr_last["rewards"].tolist(), "gathered": self.rlvr_last["advantages"].tolist(),
                         "ids": self.rlvr_last["prompt_ids"], "local": o["advantages"].tolist()})
        return o
model, tok = build_tiny(0)
args = trl.GRPOConfig(output_dir=str(out / "run"), per_device_train_batch_size=6, num_generations=4,
                      max_completion_length=6, max_steps=2, report_to="none", use_cpu=True, save_strategy="no",
                      seed=0, steps_per_generation=1, temperature=1.5, ddp_backend="gloo")
tr = Rec(model=model, reward_funcs=make_reward(5), args=args, train_dataset=Dataset.from_dict({"prompt": PROMPTS * 3}),
         processing_class=tok, estimator="kae", estimator_options={"bandwidth": 1.0})
tr.rec = []
tr.train()
rank = tr.accelerator.process_index
(out / f"rank{rank}.json").write_text(json.dumps({
    "world": tr.accelerator.num_processes, "step": tr.rlvr_step,
    "state": estimator_state.state_to_dict("kae", tr.rlvr_state),
    "rewards": [r["rewards"] for r in tr.rec], "gathered": [r["gathered"] for r in tr.rec],
    "ids": [r["ids"] for r in tr.rec],
    "local": [r["local"] for r in tr.rec]}))
"""


@pytest.mark.slow
def test_two_processes_split_a_group_and_agree(tmp_path):
    """torchrun, 2 CPU processes (gloo, 127.0.0.1), 6 rollouts per process in groups of 4: the middle
    group straddles the ranks. Each rank's advantages are its slice of the gathered ones, both ranks
    compute the same gathered advantages and end with the same kae history, and those advantages
    are the single-process registry's on the gathered rewards."""
    worker = tmp_path / "worker.py"
    worker.write_text(_WORKER)
    root = Path(__file__).parents[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           "--master_port=29531", str(worker), str(tmp_path)]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2
    assert ranks[0]["state"] == ranks[1]["state"] and ranks[0]["step"] == ranks[1]["step"] == 2
    history = estimator_state.new_state("kae")
    for step in range(2):
        rewards = np.array(ranks[0]["rewards"][step])
        assert rewards.shape == (12,) and ranks[1]["rewards"][step] == ranks[0]["rewards"][step]
        whole = np.array(ranks[0]["gathered"][step])
        assert ranks[1]["gathered"][step] == whole.tolist()
        local = np.concatenate([ranks[0]["local"][step], ranks[1]["local"][step]])
        np.testing.assert_allclose(local, whole, rtol=1e-6, atol=1e-7)  # float32 slices of the float64 whole
        # the single-process reference: the registry on the gathered rewards, groups of 4, same prompt ids
        ids = ranks[0]["ids"][step]
        assert ids == ranks[1]["ids"][step] and len(ids) == 3
        ref = grouped_advantages("kae", rewards, np.arange(12) // 4, options={"bandwidth": 1.0}, prompt_ids=ids,
                                 step=step + 1, state=history)
        np.testing.assert_array_equal(ref.advantages, whole)
    assert estimator_state.state_to_dict("kae", history) == ranks[0]["state"]
