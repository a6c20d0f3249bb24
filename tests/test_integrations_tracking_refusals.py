"""The trackio mirror refuses bad input before anything is logged: a missing or empty run directory,
bad options, a line that is no training record, a tracker without the protocol, another run or
another mirror of the same directory; the command line answers with one line and exit code 2."""

import json
import sys

import pytest

from rlvr_lab.cli import main
from rlvr_lab.integrations import tracking as tr
from tests.tracking_fakes import CONFIG, FakeTracker, _log_line, _run, _write


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
