"""Run one figure: build its context, compute (or reuse its saved data), evaluate, draw headless.

Outputs under ``out_dir``: ``data/<name>.json`` (the figure's data with its config, seed, profile,
inputs and cache key), ``<name>.png``; finished units under ``cache/<name>/``. Saved data are
reused only when their key equals the current one; the key (see :func:`figure_key`) covers the
figure's config, the source bytes of theory/, simulate/, figures/ and llm_backend/, the declared
inputs' bytes, the package version, the versions of Python, NumPy, SciPy and Numba, the seed and
the profile.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from figures.base import Figure, RunContext, config_dict  # noqa: E402
from theory.records import dumps, to_jsonable  # noqa: E402

__all__ = ["FigureResult", "run_figure", "ensure_data", "write_json", "context", "compute", "draw", "figure_key",
           "source_hash", "read_inputs", "default_inputs_dir", "package_version", "runtime_versions", "canonical"]

_ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("theory", "simulate", "figures", "llm_backend")


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


def canonical(obj):
    """``obj`` as the runner stores it: plain JSON with sorted keys. Fresh and reused data go
    through the same conversion, so evaluate() sees identical input either way."""
    return json.loads(json.dumps(to_jsonable(obj), sort_keys=True))


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 over the bytes of every ``*.py`` file of theory/, simulate/, figures/, llm_backend/
    (paths included, sorted): editing any of them invalidates every cached figure and unit."""
    h = hashlib.sha256()
    for pkg in SOURCE_PACKAGES:
        for path in sorted((_ROOT / pkg).rglob("*.py")):
            h.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("rlvr-lab")
    except Exception:  # not installed (run from a checkout): the pyproject version
        import re

        text = (_ROOT / "pyproject.toml").read_text() if (_ROOT / "pyproject.toml").exists() else ""
        m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
        return m.group(1) if m else "unknown"


@functools.lru_cache(maxsize=1)
def runtime_versions() -> dict:
    """The versions of what computes the numbers besides this package: Python and the numeric
    libraries. NumPy does not promise the same stream from ``Generator.beta`` and its kin across
    versions, and SciPy's special functions and Numba's compiler change too, so an upgrade must
    recompute, not reuse."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "llvmlite"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def default_inputs_dir() -> Path:
    return _ROOT / "results" / "llm"


def read_inputs(fig: Figure, inputs_dir: Path | None) -> tuple[dict, dict]:
    """Read the figure's declared inputs: ``({pattern: {file: parsed}}, {file: sha256})``."""
    if not fig.inputs:
        return {}, {}
    root = Path(inputs_dir) if inputs_dir is not None else default_inputs_dir()
    if inputs_dir is not None and not root.is_dir():
        raise ValueError(f"--inputs must be an existing directory of result files; got {str(inputs_dir)!r}")
    parsed, digests = {}, {}
    for pattern in fig.inputs:
        files = {}
        for path in sorted(root.glob(pattern)) if root.is_dir() else []:
            raw = path.read_bytes()
            try:
                files[path.name] = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"input file {path} is not valid JSON: {exc}") from None
            digests[path.name] = hashlib.sha256(raw).hexdigest()
        parsed[pattern] = files
    return parsed, dict(sorted(digests.items()))


def figure_key(fig: Figure, *, seed: int, full: bool, inputs: dict) -> str:
    """sha256 of everything a figure's data depend on (see the module docstring)."""
    text = json.dumps({"figure": fig.name, "config": config_dict(fig.config_for(full)), "seed": seed,
                       "profile": "full" if full else "fast", "inputs": inputs, "source": source_hash(),
                       "version": package_version(), "runtime": runtime_versions()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def context(fig: Figure, *, seed: int = 0, full: bool = False, inputs_dir: Path | None = None,
            cache_dir: Path | None = None, executor=None, progress=None) -> RunContext:
    """The RunContext of ``fig``: its declared inputs read and hashed, its cache key set."""
    parsed, digests = read_inputs(fig, inputs_dir)
    ctx = RunContext(seed=seed, full=full, cache_dir=cache_dir, executor=executor, inputs=parsed,
                     inputs_dir=inputs_dir, input_digests=digests,
                     key=figure_key(fig, seed=seed, full=full, inputs=digests))
    if progress is not None:
        ctx.progress = progress
    return ctx


def compute(fig: Figure, ctx: RunContext) -> dict:
    """``fig.compute(ctx, cfg)`` with the profile's config, as canonical JSON."""
    return canonical(fig.compute(ctx, fig.config_for(ctx.full)))


def draw(fig: Figure, data: dict):
    """Create the declared layout's axes, let ``fig.draw`` fill them; returns the matplotlib Figure."""
    lay = fig.layout
    mpl_fig, axes = plt.subplots(lay.nrows, lay.ncols, figsize=lay.figsize, sharex=lay.sharex, sharey=lay.sharey)
    try:
        fig.draw(data, axes)
        if lay.tight:
            mpl_fig.tight_layout()
    except BaseException:
        plt.close(mpl_fig)
        raise
    return mpl_fig


def _data_path(out_dir, fig: Figure) -> Path:
    return Path(out_dir) / "data" / f"{fig.name}.json"


def ensure_data(fig: Figure, ctx: RunContext, out_dir: Path, *, fresh: bool = False) -> tuple[dict, bool]:
    """``fig``'s data and whether they were reused: read from ``data/<name>.json`` when its key is
    the current one, else computed and written there; ``fresh`` recomputes and drops the unit cache."""
    data_path = _data_path(out_dir, fig)
    data, reused = None, False
    if fresh:
        if ctx.cache_dir is not None and Path(ctx.cache_dir).is_dir():
            shutil.rmtree(ctx.cache_dir)
    elif data_path.is_file():
        try:
            stored = json.loads(data_path.read_text())
        except (OSError, ValueError):
            stored = {}
        if isinstance(stored, dict) and stored.get("key") == ctx.key:
            data, reused = canonical(stored["data"]), True
    if data is None:
        data = compute(fig, ctx)
        write_json(data_path, {"figure": fig.name, "seed": ctx.seed, "profile": ctx.profile, "key": ctx.key,
                               "config": config_dict(fig.config_for(ctx.full)),
                               "inputs": dict(ctx.input_digests), "source": source_hash(),
                               "version": package_version(), "runtime": runtime_versions(), "data": data})
    return data, reused


def run_figure(fig: Figure, ctx: RunContext, out_dir: Path, *, fresh: bool = False) -> FigureResult:
    """Compute (or reuse data whose key matches), evaluate and draw ``fig``; ``fresh`` also drops
    its unit cache."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    data, reused = ensure_data(fig, ctx, out_dir, fresh=fresh)
    verdicts = list(fig.evaluate(data))
    declared = [c.id for c in fig.claims]
    got = [v.claim.id for v in verdicts]
    if sorted(got) != sorted(declared):
        raise RuntimeError(f"figure {fig.name} evaluated claims {got}, declared {sorted(declared)}")
    png = out_dir / f"{fig.name}.png"
    mpl_fig = draw(fig, data)
    mpl_fig.savefig(png, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(mpl_fig)
    return FigureResult(fig, verdicts, png, _data_path(out_dir, fig), time.perf_counter() - t0, reused)


def axes_list(axes) -> list:
    """``axes`` from ``plt.subplots`` as a flat list (one Axes or an array)."""
    return list(np.ravel(axes))
