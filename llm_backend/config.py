"""Typed configurations of the real-model entry points: one definition of every option and default.

Each entry point takes one config; the command line (``rlvr_lab/options.py``) is generated from
these dataclasses, so a field's type, default and help text live here only:

- :class:`ModelConfig` (name, dtype, device) and :class:`SamplingConfig` (temperature, top-p,
  batch size, seed): shared by every measurement and by training;
- :class:`TaskConfig`: task, difficulty options, prompts N, group G, horizon H;
- :class:`XiConfig`, :class:`PplConfig`, :class:`WeightsConfig`: the measurements
  (``rlvr-lab llm xi|ppl|weights``), each a model + task + sampling config and its own fields;
- :class:`TrainConfig` (``llm_backend.trainer``): training, flat because its ``config.json`` is the resume
  contract of existing run directories (its ``model_config`` / ``sampling_config`` give the typed
  views).

Field metadata: ``help`` (the option's help text), optionally ``flag`` (the option name when it
differs from the field's), ``required``. ``validate()`` checks every field (the estimator options
through the registry itself, output paths for writability) and raises ``ValueError`` naming the
parameter and its valid range, before any model is loaded.

Example::

    >>> cfg = XiConfig(model=ModelConfig(name="tiny"), out="/tmp/xi.json").validate()
    >>> cfg.task.horizon, cfg.model.dtype
    (80, 'float32')
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

from llm_backend.config_checks import (check_device, check_input_file, check_model_name, check_output_dir,
                                       check_output_file)
from theory.checks import check_choice, check_int, check_probability, check_real
from theory.estimators import ESTIMATORS, effective_weight

__all__ = ["ModelConfig", "SamplingConfig", "TaskConfig", "XiConfig", "PplConfig", "WeightsConfig", "TrainConfig",
           "CompositionConfig", "RESUME_MAY_CHANGE", "EVAL_START_FIELDS",
           "opt", "check_model_name", "check_device", "check_output_file", "check_output_dir", "check_input_file", "config_dict"]

DTYPES = ("float32", "bfloat16", "auto")  # models.DTYPES (kept here so validation needs no torch)
AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "constant")  # policy_loss.AGGREGATIONS


def opt(default=None, help: str = "", *, factory=None, **meta):  # noqa: A002 - the option's help text
    """A dataclass field with its command-line help (``metadata``)."""
    md = {"help": help, **meta}
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


def config_dict(cfg) -> dict:
    """A config as nested plain dicts (for result files and resume checks)."""
    out = {}
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = config_dict(v) if is_dataclass(v) else (list(v) if isinstance(v, tuple) else v)
    return out


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------
@dataclass
class ModelConfig:
    """Which model, in which number format, on which device."""

    name: str = opt("smollm2-135m", "smollm2-135m | tiny | local checkpoint directory | cached hub id owner/name",
                    flag="model")
    dtype: str = opt("float32", "float32 | bfloat16 | auto (bf16 where the hardware has native bf16 matmuls); "
                     "one dtype for sampling and training in a run, recorded in every result file",
                     choices=DTYPES)
    device: str | None = opt(None, "cpu | cuda | cuda:N (default: cuda when available)")

    def validate(self) -> "ModelConfig":
        check_model_name(self.name)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        if check_device(self.device) and self.device.startswith("cuda"):
            import importlib.util

            if importlib.util.find_spec("torch") is not None:
                import torch

                if not torch.cuda.is_available():
                    raise ValueError(f"device must be 'cpu' here (CUDA is not available); got {self.device!r}")
        return self


@dataclass
class SamplingConfig:
    """How rollouts are drawn (inverse-CDF sampling with per-row uniforms; ``llm_backend.sampling``)."""

    temperature: float = opt(1.0, "sampling temperature (> 0)")
    top_p: float = opt(1.0, "nucleus mass in (0, 1]")
    batch_size: int = opt(64, "rows sampled together (larger fills the cores better; >= 1)")
    seed: int = opt(0, "seed of problems and sampling (>= 0)")

    def validate(self) -> "SamplingConfig":
        check_real("temperature", self.temperature, low=0.0, open_low=True)
        check_real("top_p", self.top_p, low=0.0, high=1.0, open_low=True)
        check_int("batch_size", self.batch_size, low=1)
        check_int("seed", self.seed, low=0, high=2**63 - 1)
        return self


@dataclass
class TaskConfig:
    """The problems: task, its difficulty options, N prompts x G rollouts to horizon H."""

    task: str = opt("arithmetic", "arithmetic | multistep | countdown")
    task_options: dict = opt(factory=dict, help="task difficulty option KEY=VALUE, e.g. digits=2 (repeatable)",
                             flag="task-opt")
    prompts: int = opt(48, "number of problems N (>= 1)")
    group: int = opt(6, "rollouts per problem G (>= 1)")
    horizon: int = opt(80, "generation horizon H in tokens (1..8192)")

    def validate(self) -> "TaskConfig":
        from llm_backend.tasks import make_task

        if not isinstance(self.task_options, dict):
            raise ValueError(f"task_options must be a mapping KEY=VALUE; got {self.task_options!r}")
        make_task(self.task, **self.task_options)
        check_int("prompts", self.prompts, low=1)
        check_int("group", self.group, low=1)
        check_int("horizon", self.horizon, low=1, high=8192)
        return self


def _task(**kw):
    return lambda: TaskConfig(**kw)


@dataclass
class _Measurement:
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    out: str = opt(None, "result JSON path", required=True)
    resume: bool = opt(False, "continue an interrupted measurement from its partial file (same config only)")

    def validate(self):
        self.model.validate()
        self.task.validate()
        self.sampling.validate()
        check_output_file("out", self.out)
        return self

    def partial_path(self) -> Path:
        """Where partial results go while the measurement runs (removed when it finishes)."""
        p = Path(self.out).expanduser()
        return p.with_name(p.name + ".partial.jsonl")


@dataclass
class XiConfig(_Measurement):
    """Paper A: E[T], xi = H / E[T], q(H) and regimes (``rlvr-lab llm xi``)."""

    xi_horizon: int | None = opt(None, "H at which xi is stated (default: the horizon)")

    def validate(self) -> "XiConfig":
        super().validate()
        if self.xi_horizon is not None:
            check_int("xi_horizon", self.xi_horizon, low=1)
        return self


@dataclass
class PplConfig(_Measurement):
    """Paper D: prompt perplexity against pass rate (``rlvr-lab llm ppl``)."""

    from_xi: str | None = opt(None, "reuse the rollouts of an `llm xi` result file (model, task, seed from it)")

    def validate(self) -> "PplConfig":
        super().validate()
        if self.from_xi is not None:
            check_input_file("from_xi", self.from_xi)
        return self


@dataclass
class WeightsConfig(_Measurement):
    """Paper B: start distribution of rho_hat and each weighting's time to target (``llm weights``)."""

    task: TaskConfig = field(default_factory=_task(task="countdown", prompts=16, group=8, horizon=96))
    target: float = opt(0.5, "target success probability rho_1 in (0, 1)")
    estimators: tuple = opt(("grpo", "rloo", "dapo", "linear_r", "sqrt_r"),
                            "comma-separated registry estimators whose time to target is predicted")

    def validate(self) -> "WeightsConfig":
        super().validate()
        check_probability("target", self.target, open_low=True, open_high=True)
        if isinstance(self.estimators, str):
            self.estimators = tuple(n.strip() for n in self.estimators.split(",") if n.strip())
        if not self.estimators:
            raise ValueError("estimators must name at least one registry estimator")
        for name in self.estimators:
            if name not in ESTIMATORS:
                raise ValueError(f"estimators must be registry names {sorted(ESTIMATORS)}; got {name!r}")
            try:
                effective_weight(name, [0.5])
            except (ValueError, TypeError, NotImplementedError):
                raise ValueError(f"estimators: {name!r} has no effective weight w(rho), so no time to "
                                 "target can be predicted") from None
        self.estimators = tuple(self.estimators)
        return self


