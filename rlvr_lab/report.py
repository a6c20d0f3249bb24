"""The report: ``claims.json`` (machine-readable verdicts), ``report.md`` and the printed table.

``claims.json`` holds only what the seed determines (no timings, no dates, no paths), so the same
``--seed`` gives the same file byte for byte; run settings and timings go to ``report.md``.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

__all__ = ["claims_json", "write_claims", "write_report", "verdict_table", "measured_table", "flatten"]

_MARK = {SUPPORTED: "supported", NOT_SUPPORTED: "NOT supported", INCONCLUSIVE: "inconclusive"}


def claims_json(results) -> list[dict]:
    """One object per evaluated claim, in figure order, each tagged with its figure."""
    return [dict(v.to_json(), figure=r.figure.name) for r in results for v in r.verdicts]


def write_claims(path: Path, results) -> None:
    from figures.runner import write_json

    write_json(Path(path), claims_json(results))


def _fmt(value) -> str:
    """A number as a reader wants it (4 significant digits), a list of numbers as [a, b]."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else "-"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if len(value) > 6:
            return "[" + ", ".join(_fmt(v) for v in value[:5]) + f", ... ({len(value)} values)]"
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def flatten(mapping, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as (dotted key, formatted value) rows, in the mapping's order."""
    rows = []
    for k, v in (mapping or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows += flatten(v, key + ".")
        else:
            rows.append((key, _fmt(v)))
    return rows


def measured_table(verdict, *, max_measured: int = 8, max_uncertainty: int = 6) -> list[str]:
    """A short Markdown table of the numbers behind a verdict: the first measured numbers (figures
    list the primary metric first), then the first uncertainties; the rest stay in claims.json."""
    measured = flatten(verdict.measured)
    uncertainty = [(f"{k} (uncertainty)", v) for k, v in flatten(verdict.uncertainty)]
    rows = measured[:max_measured] + uncertainty[:max_uncertainty]
    if not rows:
        return ["*no numbers measured*"]
    md = ["| quantity | value |", "|---|---|"]
    md += [f"| `{k}` | {v.replace('|', '/')} |" for k, v in rows]
    hidden = len(measured) + len(uncertainty) - len(rows)
    if hidden:
        md.append(f"| ... | {hidden} more numbers in claims.json |")
    return md


def _short(measured, width: int = 70) -> str:
    text = ", ".join(f"{k}={v}" for k, v in flatten(measured))
    return text if len(text) <= width else text[: width - 3] + "..."


def verdict_table(results, *, width: int = 100) -> str:
    """A plain-text table: claim id, provenance, verdict, key numbers."""
    rows = [("claim", "prov", "verdict", "measured")]
    for r in results:
        for v in r.verdicts:
            rows.append((v.claim.id, f"[{v.claim.provenance}]", _MARK[v.verdict],
                         _short(v.measured, max(20, width - 50))))
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d}" for a, b, c, d in rows]
    lines.insert(1, "-" * min(width, max(len(line) for line in lines)))
    counts = {k: sum(v.verdict == k for r in results for v in r.verdicts) for k in _MARK}
    lines.append(f"\n{counts[SUPPORTED]} supported, {counts[NOT_SUPPORTED]} not supported, "
                 f"{counts[INCONCLUSIVE]} inconclusive")
    return "\n".join(lines)


def write_report(path: Path, results, *, settings: dict, failures=()) -> None:
    """``report.md``: run settings, the verdict table, then each figure with its claims' numbers."""
    path = Path(path)
    md = ["# rlvr-lab reproduction report", "",
          "## Run settings", ""]
    env = {"python": sys.version.split()[0], "platform": platform.platform(),
           "processor": platform.processor() or platform.machine()}
    for k, v in {**settings, **env}.items():
        md.append(f"- **{k}**: `{v}`")
    md += ["", "## Verdicts", "", "| claim | provenance | verdict | figure |", "|---|---|---|---|"]
    for r in results:
        for v in r.verdicts:
            md.append(f"| `{v.claim.id}` | [{v.claim.provenance}] | **{_MARK[v.verdict]}** | "
                      f"[{r.figure.name}](#{r.figure.name}) |")
    if failures:
        md += ["", "## Figures that failed", ""]
        md += [f"- `{name}`: {err}" for name, err in failures]
    for r in results:
        fig = r.figure
        md += ["", f"## {fig.name}", "", f"*{fig.title}* (paper {fig.paper}; "
               f"{'data reused' if r.reused else 'computed'} in {r.seconds:.1f} s)", "",
               f"![{fig.name}]({r.png.name})", ""]
        if fig.description:
            md += [fig.description, ""]
        for v in r.verdicts:
            c = v.claim
            md += [f"### `{c.id}` [{c.provenance}] — {_MARK[v.verdict]}", "",
                   f"- **statement**: {c.statement}", f"- **predicted**: {c.predicted}",
                   f"- **measurement**: {c.measurement}",
                   "- **sample size**: " + (", ".join(f"{k} {val}" for k, val in flatten(v.sample_size)) or "-")]
            if v.note:
                md.append(f"- **note**: {v.note}")
            md += ["", *measured_table(v), ""]
    path.write_text("\n".join(md) + "\n")
