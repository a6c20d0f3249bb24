"""The trackio mirror of a run directory (rlvr_lab.integrations.tracking): each step's numeric fields
logged once at its training step, across repeated calls, the trainer's resume truncation, Ctrl-C and
follow mode; bad input refused before anything is logged. A fake tracker (always) and the real
trackio, offline in tmp_path (skipped when trackio is absent)."""

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

from rlvr_lab.cli import main
from rlvr_lab.integrations import tracking as tr

CONFIG = {"model": "tiny", "task": "arithmetic", "estimator": "grpo", "seed": 3, "steps": 3, "lr": 0.01,
          "task_options": {"digits": 1}, "command": "rlvr-lab llm train ...", "out_dir": "runs/x"}


class FakeTracker:
    """Records every call; ``existing`` plays the tracker's runs that already hold logged steps."""

    name = "fake"

    def __init__(self, existing=None, fail_at=None, fail_at_exc=None, on_log=None):
        self.calls, self.existing, self.on_log = [], existing or {}, on_log
        self.fail_at, self.fail_at_exc = fail_at, fail_at_exc  # raise fail_at_exc at the fail_at-th log call

    def init(self, *, project, name, config, resume):
        self.calls.append(("init", project, name, config, resume))

    def log(self, metrics, *, step):
        n = len(self.logged())
        if self.fail_at is not None and n == self.fail_at:
            raise self.fail_at_exc
        self.calls.append(("log", step, dict(metrics)))
        if self.on_log is not None:
            self.on_log(n, step)

    def finish(self):
        self.calls.append(("finish",))

    def last_step(self, project, name):
        return self.existing.get((project, name))

    def logged(self):
        return [(c[1], c[2]) for c in self.calls if c[0] == "log"]


def _log_line(k, t=1.0):
    """A log.jsonl record shaped like llm_backend.trainer's (``t``: its timing, which a resume changes)."""
    return {"step": k, "prompt_ids": [0, 2], "reward_mean": k / 8, "rho_hat": [0.5, k / 8], "kept_groups": 2,
            "nonzero_adv_fraction": 0.5, "all_fail_groups": 0, "mean_entropy": 1.5, "mean_length": 7.0,
            "tokens": 28 + k, "dtype": "float32", "seconds": t, "phase_seconds": {"sampling": t / 2, "optimizer": t / 4},
            "loss": -0.125 * k, "grad_norm": 2.0, "kl": 0.0, "backward": k % 2 == 1,
            "selection": {"rho": 0.25, "candidates": [1, 2], "window": None}}


def _want_log(k, t=1.0):
    """The metrics that line must give, written out by hand (not through scalar_metrics)."""
    return {"reward_mean": k / 8, "kept_groups": 2, "nonzero_adv_fraction": 0.5, "all_fail_groups": 0,
            "mean_entropy": 1.5, "mean_length": 7.0, "tokens": 28 + k, "seconds": t,
            "phase_seconds/sampling": t / 2, "phase_seconds/optimizer": t / 4, "loss": -0.125 * k, "grad_norm": 2.0,
            "kl": 0.0, "backward": int(k % 2 == 1), "selection/rho": 0.25}


def _eval_line(k):
    return {"step": k, "horizon": 4, "reward_mean": 0.25 + k / 16, "rewards": [[0.0, 1.0]], "tokens": 9, "seconds": 0.5}


def _want_eval(k):
    return {"eval/horizon": 4, "eval/reward_mean": 0.25 + k / 16, "eval/tokens": 9, "eval/seconds": 0.5}


def _write(path: Path, recs, mode="w"):
    with path.open(mode) as f:
        f.write("".join(json.dumps(r) + "\n" for r in recs))


def _replace(path: Path, recs):
    """The trainer's truncation: an atomic replace (a new inode)."""
    tmp = path.with_name(path.name + ".tmp")
    _write(tmp, recs)
    os.replace(tmp, path)


def _run(tmp_path, steps=(1, 2, 3), evals=(0, 3), config=CONFIG, name="run"):
    d = tmp_path / name
    d.mkdir()
    if config is not None:
        (d / "config.json").write_text(json.dumps(config))
    _write(d / "log.jsonl", [_log_line(k) for k in steps])
    if evals is not None:
        _write(d / "eval.jsonl", [_eval_line(k) for k in evals])
    return d


