"""``rlvr-lab llm campaign`` (rlvr_lab.campaign) on the CPU with the tiny model (the ``smoke``
profile: the GPU plan with tiny sizes), and the model transfer (rlvr_lab.transfer) on synthetic
files. Nothing here needs a GPU or SmolLM2."""

import doctest
import hashlib
import importlib
import json
import os
import shutil

import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")

from llm_backend import models
from rlvr_lab.campaign import MANIFEST, CampaignConfig, run_campaign
from rlvr_lab.campaign_plan import PROFILES, plan, prior_seconds
from rlvr_lab.cli import main
from rlvr_lab.transfer import pack, read_manifest, unpack

N_RUNS = len(PROFILES["smoke"].seeds) * (len(PROFILES["smoke"].arms) + 1)
VOLATILE = {"seconds", "phase_seconds", "started_utc", "finished_utc", "wall_seconds", "hardware", "git_commit"}


def _campaign(out, **kw):
    lines = []
    man = run_campaign(CampaignConfig(profile="smoke", out=str(out), device="cpu"), log=lines.append, **kw)
    return man, lines


def _stable(obj):
    """A result without timings, clocks and paths (what an identical run reproduces exactly)."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE and k not in ("out_dir", "command")}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def _results(out):
    return {p.name: _stable(json.loads(p.read_text())) for p in sorted((out / "results").glob("*.json"))}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """One uninterrupted smoke campaign (the reference of the other tests)."""
    out = tmp_path_factory.mktemp("full") / "camp"
    man, lines = _campaign(out)
    return out, man, lines


def test_smoke_campaign_writes_manifest_and_results(full):
    out, man, lines = full
    assert man["complete"] and man["profile"] == "smoke" and man["device"]["type"] == "cpu"
    assert {"torch", "transformers", "python", "dtype", "model"} <= set(man) and man["dtype"] == "float32"
    names = [r.name for r in plan("smoke", out)]
    assert [r["name"] for r in man["runs"]] == names and len(names) == N_RUNS
    assert names[0].endswith("_s1") and names[-1].endswith("_s2")  # seed-major: every arm of seed 1 first
    assert all(r["status"] == "done" and r["wall_s"] > 0 for r in man["runs"])
    assert man["invocations"][-1]["ran"] == names and man["invocations"][-1]["stopped"] == "complete"
    assert json.loads((out / MANIFEST).read_text()) == man
    for name in names:
        res = json.loads((out / "results" / f"train_{name}.json").read_text())
        assert res["kind"] == "train" and res["steps_done"] == res["config"]["steps"] and not res["interrupted"]
        assert res["campaign"]["run"] == name and res["dtype"] == "float32"
        assert [e["step"] for e in res["eval"]] == [0, res["config"]["steps"]]
        run_dir = out / "runs" / name
        assert (run_dir / "log.jsonl").is_file() and not (run_dir / "checkpoints").exists()  # dropped once done
    lin = json.loads((out / "results" / "train_arith1_linear_r_h6_s1.json").read_text())
    assert all(r["backward"] and r["grad_norm"] > 0 for r in lin["log"])  # the smoke plan trains for real
    assert len(lines) == N_RUNS


def test_second_invocation_trains_nothing(full, tmp_path):
    out = tmp_path / "camp"
    shutil.copytree(full[0], out)
    before = {p.name: p.read_bytes() for p in (out / "results").iterdir()}

    def no_training(point):
        raise AssertionError(f"a finished campaign trained again ({point})")

    man, lines = _campaign(out, fault=no_training)
    assert man["complete"] and man["invocations"][-1]["ran"] == [] and lines == []
    assert len(man["invocations"]) == 2
    assert {p.name: p.read_bytes() for p in (out / "results").iterdir()} == before


def test_interrupted_campaign_resumes_to_the_uninterrupted_results(full, tmp_path):
    out = tmp_path / "camp"
    seen = []

    def ctrl_c_in_second_run(point):
        seen.append(point)
        if point == "step:logged" and len([p for p in seen if p == "step:summary"]) == 2:  # run 2, after step 1
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _campaign(out, fault=ctrl_c_in_second_run)
    man = json.loads((out / MANIFEST).read_text())
    status = [r["status"] for r in man["runs"]]
    assert status[:2] == ["done", "interrupted"] and set(status[2:]) == {"pending"}
    assert man["invocations"][-1]["stopped"] == "interrupted"
    second = out / "runs" / man["runs"][1]["name"]
    assert json.loads((second / "LATEST").read_text())["step"] == 1  # the Ctrl-C checkpoint
    assert len(list((out / "results").glob("*.json"))) == 1
    man, _ = _campaign(out)
    assert man["complete"] and man["runs"][1]["resumed"] and not man["runs"][0]["resumed"]
    assert man["invocations"][-1]["ran"] == [r["name"] for r in man["runs"][1:]]
    assert _results(out) == _results(full[0])


class Killed(BaseException):
    """kill -9: nothing catches it, no handler runs, files stay as they are."""


def test_a_killed_campaign_continues_to_the_uninterrupted_results(full, tmp_path):
    out, seen = tmp_path / "camp", []

    def kill_in_third_run(point):
        seen.append(point)
        if point == "step:sampled" and seen.count("step:sampled") == 2 * 2 + 2:  # run 3 (2 steps a run), step 2
            raise Killed

    with pytest.raises(Killed):
        _campaign(out, fault=kill_in_third_run)
    man = json.loads((out / MANIFEST).read_text())
    assert [r["status"] for r in man["runs"][:4]] == ["done", "done", "running", "pending"]
    man, _ = _campaign(out)
    assert man["complete"] and _results(out) == _results(full[0])


class _FakeClock:
    """Time moves only when a training step finishes (100 s each): budgets without timing anything."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def fault(self, point):
        if point == "step:summary":
            self.t += 100.0


