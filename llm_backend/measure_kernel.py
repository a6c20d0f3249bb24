"""Paper C on a real model: value MSE of GRPO-LOO, the global mean and KAE on the rollouts a trainer saw.

``rlvr-lab llm kernel`` trains the model briefly with the project's trainer (``llm_backend.trainer``,
any registry estimator, default ``grpo``) under paper C's schedule: each minibatch of ``prompts``
problems is reused for J = ``reuse`` consecutive steps, fresh G rollouts every step. A trainer hook
(``train(on_batch=...)``) records every step's prompt ids and (P, G) rewards with their step, and at
each ``checkpoints`` step draws ``truth_group`` = K extra rollouts per batch prompt from the very
policy that sampled that step (before its update; own seeded uniforms, so the run is unchanged).
V~_b = mean of the K extra rewards is prompt b's "true" value.

On the trainer's own rollouts Z_b1..Z_bG at checkpoint step i, each baseline's value estimate:

- ``grpo_loo``: V^_bg = mean_{k != g} Z_bk = Z_bg - A^rloo_bg (the registry's ``rloo``);
- ``global_mean``: V^_b = mean of all P G rewards of the step (REINFORCE++'s baseline);
- ``kae(h=..)``: V^_bg = Z_bg - A^kae_bg from the registry's ``kae`` entry (``theory.kernel``),
  its history built by replaying the logged rewards of steps 1..i in order, exactly as a trainer
  running KAE would have seen them (triangular kernel by default; one state per bandwidth).

Per unit (checkpoint step, prompt): squared error e_b = mean_g (V^_bg - V~_b)^2. V~ is itself
noisy: E[e_b] = MSE_b + V(1-V)/K for every method alike (the extra rollouts are independent of the
trainer's), so paired differences of e between methods are unbiased for the difference of true
MSEs; the reported ``mse_corrected`` subtracts the unbiased V~(1-V~)/(K-1) from each e_b [R].
Units are (step, prompt) pairs; a prompt that is in the batch at two checkpoints is two units [R].

Claim C.llm-value-mse (figures/llm_kernel_value_mse.py) is judged on d_b = e_b(KAE at the first
bandwidth) - e_b(GRPO-LOO), with a Student-t 95% interval over units.

Bandwidth choice [R, declared before any run]: h is relative (window h i steps); at the few steps
a CPU run affords, the registry default h = 0.2 spans at most 0.2 i < 2 steps, so KAE would reduce
to the LOO mean. The defaults h = 0.5 (primary) and 1.0 let the window reach the earlier steps of
the reuse block.

Resumable: ``<out>.partial.jsonl`` holds the config line and one record per finished step
(rewards, and the truth rewards at checkpoints); the trainer's run directory (``run_dir``, default
``runs/kernel_<stem of out>``) holds its checkpoints (weights and optimizer state, about 1.6 GB for
SmolLM2-135M: never under results/). ``--resume`` continues both; the sampling seeds are functions
of (seed, step), so the result equals an uninterrupted run's.

Example (the pure part)::

    >>> import numpy as np
    >>> steps = [{"step": 1, "prompt_ids": [0, 1], "rewards": [[1, 0], [0, 0]]},
    ...          {"step": 2, "prompt_ids": [0, 1], "rewards": [[1, 1], [0, 1]]}]
    >>> out = value_errors(steps, {2: np.array([[1., 1., 0., 1.], [0., 0., 1., 0.]])}, bandwidths=(1.0,))
    >>> sorted(out["mse"]), out["n_units"]
    (['global_mean', 'grpo_loo', 'kae(h=1.0)'], 2)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llm_backend.config import ModelConfig, SamplingConfig, TaskConfig, check_output_dir, config_dict, opt
from llm_backend.partial import append_record, partial_key, read_records
from theory.checks import check_choice, check_int, check_real
from theory.estimators import advantages, new_state
from theory.kernel import KERNELS
from theory.stats import mean_ci

__all__ = ["KernelConfig", "value_errors", "kae_key", "run_kernel", "BASELINES"]

BASELINES = ("grpo_loo", "global_mean")


def kae_key(h: float) -> str:
    """The result file's name of KAE at bandwidth ``h``."""
    return f"kae(h={float(h):g})"


def _ints(name, values) -> tuple:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    try:
        return tuple(int(str(v).strip()) for v in values)
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers; got {values!r}") from None


