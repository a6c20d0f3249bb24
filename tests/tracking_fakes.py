"""A fake tracker and synthetic run directories for the trackio-mirror tests (tests/test_integrations_tracking*.py)."""

import json
import os
from pathlib import Path

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