def test_budget_stops_between_runs_and_the_next_invocation_continues(full, tmp_path):
    out, clock = tmp_path / "camp", _FakeClock()
    first = plan("smoke", out)[0]
    assert prior_seconds(first.config, PROFILES["smoke"].rates) < 150  # the first run fits 150 s ...
    lines = []
    man = run_campaign(CampaignConfig(profile="smoke", out=str(out), device="cpu", budget_s=150.0),
                       clock=clock, fault=clock.fault, log=lines.append)
    # ... and takes 200 (fake) s, so the calibrated estimate of the next one exceeds what is left
    assert [r["status"] for r in man["runs"]] == ["done"] + ["pending"] * (N_RUNS - 1)
    assert man["invocations"][-1]["stopped"] == "budget" and not man["complete"] and "budget" in lines[-1]
    assert man["invocations"][-1]["calibration"] == pytest.approx(200.0 / man["runs"][0]["estimate_s"], rel=1e-3)
    man, _ = _campaign(out)
    assert man["complete"] and len(man["invocations"][-1]["ran"]) == N_RUNS - 1
    assert _results(out) == _results(full[0])


def test_a_folder_keeps_one_profile_one_device_and_one_plan(full, tmp_path, capsys):
    out = tmp_path / "camp"
    shutil.copytree(full[0], out)
    man = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**man, "device": {"type": "cuda", "name": "NVIDIA H200"}}))
    with pytest.raises(ValueError, match="one device"):
        _campaign(out)
    (out / MANIFEST).write_text(json.dumps({**man, "profile": "gpu"}))
    with pytest.raises(ValueError, match="profile 'gpu'"):
        _campaign(out)
    (out / MANIFEST).write_text(json.dumps(man))
    res_path = out / "results" / "train_arith1_grpo_h4_s2.json"
    res = json.loads(res_path.read_text())
    res_path.write_text(json.dumps({**res, "config": {**res["config"], "lr": 0.5}}))
    assert main(["llm", "campaign", "--profile", "smoke", "--device", "cpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "different plan" in err and "lr" in err and len(err.splitlines()) == 1


def _code(argv) -> int:
    """Exit code of ``rlvr-lab ARGV`` (argparse's own errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _no_model(*a, **k):
    raise AssertionError("a model was loaded before the input was checked")


@pytest.mark.parametrize("argv, fragment", [
    (["--profile", "nope"], "profile"),
    (["--budget-s", "0"], "budget_s"),
    (["--budget-s", "soon"], "budget-s"),
    (["--device", "tpu"], "device"),
    pytest.param(["--device", "cuda"], "device", marks=pytest.mark.skipif(
        __import__("torch").cuda.is_available(), reason="CUDA is available here, so --device cuda is valid")),
    (["--out", "FILE"], "out"),
])
def test_bad_campaign_input_exits_2_with_one_line_before_any_model(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(models, "load_model", _no_model)
    (tmp_path / "FILE").write_text("x")
    base = {"--profile": "smoke", "--out": str(tmp_path / "c")}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = str(tmp_path / value) if value == "FILE" else value
    assert _code(["llm", "campaign", *[x for kv in base.items() for x in kv]]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_gpu_profile_without_the_model_or_cuda_is_refused_before_loading(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(models, "load_model", _no_model)
    monkeypatch.setenv("RLVR_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(models.GGUF_ENV, str(tmp_path / "missing.gguf"))
    assert main(["llm", "campaign", "--profile", "gpu", "--device", "cpu", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip()
    assert models.GGUF_ENV in err and len(err.splitlines()) == 1
    (tmp_path / "missing.gguf").write_bytes(b"GGUF")  # now "found" (never loaded): the missing CUDA is next
    if not __import__("torch").cuda.is_available():
        assert main(["llm", "campaign", "--profile", "gpu", "--out", str(tmp_path / "c")]) == 2
        assert "CUDA" in capsys.readouterr().err
    assert not (tmp_path / "c" / MANIFEST).exists()


def test_plan_prints_every_run_with_its_estimate(capsys, tmp_path):
    assert main(["llm", "campaign", "--profile", "gpu", "--plan", "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + len(plan("gpu", tmp_path)) and "multistep2add_grpo_s8" in out[-1]
    assert not (tmp_path / "c").exists()


def test_gpu_plan_is_the_cpu_experiments_scaled(tmp_path):
    runs = plan("gpu", tmp_path)
    arith = [r.config for r in runs if r.name.startswith("arith1")]
    assert {(c.estimator, c.horizon) for c in arith} == {("grpo", 16), ("grpo", 32), ("grpo", 64), ("linear_r", 32)}
    assert all(c.group == 8 and c.prompts * c.group >= 128 and c.eval_prompts == 40 and c.eval_horizon == 48
               and c.task_options == {"digits": 1} and c.model == "smollm2-135m" for c in arith)
    comp = [r.config for r in runs if r.name.startswith("multistep")]
    assert all(c.task_options == {"steps": 2, "ops": "+"} and c.temperature == 0.6 and c.steps == 8
               and c.eval_prompts == 64 for c in comp)
    assert sorted({r.seed for r in runs}) == list(range(1, 9))
    for r in runs:
        r.config.validate()  # every run's config is one the trainer accepts


# ---------------------------------------------------------------------------------------------
# Transfer: pack / unpack
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def blob(tmp_path):
    data = os.urandom(2_500_000)
    src = tmp_path / "model.gguf"
    src.write_bytes(data)
    wheel = tmp_path / "gguf-0.0-py3-none-any.whl"
    wheel.write_bytes(os.urandom(100_000))
    return src, wheel, data


def test_pack_splits_under_the_limit_and_unpack_restores_the_bytes(blob, tmp_path):
    src, wheel, data = blob
    man = pack(src, tmp_path / "parts", part_mib=1.0, wheels=[wheel])
    assert len(man["parts"]) == 3 and sum(p["size"] for p in man["parts"]) == len(data)
    assert man["sha256"] == hashlib.sha256(data).hexdigest()
    for p in man["parts"]:
        folder = tmp_path / "parts" / p["folder"]
        assert sum(f.stat().st_size for f in folder.iterdir() if f.name != "parts.json") <= 2**20
        assert hashlib.sha256((folder / p["file"]).read_bytes()).hexdigest() == p["sha256"]
    assert (tmp_path / "parts" / "part1" / wheel.name).read_bytes() == wheel.read_bytes()
    path = unpack(tmp_path / "parts", tmp_path / "model")
    assert path.read_bytes() == data and not list((tmp_path / "model").glob("*.partial"))
    shutil.rmtree(tmp_path / "parts" / "part2")  # a second unpack keeps the verified file, parts or not
    assert unpack(tmp_path / "parts", tmp_path / "model") == path


@pytest.mark.parametrize("damage, fragment", [
    ("flip", "part 2 of 3 is corrupted: sha256"),
    ("truncate", "part 2 of 3 is corrupted"),
    ("missing", "part 3 of 3 is missing"),
    ("wheel", "wheel gguf-0.0-py3-none-any.whl is corrupted"),
])
def test_unpack_refuses_a_damaged_pack(blob, tmp_path, damage, fragment):
    src, wheel, _ = blob
    man = pack(src, tmp_path / "parts", part_mib=1.0, wheels=[wheel])
    root = tmp_path / "parts"
    if damage == "flip":
        f = root / "part2" / man["parts"][1]["file"]
        b = bytearray(f.read_bytes())
        b[1000] ^= 1
        f.write_bytes(bytes(b))
    elif damage == "truncate":
        f = root / "part2" / man["parts"][1]["file"]
        f.write_bytes(f.read_bytes()[:-1])
    elif damage == "missing":
        shutil.rmtree(root / "part3")
    else:
        (root / "part1" / wheel.name).write_bytes(b"not the wheel")
    with pytest.raises(ValueError, match=fragment):
        unpack(root, tmp_path / "model")
    assert not (tmp_path / "model" / src.name).exists() and not list(tmp_path.glob("model/*.partial"))


def test_pack_replaces_only_an_earlier_pack(blob, tmp_path):
    src, _, data = blob
    pack(src, tmp_path / "p", part_mib=1.0)
    pack(src, tmp_path / "p", part_mib=2.0)  # an earlier pack is replaced
    assert sorted(e.name for e in (tmp_path / "p").iterdir()) == ["part1", "part2"]
    (tmp_path / "p" / "cache").mkdir()  # e.g. --out .device by mistake: never wiped
    with pytest.raises(ValueError, match="holds other files"):
        pack(src, tmp_path / "p", part_mib=1.0)
    assert (tmp_path / "p" / "cache").is_dir()


def test_parts_of_different_packs_are_refused(blob, tmp_path):
    src, wheel, _ = blob
    pack(src, tmp_path / "a", part_mib=1.0)
    src.write_bytes(os.urandom(2_500_000))
    pack(src, tmp_path / "b", part_mib=1.0)
    shutil.rmtree(tmp_path / "a" / "part2")
    shutil.copytree(tmp_path / "b" / "part2", tmp_path / "a" / "part2")
    with pytest.raises(ValueError, match="different packs"):
        read_manifest(tmp_path / "a")


def test_pack_and_unpack_commands(blob, tmp_path, capsys):
    src, wheel, data = blob
    assert main(["llm", "pack-model", "--source", str(src), "--wheels", str(wheel), "--part-mib", "2",
                 "--out", str(tmp_path / "p")]) == 0
    assert "part2" in capsys.readouterr().out
    assert main(["llm", "unpack-model", "--parts", str(tmp_path / "p"), "--to", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert f"export {models.GGUF_ENV}=" in out and (tmp_path / "m" / src.name).read_bytes() == data
    for argv, fragment in ((["pack-model", "--source", str(src), "--part-mib", "0", "--out", str(tmp_path / "q")], "part_mib"),
                           (["pack-model", "--source", str(src), "--part-mib", "61", "--out", str(tmp_path / "q")], "part_mib"),
                           (["pack-model", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "q")], "source"),
                           (["unpack-model", "--parts", str(tmp_path / "nope"), "--to", str(tmp_path / "m")], "parts")):
        assert _code(["llm", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and len(err.splitlines()) == 1


def test_the_loader_finds_the_gguf_named_by_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("RLVR_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(models.GGUF_ENV, str(tmp_path / "m.gguf"))
    with pytest.raises(ValueError, match=models.GGUF_ENV):
        models.find_smollm2_gguf()
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert models.find_smollm2_gguf() == tmp_path / "m.gguf" and models.smollm2_available()


@pytest.mark.parametrize("name", ["rlvr_lab.transfer", "rlvr_lab.campaign_plan", "rlvr_lab.campaign"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_the_documented_device_calls_parse_and_fit_one_call():
    """README's two device commands: each under the tool's 2,000 characters, the same text as the
    module docstring's, and every ``rlvr_lab`` command in them accepted by the real parser."""
    import re
    import shlex
    from pathlib import Path

    import rlvr_lab.campaign as campaign
    from rlvr_lab.cli import build_parser

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    calls = [line for line in readme.splitlines() if line.startswith("export PYTHONUNBUFFERED=1")]
    assert len(calls) == 2
    doc = " ".join(campaign.__doc__.split())
    for line in calls:
        assert len(line) < 2000 and " ".join(line.split()) in doc
        commands = re.findall(r"python3 -m rlvr_lab (llm [^|&;]*?)(?: 2>&1| &&|;|$)", line)
        assert commands
        for text in commands:
            build_parser().parse_args(shlex.split(text))  # argparse exits 2 on a wrong option
    assert ".device/smollm2/part1" in calls[0] and ".device/smollm2/part2" not in calls[0]
    assert "--budget-s" in calls[1] and "$OUT/campaign.tar.gz" in calls[1]
