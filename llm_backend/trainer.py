"""A policy-gradient trainer on real rollouts, with any estimator of the registry.

One step (``rlvr-lab llm train``):

1. draw ``prompts`` problems from a fixed, seeded pool of ``pool`` problems (prompt id = index in
   the pool, so stateful estimators such as ``kae`` see repeated prompts); with ``batch_reuse`` =
   J > 1 the draw of a block's first step is reused for its J consecutive steps (paper C's
   schedule), each step sampling fresh rollouts;
2. sample ``group`` rollouts per prompt to horizon H (``llm_backend.rollouts``), rewards 1{T <= H};
3. advantages and keep-mask from ``theory.estimators.estimate(name, rewards, **options)``; an
   estimator that needs prompt ids, the step or a state gets them from the trainer
   (``llm_backend.estimator_state``; the state is part of the checkpoint, as JSON). Nothing is special-cased by name: a new
   registry entry trains without a trainer change;
4. loss = ``llm_backend.policy_loss`` over the kept responses (EOS included), ``ppo_epochs``
   passes (the first is exactly REINFORCE at ratio 1; later ones clip), optional k3 KL to the
   frozen start model, aggregation token-mean / seq-mean-token-mean / constant; gradient clipping;
   AdamW. A step whose advantages are all zero and that has no KL term skips the backward pass
   (its gradient is exactly zero) but still takes the optimizer step.

Held-out evaluation (``eval_prompts > 0``, ``llm_backend.evaluation``): ``eval_group`` rollouts of
``eval_prompts`` problems outside the pool at a fixed ``eval_horizon``, at step 0, every
``eval_every`` steps and after the last, all with the same uniforms (common random numbers); records
go to ``eval.jsonl`` and into the summary (``eval``). ``eval_start_from`` reuses another run's
step-0 evaluation when its settings and fingerprint match.

Determinism: problems and sampling seeds are functions of (seed, step), so a resumed run repeats
the uninterrupted one exactly, from an interruption at any point (tested at every named point of
:data:`POINTS`). Every step appends a line to ``log.jsonl`` (with its time split into sampling /
forward_loss / backward / optimizer) and rewrites ``summary.json``; a checkpoint (safetensors
weights and optimizer, JSON estimator state; ``llm_backend.checkpoints``' atomic protocol) is
written every ``checkpoint_every`` steps, at the end and on Ctrl-C.

dtype: float32 master weights, always. With ``dtype="bfloat16"`` the sampler uses a bf16 copy of
the weights (refreshed after every optimizer step) and the training forward runs under bf16
autocast; the log-probabilities of the two differ slightly, which does not enter the loss (the
first PPO epoch's ratio is exactly 1 by construction, old log-probs being recomputed by the
training forward). Log-probabilities are computed at response positions only
(``policy_loss.response_logprobs``).

Departures from the papers' setups [R]: rewards are binary 1{T <= H} (paper B); dapo's keep-mask
drops all-equal groups but the batch is not refilled by extra sampling; the response is
sampled at ``temperature`` and the score function is taken of the same tempered policy; prompts are
drawn with replacement across steps, without replacement within one. Paper D's prompt selection
(``selection``) and relative-entropy rollout weights (``rollout_weights``): llm_backend.curriculum_train.

Example::

    >>> import tempfile
    >>> cfg = TrainConfig(model="tiny", task="arithmetic", task_options={"digits": 1}, steps=1,
    ...                   prompts=2, group=2, horizon=4, out_dir=tempfile.mkdtemp())
    >>> train(cfg)["steps_done"]
    1
"""

from __future__ import annotations

import json
import time
import copy
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from theory.estimators import estimate
from llm_backend.config import RESUME_MAY_CHANGE, TrainConfig
from llm_backend.evaluation import (check_eval_source, derive_seed, eval_due, eval_problems, evaluate, read_records,
                                   reused_start)
from llm_backend.estimator_state import estimator_extras, new_state, state_from_dict, state_to_dict
from llm_backend.curriculum_train import apply_rollout_weights, select_prompts
from llm_backend.checkpoints import (POINTS as CKPT_POINTS, clean_stale, latest_step,
                                     load_checkpoint, save_checkpoint)
