"""The `rlvr-lab` command: outputs of reproduce, determinism of claims.json, one-line errors."""

import json
import subprocess
import sys

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