@dataclass
class CompositionConfig(_Measurement):
    """Paper E: P(final correct | step s correct / not correct) per step (``rlvr-lab llm composition``)."""

    task: TaskConfig = field(default_factory=_task(task="multistep", prompts=32, group=8, horizon=96))

    def validate(self) -> "CompositionConfig":
        if self.task.task != "multistep":
            raise ValueError(f"task must be 'multistep' for llm composition (it checks intermediate steps); "
                             f"got {self.task.task!r}")
        super().validate()
        return self


# The TrainConfig fields a resumed run may change (everything else must equal the stored config.json):
# the trainer's resume check and the tracker mirror's "same run?" check (rlvr_lab.integrations.tracking).
RESUME_MAY_CHANGE = ("steps", "command", "device", "out_dir", "checkpoint_every", "eval_start_from")
# The TrainConfig fields the step-0 held-out evaluation depends on (``eval_start_from`` checks them).
EVAL_START_FIELDS = ("model", "dtype", "device", "task", "task_options", "seed", "pool", "eval_prompts", "eval_group",
                     "eval_horizon", "temperature", "top_p", "batch_size")


@dataclass
class TrainConfig:
    """Everything a run depends on (written into the run's directory as ``config.json``).

    Flat (not nested like the measurement configs) because ``config.json`` of existing run
    directories is the resume contract; :attr:`model_config` and :attr:`sampling_config` give the
    typed views shared with the measurements.
    """

    model: str = opt("smollm2-135m", "smollm2-135m | tiny | local checkpoint directory | cached hub id owner/name")
    dtype: str = opt("float32", "float32 | bfloat16 | auto: sampling weights and training autocast (one dtype "
                     "per run; recorded in config.json and every summary)", choices=DTYPES)
    device: str | None = opt(None, "cpu | cuda | cuda:N (default: cuda when available)")
    task: str = opt("countdown", "arithmetic | multistep | countdown")
    task_options: dict = opt(factory=dict, help="task difficulty option KEY=VALUE (repeatable)", flag="task-opt")
    estimator: str = opt("grpo", "registry estimator name (theory.estimators)")
    estimator_options: dict = opt(factory=dict, help="estimator option KEY=VALUE (repeatable)", flag="estimator-opt")
    steps: int = opt(10, "optimizer steps (>= 1)")
    prompts: int = opt(4, "problems per step (>= 1)")
    group: int = opt(8, "rollouts per problem G (>= 1)")
    pool: int = opt(64, "size of the fixed training pool of problems (>= prompts)")
    horizon: int = opt(64, "generation horizon H in tokens (>= 1)")
    temperature: float = opt(1.0, "sampling temperature (> 0)")
    top_p: float = opt(1.0, "nucleus mass in (0, 1]")
    lr: float = opt(1e-5, "AdamW learning rate (>= 0)")
    weight_decay: float = opt(0.0, "AdamW weight decay (>= 0)")
    max_grad_norm: float = opt(1.0, "gradient clipping norm (> 0)")
    loss_agg: str = opt("token-mean", "token-mean | seq-mean-token-mean | constant", choices=AGGREGATIONS)
    ppo_epochs: int = opt(1, "passes over each batch (>= 1; > 1 needs --clip-low)")
    clip_low: float | None = opt(None, "PPO clip epsilon_low in (0, 1)")
    clip_high: float | None = opt(None, "PPO clip epsilon_high (> 0; default clip_low)")
    kl_coef: float = opt(0.0, "k3 KL coefficient to the frozen start model (>= 0)")
    seed: int = opt(0, "run seed: pool, problems, sampling (>= 0)")
    batch_size: int = opt(64, "rows sampled together (>= 1)")
    checkpoint_every: int = opt(5, "write a checkpoint every N steps (and at the end and on Ctrl-C; >= 1)")
    eval_prompts: int = opt(0, "held-out problems (not in the pool) evaluated at step 0, the end and every "
                            "--eval-every steps (0: none)")
    eval_group: int = opt(4, "rollouts per held-out problem (>= 1)")
    eval_horizon: int | None = opt(None, "evaluation horizon (default: --horizon)")
    eval_every: int = opt(0, "also evaluate every N steps (0: start and end only)")
    eval_start_from: str | None = opt(None, "run directory whose step-0 held-out evaluation this run reuses (it is "
                                      "identical by construction: same start weights, problems and uniforms); "
                                      "refused unless every setting it depends on, the code and the weights match",
                                      flag="eval-start-from")
    selection: str = opt("none", "paper D prompt selection: none (draw `prompts` from the pool) | random | low-ppl "
                         "| high-ppl | schedule (candidates scored by perplexity under the current policy)",
                         choices=("none", "random", "low-ppl", "high-ppl", "schedule"))
    selection_ratio: float = opt(0.2, "K/|B|: prompts kept from round(prompts / ratio) candidates, in (0, 1]")
    pacing: str = opt("linear", "schedule pacing: linear | quadratic | exponential",
                      choices=("linear", "quadratic", "exponential"))
    rollout_weights: str = opt("none", "none | entropy (paper D relative-entropy weights times the advantages)",
                               choices=("none", "entropy"))
    batch_reuse: int = opt(1, "paper C schedule: each minibatch of prompts is reused for J consecutive steps, fresh "
                           "rollouts every step (1: a new draw every step; > 1 needs selection none)", flag="reuse")
    out_dir: str = opt("runs/llm-train", "run directory (log, checkpoint, summary)", flag="out-dir")
    command: str = ""

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig(name=self.model, dtype=self.dtype, device=self.device)

    @property
    def sampling_config(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_p=self.top_p, batch_size=self.batch_size,
                              seed=self.seed)

    def validate(self) -> "TrainConfig":
        """Every field, the estimator options (through the registry) and the run directory."""
        from llm_backend.estimator_state import check_estimator
        from llm_backend.tasks import make_task

        self.model_config.validate()
        self.sampling_config.validate()
        if not isinstance(self.task_options, dict) or not isinstance(self.estimator_options, dict):
            raise ValueError("task_options and estimator_options must be mappings KEY=VALUE")
        make_task(self.task, **self.task_options)
        check_estimator(self.estimator, self.estimator_options)
        for name, low in (("steps", 1), ("prompts", 1), ("group", 1), ("horizon", 1), ("ppo_epochs", 1),
                          ("checkpoint_every", 1), ("eval_prompts", 0), ("eval_group", 1), ("eval_every", 0)):
            check_int(name, getattr(self, name), low=low)
        check_int("horizon", self.horizon, low=1, high=8192)
        if self.eval_horizon is not None:
            check_int("eval_horizon", self.eval_horizon, low=1, high=8192)
        if self.eval_start_from is not None:
            if self.eval_prompts == 0:
                raise ValueError("eval_start_from needs held-out evaluation (eval_prompts >= 1)")
            if not (Path(str(self.eval_start_from)) / "eval.jsonl").is_file():
                raise ValueError(f"eval_start_from must be a training run directory with an eval.jsonl; got "
                                 f"{self.eval_start_from!r}")
        check_int("pool", self.pool, low=self.prompts)
        check_real("lr", self.lr, low=0.0)
        check_real("weight_decay", self.weight_decay, low=0.0)
        check_real("max_grad_norm", self.max_grad_norm, low=0.0, open_low=True)
        check_real("kl_coef", self.kl_coef, low=0.0)
        check_choice("loss_agg", self.loss_agg, AGGREGATIONS)
        if self.clip_low is not None:
            check_real("clip_low", self.clip_low, low=0.0, high=1.0, open_low=True, open_high=True)
            self.clip_high = self.clip_low if self.clip_high is None else check_real("clip_high", self.clip_high, low=0.0, open_low=True)
        elif self.ppo_epochs > 1:
            raise ValueError("clip_low must be set (e.g. 0.2) when ppo_epochs > 1")
        elif self.clip_high is not None:
            raise ValueError("clip_high needs clip_low (set --clip-low too)")
        from llm_backend.curriculum_train import ROLLOUT_WEIGHTS, SELECTIONS, n_candidates
        from theory.curriculum import PACINGS

        check_choice("selection", self.selection, SELECTIONS)
        check_real("selection_ratio", self.selection_ratio, low=0.0, high=1.0, open_low=True)
        check_choice("pacing", self.pacing, PACINGS)
        check_choice("rollout_weights", self.rollout_weights, ROLLOUT_WEIGHTS)
        check_int("batch_reuse", self.batch_reuse, low=1)
        if self.batch_reuse > 1 and self.selection != "none":
            raise ValueError(f"batch_reuse > 1 needs selection 'none' (a selection rescored every step would not "
                             f"reuse the batch); got selection {self.selection!r}")
        if self.selection != "none" and self.pool < n_candidates(self.prompts, self.selection_ratio):
            raise ValueError(f"pool must be >= the candidate batch round(prompts / selection_ratio) = "
                             f"{n_candidates(self.prompts, self.selection_ratio)} when selection is {self.selection!r}")
        check_output_dir("out_dir", self.out_dir)
        return self
