"""Discovery of figure modules: every ``figures/<prefix>_<slug>.py`` that defines ``FIGURE``.

Prefixes are the paper names (``budget``, ``weighting``, ``kernel``, ``curriculum``,
``composition``) and ``llm`` for the real-model figures; figures are ordered by paper, then name.
"""

from __future__ import annotations

import importlib
import pkgutil
from fnmatch import fnmatch

import figures
from figures.base import PAPER_OF_PREFIX, Figure
from theory.claims import PAPERS

__all__ = ["all_figures", "select", "all_claims"]

_ORDER = ["budget", "weighting", "kernel", "curriculum", "composition", "llm"]


def all_figures() -> list[Figure]:
    found = []
    for info in pkgutil.iter_modules(figures.__path__):
        prefix = info.name.split("_", 1)[0]
        if prefix not in PAPER_OF_PREFIX or "_" not in info.name:
            continue
        module = importlib.import_module(f"figures.{info.name}")
        fig = getattr(module, "FIGURE", None)
        if isinstance(fig, Figure):
            if fig.name != info.name:
                raise ValueError(f"FIGURE.name must equal its module name {info.name!r}; got {fig.name!r}")
            found.append(fig)
    return sorted(found, key=lambda f: (_ORDER.index(f.name.split("_", 1)[0]), f.name))


def select(pattern: str | None) -> list[Figure]:
    """Figures matching ``pattern``: a paper key (``A``..``E``: its figures and every figure that
    judges one of its claims, the real-model ones included), or a glob (a bare word is ``*word*``)
    over figure names and claim ids."""
    figs = all_figures()
    if not pattern:
        return figs
    if pattern in PAPERS:
        return [f for f in figs if f.paper == pattern or any(c.paper == pattern for c in f.claims)]
    pat = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
    return [f for f in figs if fnmatch(f.name, pat) or any(fnmatch(c.id, pat) for c in f.claims)]


def all_claims():
    """Every claim of every figure, in figure order (a claim listed by two figures appears once)."""
    seen, out = set(), []
    for fig in all_figures():
        for c in fig.claims:
            if c.id not in seen:
                seen.add(c.id)
                out.append((c, fig.name))
    return out