from llm_backend.models import load_model, pick_device, resolve_dtype
from llm_backend.policy_loss import aggregate, pack, response_logprobs, token_losses
from llm_backend.results import atomic_write_text, run_header, write_result
from llm_backend.rollouts import group_rollouts
from llm_backend.tasks import make_task

__all__ = ["TrainConfig", "train"]


# ---------------------------------------------------------------------------------------------
# One step
# ---------------------------------------------------------------------------------------------
class _Timer:
    """Seconds per phase of a step (sampling / forward+loss / backward / optimizer)."""

    def __init__(self, device):
        self.device, self.t, self.out = device, time.perf_counter(), {}

    def lap(self, name: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.out[name] = self.out.get(name, 0.0) + (now - self.t)
        self.t = now


def _autocast(cfg, lm):
    """bf16 autocast for the training forward when the run's dtype is bfloat16 (master weights fp32)."""
    return torch.autocast(device_type=lm.device.type, dtype=torch.bfloat16, enabled=lm.dtype == "bfloat16")


def batch_step(step: int, reuse: int) -> int:
    """The step whose prompt draw step ``step`` uses: the first of its block of ``reuse`` steps
    (paper C's schedule; ``reuse`` = 1 gives ``step`` itself, the draw of every earlier run)."""
    return ((step - 1) // reuse) * reuse + 1


def _step(cfg, lm, slm, ref, opt, task, pool, step: int, est_state, fault, on_batch=None) -> dict:
    timer = _Timer(lm.device)
    lm.model.eval()
    draw = batch_step(step, cfg.batch_reuse)
    ids, sel_log = select_prompts(cfg, slm, pool, draw, derive_seed(cfg.seed, "prompts", draw))  # paper D
    problems = [pool[i] for i in ids]
    gr = group_rollouts(slm, task, problems, group=cfg.group, horizon=cfg.horizon, temperature=cfg.temperature,
                        top_p=cfg.top_p, seed=derive_seed(cfg.seed, "sample", step), batch_size=cfg.batch_size)
    timer.lap("sampling")
    fault("step:sampled")
    rewards = gr.rewards()  # (P, G)
    if on_batch is not None:  # a measurement's look at the batch under the policy that sampled it
        on_batch(step, ids, problems, rewards, slm)
    extra = estimator_extras(cfg.estimator, ids, step, est_state)
    est = estimate(cfg.estimator, rewards, **cfg.estimator_options, **extra)
    fault("step:estimated")
    adv = np.where(est.keep[:, None], est.advantages, 0.0)  # (P, G)
    adv, w_log = apply_rollout_weights(cfg, adv, gr, est.keep)  # paper D; unchanged unless rollout_weights
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
            with torch.no_grad(), _autocast(cfg, lm):
                ref_lp = response_logprobs(ref, x, attn, rmask, cfg.temperature)
        old_lp = None
        for _ in range(cfg.ppo_epochs):
            with _autocast(cfg, lm):
                lp = response_logprobs(lm.model, x, attn, rmask, cfg.temperature)
            if old_lp is None:
                old_lp = lp.detach()
            tl, kl = token_losses(lp, old_lp, a, clip_low=cfg.clip_low, clip_high=cfg.clip_high, ref_logp=ref_lp,
                                  kl_coef=cfg.kl_coef)
            loss = aggregate(tl, rmask, cfg.loss_agg, horizon=cfg.horizon)
            timer.lap("forward_loss")
            opt.zero_grad(set_to_none=False)
            loss.backward()
            timer.lap("backward")
            gn = torch.nn.utils.clip_grad_norm_(lm.model.parameters(), cfg.max_grad_norm)
            opt.step()
            timer.lap("optimizer")
        info = {"loss": loss.item(), "grad_norm": float(gn), "backward": True,
                "kl": aggregate(kl.detach(), rmask, "token-mean").item() if kl is not None else 0.0}
    else:
        opt.step()  # zero gradient: AdamW still applies momentum and weight decay, as in a real step
        timer.lap("optimizer")
    fault("step:optimized")
    _sync_sampler(lm, slm)
    lm.model.eval()
    return {"step": step, "prompt_ids": ids, "reward_mean": float(rewards.mean()),
            "rho_hat": rewards.mean(1), "kept_groups": int(est.keep.sum()),
            "nonzero_adv_fraction": float(np.mean(adv != 0.0)), "all_fail_groups": int(np.sum(rewards.sum(1) == 0)),
            "mean_entropy": float(gr.mean_entropy().mean()), "mean_length": float(ro.lengths.mean()),
            "tokens": int(ro.mask.sum()), "dtype": lm.dtype,
            "seconds": round(sum(timer.out.values()), 2),
            "phase_seconds": {k: round(v, 3) for k, v in timer.out.items()}, **info, **sel_log, **w_log}


def _sampler_model(lm):
    """The model the sampler uses: ``lm`` itself in float32; a bfloat16 copy for a bf16 run (refreshed
    from the float32 master weights after every optimizer step by :func:`_sync_sampler`)."""
    if lm.dtype != "bfloat16":
        return lm
    return replace(lm, model=copy.deepcopy(lm.model).to(torch.bfloat16).eval())


@torch.no_grad()
def _sync_sampler(lm, slm) -> None:
    if slm is lm:
        return
    for ps, p in zip(slm.model.parameters(), lm.model.parameters()):
        ps.copy_(p)


def _append(path: Path, rec: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(_plain(rec)) + "\n")
        f.flush()


def _truncate(path: Path, done: int) -> None:
    """Keep the records of steps <= ``done`` (atomically: a kill here leaves the old or new file)."""
    if path.exists():
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in read_records(path) if r["step"] <= done))


