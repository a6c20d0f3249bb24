"""``rlvr-lab llm xi|ppl|weights|kernel|composition|train|campaign``: real-model measurements and training, written as JSON.

Every option is generated from the entry point's typed config (``llm_backend.config``,
``llm_backend.trainer.TrainConfig``) by ``rlvr_lab.options``; nothing is declared twice here. The
config is validated completely (estimator options through the registry, output paths for
writability, input files for existence) before torch or the model is loaded; bad input raises
``ValueError`` naming the parameter (printed in one line by ``rlvr_lab.cli``, exit code 2). Every
result file records the exact command, model, dtype, task, seed, hardware and time.

Examples::

    rlvr-lab llm xi --model smollm2-135m --dtype bfloat16 --task arithmetic --prompts 48 --group 6 \\
        --horizon 80 --batch-size 256 --out results/llm/xi_arithmetic.json          # add --resume after Ctrl-C
    rlvr-lab llm ppl --from-xi results/llm/xi_arithmetic.json --out results/llm/ppl_arithmetic.json
    rlvr-lab llm weights --task countdown --prompts 16 --group 8 --horizon 96 --out results/llm/weights.json
    rlvr-lab llm kernel --steps 6 --reuse 3 --checkpoints 3,6 --out results/llm/kernel.json  # checkpoints in runs/
    rlvr-lab llm train --estimator linear_r --task countdown --steps 20 --out-dir runs/lin --resume
    rlvr-lab llm train --config run.toml --steps 30        # TOML keys are TrainConfig's field names
    rlvr-lab llm campaign --profile gpu --budget-s 450 --out .device/campaign   # on a lent GPU (rlvr_lab.campaign)
    rlvr-lab llm pack-model --out .device/smollm2; rlvr-lab llm unpack-model --parts .device/smollm2 --to .device/model
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from llm_backend.config import CompositionConfig, PplConfig, WeightsConfig, XiConfig
from llm_backend.config import TrainConfig
from llm_backend.measure_kernel import KernelConfig
from rlvr_lab.options import add_options, build, from_mapping, read_toml

__all__ = ["add_parser", "run", "config_from_args", "LLM_EXTRA_HINT"]

LLM_EXTRA_HINT = 'the real-model commands need the `llm` extra: pip install "rlvr-lab[llm]"'
_MEASUREMENTS = {"xi": XiConfig, "ppl": PplConfig, "weights": WeightsConfig, "kernel": KernelConfig,
                "composition": CompositionConfig}
_HELP = {"xi": "paper A: E[T], xi = H/E[T], q(H), regimes (censored MLE)",
         "ppl": "paper D: prompt perplexity vs pass rate (Spearman, deciles)",
         "weights": "paper B: start distribution of rho_hat, predicted time to target",
         "kernel": "paper C: value MSE of GRPO-LOO, global mean and KAE on a short training run",
         "composition": "paper E: P(final correct | step s correct / not), ratio r per step (multistep)"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``llm`` and its subcommands on the app's ``subparsers``."""
    llm = subparsers.add_parser("llm", help="real-model measurements (papers A, B, C, D) and training")
    sub = llm.add_subparsers(dest="llm_command", required=True)
    for name, cls in _MEASUREMENTS.items():
        add_options(sub.add_parser(name, help=_HELP[name], description=cls.__doc__), cls)
    t = sub.add_parser("train", help="policy-gradient training with a registry estimator",
                       description=TrainConfig.__doc__.splitlines()[0])
    t.add_argument("--config", default=None, metavar="FILE.toml",
                   help="TOML file of TrainConfig fields; command-line options override it")
    add_options(t, TrainConfig)
    t.add_argument("--result", default=None, help="also copy the summary to this JSON path")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out-dir")
    from rlvr_lab.campaign import CampaignConfig
    from rlvr_lab.transfer import PackConfig, UnpackConfig

    for name, cls, text in (("campaign", CampaignConfig, "papers A, B, E at larger scale in one folder (a lent GPU; "
                                                        "resumable, budgeted)"),
                            ("pack-model", PackConfig, "split the model file into parts a device call can carry"),
                            ("unpack-model", UnpackConfig, "reassemble and verify the parts on the device")):
        add_options(sub.add_parser(name, help=text, description=cls.__doc__), cls)
    return llm


def _command_line() -> str:
    return "rlvr-lab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else "rlvr-lab llm"


