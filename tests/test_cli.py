"""The `rlvr-lab` command: outputs of reproduce, determinism of claims.json, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr_lab.cli import main

EXAMPLE = "weighting_effective_weights"


def test_reproduce_writes_outputs_and_is_byte_deterministic(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["reproduce", "--only", EXAMPLE, "--out", str(out), "--seed", "3"]) == 0
    first = (out / "claims.json").read_bytes()
    claims = json.loads(first)
    assert {c["id"] for c in claims} == {"B.symmetric-vanish", "B.asymmetric-nonzero"}
    for c in claims:
        assert {"id", "paper", "statement", "provenance", "verdict", "measured"} <= set(c)
    assert (out / f"{EXAMPLE}.png").stat().st_size > 10_000
    assert (out / "data" / f"{EXAMPLE}.json").exists()
    report = (out / "report.md").read_text()
    assert f"![{EXAMPLE}]({EXAMPLE}.png)" in report and "| `B.symmetric-vanish` |" in report
    assert "B.symmetric-vanish" in capsys.readouterr().out  # the verdict table is printed
    assert main(["reproduce", "--only", EXAMPLE, "--out", str(out), "--seed", "3", "--fresh"]) == 0
    assert (out / "claims.json").read_bytes() == first


def test_listing_commands(capsys):
    assert main(["claims"]) == 0
    assert "B.symmetric-vanish" in capsys.readouterr().out
    assert main(["figures"]) == 0
    assert EXAMPLE in capsys.readouterr().out


@pytest.mark.parametrize("argv,fragment", [
    (["reproduce", "--seed", "-1"], "--seed must be an integer"),
    (["reproduce", "--only", "no-such-figure-xyz"], "matches no figure"),
    (["reproduce", "--inputs", "/no/such/dir"], "--inputs must be an existing directory"),
    (["bench", "--repeats", "0"], "must be an integer >= 1"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line_and_no_traceback(argv, fragment, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rlvr_lab", *argv, *(["--out", str(tmp_path)] if argv[0] == "reproduce" else [])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert fragment in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_bench_json_path_is_checked_before_any_case_runs(tmp_path, monkeypatch, capsys):
    import rlvr_lab.bench

    monkeypatch.setattr(rlvr_lab.bench, "run_bench", lambda **kw: pytest.fail("the bench ran"))
    (tmp_path / "a_file").write_text("x")
    for path, fragment in [(tmp_path, "must be a file path, not a directory"),
                           (tmp_path / "a_file" / "b.json", "is not a directory")]:
        assert main(["bench", "--json", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("rlvr-lab bench: error: --json") and fragment in err and len(err.splitlines()) == 1, err


def test_bench_json_is_written_after_every_case_and_kept_on_ctrl_c(tmp_path, monkeypatch, capsys):
    import rlvr_lab.bench

    def two_cases_then_ctrl_c(on_rows, **kw):
        rows = []
        for name in ("a", "b"):
            rows.append({"case": name})
            on_rows(rows)
        raise KeyboardInterrupt

    monkeypatch.setattr(rlvr_lab.bench, "run_bench", two_cases_then_ctrl_c)
    path = tmp_path / "new" / "b.json"  # its folder is created
    assert main(["bench", "--json", str(path)]) == 130
    assert json.loads(path.read_text()) == [{"case": "a"}, {"case": "b"}]
    assert capsys.readouterr().err.strip() == "rlvr-lab: interrupted"


def test_a_file_system_error_during_a_run_is_one_line_and_exit_1(monkeypatch, capsys):
    import rlvr_lab.reproduce

    def full_disk(**kw):
        raise OSError(28, "No space left on device", "/some/out/data/x.json")

    monkeypatch.setattr(rlvr_lab.reproduce, "reproduce", full_disk)
    assert main(["reproduce"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "rlvr-lab reproduce: error: [Errno 28] No space left on device: '/some/out/data/x.json'"


def _ray_missing() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return True
    return False


def _bad_reproduce_cases(tmp: Path):
    """(extra argv, fragment of the one-line message); ``tmp`` holds a file, an empty dir, a dir of non-JSON."""
    f = tmp / "a_file"
    return [
        (["--out", str(f)], "--out must be a directory; "),
        (["--out", ""], "--out must be a directory path; got an empty path"),
        (["--out", "   "], "--out must be a directory path; got an empty path"),
        (["--out", str(f / "sub")], "is not a directory"),
        (["--out", "/dev/null/x"], "is not a directory"),
        (["--only", ""], "--only must be a figure name"),
        (["--only", "   "], "--only must be a figure name"),
        (["--only", "no-such-figure-xyz"], "matches no figure"),
        (["--only", "Z"], "matches no figure"),
        # /proc passes the permission check as root, but no directory can be made in it
        *([(["--out", "/proc/rlvr-lab-x"], "--out cannot be created")] if Path("/proc").is_dir() else []),
        (["--inputs", str(tmp / "missing")], "does not exist"),
        (["--inputs", str(tmp / "empty")], "holds no result files"),
        (["--inputs", str(tmp / "text_only")], "holds no result files"),
        (["--inputs", str(f)], "is a file"),
        (["--inputs", ""], "--inputs must name a directory"),
        (["--seed", "-1"], "--seed must be an integer in [0, 2**63)"),
        (["--seed", "abc"], "--seed must be an integer"),
        (["--seed", str(2**63)], "--seed must be an integer in [0, 2**63)"),
        (["--seed", "1.5"], "--seed must be an integer"),
        (["--executor", "gpu"], "--executor must be one of serial, local[=N], ray[=ADDRESS]"),
        (["--executor", "serial=2"], "--executor must be one of"),
        (["--executor", "local=0"], "local=N needs an integer N >= 1"),
        (["--executor", "local=abc"], "local=N needs an integer N >= 1"),
        (["--executor", "ray="], "ray=ADDRESS needs an address"),
        (["--executor", ""], "--executor must be one of"),
        (["--threads", "0"], "must be an integer >= 1"),
        (["--threads", "two"], "must be an integer >= 1"),
        (["--frobnicate"], "unrecognized arguments"),
        (["extra-positional"], "unrecognized arguments"),
    ] + ([(["--executor", "ray"], "rlvr-lab[ray]")] if _ray_missing() else [])


@pytest.mark.parametrize("case", range(len(_bad_reproduce_cases(Path(".")))))
def test_bad_reproduce_inputs_exit_2_before_any_work(case, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "text_only").mkdir()
    (tmp_path / "text_only" / "notes.txt").write_text("x")
    extra, fragment = _bad_reproduce_cases(tmp_path)[case]
    out = tmp_path / "out"
    argv = ["reproduce", "--only", EXAMPLE, "--out", str(out), *extra]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert fragment in err and "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert not out.exists(), "bad input must be rejected before any work"


def test_out_empty_string_never_writes_into_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", EXAMPLE, "--out", ""]) == 2
    assert list(tmp_path.iterdir()) == []


def _ppl_inputs(d, sign):
    from llm_backend.measure_curriculum import ppl_passrate_summary
    from theory.records import to_jsonable

    import numpy as np

    d.mkdir()
    ppl = np.linspace(2, 10, 80)
    rate = np.clip(0.5 + sign * (0.5 - ppl / 20) + np.random.default_rng(1).normal(0, 0.02, 80), 0, 1)
    res = {"command": "synthetic", "model": "none", "seed": 0, "hardware": {}, "settings": {},
           "summary": ppl_passrate_summary(ppl, rate), "per_prompt": {"ppl": ppl, "passrate": rate},
           "sample_size": {"rollouts_per_prompt": 8}}
    (d / "ppl_arithmetic.json").write_text(json.dumps(to_jsonable(res)))
    return d


def test_inputs_are_part_of_the_cache_key(tmp_path, capsys):
    """--inputs is honoured even when --out already holds data computed from other inputs."""
    out = tmp_path / "out"
    falling, rising = _ppl_inputs(tmp_path / "falling", +1), _ppl_inputs(tmp_path / "rising", -1)
    verdict = lambda: json.loads((out / "claims.json").read_text())[0]["verdict"]  # noqa: E731
    assert main(["reproduce", "--only", "llm_curriculum_ppl", "--out", str(out), "--inputs", str(falling)]) == 0
    assert verdict() == "supported"
    assert main(["reproduce", "--only", "llm_curriculum_ppl", "--out", str(out), "--inputs", str(rising)]) == 0
    assert verdict() == "not supported"


FAST_UNITS = "weighting_zero_signal"  # 18 units of about 0.05 s


def test_claims_identical_fresh_rerun_and_reused_units_and_logs_stay_plain(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["reproduce", "--only", FAST_UNITS, "--out", str(out)]) == 0
    first = (out / "claims.json").read_bytes()
    err = capsys.readouterr().err
    assert "\r" not in err and f"[1/1] {FAST_UNITS}: computed in" in err  # stderr is not a terminal here
    data = (out / "data" / f"{FAST_UNITS}.json").read_bytes()
    assert main(["reproduce", "--only", FAST_UNITS, "--out", str(out)]) == 0  # the data are reused
    assert f"[1/1] {FAST_UNITS}: reused" in capsys.readouterr().err
    assert (out / "claims.json").read_bytes() == first
    (out / "data" / f"{FAST_UNITS}.json").unlink()  # recomputed from the cached units
    assert main(["reproduce", "--only", FAST_UNITS, "--out", str(out)]) == 0
    assert (out / "claims.json").read_bytes() == first and (out / "data" / f"{FAST_UNITS}.json").read_bytes() == data
    stored = json.loads(data)
    assert stored["config"]["n_prompts"] == 4000 and len(stored["key"]) == 64 and stored["source"]


def test_serial_and_local_executors_write_identical_bytes(tmp_path):
    a, b = tmp_path / "serial", tmp_path / "local"
    assert main(["reproduce", "--only", FAST_UNITS, "--out", str(a)]) == 0
    assert main(["reproduce", "--only", FAST_UNITS, "--out", str(b), "--executor", "local=2", "--threads", "2"]) == 0
    assert (a / "claims.json").read_bytes() == (b / "claims.json").read_bytes()
    assert (a / "data" / f"{FAST_UNITS}.json").read_bytes() == (b / "data" / f"{FAST_UNITS}.json").read_bytes()
    assert "--executor local=2" in (b / "report.md").read_text()


def test_report_measured_is_a_markdown_table(tmp_path):
    out = tmp_path / "out"
    assert main(["reproduce", "--only", EXAMPLE, "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "| quantity | value |" in report and "`population_w0.linear_r`" in report
    assert "**measured**: `{" not in report  # no JSON blob


def test_a_rerun_that_succeeds_removes_the_earlier_traceback(tmp_path, monkeypatch):
    """A figure that failed leaves errors/<figure>.txt; once a rerun computes it, the stale
    traceback is gone (it would otherwise contradict the report)."""
    import rlvr_lab.reproduce as rep

    real, out = rep.run_figure, tmp_path / "o"
    argv = ["reproduce", "--only", "weighting_zero_signal", "--out", str(out)]

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(rep, "run_figure", broken)
    assert main(argv) == 1
    assert "boom" in (out / "errors" / "weighting_zero_signal.txt").read_text()
    monkeypatch.setattr(rep, "run_figure", real)
    assert main(argv) == 0
    assert not (out / "errors" / "weighting_zero_signal.txt").exists()


def test_the_prefetch_helper_gives_the_same_bytes(tmp_path):
    """With several figures, a helper process computes from the end of the list (rlvr_lab.prefetch);
    whichever process computed a figure, the outputs are the bytes of a run without the helper."""
    from rlvr_lab.reproduce import reproduce

    runs = {}
    for name, prefetch in (("with", True), ("without", False)):
        lines = []
        assert reproduce(out=tmp_path / name, only="E", prefetch=prefetch, echo=lambda *a: None,
                         log=lines.append) == 0
        runs[name] = lines
    assert not any("helper" in line for line in runs["without"])
    for f in ["claims.json", *(f"data/{p.name}" for p in (tmp_path / "without" / "data").iterdir())]:
        assert (tmp_path / "with" / f).read_bytes() == (tmp_path / "without" / f).read_bytes(), f


def test_the_prefetch_helper_takes_figures_from_the_end_and_the_main_process_waits_for_it(tmp_path):
    import time

    from figures.registry import select
    from rlvr_lab.prefetch import FREE, Prefetcher
    from rlvr_lab.reproduce import reproduce

    figs = select("E")
    helper = Prefetcher(figs, out=tmp_path, seed=0, full=False, inputs_dir=None, fresh=False)
    try:
        deadline = time.monotonic() + 120
        while helper._state[len(figs) - 1] == FREE and time.monotonic() < deadline:  # the helper starts
            time.sleep(0.05)
        assert helper.claim(figs[-1].name) == "computed"  # waits until the helper has written it
        assert (tmp_path / "data" / f"{figs[-1].name}.json").is_file()
    finally:
        helper.close()
    assert not helper._proc.is_alive()
    lines = []
    assert reproduce(out=tmp_path, only="E", prefetch=False, echo=lambda *a: None, log=lines.append) == 0
    assert f"{figs[-1].name}: reused" in lines[-1]
