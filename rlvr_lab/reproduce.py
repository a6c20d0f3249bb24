"""``rlvr-lab reproduce``: run every registered figure, write data, PNGs, claims.json and report.md.

Each finished figure's data is written at once (``data/<name>.json``) with its cache key, and
finished units of long sweeps under ``cache/<name>/``; a rerun reuses what the key still matches,
so Ctrl-C loses at most the units in flight. ``fresh=True`` recomputes everything, units included.
Units run on the chosen executor (``serial``, ``local``, ``ray[=ADDRESS]``, see
:mod:`figures.executors`); every output is the same bytes whichever executor ran them.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from tqdm.auto import tqdm

from figures.executors import make_executor
from figures.registry import select
from figures.runner import context, default_inputs_dir, run_figure
from llm_backend.config_checks import check_output_dir
from rlvr_lab.prefetch import Prefetcher
from rlvr_lab.report import verdict_table, write_claims, write_report

__all__ = ["reproduce", "check_inputs_dir", "check_only"]


def check_inputs_dir(inputs) -> Path | None:
    """``inputs`` (optional) must be an existing directory holding at least one ``*.json`` file."""
    if inputs is None:
        return None
    if str(inputs).strip() == "":
        raise ValueError("--inputs must name a directory of result files; got an empty path")
    p = Path(inputs)
    if not p.is_dir():
        raise ValueError(f"--inputs must be an existing directory of result files; {str(p)!r} "
                         f"{'is a file' if p.exists() else 'does not exist'}")
    if not any(p.glob("*.json")):
        raise ValueError(f"--inputs directory {str(p)!r} holds no result files (*.json)")
    return p


def check_only(only):
    if only is not None and only.strip() == "":
        raise ValueError("--only must be a figure name, paper key (A-E) or claim-id glob; got an empty string")
    figs = select(only)
    if not figs:
        raise ValueError(f"--only {only!r} matches no figure; see `rlvr-lab figures`")
    return figs


def _interactive() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def reproduce(*, out: Path, seed: int = 0, full: bool = False, only: str | None = None, fresh: bool = False,
              inputs_dir: Path | None = None, executor: str = "serial", threads: int = 1, echo=print,
              log=None, prefetch: bool = True) -> int:
    """Run the selected figures; returns an exit code: 0 ok, 1 if a figure raised, 130 if interrupted.

    Every argument is checked before any work (ValueError naming the option). ``log`` receives
    one plain line per figure when stderr is not a terminal (default: stderr). With the serial
    executor and ``prefetch``, a helper process computes figures from the end of the list
    (:mod:`rlvr_lab.prefetch`; the same bytes either way).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"--seed must be an integer in [0, 2**63); got {seed!r}")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"--threads must be an integer >= 1; got {threads!r}")
    out = check_output_dir("--out", out)  # a directory, existing or creatable
    inputs_dir = check_inputs_dir(inputs_dir)
    figs = check_only(only)
    pool = make_executor(executor, threads=threads)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    interactive = _interactive()
    results, failures, interrupted = [], [], False
    t0 = time.perf_counter()
    helper = (Prefetcher(figs, out=out, seed=seed, full=full, inputs_dir=inputs_dir, fresh=fresh)
              if prefetch and executor == "serial" and len(figs) > 1 else None)
    bar = tqdm(figs, desc="figures", unit="fig", dynamic_ncols=True, disable=not interactive)
    try:
        for i, fig in enumerate(bar, 1):
            bar.set_postfix_str(fig.name)
            t_fig = time.perf_counter()
            try:
                ctx = context(fig, seed=seed, full=full, inputs_dir=inputs_dir, cache_dir=out / "cache" / fig.name,
                              executor=pool,
                              progress=lambda label, f=fig.name: bar.set_postfix_str(f"{f}: {label}"[:60]))
                by_helper = helper.claim(fig.name) if helper is not None else None  # see rlvr_lab.prefetch
                results.append(run_figure(fig, ctx, out, fresh=fresh and by_helper is None))
                status = (f"{by_helper} by the helper process" if by_helper else
                          "reused" if results[-1].reused else "computed")
                (out / "errors" / f"{fig.name}.txt").unlink(missing_ok=True)  # an earlier failure's traceback
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a broken figure must not hide the others' verdicts
                failures.append((fig.name, f"{type(exc).__name__}: {exc}"))
                (out / "errors").mkdir(exist_ok=True)
                (out / "errors" / f"{fig.name}.txt").write_text(traceback.format_exc())
                status = "FAILED"
            if not interactive:
                log(f"[{i}/{len(figs)}] {fig.name}: {status} in {time.perf_counter() - t_fig:.1f} s")
    except KeyboardInterrupt:
        interrupted = True
        echo(f"\ninterrupted: {len(results)} figure(s) finished and saved; rerun the same command to resume")
    finally:
        bar.close()
        pool.close()
        if helper is not None:
            helper.close()
        settings = {"command": "rlvr-lab reproduce" + (" --full" if full else "") +
                    (f" --only {only}" if only else "") + f" --seed {seed}" +
                    (f" --inputs {inputs_dir}" if inputs_dir else "") +
                    (f" --executor {executor}" if executor != "serial" else ""),
                    "profile": "full" if full else "fast", "seed": seed,
                    "inputs": str(inputs_dir or default_inputs_dir()), "executor": executor,
                    "figures": f"{len(results)} of {len(figs)}",
                    "wall time": f"{time.perf_counter() - t0:.1f} s"}
        write_claims(out / "claims.json", results)
        write_report(out / "report.md", results, settings=settings, failures=failures)
    echo(verdict_table(results))
    for name, err in failures:
        echo(f"figure {name} failed: {err} (traceback in {out / 'errors' / (name + '.txt')})")
    echo(f"wrote {out / 'claims.json'}, {out / 'report.md'} and {len(results)} PNG(s) under {out}")
    return 130 if interrupted else (1 if failures else 0)
