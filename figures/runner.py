"""Run one figure: compute (or reuse its saved data), evaluate its claims, draw it headless.

Outputs under ``out_dir``: ``data/<name>.json`` (the figure's data, with seed and profile),
``<name>.png``; finished units of long sweeps under ``cache/``. A figure whose data file matches
the seed and profile is not recomputed, so an interrupted ``reproduce`` resumes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from figures.base import Figure, RunContext  # noqa: E402
from theory.records import dumps, to_jsonable  # noqa: E402

__all__ = ["FigureResult", "run_figure", "write_json"]


@dataclass
class FigureResult:
    figure: Figure
    verdicts: list
    png: Path
    data_path: Path
    seconds: float
    reused: bool


def write_json(path: Path, obj) -> None:
    """Atomic, deterministic JSON (sorted keys, fixed separators)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(obj))
    tmp.replace(path)


def run_figure(fig: Figure, ctx: RunContext, out_dir: Path, *, fresh: bool = False) -> FigureResult:
    out_dir = Path(out_dir)
    data_path = out_dir / "data" / f"{fig.name}.json"
    t0 = time.perf_counter()
    data, reused = None, False
    if not fresh and data_path.exists():
        stored = json.loads(data_path.read_text())
        if stored.get("seed") == ctx.seed and stored.get("profile") == ctx.profile:
            data, reused = stored["data"], True
    if data is None:
        data = json.loads(json.dumps(to_jsonable(fig.compute(ctx))))
        write_json(data_path, {"figure": fig.name, "seed": ctx.seed, "profile": ctx.profile, "data": data})
    verdicts = list(fig.evaluate(data))
    declared = {c.id for c in fig.claims}
    got = [v.claim.id for v in verdicts]
    if sorted(got) != sorted(declared):
        raise RuntimeError(f"figure {fig.name} evaluated claims {got}, declared {sorted(declared)}")
    png = out_dir / f"{fig.name}.png"
    mpl_fig = fig.draw(data)
    mpl_fig.savefig(png, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(mpl_fig)
    return FigureResult(fig, verdicts, png, data_path, time.perf_counter() - t0, reused)
