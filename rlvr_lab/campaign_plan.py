"""The real-model campaign as data: profiles, the ordered list of runs, and a cost model that sizes it.

A run is one :class:`llm_backend.config.TrainConfig` (the trainer's own typed config, nothing
assembled as command-line text) with a name, the papers it serves and its seed. The experiments
are the CPU campaign's (issue 13, section 4; its commands are ``results/llm/v2/cpu_campaign.sh``), scaled:

- papers A and B, 1-digit sums (``arithmetic``, ``digits=1``): GRPO at H in {16, 32, 64}
  (A: budget efficiency around the measured xi) and ``linear_r`` at H = 32 (B: weighting, paired
  with GRPO at H = 32), G = 8, lr 1e-5, held-out 40 prompts at H = 48;
- paper E, 2-step additions (``multistep``, ``steps=2``, ``ops=+``, temperature 0.6): GRPO, held-out
  64 prompts at H = 64 (step checks before and after training).

Profile ``gpu`` (a lent CUDA machine, e.g. one H200) against the CPU campaign:

=====================  ==========================  ==============================================
                       CPU campaign (2 cores)      ``gpu``
=====================  ==========================  ==============================================
seeds                  3                           8 (1..8), run seed-major: every arm of seed s
                                                   before any run of seed s + 1
A/B rollouts per step  8 prompts x G 8 = 64        24 x 8 = 192: the whole pool each step. 1-digit
                                                   sums have 64 distinct problems and 40 are held
                                                   out, so 24 prompts is the most at G = 8, and G
                                                   stays 8 (the estimators' weights depend on G;
                                                   issue 13's power calculation assumes G = 8)
A/B steps, held out    5; 40 x 8 at H = 48         5; 40 x 16 at H = 48
E rollouts per step    8 x 8 = 64, 8 steps         32 x 8 = 256, 8 steps; held out 64 x 16
dtype, batch           float32, 64 rows            float32 (as the CPU runs; bf16 would change the
                                                   numerics again), 1024 rows: one batch per step
=====================  ==========================  ==============================================

Every run of one campaign runs on one device (the manifest refuses a second device), so each
comparison is paired within one device and dtype; GPU and CPU runs are never paired (GPU kernels
change the float reductions, and common random numbers pair only identical numerics).

Cost model (:func:`prior_seconds`; the trainer's own phase split, ``log.jsonl``'s
``phase_seconds``, is what later calibrates it). For a run of S steps of R = prompts x G rows,
horizon H, batch size B, prompts of ``prompt_tokens`` tokens:

    sampling(R, H)  = ceil(R / B) * (H + 1) * (latency_s + min(R, B) * row_token_s)
    step            = sampling(R, H) + train_latency_s + R * (prompt_tokens + H) / train_tokens_s
    run             = load_s + S * step + E * sampling(R_eval, H_eval) + checkpoints * checkpoint_s

with E the number of held-out evaluations (start and end, plus every ``eval_every``). On a GPU a
decoding position costs about the same for any number of rows (kernel launches, not arithmetic,
bound a 135M model), hence ``latency_s``. Rates assumed for ``gpu`` [R, not measured: no GPU was
lent when this was written]: latency 12 ms per decoding position (30 layers x ~25 kernels x
~15 us of launch and Python, plus the float64 CDF over 49k tokens), 4 us per row-token (~250k
tok/s, about a third of fp32 peak), training 35k tokens/s through forward + backward in fp32
(0.81 GFLOP per token at ~30 TFLOP/s) plus 0.1 s per step, 3 s per model load, 3 s for the one
1.6 GB checkpoint (weights + AdamW) a run writes at its end. Then (``rlvr-lab llm campaign
--profile gpu --plan``): A/B runs 10.8 s (H = 16), 12.2 s (H = 32) and 15.1 s (H = 64), the E run
22.2 s, one seed's five runs 72.6 s, all 8 seeds 581 s, plus the first model load (the GGUF's
conversion, ~30 s on 2 cores, and CUDA's start): more than a 450 s budget. Under the prior 31 runs
(6 whole seeds) fit in 450 s, about 5.5 seeds after the conversion; the measured rate decides.
So the plan is adaptive: before each run the campaign multiplies the prior by the median ratio
measured / prior of the runs it has finished whole, and starts the run only if that estimate fits the budget
left. Seed-major order means a stop leaves complete seed blocks plus at most one partial block
(whose finished arms are still valid; pairing uses the seeds every arm finished).

The ``smoke`` profile is the same plan on the tiny random model with tiny sizes (2 seeds, H in
{4, 6, 8}, 2 x 2 rollouts): what the tests run, on the CPU, in seconds.

Example::

    >>> runs = plan("smoke", "/tmp/c")
    >>> [r.name for r in runs[:5]]
    ['arith1_grpo_h6_s1', 'arith1_linear_r_h6_s1', 'arith1_grpo_h4_s1', 'arith1_grpo_h8_s1', 'multistep2add_grpo_s1']
    >>> runs[0].config.model, runs[0].papers
    ('tiny', ('A', 'B'))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from llm_backend.config import TrainConfig

__all__ = ["Rates", "Profile", "Run", "PROFILES", "plan", "prior_seconds", "RATES_GPU", "RATES_TINY_CPU"]


@dataclass(frozen=True)
class Rates:
    """Constants of the cost model (module docstring), seconds."""

    latency_s: float  # per decoding position, whatever the number of rows
    row_token_s: float  # per generated row-token
    train_tokens_s: float  # tokens per second through forward + backward
    train_latency_s: float  # per training step
    load_s: float  # model load per run
    checkpoint_s: float  # one checkpoint (weights + optimizer)
    prompt_tokens: int  # assumed prompt length


RATES_GPU = Rates(latency_s=0.012, row_token_s=4e-6, train_tokens_s=35_000.0, train_latency_s=0.1, load_s=3.0,
                  checkpoint_s=3.0, prompt_tokens=48)
RATES_TINY_CPU = Rates(latency_s=0.002, row_token_s=2e-5, train_tokens_s=20_000.0, train_latency_s=0.01,
                       load_s=0.3, checkpoint_s=0.05, prompt_tokens=30)


@dataclass(frozen=True)
class Profile:
    """One campaign: its model, seeds, the A/B template and arms, the E template, the cost prior."""

    name: str
    seeds: tuple
    arith: TrainConfig  # A/B template (estimator and horizon set per arm)
    arms: tuple  # ((estimator, horizon, papers), ...) in run order within a seed
    compose: TrainConfig  # E template
    rates: Rates
    needs_cuda: bool


@dataclass(frozen=True)
class Run:
    """One training run of the campaign: ``results/train_<name>.json`` and ``runs/<name>/``."""

    name: str
    papers: tuple
    seed: int
    config: TrainConfig


def _arith(**kw) -> TrainConfig:
    return TrainConfig(task="arithmetic", task_options={"digits": 1}, estimator="grpo", lr=1e-5, **kw)


def _compose(**kw) -> TrainConfig:
    return TrainConfig(task="multistep", task_options={"steps": 2, "ops": "+"}, temperature=0.6, estimator="grpo",
                       lr=1e-5, **kw)


PROFILES = {
    "gpu": Profile(
        name="gpu", seeds=tuple(range(1, 9)),
        arith=_arith(model="smollm2-135m", dtype="float32", steps=5, prompts=24, group=8, pool=24, eval_prompts=40,
                     eval_group=16, eval_horizon=48, batch_size=1024, checkpoint_every=5),
        arms=(("grpo", 32, ("A", "B")), ("linear_r", 32, ("B",)), ("grpo", 16, ("A",)), ("grpo", 64, ("A",))),
        compose=_compose(model="smollm2-135m", dtype="float32", steps=8, prompts=32, group=8, pool=64, horizon=64,
                         eval_prompts=64, eval_group=16, eval_horizon=64, batch_size=1024, checkpoint_every=8),
        rates=RATES_GPU, needs_cuda=True),
    "smoke": Profile(
        name="smoke", seeds=(1, 2),
        arith=_arith(model="tiny", dtype="float32", steps=2, prompts=2, group=2, pool=4, eval_prompts=3,
                     eval_group=2, eval_horizon=6, batch_size=64, checkpoint_every=2),
        arms=(("grpo", 6, ("A", "B")), ("linear_r", 6, ("B",)), ("grpo", 4, ("A",)), ("grpo", 8, ("A",))),
        compose=_compose(model="tiny", dtype="float32", steps=2, prompts=2, group=2, pool=4, horizon=8,
                         eval_prompts=2, eval_group=2, eval_horizon=8, batch_size=64, checkpoint_every=2),
        rates=RATES_TINY_CPU, needs_cuda=False),
}


def plan(profile: str, out, *, device: str | None = None, command: str = "") -> list[Run]:
    """The runs of ``profile`` in the order they run (seed-major), run directories under ``out/runs``."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    p, root = PROFILES[profile], Path(out).expanduser()
    runs = []
    for seed in p.seeds:
        for est, h, papers in p.arms:
            name = f"arith1_{est}_h{h}_s{seed}"
            runs.append(Run(name, papers, seed, replace(p.arith, estimator=est, horizon=h, seed=seed)))
        runs.append(Run(f"multistep2add_grpo_s{seed}", ("E",), seed, replace(p.compose, seed=seed)))
    return [replace(r, config=replace(r.config, device=device, out_dir=str(root / "runs" / r.name),
                                      command=f"{command} (run {r.name})".strip(), task_options=dict(r.config.task_options)))
            for r in runs]


def _sampling_s(rows: int, horizon: int, batch: int, r: Rates) -> float:
    return math.ceil(rows / batch) * (horizon + 1) * (r.latency_s + min(rows, batch) * r.row_token_s)


def prior_seconds(cfg: TrainConfig, rates: Rates) -> float:
    """The cost model's seconds for one run of ``cfg`` (module docstring)."""
    rows = cfg.prompts * cfg.group
    step = (_sampling_s(rows, cfg.horizon, cfg.batch_size, rates) + rates.train_latency_s
            + rows * (rates.prompt_tokens + cfg.horizon) / rates.train_tokens_s)
    n_eval = 0
    if cfg.eval_prompts > 0:
        n_eval = 2 + (len([s for s in range(1, cfg.steps) if s % cfg.eval_every == 0]) if cfg.eval_every else 0)
    ev = n_eval * _sampling_s(cfg.eval_prompts * cfg.eval_group, cfg.eval_horizon or cfg.horizon, cfg.batch_size,
                              rates)
    ckpts = len({s for s in range(1, cfg.steps + 1) if s % cfg.checkpoint_every == 0} | {cfg.steps})
    return rates.load_s + cfg.steps * step + ev + ckpts * rates.checkpoint_s