def _floats(name, values) -> tuple:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    try:
        return tuple(float(str(v).strip()) for v in values)
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers; got {values!r}") from None


@dataclass
class KernelConfig:
    """Paper C: value MSE of GRPO-LOO, the global mean and KAE on a training run (``rlvr-lab llm kernel``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=lambda: TaskConfig(task="arithmetic", task_options={"digits": 1},
                                                                prompts=4, group=4, horizon=32))
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    steps: int = opt(6, "training steps (>= 1)")
    pool: int = opt(16, "size of the fixed training pool of problems (>= prompts)")
    reuse: int = opt(3, "each minibatch of prompts is reused for J consecutive steps (>= 1)")
    estimator: str = opt("grpo", "registry estimator that trains the model")
    lr: float = opt(1e-5, "AdamW learning rate (>= 0)")
    checkpoints: tuple = opt((3, 6), "steps at which the batch prompts' true values are estimated (in 1..steps)")
    truth_group: int = opt(32, "extra rollouts K per batch prompt for its true value (>= 2)")
    bandwidths: tuple = opt((0.5, 1.0), "KAE relative bandwidths h > 0; the first is the claim's primary")
    kernel: str = opt("triangular", "KAE kernel: triangular | exponential", choices=tuple(KERNELS))
    checkpoint_every: int = opt(3, "trainer checkpoint every N steps (resume granularity; >= 1)")
    run_dir: str | None = opt(None, "trainer run directory, checkpoints included: keep it out of results/ "
                              "(default: runs/kernel_<stem of out>)")
    out: str = opt(None, "result JSON path", required=True)
    resume: bool = opt(False, "continue an interrupted measurement (same config only)")

    def validate(self) -> "KernelConfig":
        from llm_backend.config import check_output_file
        from llm_backend.estimator_state import check_estimator

        self.model.validate()
        self.task.validate()
        self.sampling.validate()
        check_int("group", self.task.group, low=2)  # the leave-one-out mean needs G >= 2
        check_int("steps", self.steps, low=1)
        check_int("pool", self.pool, low=self.task.prompts)
        check_int("reuse", self.reuse, low=1)
        check_estimator(self.estimator, {})
        check_real("lr", self.lr, low=0.0)
        self.checkpoints = tuple(sorted(set(_ints("checkpoints", self.checkpoints))))
        if not self.checkpoints or self.checkpoints[0] < 1 or self.checkpoints[-1] > self.steps:
            raise ValueError(f"checkpoints must be steps in [1, steps={self.steps}]; got {list(self.checkpoints)}")
        check_int("truth_group", self.truth_group, low=2)
        self.bandwidths = _floats("bandwidths", self.bandwidths)
        if not self.bandwidths or any(not np.isfinite(h) or h <= 0 for h in self.bandwidths):
            raise ValueError(f"bandwidths must be one or more numbers > 0; got {list(self.bandwidths)}")
        check_choice("kernel", self.kernel, KERNELS)
        check_int("checkpoint_every", self.checkpoint_every, low=1)
        check_output_file("out", self.out)
        check_output_dir("run_dir", self.run_directory())
        return self

    def run_directory(self) -> Path:
        return Path(self.run_dir).expanduser() if self.run_dir else Path("runs") / f"kernel_{Path(self.out).stem}"

    def partial_path(self) -> Path:
        p = Path(self.out).expanduser()
        return p.with_name(p.name + ".partial.jsonl")

    def train_config(self, command: str = ""):
        """The trainer's config of this measurement."""
        from llm_backend.config import TrainConfig

        m, t, s = self.model, self.task, self.sampling
        return TrainConfig(model=m.name, dtype=m.dtype, device=m.device, task=t.task, task_options=dict(t.task_options),
                           estimator=self.estimator, steps=self.steps, prompts=t.prompts, group=t.group,
                           pool=self.pool, horizon=t.horizon, temperature=s.temperature, top_p=s.top_p, lr=self.lr,
                           seed=s.seed, batch_size=s.batch_size, checkpoint_every=self.checkpoint_every,
                           batch_reuse=self.reuse, out_dir=str(self.run_directory()), command=command)