STEP_POINTS = ("step:sampled", "step:estimated", "step:optimized", "step:logged", "step:evaluated",
               "step:summary")
POINTS = STEP_POINTS + CKPT_POINTS  # every named point of :func:`train`'s ``fault`` hook


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = False, fault=None, on_batch=None) -> dict:
    """Run (or resume) training; returns the summary written to ``out_dir/summary.json``.

    Checkpoints follow ``llm_backend.checkpoints``' atomic protocol. On resume the run continues
    from the checkpoint ``LATEST`` names and ``log.jsonl``/``eval.jsonl`` are truncated to its step,
    so the resumed run equals the uninterrupted one wherever the last process stopped. On Ctrl-C a
    checkpoint is written only when the in-memory state is exactly that after the last logged step
    (not in the middle of a step, whose optimizer or estimator state may already have moved).
    ``fault(point)`` (tests) is called at each of :data:`POINTS` and may raise.
    ``on_batch(step, prompt_ids, problems, rewards, sampler)`` (measurements, e.g.
    ``llm_backend.measure_kernel``) is called in every step after sampling, before the update; it
    must not change the sampler's weights (sampling uses its own seeded uniforms, so extra rollouts
    there leave the run unchanged).
    """
    hook = fault or (lambda point: None)
    cfg.validate()
    if cfg.eval_start_from is not None:
        check_eval_source(cfg)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "checkpoint" / "step.json").exists() and not (out / "LATEST").exists():
        raise ValueError(f"out_dir {out} holds a checkpoint of an older format (pickled estimator state), "
                         "which is not loaded for safety; start the run in a new directory")
    started = time.time()
    torch.manual_seed(derive_seed(cfg.seed, "torch"))
    lm = load_model(cfg.model, device=cfg.device, seed=cfg.seed)  # master weights in float32
    lm.dtype = resolve_dtype(cfg.dtype, lm.device)  # sampling weights and training autocast
    ref = None
    if cfg.kl_coef > 0:
        ref = load_model(cfg.model, device=cfg.device, seed=cfg.seed).model
        ref.requires_grad_(False)
    task = make_task(cfg.task, **cfg.task_options)
    pool = task.problems(cfg.pool, seed=derive_seed(cfg.seed, "pool"))
    opt = torch.optim.AdamW(lm.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    log_path, eval_path, start = out / "log.jsonl", out / "eval.jsonl", 1
    est_state = new_state(cfg.estimator, **cfg.estimator_options)
    held_out = eval_problems(task, pool, cfg.eval_prompts, derive_seed(cfg.seed, "eval-problems")) \
        if cfg.eval_prompts > 0 else []
    if resume and latest_step(out) > 0:
        _check_same_run(cfg, out / "config.json")
        done, est_dict = load_checkpoint(out, lm.model, opt)
        est_state = state_from_dict(cfg.estimator, est_dict)
        start = done + 1
    else:
        if (out / "LATEST").exists():
            (out / "LATEST").unlink()
    _truncate(log_path, start - 1)
    _truncate(eval_path, start - 1)
    clean_stale(out)
    atomic_write_text(out / "config.json", json.dumps(asdict(cfg), indent=1, sort_keys=True))
    slm = _sampler_model(lm)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=start - 1, desc=f"train {cfg.estimator}", unit="step")
    last_saved, logged, interrupted, inside_step = start - 1, start - 1, False, False
    try:
        evaluated = {r["step"] for r in read_records(eval_path)}
        if eval_due(cfg, start - 1) and start - 1 not in evaluated:  # step 0, or one a Ctrl-C cut short
            reuse = start == 1 and cfg.eval_start_from is not None
            _append(eval_path, reused_start(cfg, slm) if reuse else evaluate(cfg, slm, task, held_out, start - 1))
        for step in range(start, cfg.steps + 1):
            inside_step = True  # from here until the log line, memory may be ahead of `logged`
            rec = _step(cfg, lm, slm, ref, opt, task, pool, step, est_state, hook, on_batch)
            _append(log_path, rec)
            logged, inside_step = step, False
            hook("step:logged")
            if eval_due(cfg, step):
                _append(eval_path, evaluate(cfg, slm, task, held_out, step))
                hook("step:evaluated")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save_checkpoint(out, step, lm.model, opt, state_to_dict(cfg.estimator, est_state), fault=hook)
                last_saved = step
            _write_summary(cfg, out, started, interrupted=False)
            hook("step:summary")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(reward=f"{rec['reward_mean']:.3f}")
    except KeyboardInterrupt:
        interrupted = True
        # Save only a state that is exactly "after step `logged`": an interruption inside a step
        # (after its optimizer or estimator update, before its log line) is not one.
        if logged > last_saved and not inside_step:
            save_checkpoint(out, logged, lm.model, opt, state_to_dict(cfg.estimator, est_state))
    finally:
        if bar is not None:
            bar.close()
    summary = _write_summary(cfg, out, started, interrupted=interrupted)
    if interrupted:
        raise KeyboardInterrupt
    return summary


