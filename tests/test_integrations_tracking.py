"""The trackio mirror of a run directory (rlvr_lab.integrations.tracking): each step's numeric fields
logged once at its training step, across repeated calls, the trainer's resume truncation, Ctrl-C and
follow mode. A fake tracker (always) and the real trackio, offline in tmp_path (skipped when trackio
is absent). Refusals of bad input: tests/test_integrations_tracking_refusals.py."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rlvr_lab.integrations import tracking as tr
from tests.tracking_fakes import (CONFIG, FakeTracker, _eval_line, _log_line, _replace, _run, _summary, _want_eval,
                                  _want_log, _write)


# ---------------------------------------------------------------------------------------------
# What is logged, once
# ---------------------------------------------------------------------------------------------
def test_logs_every_step_and_evaluation_in_step_order(tmp_path):
    d = _run(tmp_path)
    fake = FakeTracker()
    res = tr.mirror_run(d, project="proj", tracker=fake)
    assert fake.calls[0] == ("init", "proj", "run", CONFIG, "allow")
    assert fake.calls[-1] == ("finish",)
    assert fake.logged() == [(0, _want_eval(0)), (1, _want_log(1)), (2, _want_log(2)), (3, _want_log(3)),
                             (3, _want_eval(3))]
    assert res == {"tracker": "fake", "project": "proj", "name": "run", "logged": {"log": 3, "eval": 2},
                   "last_step": {"log": 3, "eval": 3}}
    side = json.loads((d / tr.SIDECAR).read_text())["mirrors"]["fake:proj/run"]
    assert side["last_step"] == {"log": 3, "eval": 3} and side["project"] == "proj" and side["name"] == "run"


def test_a_run_without_evaluations_and_a_given_name(tmp_path):
    d = _run(tmp_path, steps=(1, 2), evals=None)
    fake = FakeTracker()
    tr.mirror_run(d, project="proj", name="lin-seed3", tracker=fake)
    assert fake.calls[0][2] == "lin-seed3"
    assert fake.logged() == [(1, _want_log(1)), (2, _want_log(2))]


def test_second_call_logs_nothing_and_opens_no_tracker_run(tmp_path):
    d = _run(tmp_path)
    tr.mirror_run(d, project="proj", tracker=FakeTracker())
    again = FakeTracker()
    res = tr.mirror_run(d, project="proj", tracker=again)
    assert again.calls == []
    assert res["logged"] == {"log": 0, "eval": 0} and res["last_step"] == {"log": 3, "eval": 3}


def test_appended_steps_are_logged_into_the_resumed_tracker_run(tmp_path):
    d = _run(tmp_path)
    tr.mirror_run(d, project="proj", tracker=FakeTracker())
    _write(d / "log.jsonl", [_log_line(4), _log_line(5)], mode="a")
    _write(d / "eval.jsonl", [_eval_line(5)], mode="a")
    fake = FakeTracker()
    tr.mirror_run(d, project="proj", tracker=fake)
    assert fake.calls[0] == ("init", "proj", "run", CONFIG, "must")
    assert fake.logged() == [(4, _want_log(4)), (5, _want_log(5)), (5, _want_eval(5))]


def test_after_a_resume_truncation_only_the_steps_past_the_mirrored_ones(tmp_path):
    d = _run(tmp_path, steps=(1, 2, 3, 4, 5), evals=(0, 2, 4))
    tr.mirror_run(d, project="proj", tracker=FakeTracker())
    # `llm train --resume` from the checkpoint of step 3: logs truncated to 3, steps 4.. rewritten
    # (other timings), and a longer run (steps may grow on resume)
    _replace(d / "log.jsonl", [_log_line(k) for k in (1, 2, 3)])
    _replace(d / "eval.jsonl", [_eval_line(k) for k in (0, 2)])
    _write(d / "log.jsonl", [_log_line(k, t=9.0) for k in (4, 5, 6, 7)], mode="a")
    _write(d / "eval.jsonl", [_eval_line(k) for k in (4, 6)], mode="a")
    (d / "config.json").write_text(json.dumps({**CONFIG, "steps": 7, "command": "rlvr-lab llm train --resume"}))
    fake = FakeTracker()
    tr.mirror_run(d, project="proj", tracker=fake)
    assert fake.logged() == [(6, _want_log(6, 9.0)), (6, _want_eval(6)), (7, _want_log(7, 9.0))]


def test_the_sidecar_is_per_project_and_run_name(tmp_path):
    d = _run(tmp_path)
    tr.mirror_run(d, project="proj", tracker=FakeTracker())
    other = FakeTracker()
    tr.mirror_run(d, project="other", tracker=other)
    assert [s for s, _ in other.logged()] == [0, 1, 2, 3, 3] and other.calls[0][4] == "allow"
    assert set(json.loads((d / tr.SIDECAR).read_text())["mirrors"]) == {"fake:proj/run", "fake:other/run"}


def test_a_torn_last_line_waits_for_its_newline(tmp_path):
    d = _run(tmp_path, steps=(1,), evals=None)
    with (d / "log.jsonl").open("a") as f:
        f.write(json.dumps(_log_line(2))[:20])  # being written (or torn by a kill)
    fake = FakeTracker()
    tr.mirror_run(d, project="p", tracker=fake)
    assert fake.logged() == [(1, _want_log(1))]
    _replace(d / "log.jsonl", [_log_line(1), _log_line(2)])
    fake = FakeTracker()
    tr.mirror_run(d, project="p", tracker=fake)
    assert fake.logged() == [(2, _want_log(2))]


def test_scalar_metrics_keeps_numbers_flattens_dicts_and_passes_nan():
    rec = {"step": 1, "a": 1, "b": 2.5, "c": False, "d": "x", "e": None, "f": [1, 2], "g": {"h": {"i": 3}, "j": [0]}}
    assert tr.scalar_metrics(rec) == {"a": 1, "b": 2.5, "c": 0, "g/h/i": 3}
    nan = tr.scalar_metrics({"step": 1, "loss": float("nan")}, prefix="eval/")["eval/loss"]
    assert nan != nan
    with pytest.raises(ValueError, match="record must be a dict"):
        tr.scalar_metrics([1, 2])


# ---------------------------------------------------------------------------------------------
# Interruptions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_an_error_part_way_keeps_what_was_handed_over_and_never_doubles(tmp_path, exc):
    d = _run(tmp_path)
    fake = FakeTracker(fail_at=2, fail_at_exc=exc)
    with pytest.raises(exc):
        tr.mirror_run(d, project="p", tracker=fake)
    assert fake.calls[-1] == ("finish",)
    assert [s for s, _ in fake.logged()] == [0, 1]
    rest = FakeTracker()
    tr.mirror_run(d, project="p", tracker=rest)
    assert fake.logged() + rest.logged() == [(0, _want_eval(0)), (1, _want_log(1)), (2, _want_log(2)),
                                             (3, _want_log(3)), (3, _want_eval(3))]


def test_ctrl_c_is_held_until_the_batch_is_handed_over_and_recorded(tmp_path):
    d = _run(tmp_path)
    before = signal.getsignal(signal.SIGINT)
    fake = FakeTracker(on_log=lambda n, step: signal.raise_signal(signal.SIGINT) if n == 0 else None)
    with pytest.raises(KeyboardInterrupt):
        tr.mirror_run(d, project="p", tracker=fake)
    assert [s for s, _ in fake.logged()] == [0, 1, 2, 3, 3] and fake.calls[-1] == ("finish",)
    again = FakeTracker()
    tr.mirror_run(d, project="p", tracker=again)
    assert again.calls == []
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


# ---------------------------------------------------------------------------------------------
# Follow mode
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("interrupted", [False, True])
def test_follow_returns_at_once_on_a_finished_or_interrupted_run(tmp_path, interrupted):
    d = _run(tmp_path)
    _summary(d, 3 - interrupted, 3, interrupted=interrupted)
    fake = FakeTracker()
    res = tr.mirror_run(d, project="p", follow=True, poll_s=30, tracker=fake)  # would hang if it polled
    assert res["logged"] == {"log": 3, "eval": 2}


def test_follow_tails_a_growing_run_through_a_resume_truncation(tmp_path):
    d = tmp_path / "live"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(CONFIG))  # what the trainer writes before step 1
    _summary(d, 0, 5)
    step3_mirrored = threading.Event()

    def trainer():
        _write(d / "eval.jsonl", [_eval_line(0)])
        for k in (1, 2, 3):
            time.sleep(0.01)
            _write(d / "log.jsonl", [_log_line(k)], mode="a")
            _summary(d, k, 5)
        assert step3_mirrored.wait(60)
        # a kill, then `--resume` from the checkpoint of step 2: truncated (atomic replace), 3.. rewritten
        _replace(d / "log.jsonl", [_log_line(1), _log_line(2)])
        for k in (3, 4, 5):
            time.sleep(0.01)
            _write(d / "log.jsonl", [_log_line(k, t=2.0)], mode="a")
            if k == 5:  # as the trainer: the last step's evaluation comes before its summary
                _write(d / "eval.jsonl", [_eval_line(5)], mode="a")
            _summary(d, k, 5)

    fake = FakeTracker(on_log=lambda n, step: step3_mirrored.set() if step == 3 else None)
    th = threading.Thread(target=trainer)
    th.start()
    try:
        res = tr.mirror_run(d, project="p", follow=True, poll_s=0.005, tracker=fake)
    finally:
        step3_mirrored.set()
        th.join()
    assert fake.logged() == [(0, _want_eval(0)), (1, _want_log(1)), (2, _want_log(2)), (3, _want_log(3)),
                             (4, _want_log(4, 2.0)), (5, _want_log(5, 2.0)), (5, _want_eval(5))]
    assert res["last_step"] == {"log": 5, "eval": 5}


def test_follow_waits_for_the_first_step_when_only_config_is_there(tmp_path):
    d = tmp_path / "new"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(CONFIG))

    def later():
        time.sleep(0.05)
        _write(d / "log.jsonl", [_log_line(1)])
        _summary(d, 1, 1)

    th = threading.Thread(target=later)
    th.start()
    fake = FakeTracker()
    try:
        tr.mirror_run(d, project="p", follow=True, poll_s=0.005, tracker=fake)
    finally:
        th.join()
    assert fake.logged() == [(1, _want_log(1))]


# ---------------------------------------------------------------------------------------------
# The real trainer's run directory (torch), and the real trackio (offline)
# ---------------------------------------------------------------------------------------------
class _Killed(BaseException):
    """kill -9 after step 3's log line: no handler runs, the checkpoint stays at step 2."""