def _summary(d, steps_done, steps, interrupted=False):
    tmp = d / "summary.json.tmp"
    tmp.write_text(json.dumps({"steps_done": steps_done, "interrupted": interrupted, "config": {"steps": steps}}))
    os.replace(tmp, d / "summary.json")


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
# Refusals: bad input, another run, another mirror
# ---------------------------------------------------------------------------------------------
def _no_log(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


BAD = [
    (lambda p: p / "missing", {}, "run_dir must be an existing run directory"),
    (_no_log, {}, "has no log.jsonl"),
    (_no_log, {"follow": True}, "has no log.jsonl"),  # follow needs at least config.json
    (lambda p: _run(p), {"project": ""}, "project must be a non-empty"),
    (lambda p: _run(p), {"project": "  "}, "project must be a non-empty"),
    (lambda p: _run(p), {"name": ""}, "name must be a non-empty"),
    (lambda p: _run(p), {"poll_s": 0}, "poll_s must be a finite real number > 0"),
    (lambda p: _run(p), {"poll_s": float("nan")}, "poll_s must be a finite real number"),
]


@pytest.mark.parametrize("make,kw,msg", BAD)
def test_bad_input_is_refused_before_anything_is_logged(tmp_path, make, kw, msg):
    d = make(tmp_path)
    fake = FakeTracker()
    with pytest.raises(ValueError, match=msg):
        tr.mirror_run(d, **{"project": "p", "tracker": fake, **kw})
    assert fake.calls == [] and not (d / tr.SIDECAR).exists()


def test_a_line_that_is_not_a_training_record_is_refused(tmp_path):
    d = _run(tmp_path)
    _write(d / "log.jsonl", [{"no_step": 1}], mode="a")
    fake = FakeTracker()
    with pytest.raises(ValueError, match="line 4 is not a JSON record with an integer 'step'"):
        tr.mirror_run(d, project="p", tracker=fake)
    assert fake.calls == []


def test_a_tracker_without_the_protocol_is_refused(tmp_path):
    with pytest.raises(ValueError, match="missing: log, finish"):
        tr.mirror_run(_run(tmp_path), project="p", tracker=type("T", (), {"init": lambda self, **kw: None})())


def test_another_run_in_the_same_directory_is_refused(tmp_path):
    d = _run(tmp_path)
    tr.mirror_run(d, project="p", tracker=FakeTracker())
    (d / "config.json").write_text(json.dumps({**CONFIG, "lr": 0.02}))  # a fresh run with another lr
    _write(d / "log.jsonl", [_log_line(4)], mode="a")
    fake = FakeTracker()
    with pytest.raises(ValueError, match="holds another run than the one mirrored to fake:p/run"):
        tr.mirror_run(d, project="p", tracker=fake)
    assert fake.calls == []
    tr.mirror_run(d, project="p", name="run-lr2", tracker=fake)  # under another name it is a new run
    assert [s for s, _ in fake.logged()] == [0, 1, 2, 3, 3, 4]


def test_a_tracker_run_the_sidecar_does_not_know_is_refused(tmp_path):
    d = _run(tmp_path)  # e.g. another directory called `run` was mirrored to project p before
    fake = FakeTracker(existing={("p", "run"): 7})
    with pytest.raises(ValueError, match="already has logged steps \\(up to 7\\).*--name"):
        tr.mirror_run(d, project="p", tracker=fake)
    assert fake.calls == []


def test_a_tracker_run_that_cannot_be_resumed_is_an_error_naming_it(tmp_path):
    d = _run(tmp_path)
    tr.mirror_run(d, project="p", tracker=FakeTracker())
    _write(d / "log.jsonl", [_log_line(4)], mode="a")
    before = (d / tr.SIDECAR).read_text()

    class Gone(FakeTracker):  # the trackio run was deleted: init(resume="must") raises, as trackio's does
        def init(self, *, project, name, config, resume):
            raise ValueError(f"Run '{name}' does not exist in project '{project}'")

    gone = Gone()
    with pytest.raises(ValueError, match="cannot open run 'run' of project 'p' \\(resume='must'\\): Run 'run' does not"):
        tr.mirror_run(d, project="p", tracker=gone)
    assert gone.calls == [] and (d / tr.SIDECAR).read_text() == before


def test_one_mirror_per_run_directory(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    d = _run(tmp_path)
    with open(d / tr.LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fake = FakeTracker()
        with pytest.raises(ValueError, match="another mirror of .* is running"):
            tr.mirror_run(d, project="p", tracker=fake)
        assert fake.calls == []
        fcntl.flock(held, fcntl.LOCK_UN)
    tr.mirror_run(d, project="p", tracker=fake)
    assert len(fake.logged()) == 5


@pytest.mark.parametrize("argv,msg", [
    (["MISSING", "--project", "p"], "run_dir must be an existing run directory"),
    (["EMPTY", "--project", "p"], "has no log.jsonl"),
    (["RUN", "--project", ""], "project must be a non-empty"),
    (["RUN", "--project", "p", "--follow", "--poll", "0"], "poll_s must be"),
    (["RUN", "--project", "p", "--poll", "soon"], "argument --poll: invalid float value"),
    (["RUN"], "the following arguments are required: --project"),
])
def test_cli_bad_input_one_line_exit_2(tmp_path, capsys, argv, msg):
    run, empty = _run(tmp_path), _no_log(tmp_path)
    paths = {"MISSING": str(tmp_path / "missing"), "EMPTY": str(empty), "RUN": str(run)}
    assert _exit_code(["integrations", "track", *[paths.get(a, a) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (run / tr.SIDECAR).exists()


def _exit_code(argv) -> int:
    """main()'s return value, or the code of argparse's SystemExit."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_cli_without_trackio_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "trackio", None)  # `import trackio` raises ImportError
    assert main(["integrations", "track", str(_run(tmp_path)), "--project", "p"]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install "rlvr-lab[track]"' in err and len(err.splitlines()) == 1


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
