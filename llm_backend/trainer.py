"""A policy-gradient trainer on real rollouts, with any estimator of the registry.

One step (``rlvr-lab llm train``):

1. draw ``prompts`` problems from a fixed, seeded pool of ``pool`` problems (prompt id = index in
   the pool, so stateful estimators such as ``kae`` see repeated prompts);
2. sample ``group`` rollouts per prompt to horizon H (``llm_backend.rollouts``), rewards 1{T <= H};
3. advantages and keep-mask from ``theory.estimators.estimate(name, rewards, **options)``; an
   estimator that declares it ``needs`` ``prompt_ids``, ``step`` or ``state`` gets them from the
   trainer (the state, from ``new_state``, is part of the checkpoint). Nothing is special-cased by name: a new
   registry entry trains without a trainer change;
4. loss = ``llm_backend.policy_loss`` over the kept responses (EOS included), ``ppo_epochs``
   passes (the first is exactly REINFORCE at ratio 1; later ones clip), optional k3 KL to the
   frozen start model, aggregation token-mean / seq-mean-token-mean / constant; gradient clipping;
   AdamW. A step whose advantages are all zero and that has no KL term skips the backward pass
   (its gradient is exactly zero) but still takes the optimizer step.

Held-out evaluation (``eval_prompts > 0``): ``eval_prompts`` problems of the task that are not in
the training pool (distinct prompts, drawn with their own seed), ``eval_group`` rollouts each at a
fixed ``eval_horizon``, before the first step (step 0), every ``eval_every`` steps (0: never in
between) and after the last step. Every evaluation uses the SAME sampling seed, i.e. the same
uniforms per row (common random numbers): the inverse-CDF sampler then gives identical tokens
wherever the policy has not moved, so differences between evaluations of one run (and between
runs with the same seed) are paired and much less noisy than independent samples [R]. Records
go to ``eval.jsonl`` and into the summary (``eval``: per-evaluation (N, G) rewards).

Determinism: problems and sampling seeds are functions of (seed, step), so a resumed run repeats
the uninterrupted one exactly (tested). Every step appends a line to ``log.jsonl`` and rewrites
``summary.json``; a checkpoint (safetensors weights + optimizer + estimator state) is written every
``checkpoint_every`` steps and on Ctrl-C, atomically.

Departures from the papers' setups [R]: rewards are binary 1{T <= H} (paper B); dapo's keep-mask
drops all-equal groups but the batch is not refilled by extra sampling; the response is
sampled at ``temperature`` and the score function is taken of the same tempered policy; prompts are
drawn with replacement across steps, without replacement within one.

Example::

    >>> import tempfile
    >>> cfg = TrainConfig(model="tiny", task="arithmetic", task_options={"digits": 1}, steps=1,
    ...                   prompts=2, group=2, horizon=4, out_dir=tempfile.mkdtemp())
    >>> train(cfg)["steps_done"]
    1
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from theory.checks import check_choice, check_int, check_real
from theory.estimators import ESTIMATORS, estimate, new_state
from llm_backend.checkpoints import load_checkpoint, save_checkpoint
from llm_backend.models import load_model
from llm_backend.policy_loss import AGGREGATIONS, aggregate, pack, token_logprobs, token_losses
from llm_backend.results import run_header, write_result
from llm_backend.rollouts import group_rollouts
from llm_backend.tasks import make_task

__all__ = ["TrainConfig", "train", "derive_seed", "eval_problems"]


@dataclass
class TrainConfig:
    """Everything a run depends on (written into the run's directory)."""

    model: str = "smollm2-135m"
    task: str = "countdown"
    task_options: dict = field(default_factory=dict)
    estimator: str = "grpo"
    estimator_options: dict = field(default_factory=dict)
    steps: int = 10
    prompts: int = 4
    group: int = 8
    pool: int = 64
    horizon: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    lr: float = 1e-5
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    loss_agg: str = "token-mean"
    ppo_epochs: int = 1
    clip_low: float | None = None
    clip_high: float | None = None
    kl_coef: float = 0.0
    seed: int = 0
    batch_size: int = 64
    checkpoint_every: int = 1
    eval_prompts: int = 0
    eval_group: int = 4
    eval_horizon: int | None = None
    eval_every: int = 0
    out_dir: str = "runs/llm-train"
    command: str = ""
    device: str | None = None

    def validate(self) -> "TrainConfig":
        check_choice("estimator", self.estimator, ESTIMATORS)
        for name, low in (("steps", 1), ("prompts", 1), ("group", 1), ("horizon", 1), ("ppo_epochs", 1),
                          ("batch_size", 1), ("checkpoint_every", 1), ("seed", 0), ("eval_prompts", 0),
                          ("eval_group", 1), ("eval_every", 0)):
            check_int(name, getattr(self, name), low=low)
        if self.eval_horizon is not None:
            check_int("eval_horizon", self.eval_horizon, low=1)
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
        return self


def derive_seed(*keys) -> int:
    """A 31-bit seed from ``keys`` (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(repr(keys).encode()).digest()[:4], "little") >> 1


# ---------------------------------------------------------------------------------------------
# One step
# ---------------------------------------------------------------------------------------------
def _estimator_extras(name: str, ids, step: int, state: dict, options=None) -> dict:
    """What a stateful estimator declares it ``needs`` (prompt ids, step, its state), from the trainer."""
    needs = ESTIMATORS[name].needs
    extra = {}
    if "prompt_ids" in needs:
        extra["prompt_ids"] = np.asarray(ids)
    if "step" in needs:
        extra["step"] = step
    if "state" in needs:
        if "state" not in state:
            state["state"] = new_state(name, **(options or {}))  # the registry's own state type
        extra["state"] = state["state"]
    return extra


def _step(cfg, lm, ref, opt, task, pool, step: int, est_state: dict) -> dict:
    t0 = time.perf_counter()
    rng = np.random.default_rng(derive_seed(cfg.seed, "prompts", step))
    ids = np.sort(rng.choice(len(pool), size=cfg.prompts, replace=False))
    problems = [pool[i] for i in ids]
    lm.model.eval()
    gr = group_rollouts(lm, task, problems, group=cfg.group, horizon=cfg.horizon, temperature=cfg.temperature,
                        top_p=cfg.top_p, seed=derive_seed(cfg.seed, "sample", step), batch_size=cfg.batch_size)
    rewards = gr.rewards()  # (P, G)
    extra = _estimator_extras(cfg.estimator, ids, step, est_state, cfg.estimator_options)
    est = estimate(cfg.estimator, rewards, **cfg.estimator_options, **extra)
    adv = np.where(est.keep[:, None], est.advantages, 0.0)  # (P, G)
    ro = gr.rollouts
    rows = [i * cfg.group + j for i in range(cfg.prompts) for j in range(cfg.group) if est.keep[i]]
    flat_adv = adv.reshape(-1)
    info = {"loss": 0.0, "grad_norm": 0.0, "kl": 0.0, "backward": False}
    need = bool(rows) and (np.any(flat_adv[rows] != 0.0) or cfg.kl_coef > 0)
    lm.model.train()
    opt.zero_grad(set_to_none=False)
    if need:
        prompts = [gr.prompt_ids[r // cfg.group] for r in rows]
        responses = [ro.tokens[r, : int(ro.lengths[r])].tolist() or [lm.eos_id] for r in rows]
        x, attn, rmask = pack(prompts, responses, lm.pad_id, lm.device)
        a = torch.tensor(flat_adv[rows], dtype=torch.float32, device=lm.device)
        ref_lp = None
        if ref is not None:
            with torch.no_grad():
                ref_lp = token_logprobs(ref, x, attn, cfg.temperature)
        old_lp = None
        for _ in range(cfg.ppo_epochs):
            lp = token_logprobs(lm.model, x, attn, cfg.temperature)
            if old_lp is None:
                old_lp = lp.detach()
            tl, kl = token_losses(lp, old_lp, a, clip_low=cfg.clip_low, clip_high=cfg.clip_high, ref_logp=ref_lp,
                                  kl_coef=cfg.kl_coef)
            loss = aggregate(tl, rmask, cfg.loss_agg, horizon=cfg.horizon)
            opt.zero_grad(set_to_none=False)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(lm.model.parameters(), cfg.max_grad_norm)
            opt.step()
        info = {"loss": loss.item(), "grad_norm": float(gn), "backward": True,
                "kl": aggregate(kl.detach(), rmask, "token-mean").item() if kl is not None else 0.0}
    else:
        opt.step()  # zero gradient: AdamW still applies momentum and weight decay, as in a real step
    lm.model.eval()
    return {"step": step, "prompt_ids": ids, "reward_mean": float(rewards.mean()),
            "rho_hat": rewards.mean(1), "kept_groups": int(est.keep.sum()),
            "nonzero_adv_fraction": float(np.mean(adv != 0.0)), "all_fail_groups": int(np.sum(rewards.sum(1) == 0)),
            "mean_entropy": float(gr.mean_entropy().mean()), "mean_length": float(ro.lengths.mean()),
            "tokens": int(ro.mask.sum()), "seconds": round(time.perf_counter() - t0, 2), **info}


# ---------------------------------------------------------------------------------------------
# Held-out evaluation
# ---------------------------------------------------------------------------------------------
def eval_problems(task, pool, n: int, seed: int) -> list:
    """``n`` distinct problems of ``task`` whose prompts are not in ``pool`` (seeded draws).

    Raises ``ValueError`` when the task cannot supply ``n`` such problems (e.g. 1-digit sums have
    64 distinct problems; a large pool leaves few held out).
    """
    n = check_int("eval_prompts", n, low=1)
    seen = {p.prompt for p in pool}
    rng_seed, out = seed, []
    for _ in range(50):
        for p in task.problems(max(4 * n, 64), seed=rng_seed):
            if p.prompt not in seen:
                seen.add(p.prompt)
                out.append(p)
                if len(out) == n:
                    return out
        rng_seed = derive_seed(rng_seed, "more")
    raise ValueError(f"eval_prompts must be at most the number of distinct problems outside the training pool; "
                     f"found {len(out)} < {n} (use a smaller pool or eval_prompts)")


def _evaluate(cfg, lm, task, problems, step: int) -> dict:
    """Rewards of ``eval_group`` rollouts per held-out problem at ``eval_horizon`` (fixed seed)."""
    t0 = time.perf_counter()
    lm.model.eval()
    horizon = cfg.eval_horizon or cfg.horizon
    gr = group_rollouts(lm, task, problems, group=cfg.eval_group, horizon=horizon, temperature=cfg.temperature,
                        top_p=cfg.top_p, seed=derive_seed(cfg.seed, "eval"), batch_size=cfg.batch_size)
    r = gr.rewards()  # (N, G)
    return {"step": step, "horizon": horizon, "reward_mean": float(r.mean()), "rewards": r,
            "tokens": int(gr.rollouts.mask.sum()), "seconds": round(time.perf_counter() - t0, 2)}


def _eval_due(cfg, step: int) -> bool:
    return cfg.eval_prompts > 0 and (step == 0 or step == cfg.steps or (cfg.eval_every > 0 and step % cfg.eval_every == 0))


def _append(path: Path, rec: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(_plain(rec)) + "\n")


def _truncate(path: Path, done: int) -> None:
    lines = path.read_text().splitlines() if path.exists() else []
    path.write_text("".join(l + "\n" for l in lines if json.loads(l)["step"] <= done))


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = False) -> dict:
    """Run (or resume) training; returns the summary written to ``out_dir/summary.json``."""
    cfg.validate()
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    torch.manual_seed(derive_seed(cfg.seed, "torch"))
    lm = load_model(cfg.model, device=cfg.device, seed=cfg.seed)
    ref = None
    if cfg.kl_coef > 0:
        ref = load_model(cfg.model, device=cfg.device, seed=cfg.seed).model
        ref.requires_grad_(False)
    task = make_task(cfg.task, **cfg.task_options)
    pool = task.problems(cfg.pool, seed=derive_seed(cfg.seed, "pool"))
    opt = torch.optim.AdamW(lm.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    log_path, eval_path, est_state, start = out / "log.jsonl", out / "eval.jsonl", {}, 1
    held_out = eval_problems(task, pool, cfg.eval_prompts, derive_seed(cfg.seed, "eval-problems")) \
        if cfg.eval_prompts > 0 else []
    if resume and (out / "checkpoint" / "step.json").exists():
        _check_same_run(cfg, out / "config.json")
        done, est_state = load_checkpoint(out, lm.model, opt)
        start = done + 1
        _truncate(log_path, done)
        _truncate(eval_path, done)
    else:
        for path in (log_path, eval_path):
            if path.exists():
                path.unlink()
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1, sort_keys=True))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=start - 1, desc=f"train {cfg.estimator}", unit="step")
    last_saved = start - 1
    interrupted = False
    try:
        evaluated = {json.loads(l)["step"] for l in eval_path.read_text().splitlines()} if eval_path.exists() else set()
        if _eval_due(cfg, start - 1) and start - 1 not in evaluated:  # step 0, or one a Ctrl-C cut short
            _append(eval_path, _evaluate(cfg, lm, task, held_out, start - 1))
        for step in range(start, cfg.steps + 1):
            rec = _step(cfg, lm, ref, opt, task, pool, step, est_state)
            _append(log_path, rec)
            if _eval_due(cfg, step):
                _append(eval_path, _evaluate(cfg, lm, task, held_out, step))
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save_checkpoint(out, step, lm.model, opt, est_state)
                last_saved = step
            _write_summary(cfg, out, started, interrupted=False)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(reward=f"{rec['reward_mean']:.3f}")
    except KeyboardInterrupt:
        interrupted = True
        done = _done_steps(log_path)
        if done > last_saved:  # keep the completed step's state
            save_checkpoint(out, done, lm.model, opt, est_state)
    finally:
        if bar is not None:
            bar.close()
    summary = _write_summary(cfg, out, started, interrupted=interrupted)
    if interrupted:
        raise KeyboardInterrupt
    return summary


def _check_same_run(cfg: TrainConfig, path: Path) -> None:
    """A resumed run must have the stored configuration (only steps, command, device may change)."""
    if not path.exists():
        return
    stored = json.loads(path.read_text())
    now, defaults = asdict(cfg), asdict(TrainConfig())  # a key missing from an older run has its default
    diff = sorted(k for k in now if k not in ("steps", "command", "device", "out_dir")
                  and stored.get(k, defaults[k]) != now[k])
    if diff:
        raise ValueError(f"resume must use the run's stored configuration; these differ: {diff}")


def _done_steps(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    lines = log_path.read_text().splitlines()
    return json.loads(lines[-1])["step"] if lines else 0


def _plain(rec: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in rec.items()}


def _write_summary(cfg, out: Path, started: float, *, interrupted: bool) -> dict:
    log_path = out / "log.jsonl"
    log = [json.loads(l) for l in log_path.read_text().splitlines()] if log_path.exists() else []
    extra = {}
    if cfg.eval_prompts > 0:
        ev_path = out / "eval.jsonl"
        ev = [json.loads(l) for l in ev_path.read_text().splitlines()] if ev_path.exists() else []
        extra = {"eval": ev, "eval_reward_by_step": {str(e["step"]): e["reward_mean"] for e in ev}}
    summary = run_header(command=cfg.command, seed=cfg.seed, model=cfg.model, started=started,
                         config=asdict(cfg), steps_done=len(log), interrupted=interrupted,
                         reward_by_step=[r["reward_mean"] for r in log], log=log, **extra)
    write_result(out / "summary.json", summary)
    return summary