def test_a_real_resumed_training_run_is_mirrored_once(tmp_path):
    pytest.importorskip("torch", reason="the real-model trainer needs the llm extra")
    pytest.importorskip("transformers", reason="the real-model trainer needs the llm extra")
    from llm_backend.trainer import TrainConfig, train

    base = dict(model="tiny", task="arithmetic", task_options={"digits": 1}, estimator="grpo", prompts=2, group=2,
                pool=4, horizon=4, seed=3, checkpoint_every=2, eval_prompts=1, eval_group=2, eval_every=2,
                out_dir=str(tmp_path / "run"))

    seen = {"n": 0}

    def kill(point):
        if point == "step:logged":
            seen["n"] += 1
            if seen["n"] == 3:
                raise _Killed

    with pytest.raises(_Killed):
        train(TrainConfig(**base, steps=4), fault=kill)
    d = tmp_path / "run"
    first = FakeTracker()
    tr.mirror_run(d, project="p", tracker=first)
    lines = [json.loads(x) for x in (d / "log.jsonl").read_text().splitlines()]
    assert [s for s, m in first.logged() if "loss" in m] == [1, 2, 3]
    for (step, m), rec in zip([x for x in first.logged() if "loss" in x[1]], lines):
        assert step == rec["step"] and m["reward_mean"] == rec["reward_mean"] and m["loss"] == rec["loss"]
        assert m["phase_seconds/sampling"] == rec["phase_seconds"]["sampling"] and "rho_hat" not in m
    assert first.calls[0][3] == json.loads((d / "config.json").read_text())
    train(TrainConfig(**base, steps=4), resume=True)  # truncates to step 2, rewrites 3, adds 4
    second = FakeTracker()
    tr.mirror_run(d, project="p", tracker=second)
    ev = {r["step"]: r for r in map(json.loads, (d / "eval.jsonl").read_text().splitlines())}
    assert [(s, sorted(m)) for s, m in second.logged()] == [
        (4, sorted(first.logged()[1][1])), (4, ["eval/horizon", "eval/reward_mean", "eval/seconds", "eval/tokens"])]
    assert second.logged()[1][1]["eval/reward_mean"] == ev[4]["reward_mean"]
    assert second.calls[0][4] == "must"