def _check_same_run(cfg: TrainConfig, path: Path) -> None:
    """A resumed run must have the stored configuration (only steps, command, device, out_dir and
    checkpoint_every may change)."""
    if not path.exists():
        return
    stored = json.loads(path.read_text())
    now, defaults = asdict(cfg), asdict(TrainConfig())  # a key missing from an older run has its default
    diff = sorted(k for k in now if k not in RESUME_MAY_CHANGE
                  and stored.get(k, defaults[k]) != now[k])
    if diff:
        raise ValueError(f"resume must use the run's stored configuration; these differ: {diff}")


def _plain(rec: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in rec.items()}


def _write_summary(cfg, out: Path, started: float, *, interrupted: bool) -> dict:
    log = read_records(out / "log.jsonl")
    extra = {}
    if cfg.eval_prompts > 0:
        ev = read_records(out / "eval.jsonl")
        extra = {"eval": ev, "eval_reward_by_step": {str(e["step"]): e["reward_mean"] for e in ev}}
    summary = run_header(command=cfg.command, seed=cfg.seed, model=cfg.model, started=started,
                         dtype=resolve_dtype(cfg.dtype, pick_device(cfg.device)), config=asdict(cfg), steps_done=len(log), interrupted=interrupted,
                         reward_by_step=[r["reward_mean"] for r in log], log=log, **extra)
    write_result(out / "summary.json", summary)
    return summary