# ---------------------------------------------------------------------------------------------
# The value errors (numpy and the registry only)
# ---------------------------------------------------------------------------------------------
def value_errors(steps, truth, *, bandwidths=(0.5, 1.0), kernel: str = "triangular") -> dict:
    """Per-unit squared value errors of each baseline at the checkpoint steps (module docstring).

    ``steps``: records ``{"step", "prompt_ids", "rewards" (P, G)}`` for steps 1..max(truth) (any
    order); ``truth``: {step: (P, K) extra rewards of that step's prompts under the same policy}.
    Returns the units, ``sq_err`` {method: [e_b]}, ``mse`` and ``mse_corrected`` {method: mean},
    the paired differences of each KAE against each other baseline with 95% t-intervals, and
    ``primary`` (the first bandwidth's key).
    """
    bandwidths = _floats("bandwidths", bandwidths)
    if not bandwidths or any(not np.isfinite(h) or h <= 0 for h in bandwidths):
        raise ValueError(f"bandwidths must be one or more numbers > 0; got {list(bandwidths)}")
    check_choice("kernel", kernel, KERNELS)
    if not truth:
        raise ValueError("truth must hold the extra rewards of at least one checkpoint step")
    by_step = {}
    for rec in steps:
        s = check_int("step", rec["step"], low=1)
        r = np.asarray(rec["rewards"], dtype=np.float64)
        ids = list(rec["prompt_ids"])
        if r.ndim != 2 or r.shape[0] != len(ids) or r.shape[1] < 2 or not np.all(np.isfinite(r)):
            raise ValueError(f"rewards of step {s} must be a finite (P, G >= 2) array with one row per prompt id")
        by_step[s] = (ids, r)
    last = max(int(k) for k in truth)
    missing = [s for s in range(1, last + 1) if s not in by_step]
    if missing:
        raise ValueError(f"steps must cover 1..{last} (the last checkpoint); missing {missing}")
    tr = {}
    for k, v in truth.items():
        v = np.asarray(v, dtype=np.float64)
        k = int(k)
        if v.ndim != 2 or v.shape[0] != len(by_step[k][0]) or v.shape[1] < 2:
            raise ValueError(f"truth of step {k} must be (P, K >= 2) with P = {len(by_step[k][0])}")
        tr[k] = v
    return _value_errors(by_step, tr, bandwidths, kernel)


def _value_errors(by_step, truth, bandwidths, kernel) -> dict:
    last = max(truth)
    keys = list(BASELINES) + [kae_key(h) for h in bandwidths]
    est = {k: {} for k in keys}  # method -> {step: (P, G) or (P, 1) value estimates}
    states = {h: new_state("kae") for h in bandwidths}
    for s in range(1, last + 1):  # replay: every step pushes into the KAE histories, as in a KAE run
        ids, r = by_step[s]
        for h in bandwidths:
            a = advantages("kae", r, prompt_ids=ids, step=s, state=states[h], bandwidth=h, kernel=kernel)
            if s in truth:
                est[kae_key(h)][s] = r - a
        if s in truth:
            est["grpo_loo"][s] = r - advantages("rloo", r)
            est["global_mean"][s] = np.full((r.shape[0], 1), r.mean())
    units, sq = [], {k: [] for k in keys}
    corr = []
    for s in sorted(truth):
        ids, r = by_step[s]
        v = truth[s].mean(1)
        kk = truth[s].shape[1]
        for b, pid in enumerate(ids):
            units.append({"step": s, "prompt_id": pid, "v_true": float(v[b]), "truth_n": kk,
                          "rho_hat": float(r[b].mean())})
            corr.append(v[b] * (1.0 - v[b]) / (kk - 1))
            for k in keys:
                sq[k].append(float(np.mean((est[k][s][b] - v[b]) ** 2)))
    corr = np.asarray(corr)
    mse = {k: float(np.mean(sq[k])) for k in keys}
    out = {"units": units, "sq_err": sq, "mse": mse, "mse_corrected": {k: float(np.mean(np.asarray(sq[k]) - corr))
                                                                       for k in keys},
           "truth_noise": float(corr.mean()), "methods": keys, "primary": kae_key(bandwidths[0]),
           "n_units": len(units), "paired": {}}
    if len(units) >= 2:
        for h in bandwidths:
            for base in BASELINES:
                d = np.asarray(sq[kae_key(h)]) - np.asarray(sq[base])
                m, lo, hi = mean_ci(d)
                out["paired"][f"{kae_key(h)} - {base}"] = {"mean": m, "ci95": [lo, hi]}
    return out