_READ_BACK = """
import json, sys
from rlvr_lab.integrations import tracking as tr
run, other = sys.argv[1], sys.argv[2]
first = tr.mirror_run(run, project="proj")
again = tr.mirror_run(run, project="proj")
with open(run + "/log.jsonl", "a") as f:
    f.write(json.dumps(NEXT) + "\\n")
third = tr.mirror_run(run, project="proj")
try:
    tr.mirror_run(other, project="proj")  # another directory named `run`: refused
    refused = None
except ValueError as e:
    refused = str(e)
from trackio.sqlite_storage import SQLiteStorage
import trackio
print("RESULT " + json.dumps({"logged": [first["logged"], again["logged"], third["logged"]], "refused": refused,
      "logs": SQLiteStorage.get_logs("proj", "run"), "runs": SQLiteStorage.get_runs("proj"),
      "config": trackio.Api().runs("proj")[0].config}, default=str))
"""


def test_real_trackio_offline_stores_each_step_once(tmp_path):
    pytest.importorskip("trackio", reason="trackio is not installed (pip install 'rlvr-lab[track]')")
    d = _run(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    _run(other)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKIO_", "HF_"))}
    env.update(TRACKIO_DIR=str(tmp_path / "trackio"), HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1",
               TRACKIO_STORAGE_MODE="sqlite", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    code = textwrap.dedent(_READ_BACK).replace("NEXT", repr(_log_line(4)))
    out = subprocess.run([sys.executable, "-c", code, str(d), str(other / "run")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))[7:])
    assert res["logged"] == [{"log": 3, "eval": 2}, {"log": 0, "eval": 0}, {"log": 1, "eval": 0}]
    assert res["runs"] == ["run"]
    got = [(r["step"], {k: v for k, v in r.items() if k not in ("step", "timestamp")}) for r in res["logs"]]
    assert got == [(0, _want_eval(0)), (1, _want_log(1)), (2, _want_log(2)), (3, _want_log(3)), (3, _want_eval(3)),
                   (4, _want_log(4))]
    assert {k: v for k, v in res["config"].items() if not k.startswith("_")} == CONFIG
    assert res["refused"] is not None and "already has logged steps (up to 4)" in res["refused"]
    assert (tmp_path / "trackio").is_dir() and not (tmp_path / "hf" / "trackio").exists()
