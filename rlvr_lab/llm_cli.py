"""``rlvr-lab llm xi|ppl|weights|train``: real-model measurements and training, written as JSON.

The lead's ``rlvr_lab/cli.py`` calls :func:`add_parser` with its subparsers and :func:`run` with
the parsed arguments; bad input raises ``ValueError`` naming the parameter (printed in one line,
exit code 2). Every result file records the exact command, model, task, seed, hardware and time.

Examples::

    rlvr-lab llm xi --model smollm2-135m --task arithmetic --prompts 48 --group 6 --horizon 80 \\
        --out results/llm/xi_arithmetic.json
    rlvr-lab llm ppl --from-xi results/llm/xi_arithmetic.json --out results/llm/ppl_arithmetic.json
    rlvr-lab llm weights --task countdown --prompts 16 --group 8 --horizon 96 --out results/llm/weights_countdown.json
    rlvr-lab llm train --estimator linear_r --task countdown --steps 20 --out-dir runs/lin --resume
    rlvr-lab llm train --task arithmetic --task-opt digits=1 --pool 16 --eval-prompts 16 --eval-horizon 48 \
        --out-dir runs/ev
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def _kv(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    for conv in (int, float):
        try:
            return key, conv(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False, "none": None}.get(value.lower(), value)


def _common(p, *, task_default="arithmetic", horizon=80, prompts=48, group=6):
    p.add_argument("--model", default="smollm2-135m", help="smollm2-135m | tiny | local dir | hub id")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    p.add_argument("--task", default=task_default, help="arithmetic | multistep | countdown")
    p.add_argument("--task-opt", action="append", type=_kv, default=[], metavar="KEY=VALUE",
                   help="task difficulty option, e.g. digits=2 (repeatable)")
    p.add_argument("--prompts", type=int, default=prompts, help="number of problems")
    p.add_argument("--group", type=int, default=group, help="rollouts per problem G")
    p.add_argument("--horizon", type=int, default=horizon, help="generation horizon H (tokens)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=48, help="rows sampled together")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="result JSON path")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``llm`` and its four subcommands on the app's ``subparsers``."""
    llm = subparsers.add_parser("llm", help="real-model measurements (papers A, B, D) and training")
    sub = llm.add_subparsers(dest="llm_command", required=True)
    xi = sub.add_parser("xi", help="paper A: E[T], xi = H/E[T], q(H), regimes (censored MLE)")
    _common(xi)
    xi.add_argument("--xi-horizon", type=int, default=None, help="H at which xi is stated (default --horizon)")
    ppl = sub.add_parser("ppl", help="paper D: prompt perplexity vs pass rate (Spearman, deciles)")
    _common(ppl)
    ppl.add_argument("--from-xi", type=Path, default=None, help="reuse the rollouts of an `llm xi` result")
    w = sub.add_parser("weights", help="paper B: start distribution of rho_hat, predicted time to target")
    _common(w, task_default="countdown", horizon=96, prompts=16, group=8)
    w.add_argument("--target", type=float, default=0.5, help="target success probability rho_1")
    w.add_argument("--estimators", default="grpo,rloo,dapo,linear_r,sqrt_r")
    t = sub.add_parser("train", help="policy-gradient training with a registry estimator")
    t.add_argument("--model", default="smollm2-135m")
    t.add_argument("--device", default=None)
    t.add_argument("--task", default="countdown")
    t.add_argument("--task-opt", action="append", type=_kv, default=[], metavar="KEY=VALUE")
    t.add_argument("--estimator", default="grpo")
    t.add_argument("--estimator-opt", action="append", type=_kv, default=[], metavar="KEY=VALUE")
    for name, typ, default in (("steps", int, 10), ("prompts", int, 4), ("group", int, 8), ("pool", int, 64),
                               ("horizon", int, 64), ("temperature", float, 1.0), ("top-p", float, 1.0),
                               ("lr", float, 1e-5), ("weight-decay", float, 0.0), ("max-grad-norm", float, 1.0),
                               ("ppo-epochs", int, 1), ("clip-low", float, None), ("clip-high", float, None),
                               ("kl-coef", float, 0.0), ("seed", int, 0), ("batch-size", int, 64),
                               ("checkpoint-every", int, 1)):
        t.add_argument(f"--{name}", type=typ, default=default)
    t.add_argument("--eval-prompts", type=int, default=0,
                   help="held-out problems (not in the pool) evaluated at step 0, the end and every --eval-every steps")
    t.add_argument("--eval-group", type=int, default=4, help="rollouts per held-out problem")
    t.add_argument("--eval-horizon", type=int, default=None, help="evaluation horizon (default --horizon)")
    t.add_argument("--eval-every", type=int, default=0, help="also evaluate every N steps (0: start and end only)")
    t.add_argument("--loss-agg", default="token-mean", help="token-mean | seq-mean-token-mean | constant")
    t.add_argument("--out-dir", type=Path, required=True, help="run directory (log, checkpoint, summary)")
    t.add_argument("--result", type=Path, default=None, help="also copy the summary to this JSON path")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out-dir")
    return llm


