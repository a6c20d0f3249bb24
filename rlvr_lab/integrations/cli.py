"""``rlvr-lab integrations check|export|track``: what the TRL/verl plug-ins see, the tasks as data sets,
and a training run mirrored to a tracker.

``check`` reports, for each framework installed here, what rlvr-lab adds to it: the verl estimators
registered by ``import verl`` through the ``verl.plugins`` entry point (verl itself logs a failing
plug-in only at DEBUG), and whether the installed TRL still has the methods the TRL trainers
override. It exits 1 when an installed framework did not take the plug-in, else 0. ``track`` copies
a run directory's ``log.jsonl``/``eval.jsonl`` to trackio, each step once
(:mod:`rlvr_lab.integrations.tracking`).

Examples::

    rlvr-lab integrations check
    rlvr-lab integrations export --task arithmetic --task-opt digits=1 --n 2000 --format verl --out data/train.parquet
    rlvr-lab integrations track runs/lin --project rlvr --follow
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Register ``integrations`` and its subcommands on the app's ``subparsers``."""
    from rlvr_lab.options import parse_kv as _kv  # the KEY=VALUE parser of every command

    p = subparsers.add_parser("integrations",
                              help="TRL / verl / OpenRLHF: plug-in check, data-set export; trackio mirror of a run")
    sub = p.add_subparsers(dest="integrations_command", required=True)
    sub.add_parser("check", help="list what the verl and TRL plug-ins registered here")
    e = sub.add_parser("export", help="write a procedural task as a TRL / verl / OpenRLHF data set")
    e.add_argument("--task", default="arithmetic", help="arithmetic | multistep | countdown")
    e.add_argument("--task-opt", action="append", type=_kv, default=[], metavar="KEY=VALUE",
                   help="task difficulty option, e.g. digits=1 (repeatable)")
    e.add_argument("--n", type=int, default=1000, help="number of problems")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--format", dest="fmt", required=True, help="trl (jsonl) | verl (parquet) | openrlhf (jsonl)")
    e.add_argument("--split", default="train", help="verl extra_info.split")
    e.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("track", help="mirror a training run's log.jsonl / eval.jsonl to trackio (each step once)")
    t.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the --out-dir of `rlvr-lab llm train`")
    t.add_argument("--project", required=True, help="trackio project")
    t.add_argument("--name", default=None, help="trackio run name (default: the run directory's name)")
    t.add_argument("--follow", action="store_true",
                   help="keep mirroring new steps until the run's summary says it is over (Ctrl-C stops)")
    t.add_argument("--poll", type=float, default=10.0, metavar="SECONDS",
                   help="seconds between checks with --follow (default: %(default)s)")
    return p


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _check_verl() -> bool:
    from rlvr_lab.integrations.verl import registrable, UNSUPPORTED

    points = [ep for ep in md.entry_points(group="verl.plugins") if ep.value.startswith("rlvr_lab")]
    print(f"verl.plugins entry point: {', '.join(f'{ep.name} = {ep.value}' for ep in points) or 'NOT DECLARED'}"
          " (installed rlvr-lab metadata)")
    version = _version("verl")
    if version is None:
        print("verl: not installed; would register: " + " ".join(f"rlvr_{n}" for n in registrable()))
        return True
    # a fresh interpreter, so that only verl's own plug-in loading can have registered anything
    code = ("import json, verl\nfrom verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY as R\n"
            "print(json.dumps(sorted(k for k, f in R.items() if getattr(f, 'rlvr_lab_estimator', None))))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"verl {version}: `import verl` failed: {last}")
        return False
    have = json.loads(res.stdout.strip().splitlines()[-1])
    want = [f"rlvr_{n}" for n in registrable()]
    print(f"verl {version}: registered by `import verl`: {' '.join(have) or 'NONE'}")
    for name, why in UNSUPPORTED.items():
        print(f"  not available in verl: {name} ({why})")
    if have != want:
        try:
            importlib.import_module("rlvr_lab.integrations.verl")
        except Exception as err:  # noqa: BLE001
            print(f"  importing rlvr_lab.integrations.verl fails: {type(err).__name__}: {err}")
        missing = sorted(set(want) - set(have))
        print(f"  MISSING: {' '.join(missing)} (is rlvr-lab installed with pip in this environment, and "
              "VERL_USE_EXTERNAL_PLUGINS not 'none'?)")
        return False
    return True


def _check_trl() -> bool:
    version = _version("trl")
    if version is None:
        print("trl: not installed (pip install 'rlvr-lab[trl]')")
        return True
    try:
        import trl

        from rlvr_lab.integrations.trl import TRLCompatibilityError, check_trl_compatibility
    except Exception as err:  # noqa: BLE001
        print(f"trl {version}: import failed: {type(err).__name__}: {err}")
        return False
    ok = True
    for base in ("GRPOTrainer", "RLOOTrainer"):
        try:
            check_trl_compatibility(getattr(trl, base))
            print(f"trl {version}: rlvr_lab.integrations.trl.{base} ok (overridden methods unchanged)")
        except TRLCompatibilityError as err:
            print(f"trl {version}: {base}: {err}")
            ok = False
    return ok


def run(args) -> int:
    if args.integrations_command == "check":
        ok_verl = _check_verl()
        ok_trl = _check_trl()
        return 0 if ok_verl and ok_trl else 1
    if args.integrations_command == "track":
        return _track(args)
    from rlvr_lab.integrations.export import export

    path = export(args.task, args.n, args.out, fmt=args.fmt, seed=args.seed, split=args.split, **dict(args.task_opt))
    sys.stdout.write(f"wrote {args.n} {args.task} problems ({args.fmt}) to {path}\n")
    return 0


def _track(args) -> int:
    from rlvr_lab.integrations.tracking import SIDECAR, mirror_run

    try:
        res = mirror_run(args.run_dir, project=args.project, name=args.name, follow=args.follow, poll_s=args.poll)
    except KeyboardInterrupt:
        print(f"interrupted; the mirrored steps are recorded in {args.run_dir / SIDECAR} (run again to continue)",
              file=sys.stderr)
        return 130
    n, last = res["logged"], res["last_step"]
    where = f"{res['tracker']} project {res['project']!r}, run {res['name']!r}"
    upto = f"up to step {last['log']}; evaluations up to step {last['eval']}"
    if n["log"] or n["eval"]:
        sys.stdout.write(f"mirrored {n['log']} steps and {n['eval']} evaluations of {args.run_dir} to {where} "
                         f"(now {upto})\n")
    else:
        sys.stdout.write(f"nothing new in {args.run_dir} for {where} (mirrored {upto})\n")
    return 0