# ---------------------------------------------------------------------------------------------
# The measurement (torch, the trainer)
# ---------------------------------------------------------------------------------------------
def _key(cfg) -> dict:
    return partial_key(config_dict(cfg), drop=("out", "resume", "run_dir"))


def run_kernel(cfg: KernelConfig, *, command: str = "", started: float | None = None, progress: bool = True,
               fault=None) -> dict:
    """Train, record every step's rewards and the checkpoints' true values, and return the result.

    ``fault`` (tests) is the trainer's fault hook (``llm_backend.trainer.POINTS``).
    """
    from llm_backend.models import pick_device, resolve_dtype
    from llm_backend.results import run_header
    from llm_backend.rollouts import group_rollouts
    from llm_backend.tasks import make_task
    from llm_backend.evaluation import derive_seed
    from llm_backend.trainer import train

    started = time.time() if started is None else started
    tcfg = cfg.train_config(command).validate()
    path, key = cfg.partial_path(), _key(cfg)
    recs = {}
    if path.exists():
        if not cfg.resume:
            raise ValueError(f"out: a partial result of an interrupted run exists at {path}; pass --resume to "
                             "continue it, or delete it")
        recs = {rec["step"]: rec for rec in read_records(path, key, what="rlvr-lab llm kernel")}
    path.parent.mkdir(parents=True, exist_ok=True)
    task = make_task(cfg.task.task, **cfg.task.task_options)
    checkpoints = set(cfg.checkpoints)
    with path.open("w") as f:
        append_record(f, {"config": key})
        for s in sorted(recs):
            append_record(f, recs[s])

        def on_batch(step, ids, problems, rewards, sampler):
            if step in recs:  # recorded before an interruption; the step repeats it exactly
                return
            rec = {"step": int(step), "prompt_ids": [int(i) for i in ids], "rewards": rewards.tolist()}
            if step in checkpoints:
                t0 = time.perf_counter()
                gr = group_rollouts(sampler, task, problems, group=cfg.truth_group, horizon=cfg.task.horizon,
                                    temperature=cfg.sampling.temperature, top_p=cfg.sampling.top_p,
                                    seed=derive_seed(cfg.sampling.seed, "kernel-truth", step),
                                    batch_size=cfg.sampling.batch_size)
                rec.update(truth_rewards=gr.rewards().tolist(), truth_seconds=round(time.perf_counter() - t0, 2))
            append_record(f, rec)
            recs[int(step)] = rec

        summary = train(tcfg, resume=cfg.resume, progress=progress, on_batch=on_batch, fault=fault)
    log = {r["step"]: r for r in summary["log"]}
    for s, rec in recs.items():  # the hook's records are the trainer's batches
        lr = log.get(s)
        if lr is None or list(lr["prompt_ids"]) != rec["prompt_ids"] or not np.allclose(
                lr["rho_hat"], np.mean(rec["rewards"], axis=1)):
            raise RuntimeError(f"step {s}: the recorded batch differs from the trainer's log (prompt ids / rho_hat)")
    steps = [recs[s] for s in sorted(recs)]
    truth = {s: np.asarray(recs[s]["truth_rewards"]) for s in cfg.checkpoints}
    errors = value_errors(steps, truth, bandwidths=cfg.bandwidths, kernel=cfg.kernel)
    dtype = resolve_dtype(cfg.model.dtype, pick_device(cfg.model.device))
    head = run_header(command=command, seed=cfg.sampling.seed, model=cfg.model.name, started=started, dtype=dtype,
                      config=config_dict(cfg))
    n = errors["n_units"]
    return {"kind": "kernel", **head, "settings": {"task": task.describe(), "run_dir": str(cfg.run_directory())},
            "steps": steps, "reward_by_step": summary["reward_by_step"], "summary": errors,
            "truth_seconds": sum(recs[s].get("truth_seconds", 0.0) for s in cfg.checkpoints),
            "train_seconds": sum(r.get("seconds", 0.0) for r in summary["log"]),
            "sample_size": {"units": n, "checkpoints": len(cfg.checkpoints), "rollouts_per_prompt": cfg.task.group,
                            "truth_rollouts_per_prompt": cfg.truth_group,
                            "training_rollouts": cfg.steps * cfg.task.prompts * cfg.task.group,
                            "truth_rollouts": n * cfg.truth_group}}


def finish(cfg: KernelConfig) -> None:
    """Remove the partial file once the result file is written (the run directory is kept)."""
    cfg.partial_path().unlink(missing_ok=True)