def _command_line() -> str:
    return "rlvr-lab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else "rlvr-lab llm"


def run(args) -> int:
    """Execute a parsed ``llm`` subcommand; returns the exit code (0 ok, 130 interrupted)."""
    from llm_backend import experiments

    cmd = _command_line()
    t0 = time.time()
    if args.llm_command == "train":
        from llm_backend.trainer import TrainConfig, train

        cfg = TrainConfig(model=args.model, task=args.task, task_options=dict(args.task_opt),
                          estimator=args.estimator, estimator_options=dict(args.estimator_opt), steps=args.steps,
                          prompts=args.prompts, group=args.group, pool=args.pool, horizon=args.horizon,
                          temperature=args.temperature, top_p=args.top_p, lr=args.lr,
                          weight_decay=args.weight_decay, max_grad_norm=args.max_grad_norm,
                          loss_agg=args.loss_agg, ppo_epochs=args.ppo_epochs, clip_low=args.clip_low,
                          clip_high=args.clip_high, kl_coef=args.kl_coef, seed=args.seed,
                          batch_size=args.batch_size, checkpoint_every=args.checkpoint_every,
                          eval_prompts=args.eval_prompts, eval_group=args.eval_group,
                          eval_horizon=args.eval_horizon, eval_every=args.eval_every, out_dir=str(args.out_dir), command=cmd, device=args.device)
        try:
            summary = train(cfg, resume=args.resume, progress=True)
        except KeyboardInterrupt:
            print(f"interrupted; state kept in {args.out_dir} (continue with --resume)", file=sys.stderr)
            return 130
        if args.result is not None:
            from llm_backend.results import write_result

            write_result(args.result, {"kind": "train", **summary})
        print(f"trained {summary['steps_done']} steps; rewards by step: "
              + " ".join(f"{r:.3f}" for r in summary["reward_by_step"]))
        if summary.get("eval"):
            print("held-out reward by step: " + " ".join(f"{k}: {v:.3f}" for k, v in summary["eval_reward_by_step"].items()))
        return 0
    common = dict(model=args.model, device=args.device, task=args.task, task_options=dict(args.task_opt),
                  prompts=args.prompts, group=args.group, horizon=args.horizon, temperature=args.temperature,
                  top_p=args.top_p, batch_size=args.batch_size, seed=args.seed, command=cmd, started=t0)
    if args.llm_command == "xi":
        res = experiments.run_xi(xi_horizon=args.xi_horizon, **common)
        s = res["summary"]
        print(f"xi: {s['num_prompts']} prompts x {s['group']} rollouts, H={s['horizon']}: pooled E[T] = "
              f"{s['pooled_mean_t']:.1f} tokens, xi = {s['pooled_xi']:.2f}; regimes {s['regime_counts']}; "
              f"xi in [1.5, 2] at H in [{s['horizon_for_xi_1p5_to_2'][0]:.0f}, {s['horizon_for_xi_1p5_to_2'][1]:.0f}]")
    elif args.llm_command == "ppl":
        res = experiments.run_ppl(from_xi=args.from_xi, **common)
        s = res["summary"]
        print(f"ppl: Spearman(PPL, pass rate) = {s['spearman']:.3f} [{s['spearman_ci95'][0]:.3f}, "
              f"{s['spearman_ci95'][1]:.3f}], p = {s['p_value']:.3g}, n = {s['n_prompts']} prompts")
    elif args.llm_command == "weights":
        names = tuple(n.strip() for n in args.estimators.split(",") if n.strip())
        res = experiments.run_weights(target=args.target, estimators=names, **common)
        s = res["summary"]
        print(f"weights: {s['num_prompts']} prompts x {s['group']}: mean rho_hat = {s['mean_rho_hat']:.3f}, "
              f"all-fail fraction = {s['all_fail_fraction']:.2f}; median time to rho={s['target']}: "
              + ", ".join(f"{k} {v['median_time_to_target']:.2f}" for k, v in s["predicted"].items()))
    else:  # pragma: no cover - argparse enforces the choice
        raise ValueError(f"llm command must be one of xi, ppl, weights, train; got {args.llm_command!r}")
    from llm_backend.results import write_result

    write_result(args.out, res)
    print(f"wrote {args.out}")
    return 0
