"""Held-out evaluation of a training run: the problems, the rollouts at step 0 / every N steps / the
end, and the reuse of a step-0 evaluation by another run of the same start (``llm_backend.trainer``).

``eval_prompts`` problems of the task that are not in the training pool (distinct prompts, drawn
with their own seed), ``eval_group`` rollouts each at a fixed ``eval_horizon``. Every evaluation of
a run uses the SAME sampling seed, i.e. the same uniforms per row (common random numbers): the
inverse-CDF sampler then gives identical tokens wherever the policy has not moved, so differences
between evaluations of one run (and between runs with the same seed) are paired and much less
noisy than independent samples [R]. A record holds the (N, G) rewards; for a task with
intermediate step checks (``multistep``) also ``checks`` (N, G, S): which intermediate results each
held-out rollout completed (paper E's step accuracies before and after training).

Reuse. The step-0 evaluation depends only on the start weights, the held-out problems and the
uniforms, so runs that differ only in what they train (estimator, horizon, lr, ...) share it. Every
step-0 record carries a :func:`start_fingerprint` (sha256 of the sampler's weights, of the
llm_backend/ and theory/ sources, and the torch / transformers versions); ``eval_start_from``
copies another run's step-0 record only when every setting it depends on
(``config.EVAL_START_FIELDS``) and that fingerprint match (:func:`check_eval_source`,
:func:`reused_start`), and refuses otherwise: a cache never outranks the code.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from theory.checks import check_int
from llm_backend.config import EVAL_START_FIELDS
from llm_backend.rollouts import group_rollouts

__all__ = ["derive_seed", "eval_problems", "evaluate", "eval_due", "start_fingerprint", "check_eval_source",
           "reused_start", "read_records"]


def derive_seed(*keys) -> int:
    """A 31-bit seed from ``keys`` (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(repr(keys).encode()).digest()[:4], "little") >> 1


def read_records(path: Path) -> list[dict]:
    """The JSON lines of ``path`` (a run's log.jsonl / eval.jsonl); a line torn by a kill (only ever
    the last) is dropped."""
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return out


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


def evaluate(cfg, lm, task, problems, step: int) -> dict:
    """Rewards of ``eval_group`` rollouts per held-out problem at ``eval_horizon`` (fixed seed)."""
    t0 = time.perf_counter()
    lm.model.eval()
    horizon = cfg.eval_horizon or cfg.horizon
    gr = group_rollouts(lm, task, problems, group=cfg.eval_group, horizon=horizon, temperature=cfg.temperature,
                        top_p=cfg.top_p, seed=derive_seed(cfg.seed, "eval"), batch_size=cfg.batch_size)
    r = gr.rewards()  # (N, G)
    out = {"step": step, "horizon": horizon, "reward_mean": float(r.mean()), "rewards": r,
           "tokens": int(gr.rollouts.mask.sum())}
    if hasattr(task, "step_checks"):  # paper E: which intermediate results each rollout completed, (N, G, S)
        ro, g = gr.rollouts, cfg.eval_group
        out["checks"] = [[task.step_checks(p, lm.tokenizer.decode(ro.response_ids(i * g + j)), bool(ro.ended[i * g + j]))
                          for j in range(g)] for i, p in enumerate(problems)]
    if step == 0:  # what the evaluation depends on beyond the config, so another run may reuse it
        out["fingerprint"] = start_fingerprint(lm)
    return {**out, "seconds": round(time.perf_counter() - t0, 2)}


def start_fingerprint(lm) -> dict:
    """What a step-0 evaluation depends on beyond the config: the sampler's weights (sha256 of every
    tensor's bytes), the source of llm_backend/ and theory/, and the torch / transformers versions."""
    import transformers

    weights = hashlib.sha256()
    for name, t in sorted(lm.model.state_dict().items()):
        weights.update(name.encode())
        weights.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    code = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted([*root.glob("*.py"), *(root.parent / "theory").glob("*.py")]):
        code.update(path.name.encode() + b"\0" + path.read_bytes())
    return {"weights": weights.hexdigest(), "code": code.hexdigest(), "torch": torch.__version__,
            "transformers": transformers.__version__}


def check_eval_source(cfg) -> Path:
    """``eval_start_from``'s run must share every setting the step-0 evaluation depends on."""
    src = Path(cfg.eval_start_from)
    try:
        other = json.loads((src / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"eval_start_from: {src} has no readable config.json ({err})") from None
    mine = asdict(cfg)
    eff = lambda c: c.get("eval_horizon") or c.get("horizon")  # noqa: E731
    diff = sorted(k for k in EVAL_START_FIELDS if k != "eval_horizon" and other.get(k) != mine[k])
    diff += ["eval_horizon"] if eff(other) != eff(mine) else []
    if diff:
        raise ValueError(f"eval_start_from: {src} evaluated with other settings; these differ: {diff}")
    return src


def reused_start(cfg, slm) -> dict:
    """The step-0 evaluation of ``eval_start_from``'s run, after checking its fingerprint."""
    src = Path(cfg.eval_start_from)
    rec = next((r for r in read_records(src / "eval.jsonl") if r["step"] == 0), None)
    if rec is None or "fingerprint" not in rec:
        raise ValueError(f"eval_start_from: {src} has no step-0 evaluation with a fingerprint (written by this "
                         "version of the trainer)")
    mine = start_fingerprint(slm)
    if rec["fingerprint"] != mine:
        diff = sorted(k for k in mine if rec["fingerprint"].get(k) != mine[k])
        raise ValueError(f"eval_start_from: {src}'s step-0 evaluation was made with other {diff}; evaluate afresh")
    return {**rec, "reused_from": str(src)}


def eval_due(cfg, step: int) -> bool:
    """Evaluate at step 0, every ``eval_every`` steps and at the last step (when eval_prompts > 0)."""
    return cfg.eval_prompts > 0 and (step == 0 or step == cfg.steps or (cfg.eval_every > 0 and step % cfg.eval_every == 0))
