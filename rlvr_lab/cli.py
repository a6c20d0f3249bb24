"""The ``rlvr-lab`` command: parses arguments, calls the library, prints.

Bad input exits with code 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rlvr_lab import llm_cli
from rlvr_lab.integrations import cli as integrations_cli

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``rlvr-lab: error: ...``) and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be an integer in [0, 2**63); got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"--seed must be an integer in [0, 2**63); got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rlvr-lab", description="Executable theories of RL with verifiable rewards.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("reproduce", help="run every figure and claim; write PNGs, data, claims.json, report.md")
    r.add_argument("--full", action="store_true", help="paper-scale sample sizes (slow)")
    r.add_argument("--only", metavar="PATTERN", help="figure name, paper key (A-E) or claim id glob")
    r.add_argument("--out", default="rlvr-lab-out", help="output directory (default: %(default)s)")
    r.add_argument("--seed", type=_seed, default=0, help="master seed (default: %(default)s)")
    r.add_argument("--fresh", action="store_true",
                   help="recompute everything, cached units included (default: reuse what the cache key matches)")
    r.add_argument("--inputs", default=None, metavar="DIR",
                   help="directory of real-model result files (default: the results shipped in the repo)")
    r.add_argument("--executor", default="serial", metavar="serial|local[=N]|ray[=ADDRESS]",
                   help="where units of work run: in this process, beside one helper process that computes "
                        "figures from the end of the list (default), a local process pool "
                        "(N workers, default the cores), or Ray core tasks (a local Ray, or the cluster at ADDRESS)")
    r.add_argument("--threads", type=_positive_int, default=1,
                   help="Numba threads per worker process of local/ray (default: %(default)s)")

    c = sub.add_parser("claims", help="list every claim with its provenance")
    c.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("figures", help="list the registered figures")

    b = sub.add_parser("bench", help="time fast paths against their references (ratios)")
    b.add_argument("--quick", action="store_true", help="small sizes")
    b.add_argument("--only", metavar="PATTERN", help="case name glob")
    b.add_argument("--repeats", type=_positive_int, default=5, help="timed rounds; medians (default: %(default)s)")
    b.add_argument("--contention", action="store_true",
                   help="time every case again with a second CPU-bound process on the same cores")
    b.add_argument("--hogs", type=_positive_int, default=1, help="CPU-bound processes for --contention (default: 1)")
    b.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write results as JSON")

    llm_cli.add_parser(sub)  # rlvr-lab llm xi|ppl|weights|train (imports torch only when run)
    integrations_cli.add_parser(sub)  # rlvr-lab integrations check|export (TRL / verl / OpenRLHF)
    return p


def _claims(args) -> int:
    from figures.registry import all_claims

    rows = all_claims()
    if args.json:
        print(json.dumps([{"id": c.id, "paper": c.paper, "provenance": c.provenance, "figure": f,
                           "statement": c.statement, "predicted": c.predicted,
                           "measurement": c.measurement} for c, f in rows], indent=1))
        return 0
    for c, f in rows:
        print(f"{c.id:<32} [{c.provenance}]  {f}\n    {c.statement}")
    return 0


def _figures(args) -> int:
    from figures.registry import all_figures

    for fig in all_figures():
        ids = ", ".join(c.id for c in fig.claims)
        print(f"{fig.name:<40} paper {fig.paper:<4} {fig.title}\n    claims: {ids or '-'}")
    return 0


def _bench(args) -> int:
    from llm_backend.config_checks import check_output_file
    from rlvr_lab.bench import run_bench

    # --json is checked before the cases run (a bench takes minutes), then rewritten after every case
    write = None if args.json is None else _json_writer(check_output_file("--json", args.json))
    run_bench(quick=args.quick, pattern=args.only, repeats=args.repeats, contention=args.contention,
              hogs=args.hogs, on_rows=write)
    return 0


def _json_writer(path: Path):
    """rows -> ``path`` (atomic; folder created): an interrupted bench keeps the cases it finished."""
    from llm_backend.results import atomic_write_text

    def write(rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(rows, indent=1))
    return write


def _reproduce(args) -> int:
    from rlvr_lab.reproduce import reproduce

    return reproduce(out=args.out, seed=args.seed, full=args.full, only=args.only, fresh=args.fresh,
                     inputs_dir=args.inputs, executor=args.executor, threads=args.threads)


_COMMANDS = {"reproduce": _reproduce, "claims": _claims, "figures": _figures, "bench": _bench,
             "llm": llm_cli.run, "integrations": integrations_cli.run}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ValueError as exc:  # the library's bad-input errors: one line, exit 2
        sys.stderr.write(f"rlvr-lab {args.command}: error: {exc}\n")
        return 2
    except OSError as exc:  # a file system failing during the run (disk full, a path removed): one line, exit 1
        sys.stderr.write(f"rlvr-lab {args.command}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("rlvr-lab: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
