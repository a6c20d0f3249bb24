"""The figure kit: a figure module is its claims, config, compute, evaluate and draw.

Adding a figure (``figures/<paper>_<slug>.py``, found by :mod:`figures.registry`)::

    @dataclass(frozen=True)
    class Config:                      # every number the data depend on; written into the data file
        n_seeds: int = 8

    def sweep(seeds, xi):              # a unit of work: module-level, keyword arguments, JSON-able result
        return {"gain": simulate(...)}

    def compute(ctx, cfg):             # -> JSON-able dict (NumPy arrays allowed)
        seeds = ctx.seeds("sweep", cfg.n_seeds)
        runs = ctx.units({f"xi={x}": Unit(sweep, seeds=seeds, xi=x) for x in cfg.grid})
        return {"runs": runs}

    def evaluate(data):                # -> one theory.claims.Verdict per declared claim
        return [Verdict(CLAIM, judge(supported=..., not_supported=...), measured, ...)]

    def draw(data, axes):              # axes from FIGURE.layout; draws only, never computes
        axes[0].plot(...)

    FIGURE = Figure(name="budget_slug", title="...", claims=(CLAIM,), config=Config(),
                    full=Config(n_seeds=32), compute=compute, evaluate=evaluate, draw=draw,
                    layout=Layout(1, 2, (11, 4)), inputs=("train_*.json",))

- ``compute(ctx, cfg)`` gets the profile's config (``full`` under ``--full``, else ``config``) and
  derives every seed from the run's master seed (``ctx.seeds(key, n)``, ``ctx.seed_for(*key)``),
  so one seed gives the same bytes with every executor, and on a rerun that reuses cached units.
- Units: ``ctx.units({label: Unit(fn, **kwargs)})`` reads finished units from the cache, submits
  the missing ones to the run's executor (serial, a local process pool, or Ray), writes each
  result as it finishes (an interrupted run resumes) and returns the results in label order.
  ``fn`` must be a module-level function (an executor ships it by name) and its kwargs plain data.
- Real-model inputs: ``inputs`` declares glob patterns of result files (read from ``results/llm``
  or ``--inputs DIR``); the runner reads and hashes them, ``ctx.input(name)`` /
  ``ctx.input_glob(pattern)`` hand them to ``compute``. Reading an undeclared file is an error,
  so the cache key always covers what the figure read.
- The cache key of the figure's data and of every unit covers the config, the source bytes of
  theory/, simulate/, figures/ and llm_backend/, the declared inputs' bytes, the package version,
  the versions of Python, NumPy, SciPy and Numba, the seed and the profile: no edit and no upgrade
  can be answered with stale numbers.
- ``evaluate`` and ``draw`` always receive the data as canonical JSON (sorted keys, lists, no
  NumPy), whether just computed or read back, so a rerun gives the same verdicts byte for byte.
- Process executors (``local``, ``ray``) import the unit's module afresh in each worker: an
  estimator registered at run time (``theory.estimators.register`` in a script) exists only in
  the serial executor's process.
- Verdict rules get a test on synthetic data that reaches each verdict they can return
  (tests/test_figure_verdicts.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable, Mapping

from theory.claims import Claim, PAPERS
from theory.records import to_jsonable

__all__ = ["Figure", "Layout", "RunContext", "Unit", "to_jsonable", "config_dict"]

PAPER_OF_PREFIX = {name: key for key, name in PAPERS.items()} | {"llm": "LLM"}


@dataclass(frozen=True)
class Layout:
    """The axes the runner creates for ``draw``: ``plt.subplots(nrows, ncols, figsize=...)``.

    ``draw(data, axes)`` receives what ``plt.subplots`` returns (one ``Axes`` for 1 x 1, else an
    array); the figure is ``np.ravel(axes)[0].figure``. ``tight`` applies ``tight_layout``.
    """

    nrows: int = 1
    ncols: int = 1
    figsize: tuple = (6.0, 4.0)
    sharex: bool = False
    sharey: bool = False
    tight: bool = True

    def __post_init__(self):
        for name in ("nrows", "ncols"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"Layout.{name} must be an integer >= 1; got {v!r}")


def config_dict(cfg) -> dict:
    """A config dataclass as plain JSON (tuples become lists); ``None`` gives ``{}``."""
    if cfg is None:
        return {}
    if not is_dataclass(cfg):
        raise ValueError(f"a figure's config must be a dataclass instance; got {type(cfg).__name__}")
    return to_jsonable({f.name: getattr(cfg, f.name) for f in fields(cfg)})


@dataclass(frozen=True)
class Figure:
    """A reproduced figure and the claims it evaluates (see the module docstring)."""

    name: str  # module name, e.g. "weighting_effective_weights"
    title: str
    claims: tuple[Claim, ...]
    compute: Callable[["RunContext", object], dict]
    evaluate: Callable[[dict], list]
    draw: Callable[[dict, object], None]
    config: object = None  # a frozen dataclass instance: the fast profile's settings
    full: object = None  # the --full profile's settings (None: same as ``config``)
    layout: Layout = Layout()
    inputs: tuple[str, ...] = ()  # glob patterns of real-model result files this figure reads
    description: str = ""

    def __post_init__(self):
        prefix = self.name.split("_", 1)[0]
        if prefix not in PAPER_OF_PREFIX:
            raise ValueError(f"figure name must start with one of {sorted(PAPER_OF_PREFIX)}_; got {self.name!r}")
        if isinstance(self.inputs, str):
            raise ValueError(f"Figure.inputs must be a tuple of glob patterns; got the string {self.inputs!r}")
        for cfg in (self.config, self.full):
            config_dict(cfg)  # validates: a dataclass or None
        if not isinstance(self.layout, Layout):
            raise ValueError(f"Figure.layout must be a figures.base.Layout; got {self.layout!r}")

    @property
    def paper(self) -> str:
        return PAPER_OF_PREFIX[self.name.split("_", 1)[0]]

    def config_for(self, full: bool):
        """The config of a profile: ``full`` under ``--full`` (falls back to ``config``)."""
        return self.full if (full and self.full is not None) else self.config


class Unit:
    """One unit of work: a module-level function and its keyword arguments.

    ``Unit(simulate_case_study, xi0=1.0, n_iter=30, K=2, seed=123)``. The function must be
    importable by name (no lambdas or closures: an executor in another process ships it by
    ``module:qualname``) and the keyword arguments plain data (numbers, strings, lists, dicts,
    NumPy arrays); they enter the unit's cache key. Its result must be JSON-able.
    """

    __slots__ = ("fn", "kwargs")

    def __init__(self, fn: Callable, /, **kwargs):
        if not callable(fn):
            raise ValueError(f"Unit needs a function; got {fn!r}")
        qual = getattr(fn, "__qualname__", "")
        if "<" in qual or "." in qual or getattr(fn, "__module__", None) in (None, "__main__"):
            raise ValueError(f"Unit needs a module-level function (importable by name); got {qual or fn!r} "
                             f"from module {getattr(fn, '__module__', None)!r}")
        self.fn = fn
        self.kwargs = kwargs

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def spec(self) -> str:
        """Canonical text of the function name and its kwargs (sorted, JSON): part of the key."""
        return json.dumps({"fn": self.name, "kwargs": to_jsonable(self.kwargs)}, sort_keys=True)

    def __repr__(self):
        return f"Unit({self.name}, {', '.join(sorted(self.kwargs))})"


def run_unit(name: str, kwargs: dict) -> str:
    """Import ``module:qualname``, call it with ``kwargs`` and return its result as canonical JSON
    text (what every executor transports back, so results are identical bytes everywhere)."""
    import importlib

    module, qual = name.split(":")
    fn = getattr(importlib.import_module(module), qual)
    return json.dumps(to_jsonable(fn(**kwargs)), sort_keys=True)


@dataclass
class RunContext:
    """What a figure's ``compute`` may use: seeds, the unit cache, the executor, declared inputs.

    Built by :func:`figures.runner.context`; ``RunContext()`` alone is a serial, cache-less
    context for tests. ``key`` is the figure's cache key (mixed into every unit's key).
    """

    seed: int = 0
    full: bool = False
    cache_dir: Path | None = None  # where finished units are kept; None keeps nothing
    executor: object = None  # figures.executors.Executor; None = serial
    progress: Callable[[str], None] = field(default=lambda msg: None)
    inputs: Mapping[str, Mapping[str, dict]] = field(default_factory=dict)  # pattern -> {file: JSON}
    key: str = ""
    inputs_dir: Path | None = None  # where the inputs were read from (for messages only)
    input_digests: Mapping[str, str] = field(default_factory=dict)  # file -> sha256 of its bytes

    @property
    def profile(self) -> str:
        return "full" if self.full else "fast"

    def seed_for(self, *keys) -> int:
        """A 63-bit seed derived from ``self.seed``, the profile and ``keys`` (stable everywhere)."""
        h = hashlib.sha256(repr((self.seed, self.profile) + tuple(keys)).encode()).digest()
        return int.from_bytes(h[:8], "little") >> 1

    def seeds(self, key, n: int, *, below: int | None = None) -> list[int]:
        """``n`` seeds ``seed_for(*key, i)``, i = 0..n-1 (``key`` a string or a tuple), each taken
        modulo ``below`` when given (e.g. ``2**62`` for kernels that need a smaller seed)."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an integer >= 0; got {n!r}")
        key = key if isinstance(key, tuple) else (key,)
        out = [self.seed_for(*key, i) for i in range(n)]
        return [s % below for s in out] if below else out

    # -- declared real-model inputs ----------------------------------------------------------
    def input(self, name: str) -> dict | None:
        """The parsed result file ``name`` (None when absent); ``name`` must match a declared pattern."""
        pattern = self._declared(name)
        return self.inputs.get(pattern, {}).get(name)

    def input_glob(self, pattern: str) -> list[dict]:
        """Every parsed result file matching the declared ``pattern``, in file-name order."""
        if pattern not in self.inputs:
            raise ValueError(f"input pattern {pattern!r} is not declared in Figure.inputs {sorted(self.inputs)}")
        files = self.inputs[pattern]
        return [files[k] for k in sorted(files)]

    def _declared(self, name: str) -> str:
        for pattern in self.inputs:
            if fnmatch(name, pattern):
                return pattern
        raise ValueError(f"input file {name!r} is not declared in Figure.inputs {sorted(self.inputs)}")

    # -- units of work ------------------------------------------------------------------------
    def unit_key(self, label: str, unit: Unit) -> str:
        """sha256 of the figure key, the label, the function name and its kwargs."""
        text = json.dumps([self.key, self.seed, self.profile, label, unit.spec()])
        return hashlib.sha256(text.encode()).hexdigest()

    def units(self, units: Mapping[str, Unit]) -> dict:
        """Run ``{label: Unit}``: cached results are read, missing ones go to the executor, each
        is written as it finishes; returns ``{label: result}`` in the order of ``units``."""
        from figures.executors import SerialExecutor

        for label, u in units.items():
            if not isinstance(u, Unit):
                raise ValueError(f"ctx.units expects Unit values; {label!r} is {type(u).__name__}")
        done, todo = {}, {}
        for label, u in units.items():
            key = self.unit_key(label, u)
            cached = self._read_unit(key)
            if cached is not None:
                done[label] = cached
            else:
                todo[label] = (key, u)
        executor = self.executor or SerialExecutor()
        jobs = {label: (u.name, u.kwargs) for label, (_, u) in todo.items()}
        for label, text in executor.run(jobs):
            key, u = todo[label]
            self._write_unit(key, label, u, text)
            done[label] = json.loads(text)
            self.progress(label)
        return {label: done[label] for label in units}

    def unit(self, label: str, unit: Unit) -> dict:
        """One unit: ``ctx.units({label: unit})[label]``."""
        return self.units({label: unit})[label]

    def _unit_path(self, key: str) -> Path:
        return Path(self.cache_dir) / f"{key[:32]}.json"

    def _read_unit(self, key: str):
        if self.cache_dir is None:
            return None
        path = self._unit_path(key)
        if not path.is_file():
            return None
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # a torn or foreign file: recompute and overwrite it
        return stored.get("value") if stored.get("key") == key else None

    def _write_unit(self, key: str, label: str, unit: Unit, text: str) -> None:
        if self.cache_dir is None:
            return
        path = self._unit_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f'{{"fn": {json.dumps(unit.name)}, "key": "{key}", "label": {json.dumps(label)}, '
                       f'"value": {text}}}\n')
        tmp.replace(path)
