"""Resume safety of ``llm train``: an interruption at EVERY named point of the step and of the
checkpoint protocol, as a Ctrl-C (KeyboardInterrupt, the trainer's handler runs) and as a kill -9
(an exception nothing catches: no handler, files left as they are), resumes to exactly the
uninterrupted run's final state — weights, optimizer state, estimator (kae) state, log and
evaluations. Plus the three failures of the previous protocol, by name."""

import json

import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
import torch
from safetensors.torch import load_file

from llm_backend.checkpoints import latest_dir
from llm_backend.trainer import POINTS, TrainConfig, train


class Killed(BaseException):
    """kill -9: not a KeyboardInterrupt, so no handler of the trainer runs."""


def _cfg(path, **kw):
    base = dict(model="tiny", task="arithmetic", task_options={"digits": 1}, estimator="kae", steps=3,
                prompts=2, group=2, pool=4, horizon=4, lr=1e-2, seed=3, checkpoint_every=2, eval_prompts=2,
                eval_group=2, eval_every=2, out_dir=str(path))
    return TrainConfig(**{**base, **kw})


def _fault(point, occurrence, exc):
    seen = {"n": 0}

    def hook(p):
        if p == point:
            seen["n"] += 1
            if seen["n"] == occurrence:
                raise exc()
    return hook


_TIMING = ("seconds", "phase_seconds")


def _state(run) -> dict:
    ck = latest_dir(run)
    strip = lambda recs: [{k: v for k, v in r.items() if k not in _TIMING} for r in recs]  # noqa: E731
    lines = lambda f: [json.loads(x) for x in (run / f).read_text().splitlines()]  # noqa: E731
    return {"model": load_file(str(ck / "model.safetensors")), "opt": load_file(str(ck / "optimizer.safetensors")),
            "opt_meta": json.loads((ck / "optimizer.json").read_text()),
            "estimator": json.loads((ck / "estimator_state.json").read_text()),
            "step": json.loads((ck / "step.json").read_text()),
            "log": strip(lines("log.jsonl")), "eval": strip(lines("eval.jsonl"))}


def _same(a: dict, b: dict) -> None:
    for key in ("model", "opt"):
        assert a[key].keys() == b[key].keys()
        for k in a[key]:
            assert torch.equal(a[key][k], b[key][k]), (key, k)
    for key in ("opt_meta", "estimator", "step", "log", "eval"):
        assert a[key] == b[key], key


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run = tmp_path_factory.mktemp("ref") / "run"
    train(_cfg(run))
    state = _state(run)
    assert state["estimator"]["ids"] and any(state["estimator"]["count"]), "kae must have a non-empty history"
    return state


# The step points fire once per step: the 2nd occurrence is in step 2, whose checkpoint (every 2)
# follows (step:evaluated fires at steps 2 and 3: its 2nd is the last step's, before the final
# checkpoint); the checkpoint points fire once per checkpoint: the 1st is step 2's (a previous one does
# not exist yet), the 2nd is the final one (step 3), written over step 2's.
CASES = [(p, 2) for p in POINTS if p.startswith("step:")] + \
        [(p, k) for p in POINTS if p.startswith("ckpt:") for k in (1, 2)]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed], ids=["ctrl-c", "kill"])
@pytest.mark.parametrize("point, occurrence", CASES, ids=[f"{p}#{k}" for p, k in CASES])
def test_interruption_at_every_point_resumes_to_the_same_state(tmp_path, reference, point, occurrence, exc):
    run = tmp_path / "run"
    with pytest.raises(exc):
        train(_cfg(run), fault=_fault(point, occurrence, exc))
    train(_cfg(run), resume=True)
    _same(reference, _state(run))


def test_points_are_all_reached(tmp_path):
    """Every named point fires in an uninterrupted run (a point that never fires tests nothing)."""
    hits = []
    train(_cfg(tmp_path / "run"), fault=hits.append)
    assert set(hits) == set(POINTS)


def test_ctrl_c_after_the_optimizer_step_does_not_save_it_under_the_previous_label(tmp_path, reference):
    """Old bug: with checkpoint_every > 1, Ctrl-C after step k's optimizer update saved the updated
    weights as step k - 1. Now the handler saves only at a step boundary: inside step 2 the
    memory holds no consistent state, so nothing is saved and resume restarts from step 1; a
    Ctrl-C between steps saves the last logged step."""
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(run, checkpoint_every=3), fault=_fault("step:optimized", 2, KeyboardInterrupt))
    assert latest_dir(run) is None
    train(_cfg(run, checkpoint_every=3), resume=True)
    _same(reference, _state(run))
    between = tmp_path / "between"
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(between, checkpoint_every=3), fault=_fault("step:summary", 2, KeyboardInterrupt))
    assert json.loads((latest_dir(between) / "step.json").read_text())["step"] == 2  # saved by the handler
    train(_cfg(between, checkpoint_every=3), resume=True)
    train(_cfg(run, checkpoint_every=3), resume=True)
    _same(reference, _state(run))
    _same(reference, _state(between))


def test_old_pickle_checkpoint_is_refused(tmp_path):
    """A run directory of the previous format (estimator_state.pkl) is never unpickled."""
    run = tmp_path / "old"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "step.json").write_text('{"step": 1}')
    with pytest.raises(ValueError, match="older format"):
        train(_cfg(run), resume=True)


def test_resume_without_checkpoint_restarts_and_truncates_the_log(tmp_path, reference):
    """kill -9 before the first checkpoint: resume starts at step 1 and the log holds each step once."""
    run = tmp_path / "run"
    with pytest.raises(Killed):
        train(_cfg(run), fault=_fault("step:logged", 1, Killed))
    assert latest_dir(run) is None and (run / "log.jsonl").read_text().count("\n") == 1
    train(_cfg(run), resume=True)
    _same(reference, _state(run))
