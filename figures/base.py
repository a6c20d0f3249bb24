"""The figure protocol: config -> compute(ctx) -> evaluate(data) -> draw(data).

A figure module ``figures/<paper>_<slug>.py`` defines a module-level ``FIGURE = Figure(...)``:

- ``compute(ctx)`` returns the figure's data as a JSON-serialisable dict (NumPy arrays allowed;
  they are written as lists). It reads ``ctx.full`` for the profile and derives every seed from
  ``ctx.seed`` (``ctx.seed_for("sweep", i)``), so the same seed gives the same numbers. Long
  sweeps wrap each unit of work in ``ctx.unit(key, fn)``: finished units are written to disk at
  once and reused on the next run, so an interrupted run resumes where it stopped.
- ``evaluate(data)`` returns one :class:`theory.claims.Verdict` per claim in ``claims``.
- ``draw(data)`` returns a matplotlib ``Figure`` (headless, Agg); it never computes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from theory.claims import Claim, PAPERS
from theory.records import to_jsonable

__all__ = ["Figure", "RunContext", "to_jsonable"]

PAPER_OF_PREFIX = {name: key for key, name in PAPERS.items()} | {"llm": "LLM"}


@dataclass(frozen=True)
class Figure:
    """A reproduced figure and the claims it evaluates."""

    name: str  # module name, e.g. "weighting_effective_weights"
    title: str
    claims: tuple[Claim, ...]
    compute: Callable[["RunContext"], dict]
    evaluate: Callable[[dict], list]
    draw: Callable[[dict], object]
    description: str = ""

    def __post_init__(self):
        prefix = self.name.split("_", 1)[0]
        if prefix not in PAPER_OF_PREFIX:
            raise ValueError(f"figure name must start with one of {sorted(PAPER_OF_PREFIX)}_; got {self.name!r}")

    @property
    def paper(self) -> str:
        return PAPER_OF_PREFIX[self.name.split("_", 1)[0]]


@dataclass
class RunContext:
    """What a figure's ``compute`` may use: the seed, the profile, and a resumable unit cache."""

    seed: int = 0
    full: bool = False
    cache_dir: Path | None = None  # where finished units are kept; None keeps nothing
    progress: Callable[[str], None] = field(default=lambda msg: None)
    inputs_dir: Path | None = None  # where result files written by llm_backend are read from

    @property
    def profile(self) -> str:
        return "full" if self.full else "fast"

    def seed_for(self, *keys) -> int:
        """A 63-bit seed derived from ``self.seed`` and ``keys`` (stable across runs and machines)."""
        h = hashlib.sha256(repr((self.seed, self.profile) + tuple(keys)).encode()).digest()
        return int.from_bytes(h[:8], "little") >> 1

    def unit(self, key: str, fn: Callable[[], dict]) -> dict:
        """Run ``fn`` once per (seed, profile, key); its JSON-able result is kept under ``cache_dir``."""
        if self.cache_dir is None:
            return json.loads(json.dumps(to_jsonable(fn())))
        safe = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = Path(self.cache_dir) / f"{self.profile}-seed{self.seed}" / f"{safe}.json"
        if path.exists():
            stored = json.loads(path.read_text())
            if stored.get("key") == key:
                return stored["value"]
        value = json.loads(json.dumps(to_jsonable(fn())))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"key": key, "value": value}))
        tmp.replace(path)
        self.progress(key)
        return value
