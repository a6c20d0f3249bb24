"""``rlvr-lab reproduce``: run every registered figure, write data, PNGs, claims.json and report.md.

Each finished figure's data is written at once (``data/<name>.json``) and reused by the next run with
the same seed and profile, so Ctrl-C loses at most the figure in flight; ``--fresh`` recomputes.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from tqdm import tqdm

from figures.base import RunContext
from figures.registry import select
from figures.runner import run_figure
from rlvr_lab.report import verdict_table, write_claims, write_report

__all__ = ["reproduce"]


def reproduce(*, out: Path, seed: int = 0, full: bool = False, only: str | None = None,
              fresh: bool = False, inputs_dir: Path | None = None, echo=print) -> int:
    """Run the selected figures; returns an exit code: 0 ok, 1 if a figure raised, 130 if interrupted."""
    figs = select(only)
    if not figs:
        raise ValueError(f"--only {only!r} matches no figure; see `rlvr-lab figures`")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results, failures, interrupted = [], [], False
    t0 = time.perf_counter()
    bar = tqdm(figs, desc="figures", unit="fig", dynamic_ncols=True)
    try:
        for fig in bar:
            bar.set_postfix_str(fig.name)
            ctx = RunContext(seed=seed, full=full, cache_dir=out / "cache" / fig.name,
                             progress=lambda key, f=fig.name: bar.set_postfix_str(f"{f}: {key}"[:60]),
                             inputs_dir=inputs_dir)
            try:
                results.append(run_figure(fig, ctx, out, fresh=fresh))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a broken figure must not hide the others' verdicts
                failures.append((fig.name, f"{type(exc).__name__}: {exc}"))
                (out / "errors").mkdir(exist_ok=True)
                (out / "errors" / f"{fig.name}.txt").write_text(traceback.format_exc())
    except KeyboardInterrupt:
        interrupted = True
        echo(f"\ninterrupted: {len(results)} figure(s) finished and saved; rerun the same command to resume")
    finally:
        bar.close()
        settings = {"command": "rlvr-lab reproduce" + (" --full" if full else "") +
                    (f" --only {only}" if only else "") + f" --seed {seed}",
                    "profile": "full" if full else "fast", "seed": seed,
                    "figures": f"{len(results)} of {len(figs)}",
                    "wall time": f"{time.perf_counter() - t0:.1f} s"}
        write_claims(out / "claims.json", results)
        write_report(out / "report.md", results, settings=settings, failures=failures)
    echo(verdict_table(results))
    for name, err in failures:
        echo(f"figure {name} failed: {err} (traceback in {out / 'errors' / (name + '.txt')})")
    echo(f"wrote {out / 'claims.json'}, {out / 'report.md'} and {len(results)} PNG(s) under {out}")
    return 130 if interrupted else (1 if failures else 0)