def config_from_args(args):
    """The validated config of a parsed ``llm`` subcommand (no torch, no model)."""
    if args.llm_command == "train":
        base = None
        if args.config is not None:
            base = from_mapping(TrainConfig, read_toml(args.config), f"config {args.config!r}")
        cfg = build(TrainConfig, args, base)
        if args.config is None and not hasattr(args, "out_dir"):
            raise ValueError("out_dir is required: pass --out-dir DIR (or out_dir in --config)")
        cfg.command = _command_line()
        cfg.validate()
        if args.result is not None:
            from llm_backend.config import check_output_file

            check_output_file("result", args.result)
        return cfg
    return build(_MEASUREMENTS[args.llm_command], args).validate()


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _require_llm_extra() -> None:
    import importlib.util

    missing = [m for m in ("torch", "transformers", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"{LLM_EXTRA_HINT} (missing: {', '.join(missing)})")


def _run_tool(args) -> int:
    """``llm campaign`` / ``pack-model`` / ``unpack-model`` (``rlvr_lab.campaign``, ``rlvr_lab.transfer``)."""
    if args.llm_command == "pack-model":
        from rlvr_lab.transfer import PackConfig, pack

        cfg = build(PackConfig, args)
        man = pack(cfg.source_path(), cfg.out, part_mib=cfg.part_mib, wheels=cfg.wheels)
        for p in man["parts"]:
            print(f"{cfg.out}/{p['folder']}: {p['file']} ({p['size'] / 2**20:.1f} MiB)"
                  + "".join(f" + {w['file']}" for w in man["wheels"] if w["folder"] == p["folder"]))
        print(f"{man['name']}: {man['size']} bytes, sha256 {man['sha256']}")
        return 0
    if args.llm_command == "unpack-model":
        from llm_backend.models import GGUF_ENV
        from rlvr_lab.transfer import UnpackConfig, unpack

        cfg = build(UnpackConfig, args)
        path = unpack(cfg.parts, cfg.to).resolve()
        print(f"verified {path}")
        if path.suffix == ".gguf":
            print(f"export {GGUF_ENV}={shlex.quote(str(path))}")
        return 0
    import signal

    from rlvr_lab.campaign import CampaignConfig, format_plan, run_campaign

    started = time.monotonic()
    cfg = build(CampaignConfig, args).validate()
    if cfg.plan:
        print(format_plan(cfg))
        return 0
    _require_llm_extra()

    def _term(signum, frame):  # `timeout` and a machine going back send SIGTERM: treat it as Ctrl-C
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _term)
    try:
        man = run_campaign(cfg, started=started, progress=True)
    except KeyboardInterrupt:
        print(f"interrupted; finished results kept in {cfg.out}/results, the running run's checkpoint in its "
              "runs/ folder (run the same command again to continue)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
    done = sum(r["status"] == "done" for r in man["runs"])
    inv = man["invocations"][-1]
    print(f"campaign {cfg.profile} on {man['device']['name']}: {done}/{len(man['runs'])} runs done "
          f"({len(inv['ran'])} in this call, stopped: {inv['stopped']}); manifest {cfg.out}/campaign.json")
    return 0


def run(args) -> int:
    """Execute a parsed ``llm`` subcommand; returns the exit code (0 ok, 130 interrupted)."""
    if args.llm_command in ("campaign", "pack-model", "unpack-model"):
        return _run_tool(args)
    cfg = config_from_args(args)  # every bad input fails here, before the model is loaded
    _require_llm_extra()
    t0 = time.time()
    if args.llm_command == "train":
        from llm_backend.trainer import train

        try:
            summary = train(cfg, resume=args.resume, progress=True)
        except KeyboardInterrupt:
            print(f"interrupted; state kept in {cfg.out_dir} (continue with --resume)", file=sys.stderr)
            return 130
        if args.result is not None:
            from llm_backend.results import write_result

            write_result(args.result, {"kind": "train", **summary})
        print(f"trained {summary['steps_done']} steps; rewards by step: "
              + " ".join(f"{r:.3f}" for r in summary["reward_by_step"]))
        if summary.get("eval"):
            print("held-out reward by step: " + " ".join(f"{k}: {v:.3f}" for k, v in summary["eval_reward_by_step"].items()))
        return 0
    from llm_backend import experiments, measure_kernel
    from llm_backend.results import write_result

    run_fn = {"xi": experiments.run_xi, "ppl": experiments.run_ppl, "weights": experiments.run_weights,
              "kernel": measure_kernel.run_kernel, "composition": experiments.run_composition}
    try:
        res = run_fn[args.llm_command](cfg, command=_command_line(), started=t0)
    except KeyboardInterrupt:
        print(f"interrupted; partial results kept in {cfg.partial_path()} (continue with --resume)",
              file=sys.stderr)
        return 130
    s = res["summary"]
    if args.llm_command == "xi":
        print(f"xi: {s['num_prompts']} prompts x {s['group']} rollouts, H={s['horizon']}: pooled E[T] = "
              f"{s['pooled_mean_t']:.1f} tokens, xi = {s['pooled_xi']:.2f}; regimes {s['regime_counts']}; "
              f"xi in [1.5, 2] at H in [{s['horizon_for_xi_1p5_to_2'][0]:.0f}, {s['horizon_for_xi_1p5_to_2'][1]:.0f}]")
    elif args.llm_command == "ppl":
        print(f"ppl: Spearman(PPL, pass rate) = {s['spearman']:.3f} [{s['spearman_ci95'][0]:.3f}, "
              f"{s['spearman_ci95'][1]:.3f}], p = {s['p_value']:.3g}, n = {s['n_prompts']} prompts")
    elif args.llm_command == "kernel":
        mse = s["mse"]
        print(f"kernel: {s['n_units']} (step, prompt) units; value MSE " + ", ".join(f"{k} {v:.4f}" for k, v in mse.items())
              + "".join(f"; {k}: {v['mean']:+.4f} [{v['ci95'][0]:+.4f}, {v['ci95'][1]:+.4f}]"
                        for k, v in s["paired"].items() if k.startswith(s["primary"])))
    elif args.llm_command == "composition":
        print(f"composition: {s['num_prompts']} prompts x {s['group']}, final success {s['final_success']:.3f}; "
              + "; ".join(f"step {d['step']}: q+ {_fmt(d['q_plus'])}, q- {_fmt(d['q_minus'])}, r {_fmt(d['ratio'])}"
                          for d in s["steps"]))
    else:
        print(f"weights: {s['num_prompts']} prompts x {s['group']}: mean rho_hat = {s['mean_rho_hat']:.3f}, "
              f"all-fail fraction = {s['all_fail_fraction']:.2f}; median time to rho={s['target']}: "
              + ", ".join(f"{k} {v['median_time_to_target']:.2f}" for k, v in s["predicted"].items()))
    write_result(cfg.out, res)
    (measure_kernel.finish if args.llm_command == "kernel" else experiments.finish)(cfg)
    print(f"wrote {cfg.out}")
    return 0
